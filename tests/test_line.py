"""The LINE channel end to end: signed webhooks in, the real line-bot-sdk client out."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot import web
from bot.channels import GROUP_NOTICE
from bot.channels.line import LineChannel
from bot.core import Engine, Outgoing
from bot.nlp import KeywordTagger
from storage.base import Role, Store, Tambon
from tests.conftest import BAD_MESSAGES, join_code, run_cli_ok, th
from tests.line_standin import Events, LineStandIn

SECRET = "line-channel-secret"
TOKEN = "line-token"
USER = "U4af4980629b2b6d8d3c1b2c0e3f6a7b8"
DESTINATION = "Ubot"
ROAD = "ถนนหมู่ 3 เป็นหลุมเป็นบ่อ รถสัญจรลำบาก"

Post = Callable[..., Awaitable[int]]


@pytest.fixture
async def standin() -> AsyncIterator[LineStandIn]:
    server = LineStandIn(TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def events(standin: LineStandIn) -> Events:
    return Events(SECRET, standin)


@pytest.fixture
async def line(
    standin: LineStandIn, store: Store, tagger: KeywordTagger
) -> AsyncIterator[LineChannel]:
    channel = LineChannel(
        Engine(store, tagger),
        SECRET,
        TOKEN,
        base_url=standin.base_url,
        data_url=standin.data_url,
    )
    await channel.start()
    yield channel
    await channel.stop()


@pytest.fixture
async def post(line: LineChannel, events: Events) -> AsyncIterator[Post]:
    runner = await web.serve(web.build_app(line=line), "127.0.0.1:0")
    url = f"http://127.0.0.1:{runner.addresses[0][1]}{web.LINE_PATH}"
    async with aiohttp.ClientSession() as http:

        async def send(
            *batch: dict[str, Any], signature: str | None = None, body: bytes | None = None
        ) -> int:
            data = body if body is not None else events.body(*batch)
            headers = {"Content-Type": "application/json"}
            sig = events.sign(data) if signature is None else signature
            if sig:
                headers["X-Line-Signature"] = sig
            async with http.post(url, data=data, headers=headers) as response:
                return response.status

        yield send
    await runner.cleanup()


async def seen(standin: LineStandIn, count: int, user: str = USER) -> list[dict[str, Any]]:
    for _ in range(1000):
        if len(standin.messages_to(user)) >= count:
            return standin.messages_to(user)
        await asyncio.sleep(0.01)
    raise AssertionError(f"expected {count} messages, got {standin.texts_to(user)}")


def buttons(message: dict[str, Any]) -> list[str]:
    """The postback data a message offers, whether quick replies or a Flex card."""
    if message["type"] == "flex":
        return [b["action"]["data"] for b in message["contents"]["footer"]["contents"]]
    return [i["action"]["data"] for i in (message.get("quickReply") or {}).get("items", [])]


async def onboard(
    post: Post, events: Events, standin: LineStandIn, store: Store, tambon: Tambon
) -> int:
    code = await join_code(store, tambon)
    assert await post(events.follow(USER)) == 200
    await seen(standin, 1)
    assert await post(events.text(USER, f"/start {code}")) == 200
    messages = await seen(standin, 3)
    assert "vil:3" in buttons(messages[-1])
    assert await post(events.postback(USER, "vil:3")) == 200
    messages = await seen(standin, 4)
    assert buttons(messages[-1]) == ["consent:yes", "consent:no"]
    assert await post(events.postback(USER, "consent:yes")) == 200
    return len(await seen(standin, 5))


async def test_follow_greets_and_explains_how_to_join(
    post: Post, events: Events, standin: LineStandIn, store: Store
) -> None:
    assert await post(events.follow(USER)) == 200
    (greeting,) = await seen(standin, 1)
    assert greeting["text"] == th(
        "Hello! I collect your village's problems and needs for the tambon plan. To join, type "
        "/start followed by the join code from your tambon team or village head, for example "
        "/start 12345678."
    )
    assert "cmd:problem" in buttons(greeting)  # the menu, as buttons under the greeting
    assert standin.calls[0].kind == "reply"
    assert await store.get_member("line", USER) is None


async def test_onboarding_submission_and_confirmation(
    post: Post, events: Events, standin: LineStandIn, store: Store, tambon: Tambon
) -> None:
    n = await onboard(post, events, standin, store, tambon)
    member = await store.get_member("line", USER)
    assert member is not None
    assert member.onboarded
    assert member.village_moo == 3
    problem = events.text(USER, ROAD)
    await post(problem)
    card = (await seen(standin, n + 1))[-1]
    assert card["type"] == "flex"  # the draft to confirm is a card
    assert th("Infrastructure") in card["contents"]["body"]["contents"][0]["text"]
    assert buttons(card)[0] == "ok:"
    await post(events.postback(USER, "ok:"))
    filed = (await seen(standin, n + 2))[-1]
    (submission,) = await store.list_submissions(tambon.id)
    assert filed["text"].startswith(
        th(
            "Filed, thank you! Your reference number is #{ref}. The tambon team will bring it to "
            "the hearing. Type /mine to see what you have filed.",
            ref=submission.id,
        )[:20]
    )
    assert submission.channel == "line"
    assert submission.source_id == problem["message"]["id"]
    assert "infrastructure" in submission.categories


async def test_correction_with_a_flex_category_picker(
    post: Post, events: Events, standin: LineStandIn, store: Store, tambon: Tambon
) -> None:
    n = await onboard(post, events, standin, store, tambon)
    await post(events.text(USER, ROAD))
    await seen(standin, n + 1)
    await post(events.postback(USER, "edit:cat"))
    picker = (await seen(standin, n + 2))[-1]
    assert picker["type"] == "flex"  # eleven choices with long labels
    assert "cat:water" in buttons(picker)
    await post(events.postback(USER, "cat:water"))
    toggled = (await seen(standin, n + 3))[-1]
    labels = [b["action"]["label"] for b in toggled["contents"]["footer"]["contents"]]
    assert "✅ " + th("Water sources") in labels
    await post(events.postback(USER, "cat:done"))
    await seen(standin, n + 4)
    await post(events.postback(USER, "ok:"))
    await seen(standin, n + 5)
    (submission,) = await store.list_submissions(tambon.id)
    assert set(submission.categories) == {"infrastructure", "water"}


async def test_image_and_location_attach(
    post: Post, events: Events, standin: LineStandIn, store: Store, tambon: Tambon
) -> None:
    n = await onboard(post, events, standin, store, tambon)
    image = events.image(USER)
    await post(image, events.location(USER, 15.6315, 100.4812))
    await seen(standin, n + 2)
    await post(events.text(USER, "สะพานไม้ผุพัง อันตรายมาก"))
    await seen(standin, n + 3)
    await post(events.postback(USER, "ok:"))
    await seen(standin, n + 4)
    (submission,) = await store.list_submissions(tambon.id)
    assert {(a.media, a.file_id, a.latitude) for a in submission.attachments} == {
        ("photo", image["message"]["id"], None),
        ("location", None, 15.6315),
    }


async def test_unfollow_marks_unreachable_and_follow_back_restores(
    post: Post, events: Events, standin: LineStandIn, store: Store, tambon: Tambon
) -> None:
    n = await onboard(post, events, standin, store, tambon)
    await post(events.unfollow(USER))
    for _ in range(100):
        member = await store.get_member("line", USER)
        if member is not None and member.unreachable_at is not None:
            break
        await asyncio.sleep(0.01)
    assert member is not None
    assert member.unreachable_at is not None
    await post(events.follow(USER))
    welcome_back = (await seen(standin, n + 1))[-1]
    assert welcome_back["text"] == th(
        "You are already a member of Tambon {tambon}. Just type a problem or need in your own "
        "words, or tap a button below.",
        tambon=tambon.name_th,
    )
    member = await store.get_member("line", USER)
    assert member is not None
    assert member.unreachable_at is None


async def test_redelivered_event_is_handled_once(
    post: Post, events: Events, standin: LineStandIn, store: Store, tambon: Tambon
) -> None:
    n = await onboard(post, events, standin, store, tambon)
    problem = events.text(USER, ROAD)
    await post(problem)
    await seen(standin, n + 1)
    confirm = events.postback(USER, "ok:")
    await post(confirm)
    await seen(standin, n + 2)
    assert await post(events.redelivered(confirm), events.redelivered(problem)) == 200
    await post(events.text(USER, "/mine"))
    await seen(standin, n + 3)
    await asyncio.sleep(0.1)
    assert len(standin.messages_to(USER)) == n + 3
    assert await store.count_submissions(tambon.id) == 1


async def test_bad_and_missing_signatures_and_malformed_bodies_change_nothing(
    post: Post, events: Events, standin: LineStandIn, store: Store, tambon: Tambon
) -> None:
    code = await join_code(store, tambon)
    event = events.text(USER, f"/start {code}")
    assert await post(event, signature="bm90IHRoZSByaWdodCBzaWduYXR1cmU=") == 400
    assert await post(event, signature="") == 400
    garbage = b'{"destination": "U", "events": [ {'
    assert await post(body=garbage, signature=events.sign(garbage)) == 400
    not_events = b'{"destination": "U"}'
    assert await post(body=not_events, signature=events.sign(not_events)) == 400
    await asyncio.sleep(0.1)
    assert standin.calls == []
    assert await store.get_member("line", USER) is None
    assert await store.inbox_pending("line") == []


@pytest.mark.parametrize(("send", "msgid", "params"), BAD_MESSAGES)
async def test_bad_input_on_line(
    post: Post,
    events: Events,
    standin: LineStandIn,
    store: Store,
    tambon: Tambon,
    send: str,
    msgid: str,
    params: dict[str, Any],
) -> None:
    n = await onboard(post, events, standin, store, tambon)
    await post(events.text(USER, send))
    assert (await seen(standin, n + 1))[-1]["text"] == th(msgid, **params)
    assert await store.count_submissions(tambon.id) == 0


async def test_bad_input_before_joining(
    post: Post, events: Events, standin: LineStandIn, store: Store, tambon: Tambon
) -> None:
    await post(events.text(USER, "/start 00000000"))
    await post(events.text(USER, "น้ำไม่ไหล"))
    await post(events.sticker(USER))
    wrong, early, sticker = await seen(standin, 3)
    assert wrong["text"] == th(
        "Sorry, the join code {code} was not found. Please check it with your tambon team or "
        "village head and try again.",
        code="00000000",
    )
    assert "12345678" in early["text"]
    assert "12345678" in sticker["text"]
    assert await store.get_member("line", USER) is None


async def test_stray_text_at_confirmation_and_sticker(
    post: Post, events: Events, standin: LineStandIn, store: Store, tambon: Tambon
) -> None:
    n = await onboard(post, events, standin, store, tambon)
    await post(events.sticker(USER))
    await post(events.text(USER, ROAD))
    await post(events.text(USER, "โอเคจ้า"))
    sticker, _, stray, again = (await seen(standin, n + 4))[n:]
    assert sticker["text"] == th(
        "I can only read words, not emoji or stickers. Please describe the problem in a few "
        "words, in Thai."
    )
    assert stray["text"] == th(
        "Please choose one of the options below, or type /cancel to start over."
    )
    assert again["type"] == "flex"
    assert await store.count_submissions(tambon.id) == 0


async def test_old_or_refused_reply_token_falls_back_to_push(
    post: Post, events: Events, standin: LineStandIn, store: Store, tambon: Tambon
) -> None:
    await post(events.text(USER, "/help", age=120))  # delivered late: its token is stale
    await seen(standin, 1)
    assert standin.calls[-1].kind == "push"
    refused = events.text(USER, "/help")
    standin.token_owner.pop(refused["replyToken"])  # LINE will say the token is invalid
    await post(refused)
    await seen(standin, 2)
    assert standin.calls[-1].kind == "push"
    assert standin.rejected[-1] == ("reply", 400, "Invalid reply token")


async def test_limits_five_messages_a_call_and_5000_characters(
    line: LineChannel, standin: LineStandIn, events: Events
) -> None:
    token = events.text(USER, "x")["replyToken"]
    long_text = "\n".join(["ข้อความยาวมาก" * 30] * 70)  # about 27,000 characters
    await line.send(USER, [Outgoing(long_text, (("ตกลง", "ok:"),))], reply_token=token)
    kinds = [(c.kind, len(c.messages)) for c in standin.calls]
    assert kinds[0] == ("reply", 5)
    assert kinds[1][0] == "push"
    texts = standin.texts_to(USER)
    assert all(len(t) <= 5000 for t in texts)
    assert "".join(texts).replace("\n", "") == long_text.replace("\n", "")
    assert buttons(standin.messages_to(USER)[-1]) == ["ok:"]
    assert standin.rejected == []


async def test_many_choices_use_a_card_not_quick_replies(
    line: LineChannel, standin: LineStandIn
) -> None:
    villages = tuple((f"หมู่ {i}", f"vil:{i}") for i in range(1, 21))
    await line.send(USER, [Outgoing("ท่านอยู่หมู่ไหนคะ", villages)], reply_token=None)
    (message,) = standin.messages_to(USER)
    assert message["type"] == "flex"
    assert len(buttons(message)) == 20
    assert standin.rejected == []


async def test_push_403_marks_unreachable(
    post: Post,
    events: Events,
    standin: LineStandIn,
    store: Store,
    tambon: Tambon,
    line: LineChannel,
) -> None:
    await onboard(post, events, standin, store, tambon)
    standin.fail_next_push(403)
    await line.send(USER, [Outgoing("ทดสอบ")], reply_token=None)
    member = await store.get_member("line", USER)
    assert member is not None
    assert member.unreachable_at is not None


async def test_group_commands_get_only_an_invitation(
    post: Post, events: Events, standin: LineStandIn, store: Store
) -> None:
    await post(events.text(USER, "ถนนพัง", group="Cgroup1"))
    await post(events.text(USER, "/mine", group="Cgroup1"))
    (notice,) = await seen(standin, 1)
    assert notice["text"] == th(GROUP_NOTICE.msgid, link="LINE")
    await asyncio.sleep(0.1)
    assert len(standin.messages_to(USER)) == 1
    assert await store.get_member("line", USER) is None


async def test_events_kept_before_a_stop_are_handled_at_start(
    standin: LineStandIn, store: Store, tagger: KeywordTagger, events: Events
) -> None:
    event = events.follow(USER)
    read = LineChannel.read_event(DESTINATION, event)
    assert read is not None
    item, _ = read
    assert len(await store.inbox_add("line", [item])) == 1
    channel = LineChannel(Engine(store, tagger), SECRET, TOKEN, base_url=standin.base_url)
    await channel.start()
    try:
        await channel.drain()
        assert len(standin.messages_to(USER)) == 1
        assert await store.inbox_pending("line") == []
        # a redelivery of an event already handled is not kept again
        assert await store.inbox_add("line", [item]) == []
    finally:
        await channel.stop()


async def test_tambon_bot_run_with_line(
    standin: LineStandIn, events: Events, tmp_path: Path
) -> None:
    """The acceptance path: signed follow, join, problem and confirm to `tambon-bot run`."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "TAMBON_DATABASE_URL": f"sqlite:///{tmp_path}/line.db",
        "LINE_CHANNEL_SECRET": SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "LINE_API_BASE_URL": standin.base_url,
        "TAMBON_LISTEN": f"127.0.0.1:{port}",
    }
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_URL"):
        env.pop(name, None)

    async def cli(*args: str) -> str:
        return await run_cli_ok(env, *args, cwd=tmp_path)

    await cli("tambon", "create", "--code", "600801", "--villages", "5")
    code = (await cli("invite", "--tambon", "600801")).splitlines()[0]
    bot = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}{web.LINE_PATH}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(f"http://127.0.0.1:{port}{web.HEALTH_PATH}") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)

            async def send(event: dict[str, Any], signature: str | None = None) -> int:
                body = events.body(event)
                headers = {"X-Line-Signature": signature or events.sign(body)}
                async with http.post(url, data=body, headers=headers) as response:
                    return response.status

            assert await send(events.text(USER, f"/start {code}"), "AAAA") == 400
            assert await send(events.follow(USER)) == 200
            await seen(standin, 1)
            assert await send(events.text(USER, f"/start {code}")) == 200
            await seen(standin, 3)
            await send(events.postback(USER, "vil:2"))
            await seen(standin, 4)
            await send(events.postback(USER, "consent:yes"))
            await seen(standin, 5)
            await send(events.text(USER, "ขยะเกลื่อนตลาดนัด ส่งกลิ่นเหม็นมาก"))
            await seen(standin, 6)
            await send(events.postback(USER, "ok:"))
            await seen(standin, 7)
    finally:
        bot.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(bot.communicate(), 30)
    assert bot.returncode == 0, err.decode()[-2000:]
    (row,) = [
        json.loads(r)
        for r in (await cli("export", "--tambon", "600801", "--format", "jsonl")).splitlines()
    ]
    assert row["channel"] == "line"
    assert row["village"] == 2
    assert "environment" in row["categories"].split("|")
    assert USER not in json.dumps(row)


async def test_a_hearing_vote_with_postbacks(
    post: Post, events: Events, standin: LineStandIn, store: Store, tambon: Tambon
) -> None:
    from storage.base import PollMethod

    n = await onboard(post, events, standin, store, tambon)
    poll = await store.create_poll(
        tambon.id,
        "เลือกปัญหาสำคัญ",
        PollMethod.APPROVAL,
        2,
        [("ถนน", None), ("ประปา", None), ("ขยะ", None)],
    )
    await store.set_poll_status(poll.id, "open")
    await post(events.text(USER, "/vote"))
    card = (await seen(standin, n + 1))[-1]
    assert card["type"] == "flex"
    assert buttons(card)[:3] == ["bal:1", "bal:2", "bal:3"]
    await post(events.postback(USER, "bal:2"))
    await post(events.postback(USER, "bal:3"))
    await post(events.postback(USER, "bal:submit"))
    confirmation = (await seen(standin, n + 4))[-1]
    assert confirmation["text"].startswith(
        th(
            "Thank you, your ballot is counted:\n{listing}\nYou can change it with /vote until "
            "the poll closes.",
            listing="1. ประปา\n2. ขยะ",
        )[:20]
    )
    (ballot,) = await store.list_ballots(poll.id)
    assert ballot.choices == (2, 3)
    await store.set_poll_status(poll.id, "closed")
    await post(events.text(USER, "/vote"))
    closed = (await seen(standin, n + 5))[-1]
    assert closed["text"] == th(
        "No poll is open in your tambon right now. The team will announce it at the hearing."
    )


async def test_a_whole_hearing_run_from_line(
    post: Post, events: Events, standin: LineStandIn, store: Store, tambon: Tambon
) -> None:
    """A team member on LINE creates and closes the poll; a villager votes and changes."""
    from storage.base import Role

    officer = "U" + "0" * 31 + "1"
    code = await join_code(store, tambon, Role.TEAM)
    await post(events.text(officer, f"/start {code}"))
    await seen(standin, 2, officer)
    await post(events.postback(officer, "vil:0"))
    await post(events.postback(officer, "consent:yes"))
    await seen(standin, 5, officer)  # thanks, and how to relay for others
    n = await onboard(post, events, standin, store, tambon)
    await post(events.text(officer, "/newpoll จัดลำดับปัญหา"))
    await post(events.text(officer, "ถนน|ประปา|ขยะ"))
    await post(events.postback(officer, "setup:rank3"))
    opened = (await seen(standin, 8, officer))[-1]
    (poll,) = await store.list_polls(tambon.id)
    assert f"#{poll.id}" in opened["text"]
    await post(events.text(USER, "/vote"))
    await seen(standin, n + 1)
    for data in ("bal:2", "bal:1", "bal:submit"):
        await post(events.postback(USER, data))
    await seen(standin, n + 4)
    await post(events.text(USER, "/vote"))
    await seen(standin, n + 6)
    for data in ("bal:clear", "bal:3", "bal:submit"):
        await post(events.postback(USER, data))
    changed = (await seen(standin, n + 9))[-1]
    assert changed["text"].startswith(
        th(
            "Your ballot is changed. It now reads:\n{listing}\nYou can change it with /vote "
            "until the poll closes.",
            listing="1. ขยะ",
        )[:20]
    )
    await post(events.text(officer, "/paper 2 1 2"))
    await post(events.text(officer, "/closepoll"))
    closed = await seen(standin, 11, officer)
    assert (
        th("Poll #{ref} is closed. No more ballots are accepted.", ref=poll.id)
        in closed[-3]["text"]
    )
    (ballot,) = await store.list_ballots(poll.id)
    assert ballot.choices == (3,)
    (paper,) = await store.list_paper_ballots(poll.id)
    assert (paper.count, paper.choices) == (2, (1, 2))


async def test_unsend_drops_a_draft_or_withdraws_a_filed_report(
    post: Post,
    events: Events,
    standin: LineStandIn,
    store: Store,
    tambon: Tambon,
    line: LineChannel,
) -> None:
    n = await onboard(post, events, standin, store, tambon)
    draft = events.text(USER, ROAD)
    await post(draft)
    await seen(standin, n + 1)
    await post(events.unsend(USER, draft["message"]["id"]))
    dropped = (await seen(standin, n + 2))[-1]
    assert dropped["text"] == th(
        "You took back your message, so its draft was dropped. Nothing was filed."
    )
    filed = events.text(USER, "น้ำประปาไม่ไหลสามวันแล้ว โทร 0812345678")
    await post(filed)
    await seen(standin, n + 3)
    await post(events.postback(USER, "ok:"))
    await seen(standin, n + 4)
    (submission,) = await store.list_submissions(tambon.id)
    await post(events.unsend(USER, filed["message"]["id"]))
    told = (await seen(standin, n + 5))[-1]
    assert told["text"] == th(
        "You took back your message, so report #{ref} was withdrawn: it is no longer "
        "counted, and its words were deleted.",
        ref=submission.id,
    )
    assert await store.list_submissions(tambon.id) == []
    assert all("0812345678" not in g.title for g in await store.list_groups(tambon.id))
    # Taking back a message that filed nothing changes nothing and says nothing.
    await post(events.unsend(USER, events.text(USER, "สวัสดี")["message"]["id"]))
    await line.drain()
    assert len(standin.messages_to(USER)) == n + 5


async def test_standby_events_get_no_reply(
    post: Post, events: Events, standin: LineStandIn, store: Store, line: LineChannel
) -> None:
    event = events.follow(USER)
    event["mode"] = "standby"
    assert await post(event) == 200
    await line.drain()
    assert standin.messages_to(USER) == []


async def test_the_rich_menu_is_made_once_and_is_the_default(
    line: LineChannel, standin: LineStandIn, store: Store, tagger: KeywordTagger
) -> None:
    """Issue 28: made at start through the Messaging API (the image to the data host), the
    villager's the default; starting again twice makes nothing new."""
    from bot import richmenu
    from tests.line_standin import png_size

    assert set(line.menus) == {"villager", "team"}
    assert standin.default_richmenu == line.menus["villager"]
    for kind, menu_id in line.menus.items():
        image = standin.richmenu_images[menu_id]
        assert png_size(image) == (2500, 1686)
        assert standin.richmenus[menu_id]["name"] == richmenu.build(kind).name
    areas = standin.richmenus[line.menus["villager"]]["areas"]
    assert [a["action"]["data"] for a in areas] == [
        "cmd:problem",
        "cmd:mine",
        "cmd:vote",
        "cmd:plan",
        "cmd:mydata",
        "cmd:help",
    ]
    assert areas[0]["action"]["displayText"] == th("Report a problem")
    assert len(standin.richmenus[line.menus["team"]]["areas"]) == 9
    made = [c for c in standin.richmenu_calls if c == ("POST", "/v2/bot/richmenu")]
    assert len(made) == 2
    for _ in range(2):  # two restarts
        again = LineChannel(
            Engine(store, tagger),
            SECRET,
            TOKEN,
            base_url=standin.base_url,
            data_url=standin.data_url,
        )
        await again.start()
        assert again.menus == line.menus
        await again.stop()
    assert [c for c in standin.richmenu_calls if c == ("POST", "/v2/bot/richmenu")] == made
    assert len(standin.richmenus) == 2


async def test_a_changed_or_half_made_menu_is_replaced(
    standin: LineStandIn, store: Store, tagger: KeywordTagger, tambon: Tambon
) -> None:
    """An earlier version of our menu (another digest) is deleted and its team members linked
    to the new one; a menu whose image never went up (a stop between the two calls) is made
    again; menus that are not ours are left alone."""
    from bot import richmenu
    from handlers.services import members

    lead = await members.start_joining(
        store, "line", "Ulead", await _invite(store, tambon, Role.TEAM)
    )
    await members.set_menu(store, lead, "team")
    half = richmenu.build("villager")

    def stored(menu_id: str, name: str) -> None:
        standin.richmenus[menu_id] = {**half.definition, "name": name, "richMenuId": menu_id}

    stored("richmenu-old", "tambon-bot team 0000000000000000")
    standin.richmenu_images["richmenu-old"] = b"old"
    standin.user_richmenus["Ulead"] = "richmenu-old"
    stored("richmenu-half", half.name)  # made, but stopped before its image went up
    stored("richmenu-theirs", "spring sale")
    channel = LineChannel(
        Engine(store, tagger), SECRET, TOKEN, base_url=standin.base_url, data_url=standin.data_url
    )
    await channel.start()
    try:
        assert set(standin.richmenus) == {*channel.menus.values(), "richmenu-theirs"}
        assert "richmenu-half" not in channel.menus.values()
        assert standin.user_richmenus["Ulead"] == channel.menus["team"]
        assert all(m in standin.richmenu_images for m in channel.menus.values())
    finally:
        await channel.stop()


async def _invite(store: Store, tambon: Tambon, role: Role) -> Any:
    from handlers.services import members

    code = await join_code(store, tambon, role)
    invite, _ = await members.check_invite(store, code)
    return invite


async def test_a_team_members_menu_is_linked_when_the_role_is_given_and_unlinked_when_taken(
    post: Post,
    events: Events,
    standin: LineStandIn,
    store: Store,
    tambon: Tambon,
    line: LineChannel,
) -> None:
    from handlers.services import members

    n = await onboard(post, events, standin, store, tambon)
    assert USER not in standin.user_richmenus  # a villager: the default menu
    member = await store.get_member("line", USER)
    assert member is not None
    await members.change_role(store, member, Role.TEAM)
    assert await post(events.text(USER, "เมนู")) == 200
    shown = (await seen(standin, n + 1))[-1]
    assert "cmd:summary" in buttons(shown)
    for _ in range(200):
        if USER in standin.user_richmenus:
            break
        await asyncio.sleep(0.01)
    assert standin.user_richmenus[USER] == line.menus["team"]
    # A tile of the menu posts cmd:NAME: the same as typing the command.
    assert await post(events.postback(USER, "cmd:summary")) == 200
    summary = (await seen(standin, n + 2))[-1]
    assert summary["text"] != th("Sorry, this command is only for the tambon team.")
    member = await store.get_member("line", USER)
    assert member is not None
    await members.change_role(store, member, Role.VILLAGER)
    assert await post(events.text(USER, "ช่วยเหลือ")) == 200
    await seen(standin, n + 3)
    for _ in range(200):
        if USER not in standin.user_richmenus:
            break
        await asyncio.sleep(0.01)
    assert USER not in standin.user_richmenus
    assert await post(events.postback(USER, "cmd:summary")) == 200
    refused = (await seen(standin, n + 4))[-1]
    assert refused["text"] == th("Sorry, this command is only for the tambon team.")


def test_the_rich_menu_images_for_the_readme() -> None:
    """The README shows the menus: the images are made here, from the menus the bot makes."""
    from bot import richmenu
    from tests.line_standin import png_size

    docs = Path(__file__).resolve().parent.parent / "docs"
    for kind in richmenu.KINDS:
        image = richmenu.build(kind).image
        assert png_size(image) == (2500, 1686)
        assert len(image) < 1024 * 1024  # LINE takes at most 1 MB
        path = docs / f"line-rich-menu-{kind}.png"
        if not path.exists() or path.read_bytes() != image:
            path.write_bytes(image)


def test_every_tile_has_a_symbol_the_font_draws() -> None:
    """A symbol missing from DejaVu Sans would be drawn as an empty box."""
    from fontTools.ttLib import TTFont

    from bot import richmenu
    from handlers import menu

    drawn = TTFont(richmenu._symbol_path()).getBestCmap()
    for entry in menu.MENU:
        assert entry.icon
        assert all(ord(ch) in drawn for ch in entry.icon), entry.command


async def test_words_instead_of_commands_on_line(
    post: Post, events: Events, standin: LineStandIn, store: Store, tambon: Tambon
) -> None:
    """Issue 28 on LINE: the words work in the middle of intake, and nothing is filed."""
    n = await onboard(post, events, standin, store, tambon)
    await post(events.text(USER, ROAD))
    await seen(standin, n + 1)
    await post(events.text(USER, "เมนูค่ะ"))
    shown = (await seen(standin, n + 2))[-1]
    assert shown["text"].startswith(
        th(
            "I closed the question you were answering; nothing was filed from it.\n{heading}",
            heading="",
        )
    )
    assert buttons(shown)[:2] == ["cmd:problem", "cmd:mine"]
    await post(events.postback(USER, "cmd:problem"))
    asked = (await seen(standin, n + 3))[-1]
    assert asked["text"] == th(
        "Please tell me the problem or need in your own words, in one message: what it is, "
        "where (which village) and since when. You may send a photo or share a location after "
        "it."
    )
    await post(events.text(USER, "ยกเลิก"))
    cancelled = (await seen(standin, n + 4))[-1]
    assert cancelled["text"] == th("There is nothing to cancel. Type a problem or need, or /help.")
    assert await store.count_submissions(tambon.id) == 0


async def test_a_one_tap_ballot_is_answered_with_the_reply_token_alone(
    post: Post, events: Events, standin: LineStandIn, store: Store, tambon: Tambon
) -> None:
    """Issue 24 on LINE: a tap on a choose-one card is answered with its reply token (free, not
    counted in the month's pushes), one short message; the card is not sent again."""
    from storage.base import PollMethod

    n = await onboard(post, events, standin, store, tambon)
    poll = await store.create_poll(
        tambon.id, "ปัญหาสำคัญ", PollMethod.APPROVAL, 1, [("ถนน", None), ("ประปา", None)]
    )
    await store.set_poll_status(poll.id, "open")
    await post(events.text(USER, "โหวต"))
    await seen(standin, n + 1)
    calls = len(standin.calls)
    await post(events.postback(USER, f"vote:{poll.id}.2"))
    (counted,) = (await seen(standin, n + 2))[n + 1 :]
    assert counted["text"] == th("✅ Counted: {choice}. Tap another to change it.", choice="ประปา")
    await post(events.postback(USER, f"vote:{poll.id}.1"))
    (changed,) = (await seen(standin, n + 3))[n + 2 :]
    assert changed["text"] == th(
        "✅ Changed to: {choice}. Tap another to change it again.", choice="ถนน"
    )
    assert [c.kind for c in standin.calls[calls:]] == ["reply", "reply"]
    (ballot,) = await store.list_ballots(poll.id)
    assert ballot.choices == (1,)
