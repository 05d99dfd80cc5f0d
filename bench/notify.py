"""Telling everyone: a plan item linked to 5,000 reporters on each channel is marked done.

    python bench/notify.py [--reporters 5000]

A fresh SQLite store holds one tambon with that many members on Telegram and as many on LINE,
all reporters of one problem group; one plan item is made from it and marked done. The bot's
durable path (one pipeline, both channels, as `tambon-bot run` wires them) renders each person's
notice, with its three answer buttons, queues it in the outbox and delivers it to local stand-ins
of the Bot API and the Messaging API. Printed per channel: the time from "done" until the last
person had it, against the platform's floor (Telegram: about 30 messages a second for a bot, so
5,000 take 167 s; LINE: 2,000 push requests a second), the messages the stand-in received, and how
many people got theirs twice (must be 0) or not at all (must be 0).

``--taps N`` runs a hearing at the same time (issue 24's mixed mode): while the notices go
out, N of the Telegram reporters tap a poll's buttons over ``--tap-seconds`` (each a choose-one
ballot, some changed), and the stand-in times each tap until the bot answers it (the toast of
``answerCallbackQuery``). Printed: the taps' p50 and p99 (goal: p99 < 1 s while the notices
still arrive, none doubled, none missing) and the poll's tally against a recount.

    python bench/notify.py [--reporters 5000] [--taps 600 --tap-seconds 30]
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
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.hearing import press  # noqa: E402
from bot.channels.line import LineChannel  # noqa: E402
from bot.channels.telegram import MESSAGES_PER_SECOND, TelegramChannel  # noqa: E402
from bot.core import Engine  # noqa: E402
from bot.nlp import KeywordTagger  # noqa: E402
from bot.pipeline import Pipeline  # noqa: E402
from handlers.services import plan, tambons  # noqa: E402
from handlers.services.polls import count_ballots  # noqa: E402
from storage.base import PlanStatus, PollMethod, Role  # noqa: E402
from storage.sqlite import SQLiteStore  # noqa: E402
from tests.line_standin import LineStandIn  # noqa: E402
from tests.telegram_standin import BOT_ID, TelegramStandIn  # noqa: E402

TOKEN = f"{BOT_ID}:notify-bench"
LINE_PUSHES_PER_SECOND = 2000  # the Messaging API's rate limit for push
# A Thai problem for the group and the item's title (the bench's message list; no Thai in code).
TITLE = next(
    line.format(m=3)
    for line in (Path(__file__).parent / "messages.txt").read_text(encoding="utf-8").splitlines()
    if line and not line.startswith("#")
)[:80]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reporters", type=int, default=5000, help="on each channel")
    parser.add_argument("--taps", type=int, default=0, help="Telegram voters tapping meanwhile")
    parser.add_argument("--tap-seconds", type=float, default=30.0)
    args = parser.parse_args()
    n = args.reporters
    python = platform.python_version()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {python}")
    print(f"reporters: {n} on Telegram, {n} on LINE; one plan item marked done")
    telegram_standin, line_standin = TelegramStandIn(TOKEN), LineStandIn("line-bench-token")
    await telegram_standin.start()
    await line_standin.start()
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "notify.db")
        await store.open()
        tambon = await tambons.create_tambon(store, "600801", 3)
        group = await store.create_group(tambon.id, TITLE, [], ["infrastructure"], 1)
        users = {"telegram": [str(700_000_000 + i) for i in range(n)]}
        users["line"] = [f"U{i:032x}" for i in range(n)]
        async with store.transaction():
            for channel, ids in users.items():
                for user in ids:
                    member = await store.upsert_member(
                        channel, user, tambon.id, Role.VILLAGER, "th"
                    )
                    await store.update_member(member.id, consent_at=datetime.now(UTC))
                    await store.add_group_reporter(group, member.id, 1, False)
        engine = Engine(store, KeywordTagger())
        pipeline = Pipeline(engine)
        telegram = TelegramChannel(
            engine, TOKEN, base_url=telegram_standin.base_url, pipeline=pipeline, poll_timeout=1
        )
        line = LineChannel(
            engine,
            "line-bench-secret",
            "line-bench-token",
            base_url=line_standin.base_url,
            pipeline=pipeline,
        )
        await telegram.start()
        await line.start()
        try:
            item = await plan.add_item(store, tambon, title=TITLE, groups=[group], by="bench")
            final: dict[int, int] = {}  # each voter's last choice
            schedule: list[list[Any]] = []
            if args.taps:
                poll = await store.create_poll(
                    tambon.id,
                    TITLE,
                    PollMethod.APPROVAL,
                    1,
                    [(f"{TITLE[:20]} {i}", None) for i in range(1, 6)],
                )
                await store.set_poll_status(poll.id, "open")
                rng = random.Random(2567)
                for number in range(args.taps):
                    voter = int(users["telegram"][number])
                    at, choice = rng.uniform(0, args.tap_seconds * 0.8), rng.randint(1, 5)
                    schedule.append([at, press(len(schedule) + 1, voter, poll.id, choice)])
                    final[voter] = choice
                    if number % 5 == 0:  # a fifth change their ballot later
                        later, choice = rng.uniform(at + 1, args.tap_seconds), rng.randint(1, 5)
                        schedule.append([later, press(len(schedule) + 1, voter, poll.id, choice)])
                        final[voter] = choice
            started = time.monotonic()
            await plan.set_status(store, item, PlanStatus.DONE, by="bench")
            if args.taps:
                telegram_standin._feeding = asyncio.create_task(telegram_standin._feed(schedule))
            await pipeline.queue_notices()
            queued = time.monotonic() - started
            finished: dict[str, float] = {}
            while len(finished) < 2 and time.monotonic() - started < 3600:
                tg = {
                    c.params.get("chat_id")
                    for c in telegram_standin.calls
                    if c.method == "sendMessage"
                }
                if "telegram" not in finished and len(tg) >= n:
                    finished["telegram"] = time.monotonic() - started
                pushed = {c.user for c in line_standin.calls if c.kind in ("push", "multicast")}
                if "line" not in finished and len(pushed) >= n:
                    finished["line"] = time.monotonic() - started
                await asyncio.sleep(0.2)
            await asyncio.sleep(2)  # a doubled message would arrive by now
            if args.taps:
                taps = sorted(telegram_standin.latencies)
                counted = await count_ballots(store, poll)
                recount = Counter(final.values())
                tally = {o.position: o.votes for o in counted.options}
        finally:
            telegram_standin.release_polls()
            await telegram.stop()
            await line.stop()
            await store.close()
    await telegram_standin.stop()
    await line_standin.stop()
    print(f"notices rendered and queued in the outbox: {queued:.1f} s")
    tg_counts = Counter(
        str(c.params.get("chat_id")) for c in telegram_standin.calls if c.method == "sendMessage"
    )
    line_counts = Counter(c.user for c in line_standin.calls if c.kind in ("push", "multicast"))
    for channel, counts, floor in (
        ("Telegram", tg_counts, n / MESSAGES_PER_SECOND),
        ("LINE", line_counts, n / LINE_PUSHES_PER_SECOND),
    ):
        key = channel.lower()
        took = finished.get(key)
        ids = users[key]
        missing = sum(1 for u in ids if counts[u] == 0)
        doubled = sum(1 for u in ids if counts[u] > 1)
        told = f"{took:.1f} s" if took is not None else "not finished"
        print(
            f"{channel}: everyone told in {told}; the platform's floor {floor:.1f} s"
            + (f" (ratio {took / floor:.2f})" if took else "")
            + f"; messages {sum(counts.values())}, missing {missing}, doubled {doubled}"
        )
    if args.taps:
        p50, p99 = taps[len(taps) // 2], taps[min(len(taps) - 1, int(len(taps) * 0.99))]
        print(
            f"hearing meanwhile: {len(taps)} taps answered of {len(schedule)}; p50 {p50:.2f} s,"
            f" p99 {p99:.2f} s (goal < 1 s); tally {dict(sorted(tally.items()))},"
            f" recount {dict(sorted(recount.items()))}"
        )
    pushes = sum(1 for c in line_standin.calls if c.kind == "push")
    print(f"LINE requests: {line_standin.multicasts} multicasts, {pushes} pushes")


if __name__ == "__main__":
    asyncio.run(main())
