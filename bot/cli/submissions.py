"""``tambon-bot correct``, ``hide``, ``unhide`` and ``export``: the submissions and ballots
themselves."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot import i18n
from bot.cli.common import CliError, find_tambon, open_db, tagger_for
from bot.settings import Settings
from handlers.services import tambons
from handlers.types import T
from storage.base import Store, Tambon


async def cmd_correct(args: argparse.Namespace, settings: Settings) -> None:
    from handlers.services.submissions import correct_tags
    from storage.base import Kind

    async with open_db(settings) as store:
        submission = await store.get_submission(args.id)
        if submission is None:
            raise CliError(T("There is no submission #{ref}.", ref=args.id))
        updated = await correct_tags(
            store,
            submission,
            categories=(
                [_category_code(c) for c in args.categories.split(",")]
                if args.categories
                else submission.categories
            ),
            kind=Kind(args.kind) if args.kind else submission.kind,
            village=args.village if args.village is not None else submission.village_moo,
            actor=args.actor or submission.actor,
            known_categories=tagger_for(settings).categories,
            member_id=None,
            corrected_by=args.by,
        )
    row = tambons.submission_row(updated)
    row["actor"] = updated.actor
    print(json.dumps(row, ensure_ascii=False))


async def cmd_hide(args: argparse.Namespace, settings: Settings) -> None:
    """``hide --id N --reason TEXT`` and ``unhide --id N``: prints the submission's number,
    whether it is hidden now, and whether this command changed it, as one JSON line."""
    from handlers.services.submissions import hide, unhide

    async with open_db(settings) as store:
        submission = await store.get_submission(args.id)
        if submission is None:
            raise CliError(T("There is no submission #{ref}.", ref=args.id))
        hiding = getattr(args, "reason", None) is not None
        if hiding:
            changed = await hide(store, submission, args.reason, args.by)
        else:
            changed = await unhide(store, submission, args.by)
    print(json.dumps({"id": submission.id, "hidden": hiding, "changed": changed}))


async def cmd_export(args: argparse.Namespace, settings: Settings) -> None:
    from bot import progress

    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        if args.what == "ballots":
            await _export_ballots(store, tambon, args)
            return
        total = await store.count_submissions(tambon.id)
        label = i18n.render(T("Exporting submissions"), settings.locale)
        rows = progress.counted(store.iter_submissions(tambon.id), total, label)
        if args.output in (None, "-"):
            await tambons.export_submissions(rows, sys.stdout, args.format)
        else:
            path = Path(args.output)
            path.parent.mkdir(parents=True, exist_ok=True)
            # utf-8-sig so that Excel, which officers open CSV files with, reads Thai correctly.
            encoding = "utf-8-sig" if args.format == "csv" else "utf-8"
            # A CLI process: nothing else waits on this event loop while the file is written.
            with path.open("w", encoding=encoding, newline="") as out:  # noqa: ASYNC230
                await tambons.export_submissions(rows, out, args.format)


async def _export_ballots(store: Store, tambon: Tambon, args: argparse.Namespace) -> None:
    """Every ballot change, chat and paper, with pseudonyms instead of platform identities."""
    rows: list[dict[str, Any]] = []
    for poll in reversed(await store.list_polls(tambon.id)):
        for entry in await store.ballot_log(poll.id):
            rows.append(
                {
                    "poll": poll.id,
                    "source": "chat",
                    "voter": entry["voter"],
                    "action": entry["action"],
                    "choices": "|".join(str(c) for c in entry["choices"]),
                    "count": 1,
                    "at": entry["at"],
                }
            )
        for paper in await store.list_paper_ballots(poll.id):
            rows.append(
                {
                    "poll": poll.id,
                    "source": "paper",
                    "voter": paper.entered_by,
                    "action": "paper",
                    "choices": "|".join(str(c) for c in paper.choices),
                    "count": paper.count,
                    "at": paper.entered_at.isoformat(),
                }
            )
    out = (
        sys.stdout
        if args.output in (None, "-")
        # A CLI process: nothing else waits on this event loop while the file is written.
        else Path(args.output).open(  # noqa: SIM115, ASYNC230
            "w", encoding="utf-8-sig" if args.format == "csv" else "utf-8", newline=""
        )
    )
    try:
        if args.format == "csv":
            import csv

            writer = csv.DictWriter(out, fieldnames=list(BALLOT_COLUMNS), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        else:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()


BALLOT_COLUMNS = ("poll", "source", "voter", "action", "choices", "count", "at")


def _category_code(typed: str) -> str:
    """A category as the operator typed it: its code, or its name in Thai or English (as
    `tambon-bot categories` lists them); anything else is passed on to be refused."""
    from bot import i18n
    from handlers.labels import CATEGORY_LABELS, code_named

    return code_named(typed, CATEGORY_LABELS, i18n.render, i18n.LOCALES) or typed.strip()
