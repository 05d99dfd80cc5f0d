"""Soak benchmark: a mixed stream from thousands of villagers over Telegram and LINE, with the bot
killed (SIGKILL) and restarted in the middle.

`tambon-bot run` serves both channels from one process on the embedded SQLite store; the
stand-ins (this process) follow the platforms' delivery rules: Telegram serves unconfirmed
updates again to getUpdates, and a LINE webhook is posted again until it is answered 2xx. Five
percent of the bot's sends fail (5xx, dropped connections, 429). Each villager joins, files a
problem, confirms it, votes in the open poll and asks for /mine and /summary.

It prints updates sent, effects stored, updates lost, effects duplicated and replies undelivered
(the last three must be 0), throughput, and p99 latency from an update to its first reply.

    python bench/soak.py [--users 5000] [--kill-at 0.4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.line_standin import Events, LineStandIn  # noqa: E402
from tests.telegram_standin import BOT_ID, TelegramStandIn  # noqa: E402
from tests.test_crash import PROBLEMS, Bot, free_port, post_until_taken  # noqa: E402

TOKEN = f"{BOT_ID}:soak"
LINE_SECRET = "soak-secret"
LINE_TOKEN = "soak-token"


def cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def stream(code: str, poll: int, index: int) -> list[tuple[str, str]]:
    return [
        ("text", f"/start {code}"),
        ("press", "vil:1"),
        ("press", "consent:yes"),
        ("text", f"{PROBLEMS[index % len(PROBLEMS)]} ({index + 1})"),
        ("press", "ok:"),
        ("press", "dup:new"),
        ("press", f"vote:{poll}.{index % 3 + 1}"),
        ("text", "/mine"),
        ("text", "/summary"),
    ]


async def run(users: int, kill_at: float) -> None:
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = work / "soak.db"
        env = {**os.environ, "TAMBON_DATABASE_URL": f"sqlite:///{db}", "PYTHONUNBUFFERED": "1"}
        for name in ("TELEGRAM_WEBHOOK_URL", "TELEGRAM_BOT_TOKEN", "LINE_CHANNEL_SECRET"):
            env.pop(name, None)
        cli(env, work, "tambon", "create", "--code", "600801", "--villages", "3")
        code = cli(env, work, "invite", "--tambon", "600801", "--role", "villager").split()[0]
        poll = cli(
            env,
            work,
            "poll",
            "create",
            "--tambon",
            "600801",
            "--title",
            "Priorities",
            "--option",
            "Roads",
            "--option",
            "Water",
            "--option",
            "Power",
        ).split()[0]
        cli(env, work, "poll", "open", poll)

        telegram = TelegramStandIn(TOKEN)
        telegram.record_calls = True
        line = LineStandIn(LINE_TOKEN)
        await telegram.start()
        await line.start()
        telegram.chaos = line.chaos = 0.05
        events = Events(LINE_SECRET, line)
        port = free_port()
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=telegram.base_url,
            LINE_CHANNEL_SECRET=LINE_SECRET,
            LINE_CHANNEL_ACCESS_TOKEN=LINE_TOKEN,
            LINE_API_BASE_URL=line.base_url,
            TAMBON_LISTEN=f"127.0.0.1:{port}",
        )
        bot = Bot(env, work)
        keys: set[str] = set()
        sent_at: dict[str, list[float]] = defaultdict(list)
        total = users * len(stream(code, int(poll), 0))
        done = 0
        killed = asyncio.Event()

        async def maybe_kill() -> None:
            nonlocal done
            done += 1
            if done == int(total * kill_at) and not killed.is_set():
                killed.set()
                await bot.kill()
                await bot.start()

        async def telegram_villager(index: int) -> None:
            user = 900_000 + index
            for kind, value in stream(code, int(poll), index):
                update = (
                    telegram.text(user, value) if kind == "text" else telegram.press(user, value)
                )
                keys.add(f"{BOT_ID}:{update['update_id']}")
                sent_at[str(user)].append(time.monotonic())
                await maybe_kill()
                await asyncio.sleep(rng.uniform(0.5, 2.0))

        async def line_villager(http: aiohttp.ClientSession, index: int) -> None:
            user = f"U{index:032d}"
            url = f"http://127.0.0.1:{port}/line/webhook"
            for kind, value in stream(code, int(poll), index):
                event = (
                    events.text(user, value) if kind == "text" else events.postback(user, value)
                )
                keys.add(f"Ubot:{event['webhookEventId']}")
                body = events.body(event)
                headers = {
                    "X-Line-Signature": events.sign(body),
                    "Content-Type": "application/json",
                }
                sent_at[user].append(time.monotonic())
                await post_until_taken(http, url, body, headers)
                await maybe_kill()
                await asyncio.sleep(rng.uniform(0.5, 2.0))

        await bot.start()
        await asyncio.sleep(3)  # start-up
        started = time.monotonic()
        # People arrive over this many seconds: about 90 updates a second at the peak, within
        # what one process on two cores handles (bench/telegram_intake.py), so that latency
        # measures the path and not a queue.
        spread = users / 10
        async with aiohttp.ClientSession() as http:

            async def arrive(index: int) -> None:
                await asyncio.sleep(rng.uniform(0, spread))
                if index % 2:
                    await line_villager(http, index)
                else:
                    await telegram_villager(index)

            await asyncio.gather(*(arrive(i) for i in range(users)))
        state = await settle(db, keys, within=1800)
        elapsed = time.monotonic() - started
        telegram.release_polls()
        await bot.stop()
        await telegram.stop()
        await line.stop()

    received: dict[str, list[float]] = defaultdict(list)
    telegram_texts: set[tuple[str, str]] = set()
    for call in telegram.calls:
        if "chat_id" in call.params and call.result is not None:
            received[str(call.params["chat_id"])].append(call.at)
            telegram_texts.add((str(call.params["chat_id"]), str(call.params.get("text", ""))))
    line_texts: dict[str, set[str]] = defaultdict(set)
    for line_call in line.calls:
        if line_call.user:
            received[line_call.user].append(line_call.at)
            for message in line_call.messages:
                line_texts[line_call.user].add(message.get("text") or message.get("altText", ""))
    undelivered = 0
    for recipient, call in state["calls"]:
        if "messages" in call:
            texts = [m.get("text") or m.get("altText", "") for m in call["messages"]]
            undelivered += sum(1 for t in texts if t not in line_texts[recipient])
        elif call.get("op") in ("send",):
            undelivered += (recipient, call["out"]["text"]) not in telegram_texts
    latencies = []
    for user, times in sent_at.items():
        replies = sorted(received.get(user, []))
        for at in times:
            later = [r for r in replies if r >= at]
            if later:
                latencies.append(later[0] - at)
    latencies.sort()
    lost = len(keys - state["ledger"])
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}"
    )
    print(f"users: {users} (half Telegram polling, half LINE), one SIGKILL at {kill_at:.0%}")
    print(
        f"updates sent: {len(keys)}; effects stored: {state['members']} members joined,"
        f" {state['submissions']} problems, {state['ballots']} ballots"
    )
    duplicated = (state["submissions"] - state["authors"]) + (state["ballots"] - state["voters"])
    print(f"lost: {lost}   duplicated: {duplicated}   replies undelivered: {undelivered}")
    if state["waiting"]:
        print(f"(still waiting when the soak gave up: {state['waiting']})")
    print(
        f"injected send failures: {dict(telegram.injected)} telegram, {dict(line.injected)} line"
    )
    print(f"throughput: {len(keys) / elapsed:.0f} updates/s over {elapsed:.0f} s")
    if latencies:
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(
            f"update to first reply: p50 {latencies[len(latencies) // 2] * 1000:.0f} ms,"
            f" p99 {p99 * 1000:.0f} ms"
        )
    if lost or duplicated or undelivered:
        raise SystemExit("the soak lost, doubled or did not deliver something")


async def settle(db: Path, keys: set[str], within: float) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                ledger = {
                    k
                    for (k,) in conn.execute(
                        "SELECT update_key FROM processed_updates"
                        " UNION SELECT event_key FROM inbox WHERE done_at IS NOT NULL"
                    )
                }
                inbox = conn.execute(
                    "SELECT count(*) FROM inbox WHERE done_at IS NULL"
                ).fetchone()[0]
                pending = conn.execute(
                    "SELECT count(*) FROM outbox WHERE state = 'pending'"
                ).fetchone()[0]
                # Everything handled and sent (or, past the deadline, whatever there is: then
                # "lost" counts what is still waiting too).
                done = keys <= ledger and not inbox and not pending
                if done or time.monotonic() > deadline:
                    one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
                    return {
                        "ledger": ledger,
                        "waiting": inbox + pending,
                        "members": one(
                            "SELECT count(*) FROM members WHERE consent_at IS NOT NULL"
                        ),
                        "submissions": one("SELECT count(*) FROM submissions"),
                        "authors": one("SELECT count(DISTINCT author_id) FROM submissions"),
                        "ballots": one("SELECT count(*) FROM ballots"),
                        "voters": one("SELECT count(DISTINCT member_id) FROM ballots"),
                        "calls": [
                            (r, json.loads(p))
                            for r, p in conn.execute(
                                "SELECT recipient, payload FROM outbox WHERE state = 'sent'"
                            )
                        ],
                    }
        except sqlite3.OperationalError:
            pass
        await asyncio.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--kill-at", type=float, default=0.4)
    args = parser.parse_args()
    asyncio.run(run(args.users, args.kill_at))


if __name__ == "__main__":
    main()
