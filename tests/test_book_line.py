"""The draft plan's public comment on LINE: the opening told by multicast, /draft typed as text,
a postback answered by the reply token (the LINE stand-in speaks the Messaging API)."""

from __future__ import annotations

from bot.channels.line import LineChannel
from handlers.services import book, plan
from storage.base import Store, Tambon
from tests import test_line
from tests.conftest import th
from tests.line_standin import Events, LineStandIn
from tests.test_book import OPEN_NOTICE
from tests.test_line import USER, Post, buttons, onboard, seen

standin = test_line.standin
events = test_line.events
line = test_line.line
post = test_line.post


async def test_the_draft_on_line_told_by_multicast_and_answered_by_postback(
    post: Post,
    events: Events,
    standin: LineStandIn,
    line: LineChannel,
    store: Store,
    tambon: Tambon,
) -> None:
    n = await onboard(post, events, standin, store, tambon)
    for title in ("ขุดลอกคลองส่งน้ำ", "ซ่อมถนนลูกรัง"):
        await plan.add_item(store, tambon, title=title, by="x", budget=120_000)
    await book.open_comment(store, tambon, 3, by="x")
    multicasts = standin.multicasts
    await line.pipeline.queue_notices()
    told = (await seen(standin, n + 1))[-1]
    assert told["text"] == th(OPEN_NOTICE, detail="2")
    assert standin.multicasts == multicasts + 1  # everyone told in one call
    assert await post(events.text(USER, "ร่างแผน")) == 200  # the command's Thai word
    shown = await seen(standin, n + 4)  # the heading and two cards
    first, _ = await book.draft_items(store, tambon)
    cards = [m for m in shown[n + 1 :] if f"resp:{first.id}.a" in buttons(m)]
    assert cards, shown[n + 1 :]
    assert await post(events.postback(USER, f"resp:{first.id}.d")) == 200
    noted = (await seen(standin, n + 5))[-1]
    assert noted["text"] == th(
        "{mark} Noted for item {ref}. You may change it until the comments close.",
        mark="👎",
        ref=first.id,
    )
    result = {r.item.id: r for r in await book.results(store, tambon)}[first.id]
    assert (result.agree, result.disagree) == (0, 1)
