"""Benchmark: a public hearing's poll through Telegram and through LINE, against one bot on
embedded SQLite.

10,000 distinct onboarded villagers tap an option of a choose-one poll's card, and 2,000 of them
change their ballot, all within one simulated minute. The platform's stand-in (in its own
process) makes each button press at its scheduled moment and times how long until the bot's
confirmation reaches that person:

* Telegram: the stand-in releases the press to ``getUpdates``; the bot long-polls, as the README
  tells a new office to run it.
* LINE: the stand-in posts the postback to the bot's webhook listener, signed, one request per
  event (again after a non-2xx answer, as LINE does); the bot answers with the reply token.

The bot runs as in production otherwise: the durable path of bot/pipeline.py (inbox, one
transaction per update, outbox), aiosqlite. It prints, per channel, ballots per second
sustained, p50 and p99 from press to confirmation, and the difference between the bot's final
tally and a recount of what each voter last chose (it must be 0). Goals: every ballot confirmed,
recount difference 0, p99 under 1 second.

``--capacity`` measures instead, in the same run, how many presses a second the bot confirms
when every press is there at once, against a baseline on the same stand-in: a bare
python-telegram-bot bot (PTB's defaults) that answers each callback query with a toast, and a
bare aiohttp webhook that verifies LINE's signature and replies to each postback with line-bot-
sdk; then it offers half the baseline's capacity over ``--seconds`` and prints the p99. Goals:
capacity >= 0.8x the baseline, p99 < 1 s at half of it.

    python bench/hearing.py [--channel telegram|line|both] [--voters 10000] [--changes 2000]
                            [--seconds 60] [--capacity]
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

from bench.telegram_intake import (  # noqa: E402
    TOKEN,
    StandInProcess,
    seed_villagers,
    user_id,
)

LINE_SECRET = "hearing-secret"
LINE_TOKEN = "hearing-token"

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


class Hearing:
    """The poll and the presses: who taps which option when, and what each one last chose."""

    def __init__(self, voters: int, changes: int, seconds: float) -> None:
        rng = random.Random(2567)
        # (seconds from the start, voter number, option position)
        self.presses: list[tuple[float, int, int]] = []
        self.final: dict[int, int] = {}
        casts = [(rng.uniform(0, seconds * 0.9), i) for i in range(voters)]
        for at, voter in casts:
            choice = rng.randint(1, len(OPTIONS))
            self.presses.append((at, voter, choice))
            self.final[voter] = choice
        for at, voter in rng.sample(casts, changes):
            choice = rng.randint(1, len(OPTIONS))
            self.presses.append((rng.uniform(at + 0.5, seconds), voter, choice))
            self.final[voter] = choice  # the change comes after the first cast

    def recount(self) -> dict[int, int]:
        counts = {position: 0 for position in range(1, len(OPTIONS) + 1)}
        for choice in self.final.values():
            counts[choice] += 1
        return counts


async def open_poll(store: Any, voters: int, channel: str) -> Any:
    from storage.base import PollMethod

    tambon = await seed_villagers(store, voters, channel)
    poll = await store.create_poll(
        tambon.id,
        "Hearing: the most important problem",
        PollMethod.APPROVAL,
        1,
        [(text, None) for text in OPTIONS],
    )
    await store.set_poll_status(poll.id, "open")
    return poll


async def schedule_and_wait(
    base: str, schedule: dict[str, Any], done: Any, within: float
) -> tuple[dict[str, Any], float]:
    """Hand the stand-in its schedule, then ask for its figures until ``done(figures)`` or
    ``within`` seconds have passed; the figures and the seconds it took."""
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/_standin/schedule", json=schedule) as response:
            response.raise_for_status()
        started = time.perf_counter()
        while True:
            async with http.post(f"{base}/_standin/stats", json={}) as response:
                stats: dict[str, Any] = await response.json()
            if done(stats) or time.perf_counter() - started > within:
                return stats, time.perf_counter() - started
            await asyncio.sleep(0.1)


async def run_telegram(hearing: Hearing, store: Any, seconds: float) -> tuple[int, Any, float]:
    from bot.channels.telegram import TelegramChannel
    from bot.core import Engine
    from bot.nlp import KeywordTagger

    poll = await open_poll(store, len(hearing.final), "telegram")
    schedule = [
        [at, press(number, int(user_id("telegram", voter)), poll.id, choice)]
        for number, (at, voter, choice) in enumerate(hearing.presses, start=1)
    ]
    with StandInProcess() as standin:
        channel = TelegramChannel(
            Engine(store, KeywordTagger()), TOKEN, base_url=standin.bot_api, poll_timeout=1
        )
        await channel.start()
        stats, elapsed = await schedule_and_wait(
            standin.base,
            {"updates": schedule},
            lambda figures: figures["sent"] >= len(schedule),
            seconds * 5,
        )
        await channel.stop()
    return stats["sent"], stats, elapsed


async def run_line(hearing: Hearing, store: Any, seconds: float) -> tuple[int, Any, float]:
    from bot import web
    from bot.channels.line import LineChannel
    from bot.core import Engine
    from bot.nlp import KeywordTagger

    poll = await open_poll(store, len(hearing.final), "line")
    with StandInProcess("tests.line_standin", LINE_TOKEN) as standin:
        channel = LineChannel(
            Engine(store, KeywordTagger()), LINE_SECRET, LINE_TOKEN, base_url=standin.base
        )
        await channel.start()
        runner = await web.serve(web.build_app(line=channel), "127.0.0.1:0")
        webhook = f"http://127.0.0.1:{runner.addresses[0][1]}{web.LINE_PATH}"
        postbacks = [
            [at, user_id("line", voter), f"vote:{poll.id}.{choice}"]
            for at, voter, choice in hearing.presses
        ]
        stats, elapsed = await schedule_and_wait(
            standin.base,
            {"webhook": webhook, "secret": LINE_SECRET, "postbacks": postbacks},
            lambda figures: figures["answered"] >= len(postbacks),
            seconds * 5,
        )
        await runner.cleanup()
        await channel.stop()
    return stats["answered"], stats, elapsed


async def baseline_telegram(hearing: Hearing) -> float:
    """Presses a second a bare PTB bot confirms (a toast per callback query), all offered at
    once."""
    from telegram import Update
    from telegram.ext import Application, CallbackQueryHandler

    async def answer(update: Update, _: object) -> None:
        if update.callback_query is not None:
            await update.callback_query.answer(text="counted")

    schedule = [
        [0.0, press(number, 10_000_000 + voter, 1, choice)]
        for number, (_, voter, choice) in enumerate(hearing.presses, start=1)
    ]
    with StandInProcess() as standin:
        app = Application.builder().token(TOKEN).base_url(standin.bot_api).build()
        app.add_handler(CallbackQueryHandler(answer))
        await app.initialize()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=1)
        _, elapsed = await schedule_and_wait(
            standin.base,
            {"updates": schedule},
            lambda figures: figures["sent"] >= len(schedule),
            600,
        )
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    return len(schedule) / elapsed


async def baseline_line(hearing: Hearing) -> float:
    """Presses a second a bare aiohttp webhook confirms (signature checked, one reply per
    postback with line-bot-sdk), all offered at once."""
    import base64
    import hashlib
    import hmac
    import json

    from aiohttp import web as aioweb
    from linebot.v3.messaging import (
        AsyncApiClient,
        AsyncMessagingApi,
        Configuration,
        ReplyMessageRequest,
        TextMessage,
    )

    with StandInProcess("tests.line_standin", LINE_TOKEN) as standin:
        client = AsyncApiClient(Configuration(access_token=LINE_TOKEN, host=standin.base))
        api = AsyncMessagingApi(client)

        async def webhook(request: aioweb.Request) -> aioweb.Response:
            body = await request.read()
            digest = hmac.new(LINE_SECRET.encode(), body, hashlib.sha256).digest()
            if not hmac.compare_digest(
                base64.b64encode(digest).decode(), request.headers.get("X-Line-Signature", "")
            ):
                return aioweb.Response(status=400)
            for event in json.loads(body)["events"]:
                await api.reply_message(
                    ReplyMessageRequest(
                        replyToken=event["replyToken"], messages=[TextMessage(text="counted")]
                    )
                )
            return aioweb.Response(text="OK")

        app = aioweb.Application()
        app.router.add_post("/line/webhook", webhook)
        runner = aioweb.AppRunner(app, access_log=None)
        await runner.setup()
        await aioweb.TCPSite(runner, "127.0.0.1", 0).start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/line/webhook"
        postbacks = [[0.0, f"U{voter:032x}", "vote:1.1"] for _, voter, _ in hearing.presses]
        _, elapsed = await schedule_and_wait(
            standin.base,
            {"webhook": url, "secret": LINE_SECRET, "postbacks": postbacks},
            lambda figures: figures["answered"] >= len(postbacks),
            600,
        )
        await runner.cleanup()
        await client.close()
    return len(postbacks) / elapsed


class AtOnce(Hearing):
    """The same voters and changes, every press offered at the start (a capacity test); a
    voter's change still comes after their first ballot, at least 2 ms later (LINE stamps a
    press to the millisecond, and nobody taps twice within one)."""

    def __init__(self, hearing: Hearing) -> None:
        self.final = hearing.final
        first: dict[int, float] = {}
        self.presses = []
        for at, voter, choice in sorted(hearing.presses):
            moment = at / 1000 if voter not in first else max(at / 1000, first[voter] + 0.002)
            first.setdefault(voter, moment)
            self.presses.append((moment, voter, choice))


async def capacity(channel: str, voters: int, changes: int, seconds: float) -> bool:
    """The baseline's capacity and ours in the same run, then the latency at half of it."""
    hearing = Hearing(voters, changes, seconds)
    base = await (baseline_line if channel == "line" else baseline_telegram)(hearing)
    print(f"-- {channel}: capacity, every press offered at once")
    bare = "bare LINE webhook" if channel == "line" else "bare PTB bot"
    print(f"baseline ({bare}): {base:.0f} presses/s")
    ok, ours = await run(channel, voters, changes, seconds, hearing=AtOnce(hearing), quiet=True)
    print(f"tambon-bot: {ours:.0f} ballots/s   ratio {ours / base:.2f}   goal >= 0.80")
    half = base / 2
    offered_seconds = len(hearing.presses) / half
    print(
        f"-- {channel}: half the baseline's capacity ({half:.0f}/s over {offered_seconds:.0f} s)"
    )
    exact, _ = await run(channel, voters, changes, offered_seconds)
    return ok and exact


async def run(
    channel: str,
    voters: int,
    changes: int,
    seconds: float,
    *,
    hearing: Hearing | None = None,
    quiet: bool = False,
) -> tuple[bool, float]:
    from handlers.services.polls import tally
    from storage.sqlite import SQLiteStore

    hearing = hearing or Hearing(voters, changes, seconds)
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "hearing.db")
        await store.open()
        runner = run_line if channel == "line" else run_telegram
        confirmed, stats, elapsed = await runner(hearing, store, seconds)
        poll = (await store.list_polls((await store.get_tambon_by_code("600801")).id))[0]
        stored = await store.list_ballots(poll.id)
        counted = tally(poll, stored)
        await store.close()

    recount = hearing.recount()
    difference = sum(abs(o.votes - recount[o.position]) for o in counted.options)
    latency = stats.get("latency", {})
    expected = len(hearing.presses)
    exact = confirmed >= expected and not difference and len(stored) == voters
    if quiet:
        return exact, confirmed / elapsed
    print(f"-- {channel}")
    print(f"ballots confirmed: {confirmed} of {expected}; stored ballots: {len(stored)}")
    print(f"sustained: {confirmed / elapsed:.0f} ballots/s over {elapsed:.1f} s")
    print(
        f"press to confirmation: p50 {latency.get('p50', float('nan')) * 1000:.0f} ms,"
        f" p99 {latency.get('p99', float('nan')) * 1000:.0f} ms,"
        f" max {latency.get('max', float('nan')) * 1000:.0f} ms"
    )
    print(f"recount difference: {difference}   goals: all confirmed, difference 0, p99 < 1000 ms")
    return exact, confirmed / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channel", choices=["telegram", "line", "both"], default="both")
    parser.add_argument("--voters", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=2_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--capacity", action="store_true", help="capacity against a bare bot, then half of it"
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}"
    )
    print(f"voters: {args.voters}, changes: {args.changes}, scheduled over {args.seconds:.0f} s")
    channels = ["telegram", "line"] if args.channel == "both" else [args.channel]
    if args.capacity:
        exact = [
            asyncio.run(capacity(c, args.voters, args.changes, args.seconds)) for c in channels
        ]
    else:
        exact = [asyncio.run(run(c, args.voters, args.changes, args.seconds))[0] for c in channels]
    if not all(exact):
        raise SystemExit("the hearing did not count every ballot exactly")


if __name__ == "__main__":
    main()
