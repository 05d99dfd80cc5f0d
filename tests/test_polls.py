"""Priority polls: exact counts, one ballot per person, whole hearings in the console."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core import Engine
from handlers.services import tambons
from handlers.services.polls import tally
from storage.base import (
    Ballot,
    PaperBallots,
    Poll,
    PollClosed,
    PollMethod,
    PollOption,
    Role,
    Store,
    Tambon,
)
from storage.sqlite import SQLiteStore
from tests.conftest import console, onboard, run_cli, th

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def make_poll(method: PollMethod, choose: int, n: int = 4) -> Poll:
    options = tuple(PollOption(i, f"ข้อ {i}") for i in range(1, n + 1))
    return Poll(1, 1, "ทดสอบ", method, choose, "open", options, NOW)


def ballot(i: int, *choices: int, village: int | None = None) -> Ballot:
    return Ballot(i, 1, i, village, tuple(choices), NOW, NOW)


def test_approval_by_hand() -> None:
    poll = make_poll(PollMethod.APPROVAL, 2)
    ballots = [ballot(1, 1, 2), ballot(2, 2), ballot(3, 2, 3), ballot(4, 4, 1)]
    paper = [PaperBallots((3,), 2, "ทีม", NOW)]
    result = {o.position: o for o in tally(poll, ballots, paper).options}
    assert [result[p].votes for p in (1, 2, 3, 4)] == [2, 3, 3, 1]
    assert [result[p].score for p in (1, 2, 3, 4)] == [2, 3, 3, 1]
    assert [result[p].rank for p in (1, 2, 3, 4)] == [3, 1, 1, 4]  # a tie shares rank 1
    assert result[3].paper_votes == 2
    assert result[3].chat_votes == 1


def test_borda_by_hand() -> None:
    poll = make_poll(PollMethod.BORDA, 3)
    # 3 points for a first choice, 2 for a second, 1 for a third
    ballots = [ballot(1, 1, 2, 3), ballot(2, 2, 1), ballot(3, 3, 2, 1), ballot(4, 2)]
    paper = [PaperBallots((4, 1), 3, "ทีม", NOW)]
    counted = tally(poll, ballots, paper)
    result = {o.position: o for o in counted.options}
    # 1: 3 + 2 + 1 + 3x2 = 12; 2: 2 + 3 + 2 + 3 = 10; 3: 1 + 3 = 4; 4: 3x3 = 9
    assert [result[p].score for p in (1, 2, 3, 4)] == [12, 10, 4, 9]
    assert [result[p].votes for p in (1, 2, 3, 4)] == [6, 4, 2, 3]
    assert [o.position for o in counted.options] == [1, 2, 4, 3]
    assert counted.ballots == 7
    assert counted.as_json()["options"][0] == {
        "text": "ข้อ 1",
        "votes": 6,
        "score": 12,
        "rank": 1,
        "chat_votes": 3,
        "paper_votes": 3,
        "group": None,  # typed options stand for no problem group
    }


def recount(poll: Poll, ballots: list[tuple[int, ...]]) -> dict[int, int]:
    """An independent count, written plainly, to check tally against."""
    scores: Counter[int] = Counter()
    for choices in ballots:
        for index, position in enumerate(choices):
            scores[position] += 1 if poll.method is PollMethod.APPROVAL else poll.choose - index
    return {o.position: scores[o.position] for o in poll.options}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from([PollMethod.APPROVAL, PollMethod.BORDA]),
    casts=st.lists(
        st.tuples(st.integers(0, 7), st.permutations([1, 2, 3, 4, 5]), st.integers(1, 3)),
        max_size=40,
    ),
)
def test_tally_equals_a_recount_of_the_stored_ballots(
    tmp_path_factory: pytest.TempPathFactory,
    method: PollMethod,
    casts: list[tuple[int, list[int], int]],
) -> None:
    """Whatever people cast and change, the count equals a recount of what the store holds."""

    async def run() -> None:
        path = tmp_path_factory.mktemp("poll") / "p.db"
        async with SQLiteStore(path) as store:
            tambon = await tambons.create_tambon(store, "600801", 3)
            members = [
                await store.upsert_member("console", f"v{i}", tambon.id, Role.VILLAGER, None)
                for i in range(8)
            ]
            poll = await store.create_poll(
                tambon.id, "ลำดับปัญหา", method, 3, [(f"ข้อ {i}", None) for i in range(1, 6)]
            )
            await store.set_poll_status(poll.id, "open")
            final: dict[int, tuple[int, ...]] = {}
            for who, order, k in casts:
                choices = tuple(order[:k])
                await store.cast_ballot(
                    poll.id, members[who].id, members[who].pseudonym, None, choices
                )
                final[who] = choices
            stored = await store.list_ballots(poll.id)
            assert len(stored) == len(final)  # one ballot per person, however often they changed
            counted = tally(poll, stored)
            assert {o.position: o.score for o in counted.options} == recount(
                poll, list(final.values())
            )
            assert counted.chat_ballots == len(final)
            log = await store.ballot_log(poll.id)
            assert len(log) == len(casts)  # every cast and change is in the audit log

    asyncio.run(run())


async def test_one_ballot_per_person_under_concurrency(store: Store, tambon: Tambon) -> None:
    member = await store.upsert_member("console", "v", tambon.id, Role.VILLAGER, None)
    poll = await store.create_poll(
        tambon.id, "t", PollMethod.APPROVAL, 1, [("ก", None), ("ข", None)]
    )
    await store.set_poll_status(poll.id, "open")
    await asyncio.gather(
        *(
            store.cast_ballot(poll.id, member.id, member.pseudonym, 1, [1 + i % 2])
            for i in range(50)
        )
    )
    assert len(await store.list_ballots(poll.id)) == 1
    assert len(await store.ballot_log(poll.id)) == 50
    await store.set_poll_status(poll.id, "closed")
    with pytest.raises(PollClosed):
        await store.cast_ballot(poll.id, member.id, member.pseudonym, 1, [1])


async def test_a_whole_hearing_in_the_console(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    for user, village in (("a", 1), ("b", 2), ("c", 2)):
        await onboard(engine, store, tambon, user, village=village)
    (none,) = await console(engine, "a", "/vote")
    assert (
        th("No poll is open in your tambon right now. The team will announce it at the hearing.")
        in none
    )
    poll = await store.create_poll(
        tambon.id,
        "จัดลำดับปัญหาตำบล",
        PollMethod.BORDA,
        2,
        [("ถนนหมู่ 3", None), ("น้ำประปา", None), ("ยาเสพติด", None)],
    )
    await store.set_poll_status(poll.id, "open")
    card, first, _second, done = await console(engine, "a", "/vote", "2", "1", "4")
    assert th("📨 Submit my ballot") in card
    assert "➊ น้ำประปา" in first
    assert (
        th(
            "Thank you, your ballot is counted:\n{listing}\nYou can change it with /vote until "
            "the "
            "poll closes.",
            listing="1. น้ำประปา\n2. ถนนหมู่ 3",
        )
        in done
    )
    _, _, _, too_many = await console(engine, "b", "/vote", "3", "1", "2")
    assert th("You can choose up to {k}. Tap a chosen one to remove it first.", k=2) in too_many
    await console(engine, "b", "4")  # submit 3 > 1
    await console(engine, "c", "/vote", "3", "4")
    # a changes their mind: one ballot, changed, confirmed once
    shown, _cleared, _, changed = await console(engine, "a", "/vote", "5", "3", "4")
    assert "น้ำประปา" in shown
    assert (
        th(
            "Your ballot is changed. It now reads:\n{listing}\nYou can change it with /vote "
            "until the "
            "poll closes.",
            listing="1. ยาเสพติด",
        )
        in changed
    )
    await store.add_paper_ballots(poll.id, [2, 1], 4, "ทีมตำบล")
    await store.set_poll_status(poll.id, "closed")
    late = await console(engine, "c", "/vote")
    assert (
        th("No poll is open in your tambon right now. The team will announce it at the hearing.")
        in late[0]
    )
    counted = tally(
        poll, await store.list_ballots(poll.id), await store.list_paper_ballots(poll.id)
    )
    scores = {o.text: o.score for o in counted.options}
    # a: ยาเสพติด(2); b: ยาเสพติด(2) ถนน(1); c: ยาเสพติด(2); paper 4x: น้ำประปา(2) ถนน(1)
    assert scores == {"ยาเสพติด": 6, "น้ำประปา": 8, "ถนนหมู่ 3": 5}
    assert counted.chat_ballots == 3
    assert counted.paper_ballots == 4


async def test_vote_submitted_after_close_is_refused(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    await onboard(engine, store, tambon, "a")
    poll = await store.create_poll(
        tambon.id, "t", PollMethod.APPROVAL, 2, [("ก", None), ("ข", None)]
    )
    await store.set_poll_status(poll.id, "open")
    await console(engine, "a", "/vote", "1")
    await store.set_poll_status(poll.id, "closed")
    (refused,) = await console(engine, "a", "3")
    assert (
        th(
            "Sorry, this poll has closed, so your ballot could not be counted. Thank you for "
            "taking "
            "part."
        )
        in refused
    )
    assert await store.list_ballots(poll.id) == []


def test_poll_cli_and_ballot_export(tmp_path: Path) -> None:
    env = {**os.environ, "TAMBON_DATABASE_URL": f"sqlite:///{tmp_path}/poll.db"}

    def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = run_cli(env, *args, cwd=tmp_path)
        assert not check or done.returncode == 0, done.stderr
        return done

    cli("tambon", "create", "--code", "600801", "--villages", "3")
    poll_id = cli(
        "poll",
        "create",
        "--tambon",
        "600801",
        "--title",
        "ลำดับความสำคัญ",
        "--option",
        "ถนน",
        "--option",
        "ประปา",
        "--option",
        "ขยะ",
        "--method",
        "borda",
        "--choose",
        "2",
    ).stdout.strip()
    assert poll_id.isdigit()
    cli("poll", "open", poll_id)
    cli(
        "poll",
        "paper",
        poll_id,
        "--choice",
        "2",
        "--choice",
        "3",
        "--count",
        "5",
        "--by",
        "ครูสมศรี",
    )
    assert cli("poll", "paper", poll_id, "--choice", "9", "--by", "x", check=False).returncode == 2
    # No ballots is no entry: a polite line, exit 2 and nothing stored (it was a traceback).
    zero = cli("poll", "paper", poll_id, "--choice", "1", "--count", "0", "--by", "x", check=False)
    assert zero.returncode == 2
    assert th("The number of paper ballots must be from 1 to {most} at a time.", most=10_000) in (
        zero.stderr
    )
    assert "Traceback" not in zero.stderr
    huge = ("--count", "99999999")
    assert (
        cli("poll", "paper", poll_id, "--choice", "1", *huge, "--by", "x", check=False).returncode
        == 2
    )
    # Closed, the result is final: paper after it is refused, politely, and nothing is stored.
    cli("poll", "close", poll_id)
    late = cli("poll", "paper", poll_id, "--choice", "1", "--by", "x", check=False)
    assert late.returncode == 2
    assert "Traceback" not in late.stderr
    assert str(poll_id) in late.stderr
    results = json.loads(cli("poll", "results", poll_id, "--json").stdout)
    assert results["poll"] == int(poll_id)
    assert results["method"] == "borda"
    assert results["ballots"] == 5
    assert [(o["text"], o["score"], o["rank"]) for o in results["options"]] == [
        ("ประปา", 10, 1),
        ("ขยะ", 5, 2),
        ("ถนน", 0, 3),
    ]
    exported = cli("export", "--tambon", "600801", "--what", "ballots", "--format", "jsonl").stdout
    (row,) = [json.loads(line) for line in exported.splitlines()]
    assert row["source"] == "paper"
    assert row["count"] == 5
    assert row["voter"] == "ครูสมศรี"


async def test_choose_one_poll_is_one_tap_and_leaves_a_draft_alone(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    from handlers.types import Incoming

    await onboard(engine, store, tambon, "a", village=3)
    poll = await store.create_poll(
        tambon.id, "ปัญหาที่สำคัญที่สุด", PollMethod.APPROVAL, 1, [("ถนน", None), ("ประปา", None)]
    )
    await store.set_poll_status(poll.id, "open")
    card, voted = await console(engine, "a", "/vote", "2")
    assert th("Tap the one problem that matters most to you; your tap is your ballot.") in card
    assert "ประปา" in voted
    (ballot,) = await store.list_ballots(poll.id)
    assert ballot.choices == (2,)
    assert ballot.village_moo == 3
    # mid-way through filing a problem, an old card's button changes the ballot only
    (draft,) = await console(engine, "a", "ขยะเต็มซอย")
    assert th("✅ Confirm") in draft
    replies = await engine.handle(Incoming("console", "a", choice=f"vote:{poll.id}.1"))
    assert "ถนน" in replies[0].text
    (ballot,) = await store.list_ballots(poll.id)
    assert ballot.choices == (1,)
    member = await store.get_member("console", "a")
    assert member is not None
    assert (await store.get_conversation(member.id)).step == "intake.confirm"
    (filed,) = await console(engine, "a", "ยืนยัน")
    assert "#" in filed


async def test_the_team_runs_a_hearing_from_chat(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    from storage.base import Role

    await onboard(engine, store, tambon, "officer", village=1, role=Role.TEAM)
    for user, village in (("a", 3), ("b", 3), ("c", 4)):
        await onboard(engine, store, tambon, user, village=village)
    await console(engine, "a", "ถนนหมู่ 3 เป็นหลุม", "1")
    await console(engine, "c", "ยาบ้าระบาดหนัก หมู่ 4", "1")
    (usage,) = await console(engine, "officer", "/newpoll")
    assert "/newpoll" in usage
    card, typed, opened = await console(
        engine, "officer", "/newpoll จัดลำดับปัญหา 2570", "ถนนพัง | ยาเสพติด | ขยะ", "3"
    )
    assert "ถนนหมู่ 3 เป็นหลุม" in card  # proposed from the tambon's problem groups
    assert "1. ถนนพัง" in typed
    (poll,) = await store.list_polls(tambon.id)
    assert poll.method is PollMethod.BORDA
    assert poll.choose == 3
    assert f"#{poll.id}" in opened
    await console(engine, "a", "/vote", "1", "2", "4")
    await console(engine, "b", "/vote", "2", "4")
    await console(engine, "c", "/vote", "3", "4")
    await console(engine, "c", "/vote", "5", "2", "4")  # c changes their ballot
    (recorded,) = await console(engine, "officer", "/paper 5 3 1")
    assert (
        th(
            "Recorded {count} paper ballots for poll #{ref}:\n{listing}",
            count=5,
            ref=poll.id,
            listing="1. ขยะ\n2. ถนนพัง",
        )
        in recorded
    )
    (bad,) = await console(engine, "officer", "/paper 5 9")
    assert "/paper 12 3 1" in bad
    # The same rules as `tambon-bot poll paper`: at least one ballot.
    (none,) = await console(engine, "officer", "/paper 0 1")
    assert (
        th("The number of paper ballots must be from 1 to {most} at a time.", most=10_000) in none
    )
    assert sum(p.count for p in await store.list_paper_ballots(poll.id)) == 5
    (closed,) = await console(engine, "officer", "/closepoll")
    assert th("Poll #{ref} is closed. No more ballots are accepted.", ref=poll.id) in closed
    # a: ถนน 3, ยาเสพติด 2; b: ยาเสพติด 3; c: ยาเสพติด 3; paper 5x: ขยะ 3, ถนน 2
    assert (
        th(
            "{rank}. {text} — {score} points, {votes} ballots ({paper} on paper)",
            rank=1,
            text="ขยะ",
            score=15,
            votes=5,
            paper=5,
        )
        in closed
    )
    counted = tally(
        poll, await store.list_ballots(poll.id), await store.list_paper_ballots(poll.id)
    )
    assert {o.text: o.score for o in counted.options} == {"ถนนพัง": 13, "ยาเสพติด": 8, "ขยะ": 15}
    assert "3) " in closed  # the breakdown by village
    (late,) = await console(engine, "b", "/vote")
    assert (
        th("No poll is open in your tambon right now. The team will announce it at the hearing.")
        in late
    )
    (denied,) = await console(engine, "a", "/newpoll ลองดู")
    assert th("Sorry, this command is only for the tambon team.") in denied
    # After the close the result is final: paper ballots (here in Thai digits) are refused.
    (thai,) = await console(engine, "officer", "/paper ๒ ๒")
    assert (
        th(
            "Poll #{ref} is not open, so no paper ballots can be added: paper ballots are "
            "counted while the poll is open, and a closed poll's result is final.",
            ref=poll.id,
        )
        in thai
    )
    assert sum(p.count for p in await store.list_paper_ballots(poll.id)) == 5


async def test_a_poll_for_the_people_in_the_hall(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    from storage.base import Role

    await onboard(engine, store, tambon, "officer", village=1, role=Role.TEAM)
    await onboard(engine, store, tambon, "a", village=2)
    poll = await store.create_poll(
        tambon.id, "ในห้องประชุม", PollMethod.APPROVAL, 1, [("ถนน", None), ("ประปา", None)]
    )
    await store.set_poll_status(poll.id, "open")
    (shown,) = await console(engine, "officer", "/presence")
    poll = await store.get_poll(poll.id) or poll
    assert poll.presence_code is not None
    assert f"[QR: /here {poll.presence_code}]" in shown
    (refused,) = await console(engine, "a", "/vote")
    assert (
        th(
            "This poll is for the people at the hearing. Please first type /here followed by the "
            "code shown on the hall's screen, or scan its QR code."
        )
        in refused
    )
    (wrong,) = await console(engine, "a", "/here 000000")
    assert (
        th(
            "That code does not match an open poll of your tambon. Please check the code on the "
            "hall's screen."
        )
        in wrong
    )
    voter = await store.get_member("console", "a")
    assert voter is not None
    assert not await store.is_present(poll.id, voter.id)
    thai_code = poll.presence_code.translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))
    (welcome,) = await console(engine, "a", f"/here {thai_code}")
    assert (
        th("Thank you, you are counted as present at the hearing. Type /vote to vote.") in welcome
    )
    await console(engine, "a", "/vote", "2")
    (ballot,) = await store.list_ballots(poll.id)
    assert ballot.choices == (2,)


def test_poll_qr_from_the_command_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TAMBON_DATABASE_URL": f"sqlite:///{tmp_path}/qr.db",
        "TELEGRAM_BOT_USERNAME": "tatako_bot",
    }

    def cli(*args: str) -> str:
        done = run_cli(env, *args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    cli("tambon", "create", "--code", "600801", "--villages", "2")
    poll_id = cli(
        "poll",
        "create",
        "--tambon",
        "600801",
        "--title",
        "t",
        "--option",
        "a",
        "--option",
        "b",
        "--present-only",
    )
    code = cli("poll", "qr", poll_id, "-o", str(tmp_path / "hall.png"))
    assert len(code) == 6
    assert code.isdigit()
    png = (tmp_path / "hall.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


async def test_a_poll_made_from_problem_groups_never_offers_a_phone_number(
    engine: Engine, store: Store, tambon: Tambon, db_path: Path, tmp_path: Path
) -> None:
    """`poll create --from-groups` goes through the same service as /newpoll: the group's
    title is redacted on the ballot (it was copied as typed) and the option keeps its group."""
    await onboard(engine, store, tambon, "u1", village=3)
    await console(engine, "u1", "ไฟฟ้าดับบ่อยมากหมู่ 3 ติดต่อผมได้ที่ 081-234-5678", "1")
    env = {**os.environ, "TAMBON_DATABASE_URL": f"sqlite:///{db_path}"}
    done = await asyncio.to_thread(
        run_cli,
        env,
        *("poll", "create", "--tambon", tambon.code, "--title", "ลำดับ", "--option", "ถนน"),
        *("--from-groups", "1"),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    poll = await store.get_poll(int(done.stdout))
    assert poll is not None
    typed, from_group = poll.options
    assert (typed.text, typed.group_id) == ("ถนน", None)
    assert "234" not in from_group.text
    assert th("[number hidden]") in from_group.text
    (group,) = await store.list_groups(tambon.id)
    assert from_group.group_id == group.id


async def test_paper_ballots_only_while_the_poll_is_open(store: Store, tambon: Tambon) -> None:
    """Issue 23, item 1: paper ballots counted after a close (and before an opening), so an
    announced result changed. Now they are refused outside the open poll."""
    from handlers.services.polls import BallotsRefused, record_paper_ballots

    poll = await store.create_poll(
        tambon.id, "ลำดับ", PollMethod.APPROVAL, 1, [("ถนน", None), ("ประปา", None)]
    )
    with pytest.raises(BallotsRefused):
        await record_paper_ballots(store, poll, [1], 3, "x")  # a draft: not opened yet
    await store.set_poll_status(poll.id, "open")
    await record_paper_ballots(store, poll, [1], 3, "x")
    await store.set_poll_status(poll.id, "closed")
    with pytest.raises(BallotsRefused):
        await record_paper_ballots(store, poll, [2], 4, "x")
    assert [p.count for p in await store.list_paper_ballots(poll.id)] == [3]
