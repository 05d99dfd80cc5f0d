"""``tambon-bot inbox status|dead|release``: watching the durable path."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from bot.channels import push_month
from bot.cli.common import open_db, say
from bot.settings import Settings
from handlers.types import T


async def cmd_inbox_status(args: argparse.Namespace, settings: Settings) -> None:
    """One line each: updates waiting per channel, dead letters, replies per state."""
    async with open_db(settings) as store:
        counts: dict[str, int] = {}
        for channel in ("telegram", "line"):
            counts[f"inbox.{channel}"] = len(await store.inbox_pending(channel))
        counts["dead_letters"] = len(await store.dead_letters())
        for state, count in sorted((await store.outbox_counts()).items()):
            counts[f"outbox.{state}"] = count
        # LINE counts pushes against the Official Account's monthly quota.
        counts["line.pushes_this_month"] = (await store.push_counts(push_month())).get("line", 0)
    if args.json:
        print(json.dumps(counts))
    else:
        for name, count in counts.items():
            print(f"{name}\t{count}")


async def cmd_inbox_dead(args: argparse.Namespace, settings: Settings) -> None:
    """The dead letters: kept as received, for the administrator to look into."""
    async with open_db(settings) as store:
        letters = await store.dead_letters()
    for letter in letters:
        row = {
            "channel": letter.channel,
            "key": letter.key,
            "received_at": letter.received_at.isoformat(),
            "failed_at": letter.failed_at.isoformat(),
            "attempts": letter.attempts,
            "error": letter.last_error,
        }
        if args.json:
            # A dead letter whose words were forgotten (/forget) keeps an empty payload.
            payload = json.loads(letter.payload) if letter.payload else None
            print(json.dumps({**row, "payload": payload}, ensure_ascii=False))
        else:
            print("\t".join(str(v) for v in row.values()))


async def cmd_inbox_release(args: argparse.Namespace, settings: Settings) -> None:
    """Put the held messages back in line now (the LINE plan was raised before the month
    renewed); the running bot sends them at once."""
    async with open_db(settings) as store:
        released = await store.outbox_unhold(datetime.max.replace(tzinfo=UTC))
    say(
        settings,
        T(
            "{count} held messages are back in line; the running bot sends them now.",
            count=released,
        ),
    )
