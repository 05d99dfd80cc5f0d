"""Crash tests: `tambon-bot run` killed with SIGKILL at random moments in a stream of updates.

Each test runs the real bot as a process of its own against a stand-in that follows the
platform's delivery rules (Telegram's getUpdates offsets; a webhook sent again until it is
answered 2xx, as Telegram and LINE do), with failures injected into a tenth of the bot's sends
(5xx, dropped connections, 429). The bot is killed three times and restarted; then every update
must have been handled exactly once (each villager onboarded and their one problem filed once,
the ledger holding every update's key) and every reply delivered at least once.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import run_cli_ok
from tests.line_standin import Events, LineStandIn
from tests.telegram_standin import BOT_ID, TelegramStandIn

TOKEN = f"{BOT_ID}:crash-test-token"
SECRET = "line-crash-secret"
LINE_TOKEN = "line-crash-token"
WEBHOOK_SECRET = "crash-webhook-secret"
USERS = 30
KILLS = 3
CHAOS = 0.1
FIRST_USER = 810_000
PROBLEMS = [
    "ไฟฟ้าดับบ่อยมากตอนกลางคืน",
    "ถนนเป็นหลุมเป็นบ่อ รถสัญจรลำบาก",
    "น้ำประปาไม่ไหลสามวันแล้ว",
    "ขยะไม่มีคนมาเก็บ ส่งกลิ่นเหม็น",
    "อยากได้ไฟส่องสว่างที่ทางเข้าหมู่บ้าน",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def steps(code: str, index: int) -> list[tuple[str, str]]:
    """One villager's whole conversation, sent without waiting for the bot: joining, one
    problem, confirming it (and "a different problem" if the bot asks about a duplicate)."""
    return [
        ("text", f"/start {code}"),
        ("press", "vil:1"),
        ("press", "consent:yes"),
        ("text", f"{PROBLEMS[index % len(PROBLEMS)]} ซอย {index + 1}"),
        ("press", "ok:"),
        ("press", "dup:new"),
    ]


class Bot:
    """`tambon-bot run` as a process that can be killed and started again."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.process: asyncio.subprocess.Process | None = None
        self.log = (cwd / "bot.log").open("ab")
        self.kills = 0

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            env=self.env,
            cwd=self.cwd,
            stdout=self.log,
            stderr=self.log,
        )

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: no clean-up of any kind
        await self.process.wait()
        self.kills += 1

    async def stop(self) -> int:
        assert self.process is not None
        try:
            if self.process.returncode is None:
                self.process.terminate()
            return await asyncio.wait_for(self.process.wait(), 30)
        finally:
            self.log.close()


async def kill_now_and_then(bot: Bot, rng: random.Random) -> None:
    """Kill the bot KILLS times, each a random moment after it started, and restart it."""
    await bot.start()
    for _ in range(KILLS):
        await asyncio.sleep(rng.uniform(2.5, 5.0))  # start-up takes about two seconds
        await bot.kill()
        await bot.start()


def read_db(path: Path) -> dict[str, Any]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
        per_author = db.execute("SELECT count(*) FROM submissions GROUP BY author_id").fetchall()
        return {
            "members": one(
                "SELECT count(*) FROM members WHERE consent_at IS NOT NULL AND village_moo = 1"
            ),
            "submissions": one("SELECT count(*) FROM submissions"),
            "per_author": sorted({n for (n,) in per_author}),
            "ledger": {
                key
                for (key,) in db.execute(
                    "SELECT update_key FROM processed_updates"
                    " UNION SELECT event_key FROM inbox WHERE done_at IS NOT NULL"
                )
            },
            "inbox": one("SELECT count(*) FROM inbox WHERE done_at IS NULL"),
            "dead": one("SELECT count(*) FROM dead_letters"),
            "outbox": dict(db.execute("SELECT state, count(*) FROM outbox GROUP BY state")),
            "calls": [
                (recipient, json.loads(payload))
                for recipient, payload in db.execute(
                    "SELECT recipient, payload FROM outbox WHERE state = 'sent'"
                )
            ],
        }


async def settled(path: Path, keys: set[str], within: float = 90.0) -> dict[str, Any]:
    """Wait until every update is handled and every reply is settled."""
    deadline = time.monotonic() + within
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            state = read_db(path)
        except sqlite3.OperationalError:
            state = {}
        if (
            state
            and keys <= state["ledger"]
            and state["inbox"] == 0
            and not state["outbox"].get("pending")
        ):
            return state
        await asyncio.sleep(0.5)
    raise AssertionError(f"not settled: { ({k: v for k, v in state.items() if k != 'calls'}) }")


def assert_nothing_lost(state: dict[str, Any], keys: set[str]) -> None:
    assert keys <= state["ledger"], f"{len(keys - state['ledger'])} updates never handled"
    assert state["members"] == USERS  # everyone joined, chose village 1 and consented
    assert state["submissions"] == USERS  # each problem filed once
    assert state["per_author"] == [1]
    assert state["dead"] == 0
    assert set(state["outbox"]) == {"sent"}, state["outbox"]


@pytest.fixture
async def workdir(tmp_path: Path) -> tuple[dict[str, str], str]:
    env = {
        **os.environ,
        "TAMBON_DATABASE_URL": f"sqlite:///{tmp_path}/crash.db",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("TELEGRAM_WEBHOOK_URL", "LINE_CHANNEL_SECRET", "TELEGRAM_BOT_TOKEN"):
        env.pop(name, None)
    await run_cli_ok(env, "tambon", "create", "--code", "600801", "--villages", "3", cwd=tmp_path)
    out = await run_cli_ok(env, "invite", "--tambon", "600801", "--role", "villager", cwd=tmp_path)
    return env, out.splitlines()[0]


async def post_until_taken(
    http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> None:
    """Deliver a webhook as the platforms do: again and again until it is answered 2xx."""
    for _ in range(2000):
        try:
            async with http.post(url, data=body, headers=headers) as response:
                if 200 <= response.status < 300:
                    return
                assert response.status in (502, 503), (response.status, await response.text())
        except (aiohttp.ClientError, ConnectionError):
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("webhook never taken")


async def talk_by_webhook(
    standin: TelegramStandIn,
    http: aiohttp.ClientSession,
    url: str,
    code: str,
    index: int,
    user: int,
) -> list[dict[str, Any]]:
    """One villager's conversation (:func:`steps`) as Telegram webhooks, each delivered until
    taken; the updates sent."""
    headers = {
        "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
        "Content-Type": "application/json",
    }
    sent = []
    for kind, value in steps(code, index):
        if kind == "text":
            update = standin.text(user, value, queue=False)
        else:
            update = standin.press(user, value)
            standin._pending.remove(update)  # delivered by webhook, not by getUpdates
        await post_until_taken(http, url, json.dumps(update).encode(), headers)
        sent.append(update)
    return sent


async def test_telegram_polling_survives_kills(
    workdir: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    env, code = workdir
    standin = TelegramStandIn(TOKEN)
    await standin.start()
    standin.chaos = CHAOS
    env = {**env, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": standin.base_url}
    env["TAMBON_LISTEN"] = f"127.0.0.1:{free_port()}"
    bot = Bot(env, tmp_path)
    rng = random.Random(1)
    keys: set[str] = set()

    async def feed() -> None:
        for index in range(USERS):
            user = FIRST_USER + index
            for kind, value in steps(code, index):
                text = kind == "text"
                update = standin.text(user, value) if text else standin.press(user, value)
                keys.add(f"{BOT_ID}:{update['update_id']}")
            await asyncio.sleep(rng.uniform(0.1, 0.5))

    try:
        await asyncio.gather(feed(), kill_now_and_then(bot, rng))
        state = await settled(tmp_path / "crash.db", keys)
    finally:
        standin.release_polls()
        await bot.stop()
        await standin.stop()
    assert bot.kills == KILLS
    assert sum(standin.injected.values()) > 0  # the network did fail now and then
    assert_nothing_lost(state, keys)
    assert_telegram_replies_delivered(state, standin)


def assert_telegram_replies_delivered(state: dict[str, Any], standin: TelegramStandIn) -> None:
    received = {
        (int(c.params["chat_id"]), c.params["text"]) for c in standin.calls if "text" in c.params
    }
    sends = [(int(c["chat"]), c["out"]["text"]) for _, c in state["calls"] if "out" in c]
    assert sends
    missing = [send for send in sends if send not in received]
    assert missing == []
    for index in range(USERS):
        assert any(chat == FIRST_USER + index for chat, _ in sends)


async def test_telegram_webhook_survives_kills(
    workdir: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    env, code = workdir
    standin = TelegramStandIn(TOKEN)
    await standin.start()
    standin.chaos = CHAOS
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    env = {
        **env,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": standin.base_url,
        "TELEGRAM_WEBHOOK_URL": url,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TAMBON_LISTEN": f"127.0.0.1:{port}",
    }
    bot = Bot(env, tmp_path)
    rng = random.Random(2)
    keys: set[str] = set()

    async def villager(http: aiohttp.ClientSession, index: int) -> None:
        await asyncio.sleep(rng.uniform(0, 6))
        sent = await talk_by_webhook(standin, http, url, code, index, FIRST_USER + index)
        keys.update(f"{BOT_ID}:{update['update_id']}" for update in sent)

    try:
        async with aiohttp.ClientSession() as http:
            await asyncio.gather(
                kill_now_and_then(bot, rng), *(villager(http, i) for i in range(USERS))
            )
        state = await settled(tmp_path / "crash.db", keys)
    finally:
        await bot.stop()
        await standin.stop()
    assert bot.kills == KILLS
    assert_nothing_lost(state, keys)
    assert_telegram_replies_delivered(state, standin)


async def test_line_survives_kills(workdir: tuple[dict[str, str], str], tmp_path: Path) -> None:
    env, code = workdir
    standin = LineStandIn(LINE_TOKEN)
    await standin.start()
    standin.chaos = CHAOS
    events = Events(SECRET, standin)
    port = free_port()
    url = f"http://127.0.0.1:{port}/line/webhook"
    env = {
        **env,
        "LINE_CHANNEL_SECRET": SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
        "LINE_API_BASE_URL": standin.base_url,
        "TAMBON_LISTEN": f"127.0.0.1:{port}",
    }
    bot = Bot(env, tmp_path)
    rng = random.Random(3)
    keys: set[str] = set()

    async def villager(http: aiohttp.ClientSession, index: int) -> None:
        await asyncio.sleep(rng.uniform(0, 6))
        user = f"U{index:032d}"
        for kind, value in steps(code, index):
            event = events.text(user, value) if kind == "text" else events.postback(user, value)
            keys.add(f"Ubot:{event['webhookEventId']}")
            body = events.body(event)
            headers = {"X-Line-Signature": events.sign(body), "Content-Type": "application/json"}
            await post_until_taken(http, url, body, headers)

    try:
        async with aiohttp.ClientSession() as http:
            await asyncio.gather(
                kill_now_and_then(bot, rng), *(villager(http, i) for i in range(USERS))
            )
        state = await settled(tmp_path / "crash.db", keys)
    finally:
        await bot.stop()
        await standin.stop()
    assert bot.kills == KILLS
    assert_nothing_lost(state, keys)
    for index in range(USERS):
        user = f"U{index:032d}"
        received = standin.texts_to(user)
        calls = [call for recipient, call in state["calls"] if recipient == user]
        assert calls
        for call in calls:
            for message in call["messages"]:
                assert (message.get("text") or message.get("altText")) in received
