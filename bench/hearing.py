"""Benchmark: a public hearing's poll through Telegram, against one bot on embedded SQLite.

10,000 distinct onboarded villagers tap an option of a choose-one poll's card, and 2,000 of them
change their ballot, all within one simulated minute: the Telegram stand-in (in its own process)
releases each button press at its scheduled moment and times how long until the bot's
confirmation reaches that person. The bot runs as in production (long polling into the inbox,
the durable path of bot/pipeline.py with its outbox, aiosqlite).

It prints ballots per second sustained, p50 and p99 from press to confirmation, and the
difference between the bot's final tally and a recount of what each voter last chose (it must be
0). Goal: every ballot confirmed, recount difference 0, p99 under 1 second.

    python bench/hearing.py [--voters 10000] [--changes 2000] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.telegram_intake import FIRST_USER, TOKEN, StandInProcess, seed_villagers  # noqa: E402

# Five of the benchmark's problem messages serve as the poll's options.
OPTIONS = [
    line.split(" ")[0]
    for line in (Path(__file__).parent / "messages.txt").read_text(encoding="utf-8").splitlines()
    if line and not line.startswith("#")
][:5]


def press(update_id: int, user: int, poll_id: int, position: int) -> dict[str, Any]:
    """A tap on an option of the poll card the bot sent earlier, as Telegram delivers it."""
    card = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": user, "type": "private"},
        "from": {"id": 1, "is_bot": True, "first_name": "Tambon"},
        "text": "🗳",
        "reply_markup": {
            "inline_keyboard": [
                [{"text": text, "callback_data": f"vote:{poll_id}.{i}"}]
                for i, text in enumerate(OPTIONS, start=1)
            ]
        },
    }
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"q{update_id}",
            "from": {"id": user, "is_bot": False, "first_name": "Villager"},
            "chat_instance": "hall",
            "data": f"vote:{poll_id}.{position}",
            "message": card,
        },
    }


async def run(voters: int, changes: int, seconds: float) -> None:
    from bot.channels.telegram import TelegramChannel
    from bot.core import Engine
    from bot.nlp import KeywordTagger
    from bot.polls import tally
    from storage.base import PollMethod
    from storage.sqlite import SQLiteStore

    rng = random.Random(2567)
    with StandInProcess() as standin, tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "hearing.db")
        await store.open()
        tambon = await seed_villagers(store, voters)
        poll = await store.create_poll(
            tambon.id,
            "Hearing: the most important problem",
            PollMethod.APPROVAL,
            1,
            [(text, None) for text in OPTIONS],
        )
        await store.set_poll_status(poll.id, "open")

        schedule: list[tuple[float, dict[str, Any]]] = []
        final: dict[int, int] = {}
        casts = [(rng.uniform(0, seconds * 0.9), FIRST_USER + i) for i in range(voters)]
        for update_id, (at, user) in enumerate(casts, start=1):
            choice = rng.randint(1, len(OPTIONS))
            schedule.append((at, press(update_id, user, poll.id, choice)))
            final[user] = choice
        for update_id, (at, user) in enumerate(rng.sample(casts, changes), start=voters + 1):
            choice = rng.randint(1, len(OPTIONS))
            later = rng.uniform(at + 0.5, seconds)
            schedule.append((later, press(update_id, user, poll.id, choice)))
            final[user] = choice  # the change comes after the first cast

        channel = TelegramChannel(
            Engine(store, KeywordTagger()), TOKEN, base_url=standin.bot_api, poll_timeout=1
        )
        await channel.start()
        expected = voters + changes
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{standin.base}/_standin/schedule",
                json={"updates": [[at, update] for at, update in schedule]},
            ) as response:
                response.raise_for_status()
            started = time.perf_counter()
            deadline = started + seconds * 5
            while True:
                async with http.post(f"{standin.base}/_standin/stats", json={}) as response:
                    stats = await response.json()
                if stats["sent"] >= expected or time.perf_counter() > deadline:
                    break
                await asyncio.sleep(0.1)
            elapsed = time.perf_counter() - started
        await channel.stop()
        stored = await store.list_ballots(poll.id)
        counted = tally(poll, stored)
        await store.close()

    recount = {position: 0 for position in range(1, len(OPTIONS) + 1)}
    for choice in final.values():
        recount[choice] += 1
    difference = sum(abs(o.votes - recount[o.position]) for o in counted.options)
    latency = stats.get("latency", {})
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}"
    )
    print(f"voters: {voters}, changes: {changes}, scheduled over {seconds:.0f} s")
    print(f"ballots confirmed: {stats['sent']} of {expected}; stored ballots: {len(stored)}")
    print(f"sustained: {stats['sent'] / elapsed:.0f} ballots/s over {elapsed:.1f} s")
    print(
        f"press to confirmation: p50 {latency.get('p50', float('nan')) * 1000:.0f} ms,"
        f" p99 {latency.get('p99', float('nan')) * 1000:.0f} ms,"
        f" max {latency.get('max', float('nan')) * 1000:.0f} ms"
    )
    print(f"recount difference: {difference}   goals: all confirmed, difference 0, p99 < 1000 ms")
    if stats["sent"] < expected or difference or len(stored) != voters:
        raise SystemExit("the hearing did not count every ballot exactly")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=2_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    asyncio.run(run(args.voters, args.changes, args.seconds))


if __name__ == "__main__":
    main()
