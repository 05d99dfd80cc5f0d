"""``tambon-bot audit``: who did what, when, in a tambon (the team's actions)."""

from __future__ import annotations

import argparse
import json

from bot.cli.common import find_tambon, open_db
from bot.settings import Settings


async def cmd_audit(args: argparse.Namespace, settings: Settings) -> None:
    """Oldest first, one entry a line: time, who, action, detail."""
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        entries = await store.list_audit(tambon.id)
    for entry in entries:
        if args.json:
            record = {
                "at": entry.at.isoformat(),
                "who": entry.who,
                "action": entry.action,
                "detail": entry.detail,
            }
            print(json.dumps(record, ensure_ascii=False))
        else:
            detail = " ".join(f"{k}={v}" for k, v in entry.detail.items())
            print("\t".join([entry.at.isoformat(), entry.who, entry.action, detail]))
