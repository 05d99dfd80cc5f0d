"""Group commit (bot/pipeline.py): several people's updates handled in one transaction where the
store has one writer, each in a savepoint; one that fails is undone alone, and a commit that
fails is tried again unit by unit. And the order of one person's presses on LINE, whose webhook
calls may arrive out of order: the later press wins by its time, not by its arrival."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from bot import web
from bot.channels.line import LineChannel
from bot.channels.telegram import TelegramChannel
from bot.core import Engine
from bot.nlp import KeywordTagger
from bot.pipeline import GroupCommit, Pipeline
from storage.base import InboxItem, PollMethod, PollStatus, Role, Store, Tambon
from tests.conftest import th
from tests.line_standin import Events, LineStandIn
from tests.telegram_standin import BOT_ID, TelegramStandIn
from tests.test_line import SECRET, TOKEN

TELEGRAM_TOKEN = f"{BOT_ID}:groups"
PEOPLE = [515000 + i for i in range(24)]


async def test_units_share_a_transaction_and_a_failing_one_is_undone_alone(store: Store) -> None:
    commits = GroupCommit(store)

    async def keep(key: str) -> list[InboxItem]:
        return await store.inbox_add("test", [InboxItem(key, key, "{}")])

    async def keep_then_fail(key: str) -> None:
        await keep(key)
        raise RuntimeError("the handler fell over")

    units = [commits.run(lambda key=f"k{i}": keep(key)) for i in range(10)]
    units.insert(4, commits.run(lambda: keep_then_fail("bad")))
    outcomes = await asyncio.gather(*units, return_exceptions=True)

    failed = [o for o in outcomes if isinstance(o, BaseException)]
    assert [str(f) for f in failed] == ["the handler fell over"]
    assert sorted(k for k, _ in await store.inbox_pending("test")) == sorted(
        f"k{i}" for i in range(10)
    )  # the failing unit's row is gone, the others' kept
    assert commits.units == 11
    assert commits.transactions < commits.units  # shared: 11 units, fewer commits


async def test_a_commit_that_fails_is_tried_again_unit_by_unit(
    store: Store, db_path: Path
) -> None:
    # A constraint checked only at COMMIT (a deferred foreign key): a row naming no parent,
    # written by a trigger when the key says so, fails the whole shared transaction.
    with sqlite3.connect(db_path) as db:
        db.executescript(
            """
            CREATE TABLE parents (id INTEGER PRIMARY KEY);
            CREATE TABLE orphans (parent INTEGER REFERENCES parents (id)
                                  DEFERRABLE INITIALLY DEFERRED);
            CREATE TRIGGER orphan AFTER INSERT ON inbox WHEN NEW.event_key = 'orphan'
            BEGIN INSERT INTO orphans VALUES (404); END;
            """
        )
    commits = GroupCommit(store)
    keys = ["a", "b", "orphan", "c", "d"]
    outcomes = await asyncio.gather(
        *(
            commits.run(lambda key=key: store.inbox_add("test", [InboxItem(key, key, "{}")]))
            for key in keys
        ),
        return_exceptions=True,
    )
    assert [isinstance(o, BaseException) for o in outcomes] == [False, False, True, False, False]
    assert sorted(k for k, _ in await store.inbox_pending("test")) == ["a", "b", "c", "d"]


@pytest.fixture
async def telegram_standin() -> AsyncIterator[TelegramStandIn]:
    server = TelegramStandIn(TELEGRAM_TOKEN)
    await server.start()
    yield server
    await server.stop()


async def villager(store: Store, tambon: Tambon, channel: str, user: str) -> None:
    """Someone who joined and consented earlier (village 3)."""
    member = await store.upsert_member(channel, user, tambon.id, Role.VILLAGER, "th")
    await store.update_member(member.id, consent_at=datetime.now(UTC), village_moo=3)


async def test_a_crowd_at_once_is_answered_in_order_and_a_poison_one_alone(
    telegram_standin: TelegramStandIn,
    store: Store,
    tambon: Tambon,
    tagger: KeywordTagger,
    db_path: Path,
) -> None:
    """Twenty-four people file a problem and then ask /mine at the same moment (one getUpdates
    batch): every one is answered, each person's two in order, from shared transactions; the
    one whose message the database refuses is retried alone and ends in the dead letters, and
    nobody else's message goes with it."""
    standin = telegram_standin
    for person in PEOPLE:
        await villager(store, tambon, "telegram", str(person))
    with sqlite3.connect(db_path) as db:
        for event in ("INSERT", "UPDATE"):
            db.execute(
                f"CREATE TRIGGER poison_{event} BEFORE {event} ON conversations"
                " WHEN NEW.data LIKE '%POISON%' BEGIN SELECT RAISE(ABORT, 'the disk said no');"
                " END"
            )
    pipeline = Pipeline(Engine(store, tagger), max_attempts=2, poll_interval=0.1)
    channel = TelegramChannel(
        pipeline.engine, TELEGRAM_TOKEN, base_url=standin.base_url, pipeline=pipeline
    )
    poisoned = PEOPLE[7]
    for number, person in enumerate(PEOPLE):
        road = "POISON ถนนพัง" if person == poisoned else f"ถนนหมู่๓พังเป็นหลุมใหญ่ขับรถลำบาก #{number}"
        standin.text(person, road)
        standin.text(person, "/mine")  # the same person's next message, right after it
    await channel.start()
    try:
        await standin.wait_for(
            lambda: all(len(standin.sent(p)) >= (1 if p == poisoned else 2) for p in PEOPLE), 30
        )
        await pipeline.drain()
    finally:
        standin.release_polls()
        await channel.stop()

    assert pipeline.commits.units >= 2 * len(PEOPLE)
    assert pipeline.commits.transactions < pipeline.commits.units  # shared
    (letter,) = await store.dead_letters()
    assert letter.sender == str(poisoned)
    assert "the disk said no" in (letter.last_error or "")
    for person in PEOPLE:
        sent = [str(c.params.get("text", "")) for c in standin.sent(person)]
        if person == poisoned:
            assert len(sent) == 1  # only /mine: their problem was not stored
            continue
        # The problem's confirmation (it quotes the words), then /mine: this person's order.
        assert len(sent) == 2, sent
        assert "#" + str(PEOPLE.index(person)) in sent[0]


@pytest.fixture
async def line_standin() -> AsyncIterator[LineStandIn]:
    server = LineStandIn(TOKEN)
    await server.start()
    yield server
    await server.stop()


async def test_two_presses_delivered_out_of_order_leave_the_later_choice(
    line_standin: LineStandIn, store: Store, tambon: Tambon, tagger: KeywordTagger
) -> None:
    """LINE stamps each press; two webhook calls of one person may arrive the wrong way round.
    The later press wins: the earlier one, arriving second, changes nothing and says which
    choice stands; the ballot log holds only what was applied."""
    events = Events(SECRET, line_standin)
    channel = LineChannel(Engine(store, tagger), SECRET, TOKEN, base_url=line_standin.base_url)
    await channel.start()
    runner = await web.serve(web.build_app(line=channel), "127.0.0.1:0")
    url = f"http://127.0.0.1:{runner.addresses[0][1]}{web.LINE_PATH}"
    user = "U00000000000000000000000000000a11"
    await villager(store, tambon, "line", user)
    poll = await store.create_poll(
        tambon.id, "ปัญหาสำคัญที่สุด", PollMethod.APPROVAL, 1, [("ถนน", None), ("น้ำ", None)]
    )
    await store.set_poll_status(poll.id, PollStatus.OPEN)
    earlier = events.postback(user, f"vote:{poll.id}.1", age=2.0)  # pressed two seconds ago
    later = events.postback(user, f"vote:{poll.id}.2", age=1.0)  # then changed to water
    try:
        async with aiohttp.ClientSession() as http:
            for event in (later, earlier):  # delivered the wrong way round
                body = events.body(event)
                headers = {
                    "X-Line-Signature": events.sign(body),
                    "Content-Type": "application/json",
                }
                async with http.post(url, data=body, headers=headers) as response:
                    assert response.status == 200
                await channel.drain()
    finally:
        await runner.cleanup()
        await channel.stop()
    (ballot,) = await store.list_ballots(poll.id)
    assert ballot.choices == (2,)
    assert [e["choices"] for e in await store.ballot_log(poll.id)] == [[2]]
    replies = line_standin.texts_to(user)
    assert th("✅ Counted: {choice}. Tap another to change it.").format(choice="น้ำ") in replies[0]
    assert th("✅ Your later choice stands: {choice}.").format(choice="น้ำ") in replies[-1]


async def test_a_long_transaction_lets_the_other_tasks_run(store: Store) -> None:
    """A transaction's statements run on the event loop's thread once it holds the write lock;
    one of thousands of statements (a big file) still lets the other tasks (webhooks, replies)
    run every few milliseconds instead of stalling the loop until it commits."""
    ticks = 0
    stop = False

    async def elsewhere() -> None:
        nonlocal ticks
        while not stop:
            ticks += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(elsewhere())
    try:
        async with store.transaction():
            await store.claim_update("test", "first")  # BEGIN: the write lock is ours
            before = ticks
            for number in range(20_000):
                await store.claim_update("test", f"k{number}")
            during = ticks - before
    finally:
        stop = True
        await other
    assert during > 0
    assert await store.claim_update("test", "k19999") is False  # all of them committed


async def test_units_sent_from_inside_a_transaction_get_their_own(
    store: Store, db_path: Path
) -> None:
    """The first unit may come from code that is itself inside a transaction (a tool, a test):
    the shared transactions are still the runner's own, committed when it says so."""
    commits = GroupCommit(store)
    async with store.transaction():
        await store.claim_update("test", "the caller's")
        kept = asyncio.create_task(
            commits.run(lambda: store.inbox_add("test", [InboxItem("unit", "U1", "{}")]))
        )
        await asyncio.sleep(0)
    assert [item.key for item in await kept] == ["unit"]
    # Committed: another connection (another process) sees it.
    with sqlite3.connect(db_path) as other:
        assert other.execute("SELECT event_key FROM inbox").fetchall() == [("unit",)]
    assert commits.transactions == 1
