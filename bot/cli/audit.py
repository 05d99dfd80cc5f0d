"""``tambon-bot audit``: who did what, when, in a tambon (the team's actions)."""

from __future__ import annotations

import argparse

from bot.cli.common import find_tambon, open_db, print_record
from bot.settings import Settings


async def cmd_audit(args: argparse.Namespace, settings: Settings) -> None:
    """Oldest first, one entry a line: time, who, action, detail."""
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        entries = await store.list_audit(tambon.id)
    for entry in entries:
        record = {
            "at": entry.at.isoformat(),
            "who": entry.who,
            "action": entry.action,
            "detail": entry.detail,
        }
        detail = " ".join(f"{k}={v}" for k, v in entry.detail.items())
        print_record(record, args.json, [record["at"], entry.who, entry.action, detail])
