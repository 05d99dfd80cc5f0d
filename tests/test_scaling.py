"""More than one process: two `tambon-bot run` processes in webhook mode behind one address (a
round-robin balancer), sharing one PostgreSQL store. Villagers talk at the same time, each
person's updates landing on either process in turn, some delivered twice; every update must be
handled once, each person's in order (a conversation handled out of order does not end with the
person joined, in village 1, with one problem filed), and every reply delivered."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from tests.balancer import Balancer
from tests.conftest import run_cli, run_cli_ok, th
from tests.telegram_standin import BOT_ID, TelegramStandIn
from tests.test_crash import (
    PROBLEMS,
    TOKEN,
    WEBHOOK_SECRET,
    Bot,
    free_port,
    post_until_taken,
    talk_by_webhook,
)

USERS = 40
FIRST_USER = 820_000
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET, "Content-Type": "application/json"}


async def read_store(url: str) -> dict[str, Any]:
    db = await asyncpg.connect(url)
    try:
        one = db.fetchval
        per_author = await db.fetch("SELECT count(*) AS n FROM submissions GROUP BY author_id")
        ledger = await db.fetch(
            "SELECT update_key AS k FROM processed_updates"
            " UNION SELECT event_key FROM inbox WHERE done_at IS NOT NULL"
        )
        outbox = await db.fetch("SELECT state, count(*) AS n FROM outbox GROUP BY state")
        return {
            "members": await one(
                "SELECT count(*) FROM members WHERE consent_at IS NOT NULL AND village_moo = 1"
            ),
            "submissions": await one("SELECT count(*) FROM submissions"),
            "per_author": sorted({r["n"] for r in per_author}),
            "ledger": {r["k"] for r in ledger},
            "inbox": await one("SELECT count(*) FROM inbox WHERE done_at IS NULL"),
            "dead": await one("SELECT count(*) FROM dead_letters"),
            "outbox": {r["state"]: r["n"] for r in outbox},
            "handled": await one("SELECT count(*) FROM inbox WHERE done_at IS NOT NULL"),
        }
    finally:
        await db.close()


async def settled(url: str, keys: set[str], within: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = await read_store(url)
        if keys <= state["ledger"] and state["inbox"] == 0 and not state["outbox"].get("pending"):
            return state
        await asyncio.sleep(0.5)
    raise AssertionError(f"not settled: { ({k: v for k, v in state.items() if k != 'ledger'}) }")


async def test_two_processes_behind_one_address_share_one_postgres_store(
    postgres_url: str, tmp_path: Path
) -> None:
    env = {**os.environ, "TAMBON_DATABASE_URL": postgres_url, "PYTHONUNBUFFERED": "1"}
    for name in ("LINE_CHANNEL_SECRET", "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_URL"):
        env.pop(name, None)
    await run_cli_ok(env, "tambon", "create", "--code", "600801", "--villages", "3", cwd=tmp_path)
    out = await run_cli_ok(env, "invite", "--tambon", "600801", "--role", "villager", cwd=tmp_path)
    code = out.splitlines()[0]
    standin = TelegramStandIn(TOKEN)
    await standin.start()
    ports = [free_port(), free_port()]
    balancer = Balancer([f"http://127.0.0.1:{port}" for port in ports])
    front = await balancer.start(free_port())
    url = f"{front}/telegram/webhook"
    bots = []
    for name, port in zip("ab", ports, strict=True):
        (tmp_path / name).mkdir()
        bot_env = {
            **env,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": standin.base_url,
            "TELEGRAM_WEBHOOK_URL": url,
            "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "TAMBON_LISTEN": f"127.0.0.1:{port}",
        }
        bots.append(Bot(bot_env, tmp_path / name))
    keys: set[str] = set()
    starts: dict[int, bytes] = {}

    async def villager(http: aiohttp.ClientSession, index: int) -> None:
        sent = await talk_by_webhook(standin, http, url, code, index, FIRST_USER + index)
        keys.update(f"{BOT_ID}:{update['update_id']}" for update in sent)
        starts[index] = json.dumps(sent[0]).encode()

    try:
        for bot in bots:
            await bot.start()
        async with aiohttp.ClientSession() as http:
            await asyncio.gather(*(villager(http, i) for i in range(USERS)))
            # Telegram sends an update again when it missed the answer: /start once more each,
            # through the balancer, so to either process.
            await asyncio.gather(
                *(post_until_taken(http, url, body, HEADERS) for body in starts.values())
            )
        state = await settled(postgres_url, keys)
    finally:
        for bot in bots:
            await bot.stop()
        await balancer.stop()
        await standin.stop()
    assert all(n > 10 for n in balancer.forwarded.values()), balancer.forwarded
    assert len(balancer.forwarded) == 2  # both processes took webhooks
    assert keys <= state["ledger"]
    assert state["handled"] == len(keys)  # each update handled once, redeliveries not again
    assert state["members"] == USERS  # each joined, chose village 1 and consented: in order
    assert state["submissions"] == USERS
    assert state["per_author"] == [1]
    assert state["dead"] == 0
    assert set(state["outbox"]) == {"sent"}, state["outbox"]
    # Each person's replies came in the order of their messages: the first is the answer to
    # /start (which village?), and the thanks for joining comes before the problem's card.
    village_question = th("Which village (moo) do you live in?")
    thanks = th(
        "Thank you! You can now tell us about a problem or a need in your village: just type "
        "it in your own words, for example: the road in moo 3 is full of potholes."
    )
    for index in range(USERS):
        texts = [c.params["text"] for c in standin.sent(FIRST_USER + index)]
        asked = next(i for i, text in enumerate(texts) if village_question in text)
        joined = next(i for i, text in enumerate(texts) if thanks in text)
        card = next(i for i, text in enumerate(texts) if PROBLEMS[index % len(PROBLEMS)] in text)
        assert asked < joined < card, texts


async def test_a_second_run_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    """An SQLite store serves one `run`: a second is told to use PostgreSQL and leaves the
    first alone; once the first is gone, even killed with SIGKILL, a new one starts."""
    standin = TelegramStandIn(TOKEN)
    await standin.start()
    env = {
        **os.environ,
        "TAMBON_DATABASE_URL": f"sqlite:///{tmp_path / 'one.db'}",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": standin.base_url,
        "TAMBON_LISTEN": f"127.0.0.1:{free_port()}",
    }
    env.pop("TELEGRAM_WEBHOOK_URL", None)
    first, third = Bot(env, tmp_path), None
    try:
        await first.start()
        await standin.wait_for(lambda: any(c.method == "getUpdates" for c in standin.calls), 30)
        second = await asyncio.to_thread(
            run_cli, {**env, "TAMBON_LISTEN": f"127.0.0.1:{free_port()}"}, "run", cwd=tmp_path
        )
        assert second.returncode == 2
        assert "PostgreSQL" in second.stderr
        assert "Traceback" not in second.stderr
        # Issue 23, item 6: a restore under the running bot, and a console run beside it, are
        # refused too (the restore said nothing and replaced the store under the bot).
        backup = tmp_path / "before.db"
        done = await asyncio.to_thread(run_cli, env, "backup", "-o", str(backup), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        restore = await asyncio.to_thread(
            run_cli, env, "restore", str(backup), "--force", cwd=tmp_path
        )
        assert restore.returncode == 2
        assert "Traceback" not in restore.stderr
        console_env = {k: v for k, v in env.items() if k != "TELEGRAM_BOT_TOKEN"}
        console = await asyncio.to_thread(run_cli, console_env, "run", cwd=tmp_path)
        assert console.returncode == 2
        assert "PostgreSQL" in console.stderr
        assert first.process is not None
        assert first.process.returncode is None  # the first runs on
        await first.kill()
        third = Bot(env, tmp_path)
        await third.start()
        assert third.process is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(third.process.wait(), 5)
        assert third.process.returncode is None  # not refused: it is serving
    finally:
        standin.release_polls()
        if third is not None:
            await third.stop()
        await first.stop()
        await standin.stop()
