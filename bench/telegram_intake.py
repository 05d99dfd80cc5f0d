"""Benchmark: Telegram intake throughput, our bot against a bare python-telegram-bot echo bot.

The same local Bot API stand-in feeds N problem messages (varied Thai texts, one per onboarded
villager) to

  (a) a bare PTB echo bot: one ``sendMessage`` per update, nothing else;
  (b) our bot: each update is recorded (redelivery ledger), tagged, its draft stored durably in
      the SQLite store in one transaction, and answered with the confirmation and its buttons.

Both run in this process, one after the other; the stand-in runs in a child process, as
Telegram's servers would be elsewhere. The ratio (b)/(a) is the
figure to watch: it is measured in one run, so a busy machine slows both sides alike.

    python bench/telegram_intake.py [--messages 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("PTB_TIMEDELTA", "true")

TOKEN = "123:bench"
FIRST_USER = 10_000_000

TEXTS = [
    line
    for line in (Path(__file__).parent / "messages.txt").read_text(encoding="utf-8").splitlines()
    if line and not line.startswith("#")
]


def message_text(i: int) -> str:
    return TEXTS[i % len(TEXTS)].format(m=i % 9 + 1) + f" ({i})"


class StandInProcess:
    """A platform's stand-in server in a child process, driven over its control routes (the
    Bot API's by default)."""

    def __init__(self, module: str = "tests.telegram_standin", token: str = TOKEN) -> None:
        self.command = [sys.executable, "-m", module, token]
        self.process: subprocess.Popen[str] | None = None
        self.base = ""

    def __enter__(self) -> StandInProcess:
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        port = int(self.process.stdout.readline())
        self.base = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(10)

    @property
    def bot_api(self) -> str:
        return self.base + "/bot"

    async def control(self, http: aiohttp.ClientSession, command: str, **body: Any) -> int:
        async with http.post(f"{self.base}/_standin/{command}", json=body) as response:
            return int((await response.json())["sent"])

    async def run(self, http: aiohttp.ClientSession, n: int, start: Any, stop: Any) -> float:
        """Load N messages, start the bot, and time until N replies were sent."""
        texts = [message_text(i) for i in range(n)]
        await self.control(http, "load", first_user=FIRST_USER, texts=texts)
        started = time.perf_counter()
        await start()
        while await self.control(http, "stats") < n:  # noqa: ASYNC110 - polls another process
            await asyncio.sleep(0.02)
        seconds = time.perf_counter() - started
        await stop()
        return seconds


async def seed_villagers(store: Any, n: int, channel: str = "telegram") -> Any:
    """The sample tambon with N onboarded villagers (ids from :func:`user_id`), in bulk."""
    from handlers.services import tambons
    from storage.base import Role

    tambon = await tambons.create_tambon(store, "600801", 9)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    async with store.transaction():
        await store.db.executemany(
            "INSERT INTO members (channel, platform_user_id, tambon_id, role, village_moo,"
            " consent_at, pseudonym, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    channel,
                    user_id(channel, i),
                    tambon.id,
                    Role.VILLAGER.value,
                    i % 9 + 1,
                    now,
                    f"P-{i}",
                    now,
                )
                for i in range(n)
            ],
        )
    return tambon


def user_id(channel: str, i: int) -> str:
    """The platform's id of the benchmark's i-th villager."""
    return f"U{FIRST_USER + i:032x}" if channel == "line" else str(FIRST_USER + i)


def diagnostic_engine(engine: Any, variant: str) -> None:
    """Replace the engine's work by a fixed reply, to see what each part costs.

    ``reply-only``: the same confirmation with its buttons for every message, through the inbox
    and the outbox but with no handler and no tagging (what the durable path and PTB cost for our
    reply); ``reply+tag``: the same, plus tagging each text.
    """
    full = engine.handle_in_transaction
    fixed: list[Any] = []

    async def handle(incoming: Any) -> tuple[list[Any], list[Any]]:
        if not fixed:
            fixed.extend((await full(incoming))[0])
        if variant == "reply+tag":
            engine.tagger.tag(incoming.text)
        return list(fixed), []

    engine.handle_in_transaction = handle


async def run_bench(n: int, concurrency: int, variant: str = "full") -> None:
    from telegram import Update
    from telegram.ext import Application, MessageHandler, filters

    from bot.channels.telegram import TelegramChannel
    from bot.core import Engine
    from bot.nlp import KeywordTagger
    from bot.nlp.tagger import packaged_model
    from storage.sqlite import SQLiteStore

    with StandInProcess() as standin, tempfile.TemporaryDirectory() as tmp:
        async with aiohttp.ClientSession() as http:
            # (a) the bare echo bot, PTB's defaults
            async def echo(update: Update, _: object) -> None:
                if update.message is not None and update.message.text is not None:
                    await update.message.reply_text(update.message.text)

            app = Application.builder().token(TOKEN).base_url(standin.bot_api).build()
            app.add_handler(MessageHandler(filters.TEXT, echo))
            await app.initialize()
            await app.start()

            async def start_echo() -> None:
                assert app.updater is not None
                await app.updater.start_polling(timeout=1)

            async def stop_echo() -> None:
                assert app.updater is not None
                await app.updater.stop()
                await app.stop()
                await app.shutdown()

            echo_seconds = await standin.run(http, n, start_echo, stop_echo)

            # (b) our bot, on a fresh SQLite store with every sender already onboarded
            store = SQLiteStore(Path(tmp) / "bench.db")
            await store.open()
            await seed_villagers(store, n)
            # The tagger as `tambon-bot run` builds it: lexicon plus the packaged classifier.
            engine = Engine(store, KeywordTagger(model=packaged_model()))
            engine.tagger.tag(message_text(0))  # build the tokeniser before timing
            if variant != "full":
                diagnostic_engine(engine, variant)
            # Not paced to Telegram's 30 messages a second: this measures the bot's own work
            # against the echo bot, which is not paced either.
            channel = TelegramChannel(
                engine,
                TOKEN,
                base_url=standin.bot_api,
                concurrency=concurrency,
                poll_timeout=1,
                messages_per_second=1e6,
            )

            async def start_ours() -> None:
                await channel.start()

            ours_seconds = await standin.run(http, n, start_ours, channel.stop)
            drafts = await store._one(
                "SELECT count(*) FROM conversations WHERE step = 'intake.confirm'"
            )
            ledger = await store._one(
                "SELECT (SELECT count(*) FROM processed_updates)"
                " + (SELECT count(*) FROM inbox WHERE done_at IS NOT NULL)"
            )
            await store.close()

    echo_rate = n / echo_seconds
    ours_rate = n / ours_seconds
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}"
    )
    print(f"messages: {n}; our bot's concurrency: {concurrency} senders at once")
    print(f"(a) bare PTB echo bot:            {echo_rate:8.0f} updates/s  ({echo_seconds:.1f} s)")
    print(f"(b) tambon-bot (tag+store+reply): {ours_rate:8.0f} updates/s  ({ours_seconds:.1f} s)")
    print(f"ratio (b)/(a): {ours_rate / echo_rate:.2f}   goal >= 0.80")
    if variant != "full":
        print(f"(diagnostic variant {variant!r}: no handler, only the inbox and outbox)")
        return
    stored = drafts[0] if drafts else 0
    print(f"check: {stored} drafts stored, {ledger[0] if ledger else 0} updates in the ledger")
    if stored != n or not ledger or ledger[0] != n:
        raise SystemExit("the bot did not store every message")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument(
        "--variant",
        choices=["full", "reply-only", "reply+tag"],
        default="full",
        help="diagnostic variants replace the bot's work by a fixed reply",
    )
    args = parser.parse_args()
    from bot.channels.telegram import DEFAULT_CONCURRENCY

    asyncio.run(run_bench(args.messages, args.concurrency or DEFAULT_CONCURRENCY, args.variant))


if __name__ == "__main__":
    main()
