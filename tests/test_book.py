"""The draft plan goes back to the people (the seed's step 4): the direction, the draft open for
comment by chat (everyone told, /quiet respected), responses changeable until it closes, a
/forget taking a person's responses with them, the forum's approval and the amendments after."""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import report
from bot.channels.telegram import TelegramChannel
from bot.core import Engine
from handlers.services import book, plan
from handlers.services.summary import read_report
from handlers.types import Incoming
from storage.base import PlanPhase, PlanStatus, Role, Store, Tambon
from tests import test_telegram
from tests.conftest import console, onboard, run_cli_ok, th
from tests.telegram_standin import TelegramStandIn
from tests.test_telegram import USER, reply_count
from tests.test_telegram import onboard as onboard_telegram

PEOPLE = 50


async def tap(engine: Engine, user: str, payload: str) -> str:
    replies = await engine.handle(Incoming("console", user, choice=payload))
    return "\n".join(r.text for r in replies)


async def test_step_four_by_chat_from_direction_to_approval(
    engine: Engine, store: Store, tambon: Tambon, db_path: Path
) -> None:
    await onboard(engine, store, tambon, "lead", village=1, role=Role.TEAM)
    for n in range(PEOPLE):
        await onboard(engine, store, tambon, f"v{n}", village=1 + n % 5)
    direction = await book.set_direction(
        store,
        tambon,
        by="operator test",
        identity="ตำบลเกษตรปลอดภัย",
        vision="ท่าตะโกน่าอยู่ ชุมชนเข้มแข็ง",
        mission="พัฒนาแหล่งน้ำและอาชีพ",
        strategies=["พัฒนาแหล่งน้ำ", "ส่งเสริมอาชีพ", "คุณภาพชีวิต"],
    )
    assert [s.position for s in direction.strategies] == [1, 2, 3]
    titles = [
        ("ขุดลอกคลองส่งน้ำหมู่ 3", 1),
        ("ฝึกอาชีพเสริมแม่บ้าน", 2),
        ("ซ่อมถนนเข้าหมู่บ้าน", 3),
        ("ขยายเขตประปาหมู่ 2", 1),
    ]
    items = []
    for title, strategy in titles:
        item = await plan.add_item(store, tambon, title=title, by="operator test", budget=100_000)
        items.append(await book.set_strategy(store, tambon, item, strategy, by="operator test"))
    draft = await book.draft_items(store, tambon)
    assert [i.title for i in draft] == [titles[n][0] for n in (0, 3, 1, 2)]  # by strategy

    # Not open yet: /draft says so politely, a button press is refused, nothing stored.
    assert th("The draft plan is not open for comment now. Thank you!") in "".join(
        await console(engine, "v0", "/draft")
    )
    assert th("The draft plan is not open for comment now. Thank you!") in await tap(
        engine, "v0", f"resp:{items[0].id}.a"
    )
    now = datetime.now(UTC)
    window = await book.open_comment(store, tambon, 3, by="operator test", now=now)
    assert window.is_open(now + timedelta(days=2, hours=23))
    assert not window.is_open(now + timedelta(days=3))
    year = await store.current_plan_year(tambon.id)
    assert year is None or year.phase is PlanPhase.DRAFTING

    shown = await console(engine, "v2", "/draft")
    page = "\n".join(shown)
    assert draft[0].title in page
    assert draft[3].title not in page  # a few at a time
    assert th("Next items ▶") in page
    assert th("👍 Agree") in page
    more = await tap(engine, "v2", "draft:3")
    assert draft[3].title in more

    # Everyone agrees with the first item; ten change their minds; five comment.
    first = draft[0].id
    for n in range(PEOPLE):
        reply = await tap(engine, f"v{n}", f"resp:{first}.a")
        assert (
            th(
                "{mark} Noted for item {ref}. You may change it until the comments close.",
                mark="👍",
                ref=first,
            )
            in reply
        )
    for n in range(10):
        await tap(engine, f"v{n}", f"resp:{first}.d")
    for n in range(5):
        asked = await tap(engine, f"v{n}", f"cmt:{first}")
        assert (
            th("Please type your comment on item {ref} in a few words (or /cancel).", ref=first)
            in asked
        )
        thanks = await console(
            engine, f"v{n}", f"ขุดลอกคลองให้ลึกกว่าเดิม น้ำจะได้พอใช้หน้าแล้ง โทร 08123456{n}7 ✌️"
        )
        assert (
            th(
                "Thank you: your comment on item {ref} is with the tambon team. Type /draft for "
                "the other items.",
                ref=first,
            )
            in thanks[0]
        )
    mine = "\n".join(await console(engine, "v3", "/draft"))
    assert th("You said: {vote}{comment}", vote="👎", comment=th(" and commented")) in mine

    # The team's /summary counts what people said so far.
    summary_chat = "\n".join(await console(engine, "lead", "/summary"))
    assert (
        th(
            "📜 The draft plan is open for comment until {until}: {people} people have said "
            "something so far ({agree} 👍, {disagree} 👎, {comments} comments). Each project's "
            "count is on the workbench's Plan book page.",
            until=window.closes_at,
            people=PEOPLE,
            agree=40,  # ten changed their minds
            disagree=10,
            comments=5,
        )
        in summary_chat
    )
    # One person forgets: their responses go with them.
    await console(engine, "v0", "/forget", "1")
    result = {r.item.id: r for r in await book.results(store, tambon)}[first]
    assert (result.agree, result.disagree, len(result.comments)) == (40, 9, 4)
    assert all("water" in c.categories for c in result.comments)  # tagged as reports are
    # The live report shows the draft with its tallies as they come in.
    summary, submissions = await read_report(store, tambon)
    live = report.render(summary, submissions, "html", "th")
    part = live.split(th("Public comment on the draft plan"))[1].split("</table>")[0]
    assert '<td class="n">40</td><td class="n">9</td><td class="n">4</td>' in part

    # The window closes by itself after its days: the team is told, no response counts after.
    assert await book.close_due(store, now + timedelta(days=3, seconds=1)) == 1
    assert await book.close_due(store, now + timedelta(days=4)) == 0
    assert th("The draft plan is not open for comment now. Thank you!") in await tap(
        engine, "v20", f"resp:{first}.d"
    )
    again = {r.item.id: r for r in await book.results(store, tambon)}[first]
    assert (again.agree, again.disagree) == (40, 9)

    # The command line's results, for scripts: phone numbers hidden in the comments.
    env = {
        **os.environ,
        "TAMBON_DATABASE_URL": f"sqlite:///{db_path}",
        "PYTHONIOENCODING": "utf-8",
    }
    lines = await run_cli_ok(env, "plan", "comment", "results", "--tambon", "600801", "--json")
    records = [json.loads(line) for line in lines.strip().splitlines()]
    assert records[0]["item"] == first
    assert (records[0]["agree"], records[0]["disagree"]) == (40, 9)
    assert len(records[0]["comments"]) == 4
    assert not any("0812345" in c for c in records[0]["comments"])

    # The forum approves; a later change of the plan is an amendment with its reason.
    approval = await book.approve(
        store, tambon, decided_on="2027-02-15", by="operator test", present=38, place="ศาลาวัด"
    )
    assert approval.result == "approved"
    year = await store.current_plan_year(tambon.id)
    assert year is None or year.phase is PlanPhase.APPROVED
    changed = await plan.edit_details(store, draft[1], by="operator test", budget=150_000)
    await plan.set_status(store, changed, PlanStatus.FUNDED, by="operator test")  # following
    await plan.set_status(
        store, draft[2], PlanStatus.DROPPED, by="operator test", note="อบจ. ทำให้แล้ว"
    )
    amendments = await store.list_amendments(tambon.id)
    assert [(a.item_id, a.reason) for a in amendments] == [
        (draft[1].id, plan.CHANGED + "budget"),
        (draft[2].id, "อบจ. ทำให้แล้ว"),
    ]


# The Telegram stand-in and the channel on it, as in test_telegram.
standin = test_telegram.standin
telegram = test_telegram.telegram
OPEN_NOTICE = (
    "📜 The tambon team has drafted the tambon plan ({detail} projects) and asks what you "
    "think before the tambon forum approves it. Type /draft to see it and say 👍, 👎 or a "
    "comment on each project."
)
CLOSED_NOTICE = (
    "Public comment on the draft plan has closed: {detail} responses. The results are in "
    "the report and in tambon-bot plan comment results."
)


async def test_everyone_told_on_telegram_but_the_quiet_and_a_tap_answered(
    standin: TelegramStandIn, telegram: TelegramChannel, store: Store, tambon: Tambon
) -> None:
    villagers = [USER, USER + 1, USER + 2]
    lead = USER + 10
    for user in villagers:
        await onboard_telegram(standin, store, tambon, user)
    await onboard_telegram(standin, store, tambon, lead, role=Role.TEAM)
    before = len(standin.sent(USER + 2))
    standin.text(USER + 2, "/quiet")
    await reply_count(standin, before + 1, USER + 2)
    for title in ("ขุดลอกคลองส่งน้ำ", "ซ่อมถนนเข้าหมู่บ้าน"):
        await plan.add_item(store, tambon, title=title, by="x")
    await book.open_comment(store, tambon, 3, by="x")
    await book.open_comment(store, tambon, 3, by="x")  # opened again: a new round
    await telegram.pipeline.queue_notices()
    told = th(OPEN_NOTICE, detail="2")
    for user in (USER, USER + 1, lead):
        await standin.wait_for(
            lambda u=user: [c.params.get("text") for c in standin.sent(u)].count(told) == 2
        )
    assert told not in [c.params.get("text") for c in standin.sent(USER + 2)]  # quiet
    # /draft, then 👍 on the first card: the tap is answered by its own toast.
    before = len(standin.sent(USER))
    standin.text(USER, "/draft")
    await reply_count(standin, before + 3, USER)  # the heading and two cards
    (first, _) = await book.draft_items(store, tambon)
    message = [c for c in standin.sent(USER) if first.title in str(c.params.get("text"))][-1]
    answers = len(standin.sent(None, "answerCallbackQuery"))
    standin.press(USER, f"resp:{first.id}.a", message.result)
    await standin.wait_for(lambda: len(standin.sent(None, "answerCallbackQuery")) > answers)
    result = {r.item.id: r for r in await book.results(store, tambon)}[first.id]
    assert result.agree == 1
    await book.close_comment(store, tambon, by="x")
    await telegram.pipeline.queue_notices()
    await standin.wait_for(
        lambda: th(CLOSED_NOTICE, detail="1") in [c.params.get("text") for c in standin.sent(lead)]
    )
    assert th(CLOSED_NOTICE, detail="1") not in [c.params.get("text") for c in standin.sent(USER)]


DOCS = Path(__file__).resolve().parent.parent / "docs"


async def test_the_plan_book_printed_with_contents_and_every_part(
    engine: Engine, store: Store, tambon: Tambon, tmp_path: Path
) -> None:
    """The book of a tambon through step 4: its parts in order with their page numbers in the
    contents, the plan form's table whole (its last column's words on the page), the comments
    with phone numbers hidden, the approval; the workbook's form table by strategy. Its first
    pages are drawn for docs/plan-book.md."""
    import asyncio
    import subprocess

    from openpyxl import load_workbook

    from bot import planbook
    from tests.test_report import _pdf_text

    await onboard(engine, store, tambon, "v1", village=3)
    await console(engine, "v1", "คลองส่งน้ำตื้นเขิน หน้าแล้งน้ำไม่พอทำนา หมู่ 3", "1")
    await book.set_direction(
        store,
        tambon,
        by="x",
        vision="ท่าตะโกน่าอยู่ ชุมชนเข้มแข็ง",
        strategies=["พัฒนาแหล่งน้ำ", "ส่งเสริมอาชีพ"],
    )
    (submission,) = await store.all_submissions(tambon.id)
    item = await plan.add_item(
        store,
        tambon,
        title="ขุดลอกคลองส่งน้ำหมู่ 3",
        by="x",
        submissions=[submission.id],
        objective="มีน้ำพอทำนาหน้าแล้ง",
        indicator="ครัวเรือนมีน้ำทำนาเพิ่มขึ้น 80 ครัวเรือน",
        result="ผลผลิตข้าวเพิ่มขึ้น",
        budget=450_000,
        responsible="กองช่าง อบต.ท่าตะโก",
    )
    await book.set_strategy(store, tambon, item, 1, by="x")
    # A title copied from a villager's words, with their phone number: hidden in the book.
    await plan.add_item(store, tambon, title="<b>ซ่อมฝาย</b> ติดต่อ 0899999999", by="x")
    await book.open_comment(store, tambon, 3, by="x")
    await tap(engine, "v1", f"resp:{item.id}.a")
    await tap(engine, "v1", f"cmt:{item.id}")
    await console(engine, "v1", "ขอให้ขุดลึก ๆ ติดต่อ 0812345678")
    await book.close_comment(store, tambon, by="x")
    await book.approve(store, tambon, decided_on="2027-02-15", by="x", present=64, place="ศาลาวัด")

    found = await book.read_book(store, tambon)
    data = await asyncio.to_thread(planbook.pdf, found, "th")
    text, pages = await asyncio.to_thread(_pdf_text, data, tmp_path, raw=False)
    heat = [p for p in text.split("\f") if th("Problems by village and category") in p]
    assert heat
    assert th("Water sources") in heat[0]  # the village-by-category table, whole
    parts = [
        th("The tambon"),
        th("The problems and needs"),
        th("The direction"),
        th("The projects"),
        th("Public comment"),
        th("Approval"),
    ]
    contents = text.split(th("Contents"))[1].split(parts[0])[1].split("\f")[0]
    numbers = [
        int(line.rsplit(".", 1)[-1].strip()) for line in contents.splitlines() if "..." in line
    ]
    assert numbers == sorted(numbers)  # each part's page, in order
    assert pages >= numbers[-1]
    body = text.split("\f", 2)[2]
    for part in parts:
        assert part in body
    # The form's page holds every column's words, its last one's too (a cut column would
    # lose them; wrapped cells interleave in the text, so words are looked for one by one).
    (projects,) = [p for p in text.split("\f") if th("Strategy {n}", n=1) in p]
    for word in ("หน่วยงาน", "รับผิดชอบหลัก", "กองช่าง", "450,000", "ผลผลิตข้าว"):
        assert word in projects, word
    assert "0812345678" not in text  # a comment's phone number hidden
    html = planbook.render(found, "th")
    assert "0812345678" not in html
    assert "0899999999" not in html
    assert "0899999999" not in text
    assert "<b>ซ่อมฝาย" not in html  # markup shown as text
    assert "ขอให้ขุดลึก" in text
    assert th("Approved by the tambon forum on {date}", date="15 ก.พ. 2570") in text

    sheet = load_workbook(io.BytesIO(planbook.xlsx(found, "th"))).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][-1] == th("Main responsible agency")
    assert rows[1][:3] == ("พัฒนาแหล่งน้ำ", 1, "ขุดลอกคลองส่งน้ำหมู่ 3")

    # The book's pages for the docs (cover, contents, the projects).
    path = tmp_path / "book.pdf"
    path.write_bytes(data)
    first = numbers[3]
    for page, name in ((1, "cover"), (2, "contents"), (first, "projects")):
        await asyncio.to_thread(
            subprocess.run,
            ["pdftoppm", "-png", "-r", "80", "-f", str(page), "-l", str(page), "-singlefile",
             str(path), str(DOCS / f"plan-book-{name}")],
            check=True,
        )  # fmt: skip
        assert (DOCS / f"plan-book-{name}.png").read_bytes().startswith(b"\x89PNG")


async def test_those_present_at_the_forum_are_counted_from_the_hall(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    """Approval without a count: the members who said /here in the hall that day (Thailand's)."""
    from handlers.services.plan import BANGKOK
    from storage.base import PollMethod

    poll = await store.create_poll(
        tambon.id, "จัดลำดับปัญหา", PollMethod.APPROVAL, 1, [("ถนน", None), ("น้ำ", None)]
    )
    for n in range(3):
        await onboard(engine, store, tambon, f"h{n}", village=2)
        member = await store.get_member("console", f"h{n}")
        assert member is not None
        await store.mark_present(poll.id, member.id)
    await plan.add_item(store, tambon, title="ขุดลอกคลอง", by="x")
    today = datetime.now(BANGKOK).date().isoformat()
    approval = await book.approve(store, tambon, decided_on=today, by="x")
    assert approval.present == 3
    other_day = await book.approve(store, tambon, decided_on="2020-01-01", by="x")
    assert other_day.present is None  # nobody said /here that day: not a count of 0
    with pytest.raises(book.BookRefused):
        await book.approve(store, tambon, decided_on="2027-02-30", by="x")


async def test_the_draft_takes_bad_input_politely_and_changes_nothing(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    """Stickers, English, a wall of text, a forged or foreign item, /cancel: a polite answer in
    Thai each time, and no response stored that should not be."""
    from handlers.services import tambons

    await onboard(engine, store, tambon, "v", village=2)
    item = await plan.add_item(store, tambon, title="ขุดลอกคลอง", by="x")
    other = await tambons.create_tambon(store, "610101", 2)
    foreign = await plan.add_item(store, other, title="ของตำบลอื่น", by="x")
    await book.open_comment(store, tambon, 3, by="x")
    await book.open_comment(store, other, 3, by="x")
    assert th("There is no plan item {ref}.", ref=foreign.id) in await tap(
        engine, "v", f"resp:{foreign.id}.a"
    )
    for forged in ("resp:abc", f"resp:{item.id}.x", "cmt:", "draft:zz"):
        answer = await tap(engine, "v", forged)
        assert "Traceback" not in answer
        assert answer.strip()
    await tap(engine, "v", f"cmt:{item.id}")
    hint = th("Please type your comment in words, or /cancel.")
    way_out = th("That is not one of the answers I am waiting for. What would you like?")
    replies = [(await console(engine, "v", bad))[0] for bad in ("😭😭🙏", "please dig deeper")]
    assert hint in replies[0]
    assert way_out in replies[1]  # the second miss: a way out, as every question offers
    (reply,) = await console(engine, "v", "ขุด" * 600)
    assert hint in reply
    (cancelled,) = await console(engine, "v", "/cancel")
    assert "ขุด" not in cancelled
    assert await store.list_responses(tambon.id) == []
    assert await store.list_responses(other.id) == []
    # The same press twice is one response, changed in place.
    await tap(engine, "v", f"resp:{item.id}.a")
    await tap(engine, "v", f"resp:{item.id}.a")
    (response,) = await store.list_responses(tambon.id)
    assert response.vote == "agree"


async def test_approved_by_a_poll_of_those_present(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    """The forum votes on the plan in a poll (its first option: approve): a poll still open or
    lost refuses the record; one won records it, its ballots counting those present, and the
    book prints its count."""
    from bot import planbook
    from storage.base import PollMethod

    await plan.add_item(store, tambon, title="ขุดลอกคลอง", by="x")
    voters = []
    for n in range(5):
        await onboard(engine, store, tambon, f"f{n}", village=1)
        member = await store.get_member("console", f"f{n}")
        assert member is not None
        voters.append(member)

    async def poll_of(choices: list[int]) -> int:
        poll = await store.create_poll(
            tambon.id,
            "เห็นชอบร่างแผน",
            PollMethod.APPROVAL,
            1,
            [("เห็นชอบ", None), ("ไม่เห็นชอบ", None)],
        )
        await store.set_poll_status(poll.id, "open")
        for member, choice in zip(voters, choices, strict=False):
            await store.cast_ballot(poll.id, member.id, member.pseudonym, 1, [choice])
        return poll.id

    lost = await poll_of([2, 2, 2, 1])
    await store.set_poll_status(lost, "closed")
    with pytest.raises(book.BookRefused):
        await book.approve(store, tambon, decided_on="2027-02-15", by="x", poll_id=lost)
    still_open = await poll_of([1, 1, 1, 1, 2])
    with pytest.raises(book.BookRefused):
        await book.approve(store, tambon, decided_on="2027-02-15", by="x", poll_id=still_open)
    await store.set_poll_status(still_open, "closed")
    approval = await book.approve(
        store, tambon, decided_on="2027-02-15", by="x", poll_id=still_open
    )
    assert (approval.poll_id, approval.present, approval.result) == (still_open, 5, "approved")
    assert await store.get_approval(tambon.id, approval.year_be) == approval
    found = await book.read_book(store, tambon)
    html = planbook.render(found, "th")
    assert th("By poll {ref} of those present:", ref=still_open) in html
