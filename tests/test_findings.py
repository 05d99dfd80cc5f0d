"""One test per defect found by testing the bot from outside (issue "Nothing lost, nothing
leaked"): each of these failed before the fix."""

from __future__ import annotations

import csv
import io

import pytest

from bot.core import Engine
from handlers.services.tambons import export_submissions
from storage.base import Kind, NewSubmission, Role, Store, Tambon
from tests.conftest import console, join_code, onboard, th

ROAD = "ถนนหมู่ 3 เป็นหลุมเป็นบ่อ รถสัญจรลำบาก โทร 081-234-5678"


@pytest.mark.parametrize("decline", ["/cancel", "2"])
async def test_rejoining_and_declining_keeps_what_was_filed(
    engine: Engine, store: Store, tambon: Tambon, decline: str
) -> None:
    await onboard(engine, store, tambon, "u1", village=2)
    await console(engine, "u1", ROAD, "1")
    assert await store.count_submissions(tambon.id) == 1
    code = await join_code(store, tambon, Role.MEMBER)
    await console(engine, "u1", f"/start {code}", "1")  # joins again as a member: village 1
    await console(engine, "u1", decline)  # then changes their mind
    assert await store.count_submissions(tambon.id) == 1
    member = await store.get_member("console", "u1")
    assert member is not None
    assert member.onboarded
    assert member.role is Role.VILLAGER  # nothing changed
    assert member.village_moo == 2


async def test_rejoining_with_consent_changes_the_role(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    await onboard(engine, store, tambon, "u1", village=2)
    await console(engine, "u1", ROAD, "1")
    code = await join_code(store, tambon, Role.MEMBER)
    await console(engine, "u1", f"/start {code}", "1", "1")
    member = await store.get_member("console", "u1")
    assert member is not None
    assert member.role is Role.MEMBER
    assert member.village_moo == 1
    assert member.onboarded
    assert await store.count_submissions(tambon.id) == 1


async def test_first_join_declined_keeps_nothing(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    code = await join_code(store, tambon)
    await console(engine, "u1", f"/start {code}", "1", "2")
    assert await store.get_member("console", "u1") is None


@pytest.mark.parametrize("typed", ["²", "①", "³", "๒", "٢", "⑵"])
async def test_digit_like_characters_at_a_choice_get_an_answer(
    engine: Engine, store: Store, tambon: Tambon, typed: str
) -> None:
    code = await join_code(store, tambon)
    await console(engine, "u1", f"/start {code}")
    (answer,) = await console(engine, "u1", typed)
    assert answer.strip()
    member = await store.get_member("console", "u1")
    assert member is not None
    if typed in ("๒", "٢"):  # real decimal digits: village 2
        assert member.village_moo == 2
    else:
        assert member.village_moo is None
        assert th("Please choose your village from the list, by its number.") in answer
    await onboard(engine, store, tambon, "u2")
    await console(engine, "u2", ROAD)
    (answer,) = await console(engine, "u2", typed)
    assert answer.strip()


async def test_forget_removes_the_words_from_group_titles_and_poll_options(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    await onboard(engine, store, tambon, "u1")
    await onboard(engine, store, tambon, "u2")
    await console(engine, "u1", ROAD, "1")
    await console(engine, "u2", "น้ำประปาไม่ไหลสามวันแล้ว", "1")
    group = next(g for g in await store.list_groups(tambon.id) if "ถนน" in g.title)
    assert "081-234-5678" in group.title  # the first reporter's own words
    team = await join_code(store, tambon, Role.TEAM)
    await console(engine, "boss", f"/start {team}", "1", "1")
    (card,) = await console(engine, "boss", "/newpoll ลำดับความสำคัญ")
    assert "081-234-5678" not in card  # numbers are hidden on a ballot
    await console(engine, "boss", "1")  # the first voting method offered
    (poll,) = await store.list_polls(tambon.id)
    assert group.id in {o.group_id for o in poll.options}  # options remember their group
    await console(engine, "u1", "/forget", "1")
    for after in await store.list_groups(tambon.id):
        assert ROAD not in after.title
        assert "081" not in after.title
    fresh = await store.get_poll(poll.id)
    assert fresh is not None
    assert all("081" not in o.text and ROAD[:20] not in o.text for o in fresh.options)


async def test_one_open_poll_per_tambon(engine: Engine, store: Store, tambon: Tambon) -> None:
    from storage.base import PollConflict, PollMethod

    first = await store.create_poll(tambon.id, "หนึ่ง", PollMethod.APPROVAL, 1, [("ก", None)])
    second = await store.create_poll(tambon.id, "สอง", PollMethod.APPROVAL, 1, [("ข", None)])
    await store.set_poll_status(first.id, "open")
    with pytest.raises(PollConflict):
        await store.set_poll_status(second.id, "open")
    team = await join_code(store, tambon, Role.TEAM)
    await console(engine, "boss", f"/start {team}", "1", "1")
    (answer,) = await console(engine, "boss", "/newpoll อีกรอบ")
    assert (
        th(
            "Poll #{ref} is still open, and a tambon runs one poll at a time. Close it first with "
            "/closepoll, then create the new one.",
            ref=first.id,
        )
        in answer
    )
    await store.set_poll_status(first.id, "closed")
    assert (await store.set_poll_status(second.id, "open")).status == "open"


async def test_poll_options_of_a_rolled_back_poll_are_not_remembered(
    store: Store, tambon: Tambon
) -> None:
    from storage.base import PollMethod

    async def create_then_fail() -> None:
        async with store.transaction():
            await store.create_poll(tambon.id, "ยกเลิก", PollMethod.APPROVAL, 1, [("เก่า", None)])
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        await create_then_fail()
    poll = await store.create_poll(tambon.id, "ใหม่", PollMethod.APPROVAL, 1, [("ใหม่", None)])
    fetched = await store.get_poll(poll.id)
    assert fetched is not None
    assert [o.text for o in fetched.options] == ["ใหม่"]


async def test_a_redelivered_message_leaves_no_empty_group(store: Store, tambon: Tambon) -> None:
    from storage.base import Kind, NewSubmission

    member = await store.upsert_member("console", "u1", tambon.id, Role.VILLAGER, None)
    for _ in range(2):
        group = await store.create_group(tambon.id, "ไฟดับ", ["ไฟดับ"], ["infrastructure"], 1)
        await store.add_submission(
            NewSubmission(
                tambon_id=tambon.id,
                text="ไฟดับ",
                kind=Kind.PROBLEM,
                categories=["infrastructure"],
                village_moo=1,
                author_id=member.id,
                relayed=False,
                channel="console",
                source_id="msg-1",
                group_id=group,
            )
        )
    assert len(await store.list_groups(tambon.id)) == 1


async def test_control_characters_are_dropped_at_intake_and_spreadsheets_are_inert(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    from openpyxl import load_workbook

    from bot import report
    from handlers.services.summary import read_report

    await onboard(engine, store, tambon, "u1")
    await console(engine, "u1", "ถนนหมู่ 3 พัง\x00\x1b[31m มาก", "1")
    (stored,) = await store.list_submissions(tambon.id)
    assert "\x00" not in stored.text
    assert "\x1b" not in stored.text
    for formula in ('=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "-2+3+cmd|x", "@SUM(A1)"):
        await store.add_submission(
            NewSubmission(
                tambon_id=tambon.id,
                text=formula,
                kind=Kind.PROBLEM,
                categories=["infrastructure"],
                village_moo=1,
                author_id=None,
                relayed=True,
                channel="console",
                source_id=None,
            )
        )
    # A control character that slipped past intake (an old row) does not break the workbook.
    await store.add_submission(
        NewSubmission(
            tambon_id=tambon.id,
            text="เก่า\x00\x07",
            kind=Kind.NEED,
            categories=["water"],
            village_moo=1,
            author_id=None,
            relayed=True,
            channel="console",
            source_id=None,
        )
    )
    summary, submissions = await read_report(store, tambon)
    book = load_workbook(io.BytesIO(report.xlsx(summary, submissions)))
    cells = [c for row in book[th("Submissions")].iter_rows() for c in row]
    assert any(str(c.value).startswith("=HYPERLINK") for c in cells)
    assert all(c.data_type == "s" for c in cells if isinstance(c.value, str))  # text, not formulas
    table = report.table_csv(summary, submissions, "submissions")
    for line in csv.reader(io.StringIO(table)):
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in line)
    out = io.StringIO()
    await export_submissions(store.iter_submissions(tambon.id), out, "csv")
    for line in csv.reader(io.StringIO(out.getvalue())):
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in line)
    assert "'=HYPERLINK" in out.getvalue()
