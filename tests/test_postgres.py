"""The bot on PostgreSQL: a conversation, a hearing's ballots under concurrency, the report, and
the command line with ``TAMBON_DATABASE_URL=postgresql://...`` (the storage contract itself runs
on both backends in test_storage.py)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import report
from bot.core import Engine
from bot.nlp import KeywordTagger
from handlers.services import tambons
from handlers.services.summary import read_report
from handlers.types import T
from storage import open_store
from storage.base import PollMethod, Role, Store
from tests.conftest import console, onboard, run_cli_ok, th


@pytest.fixture
async def pg_store(postgres_url: str) -> AsyncIterator[Store]:
    store = open_store(postgres_url)
    await store.open()
    yield store
    await store.close()


async def test_a_conversation_and_its_report_on_postgres(
    pg_store: Store, tagger: KeywordTagger, tmp_path: Path
) -> None:
    engine = Engine(pg_store, tagger)
    tambon = await tambons.create_tambon(
        pg_store, "600801", ["บ้านท่าตะโก", "บ้านหนองหลวง", "บ้านเขาน้อย"]
    )
    await onboard(engine, pg_store, tambon, "villager", village=3)
    await onboard(engine, pg_store, tambon, "officer", village=1, role=Role.TEAM)
    await console(engine, "villager", "ถนนลูกรังหมู่ 3 เป็นหลุมเป็นบ่อ น้ำขังทุกปี 😭", "1")
    assert await pg_store.count_submissions(tambon.id) == 1
    # A second person says "same problem": counted in the group, not filed again.
    await onboard(engine, pg_store, tambon, "neighbour", village=3)
    await console(engine, "neighbour", "ถนนลูกรังหมู่3 เป็นหลุมเป็นบ่อ", "1", "1")
    (summary,) = await console(engine, "officer", "/summary")
    assert "ท่าตะโก" in summary
    counted, submissions = await read_report(pg_store, tambon)
    assert counted.villages_heard == [3]
    assert counted.reporters == 2
    assert counted.submissions == 1
    assert [g.reporters for g in counted.groups] == [2]
    assert submissions[0].categories[0] == "infrastructure"
    html = report.render(counted, submissions, "html", "th")
    assert "ถนนลูกรัง" in html
    assert report.pdf(counted, submissions, "th").startswith(b"%PDF-")
    # A redelivered update is stored once on PostgreSQL too.
    assert await pg_store.claim_update("telegram", "42")
    assert not await pg_store.claim_update("telegram", "42")


async def test_one_ballot_per_person_under_concurrency_on_postgres(pg_store: Store) -> None:
    tambon = await tambons.create_tambon(pg_store, "600801", 3)
    voters = [
        await pg_store.upsert_member("console", f"v{i}", tambon.id, Role.VILLAGER, None)
        for i in range(20)
    ]
    poll = await pg_store.create_poll(
        tambon.id, "t", PollMethod.APPROVAL, 1, [("ก", None), ("ข", None)]
    )
    await pg_store.set_poll_status(poll.id, "open")
    # Each voter presses 5 times at once, on several pooled connections.
    await asyncio.gather(
        *(
            pg_store.cast_ballot(poll.id, v.id, v.pseudonym, 1, [1 + i % 2])
            for v in voters
            for i in range(5)
        )
    )
    assert len(await pg_store.list_ballots(poll.id)) == 20
    log = await pg_store.ballot_log(poll.id)
    assert len(log) == 100
    assert sum(entry["action"] == "cast" for entry in log) == 20


async def test_the_command_line_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "TAMBON_DATABASE_URL": postgres_url}
    out = await run_cli_ok(env, "demo", "-o", str(tmp_path / "demo.html"), cwd=tmp_path)
    assert out.startswith("600801\t")
    await run_cli_ok(
        env,
        "report",
        "--tambon",
        "600801",
        "--format",
        "pdf",
        "-o",
        str(tmp_path / "r.pdf"),
        cwd=tmp_path,
    )
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF-")
    listed = await run_cli_ok(env, "tambon", "list", cwd=tmp_path)
    assert listed.startswith("600801")
    html = (tmp_path / "demo.html").read_text(encoding="utf-8")
    assert th("Priorities from the hearing") in html


async def test_data_beside_voices_and_the_plan_book_on_postgres(
    postgres_url: str, tmp_path: Path
) -> None:
    """The villages' files, the silent needs, the direction, the comments and the book, all
    through the command line on a PostgreSQL server."""
    env = {**os.environ, "TAMBON_DATABASE_URL": postgres_url, "PYTHONIOENCODING": "utf-8"}
    data = Path(__file__).parent / "data"
    await run_cli_ok(env, "demo", "-o", str(tmp_path / "demo.html"), cwd=tmp_path)
    for kind, name in (
        ("plans", "villages-plans.csv"),
        ("data", "villages-facts.csv"),
        ("data", "villages-jpt.csv"),
        ("resources", "villages-resources.csv"),
    ):
        await run_cli_ok(
            env, "villages", kind, "import", "--tambon", "600801", str(data / name), cwd=tmp_path
        )
    again = await run_cli_ok(
        env, "villages", "plans", "import", "--tambon", "600801", str(data / "villages-plans.csv")
    )
    assert (
        th(
            "{what}: {added} added, {updated} updated, {unchanged} already there.",
            what=T("Village plan rows"),
            added=0,
            updated=0,
            unchanged=4,
        )
        in again
    )
    needs = await run_cli_ok(env, "villages", "needs", "--tambon", "600801", "--json")
    found = {(r["village"], r["category"]) for r in map(json.loads, needs.splitlines())}
    assert (6, "water") in found  # the demo's village 6: short of water, nobody said so
    await run_cli_ok(
        env, "plan", "direction", "--tambon", "600801", "--strategy", "น้ำ", "--strategy", "อาชีพ"
    )
    item = (
        await run_cli_ok(
            env, "plan", "add", "--tambon", "600801", "--title", "ขุดลอกคลอง", "--strategy", "1"
        )
    ).strip()
    await run_cli_ok(env, "plan", "comment", "open", "--tambon", "600801", "--days", "3")
    results = await run_cli_ok(env, "plan", "comment", "results", "--tambon", "600801", "--json")
    assert json.loads(results.splitlines()[0])["item"] == int(item)
    await run_cli_ok(env, "plan", "approve", "--tambon", "600801", "--date", "2027-02-15")
    book = tmp_path / "book.pdf"
    await run_cli_ok(env, "report", "--book", "--tambon", "600801", "-o", str(book))
    assert book.read_bytes().startswith(b"%PDF-")
