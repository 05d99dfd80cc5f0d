"""Limits on guessing codes: a few wrong join codes or hall codes, then a pause; with a clock
the test moves, not sleeps. The count is in the store, so it holds for a new engine (a
restart, another process) on the same store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core import Engine
from bot.nlp import KeywordTagger
from bot.settings import Settings
from handlers.services import limits, tambons
from storage.base import PollMethod, Role, Store, Tambon
from tests.conftest import console, onboard, run_cli, th

JOIN_PAUSED = (
    "That was several wrong join codes in a row, so joining is paused for you for {minutes} "
    "minutes. Please check the code with your tambon team or village head, then try again."
)
HALL_PAUSED = (
    "That was several wrong hall codes in a row, so /here is paused for you for {minutes} "
    "minutes. If you are in the hall, please ask the team at the desk."
)
SLOW = (
    "You are sending messages faster than I can read them. Please wait {seconds} seconds, then "
    "send your last message again."
)
MANY = (
    "You have filed {count} problems in the last hour, which is as many as I take from one "
    "person. Your draft is kept: please confirm it again in {minutes} minutes."
)
NOT_FOUND = (
    "Sorry, the join code {code} was not found. Please check it with your tambon team or "
    "village head and try again."
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_wrong_join_codes_lock_out_then_the_right_one_works_after_the_pause(
    store: Store, tambon: Tambon, tagger: KeywordTagger
) -> None:
    clock = Clock()
    engine = Engine(store, tagger, clock=clock)
    invite = await tambons.create_invite(store, tambon, Role.VILLAGER)
    wrong = [f"/start {10000000 + i}" for i in range(limits.JOIN_CODES.failures)]
    answers = await console(engine, "guesser", *wrong)
    assert all(
        th(NOT_FOUND, code=w.split()[1]) in a
        for a, w in zip(answers[:-1], wrong[:-1], strict=True)
    )
    minutes = int(limits.JOIN_CODES.lockout.total_seconds() // 60)
    assert th(JOIN_PAUSED, minutes=minutes) in answers[-1]
    # Locked: even the right code waits, and a restart (a new engine) changes nothing.
    (locked,) = await console(
        Engine(store, tagger, clock=clock), "guesser", f"/start {invite.code}"
    )
    assert th(JOIN_PAUSED, minutes=minutes) in locked
    assert await store.get_member("console", "guesser") is None
    # Someone else is not affected.
    (other,) = await console(engine, "neighbour", f"/start {invite.code}")
    assert th(JOIN_PAUSED, minutes=minutes) not in other
    assert await store.get_member("console", "neighbour") is not None
    clock.now += limits.JOIN_CODES.lockout - timedelta(minutes=5)
    (still,) = await console(engine, "guesser", f"/start {invite.code}")
    assert th(JOIN_PAUSED, minutes=5) in still
    clock.now += timedelta(minutes=5, seconds=1)
    (joined,) = await console(engine, "guesser", f"/start {invite.code}")
    assert th(JOIN_PAUSED, minutes=5) not in joined
    assert await store.get_member("console", "guesser") is not None
    # The count is cleared once the join changes something: at consent.
    assert await store.get_attempts("join", "console:guesser") is not None
    await console(engine, "guesser", "3", "1")
    assert await store.get_attempts("join", "console:guesser") is None


async def test_a_slip_now_and_then_never_locks_anyone_out(
    store: Store, tambon: Tambon, tagger: KeywordTagger
) -> None:
    clock = Clock()
    engine = Engine(store, tagger, clock=clock)
    for i in range(3 * limits.JOIN_CODES.failures):
        (answer,) = await console(engine, "slow", f"/start {20000000 + i}")
        assert th(NOT_FOUND, code=str(20000000 + i)) in answer
        clock.now += limits.JOIN_CODES.window / (limits.JOIN_CODES.failures - 1) + timedelta(
            seconds=1
        )


async def test_wrong_hall_codes_lock_out_the_guesser_only(
    store: Store, tambon: Tambon, tagger: KeywordTagger
) -> None:
    from handlers.services import polls

    clock = Clock()
    engine = Engine(store, tagger, clock=clock)
    await onboard(engine, store, tambon, "far")
    await onboard(engine, store, tambon, "near")
    poll = await polls.create_poll(
        store,
        tambon.id,
        "ทดสอบ",
        PollMethod.APPROVAL,
        1,
        [("ถนน", None), ("น้ำ", None)],
        open_now=True,
        presence=True,
    )
    assert poll.presence_code is not None
    wrong = [f"{(int(poll.presence_code) + i) % 1000000:06d}" for i in range(1, 6)]
    answers = await console(engine, "far", *[f"/here {w}" for w in wrong])
    minutes = int(limits.HALL_CODES.lockout.total_seconds() // 60)
    assert th(HALL_PAUSED, minutes=minutes) in answers[-1]
    assert th(HALL_PAUSED, minutes=minutes) not in answers[-2]
    (locked,) = await console(engine, "far", f"/here {poll.presence_code}")
    assert th(HALL_PAUSED, minutes=minutes) in locked
    assert not await store.is_present(poll.id, (await _member(store, "far")).id)
    (present,) = await console(engine, "near", f"/here {poll.presence_code}")
    assert th("Thank you, you are counted as present at the hearing. Type /vote to vote.") in (
        present
    )


async def _member(store: Store, user: str):  # type: ignore[no-untyped-def]
    member = await store.get_member("console", user)
    assert member is not None
    return member


async def test_too_many_messages_a_minute_are_not_read_and_the_answer_says_how_long(
    store: Store, tambon: Tambon, tagger: KeywordTagger
) -> None:
    clock = Clock()
    engine = Engine(store, tagger, clock=clock)
    await onboard(engine, store, tambon, "fast")
    clock.now += timedelta(minutes=5)
    answers = await console(engine, "fast", *["/mine"] * (limits.MESSAGES.failures + 1))
    slow = th(SLOW, seconds=int(limits.MESSAGES.lockout.total_seconds()))
    assert not any(slow in a for a in answers[:-1])
    assert slow in answers[-1]
    clock.now += limits.MESSAGES.lockout + timedelta(seconds=1)
    (again,) = await console(engine, "fast", "/mine")
    assert th("You have not filed anything yet. Just type a problem or need to start.") in again


async def test_a_villager_files_at_most_so_many_problems_an_hour_and_keeps_the_draft(
    store: Store, tambon: Tambon, tagger: KeywordTagger
) -> None:
    clock = Clock()
    engine = Engine(store, tagger, clock=clock)
    await onboard(engine, store, tambon, "busy")
    words = ["ถนนพัง", "น้ำไม่ไหล", "ไฟดับ", "ขยะเยอะ", "ยุงเยอะ", "ขโมยขึ้นบ้าน", "หมาจรจัด"]

    async def file(text: str | None) -> str:
        if text is not None:
            clock.now += timedelta(seconds=20)
            await console(engine, "busy", text)
        clock.now += timedelta(seconds=20)
        (answer,) = await console(engine, "busy", "1")
        if th("No, a different problem") in answer:
            number = next(
                line.split(".")[0]
                for line in answer.splitlines()
                if th("No, a different problem") in line
            )
            clock.now += timedelta(seconds=20)
            (answer,) = await console(engine, "busy", number.strip())
        return answer

    for i in range(limits.SUBMISSIONS.failures):
        answer = await file(f"{words[i % len(words)]} ครั้งที่ {i + 1}")
        assert "#" in answer
    assert len(await store.list_submissions(tambon.id)) == limits.SUBMISSIONS.failures
    refused = await file("ถนนพังอีกแล้ว ครั้งสุดท้าย")
    minutes = int(limits.SUBMISSIONS.lockout.total_seconds() // 60)
    assert th(MANY, count=limits.SUBMISSIONS.failures, minutes=minutes) in refused
    assert th("✅ Confirm") in refused  # the draft, shown again
    assert len(await store.list_submissions(tambon.id)) == limits.SUBMISSIONS.failures
    clock.now += limits.SUBMISSIONS.lockout
    clock.now += timedelta(seconds=1)
    filed = await file(None)  # the kept draft, confirmed again
    assert "#" in filed
    assert len(await store.list_submissions(tambon.id)) == limits.SUBMISSIONS.failures + 1


async def test_the_limits_are_settings(
    store: Store, tambon: Tambon, tagger: KeywordTagger, tmp_path: Path
) -> None:
    """TAMBON_LIMIT_* change how many; a wrong value is refused politely before anything runs."""
    settings = Settings.load(
        {"TAMBON_LIMIT_MESSAGES_PER_MINUTE": "4", "TAMBON_LIMIT_WRONG_JOIN_CODES": "๒"}, None
    )
    assert settings.limits.messages.failures == 4
    assert settings.limits.join_codes.failures == 2
    assert settings.limits.submissions == limits.SUBMISSIONS  # the default
    clock = Clock()
    engine = Engine(store, tagger, clock=clock, limits=settings.limits)
    answers = await console(engine, "guesser", "/start 10000001", "/start 10000002")
    assert th(JOIN_PAUSED, minutes=15) in answers[-1]  # after two, not five
    answers = await console(engine, "chatty", *["/help"] * 5)
    assert th(SLOW, seconds=60) not in answers[3]
    assert th(SLOW, seconds=60) in answers[4]  # the fifth in the minute
    for wrong in ("0", "ten", "10001", "-3"):
        done = run_cli(
            {"TAMBON_LIMIT_SUBMISSIONS_PER_HOUR": wrong, "PATH": "/usr/bin:/bin"},
            "tambon",
            "list",
            cwd=tmp_path,
        )
        assert done.returncode == 2, wrong
        assert "TAMBON_LIMIT_SUBMISSIONS_PER_HOUR" in done.stderr
        assert "Traceback" not in done.stderr
