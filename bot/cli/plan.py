"""``tambon-bot plan``: the tambon plan's items, from problem groups to done."""

from __future__ import annotations

import argparse
import json

from bot.cli.common import CliError, find_tambon, open_db, operator_name, print_record, say
from bot.settings import Settings
from handlers.labels import (
    ACTOR_LABELS,
    PHASE_LABELS,
    PLAN_STATUS_LABELS,
    STATUS_WORDS,
    code_named,
    plain,
)
from handlers.services import plan
from handlers.types import T
from storage.base import PlanPhase, PlanStatus, Verdict


def _status_word(text: str) -> str:
    """A status as typed: its name, or one of its words in Thai (the catalog's, as /item
    takes them)."""
    from bot import i18n

    return code_named(text, STATUS_WORDS, i18n.render, ("th",)) or plain(text)


def _column_names(locale: str) -> dict[str, str | None]:
    """Every header `plan import` reads, to the column it stands for: the column's own name,
    the export's name for it, its name in Thai and in English; the export's computed columns
    map to None (read, then left out)."""
    from bot import i18n
    from bot.report import COLUMN_NAMES

    names: dict[str, str | None] = {c: c for c in plan.IMPORT_COLUMNS}
    names.update(plan.EXPORT_NAMES)
    names.update({c: None for c in plan.EXPORT_ONLY})
    languages = dict.fromkeys((locale, "th", "en"))
    for code in plan.EXPORT_ONLY:  # the export's own headers, as officers read them
        for language in languages:
            names[plain(i18n.render(COLUMN_NAMES[code], language))] = None
    for column, label in plan.COLUMN_LABELS.items():
        for language in languages:
            names[plain(i18n.render(label, language))] = column
    return names


def _sheet_values(row: dict[str, str]) -> dict[str, str]:
    """A row's values as the services read them: a status or who acts by its name in Thai or
    English (as the report's tables write them) to its code, a Buddhist-era date to ISO."""
    from bot import i18n

    languages = ("th", "en")
    values = dict(row)
    if values.get("status"):
        typed = values["status"]
        values["status"] = code_named(
            typed, PLAN_STATUS_LABELS, i18n.render, languages
        ) or _status_word(typed)
    if values.get("actor"):
        values["actor"] = code_named(
            values["actor"], ACTOR_LABELS, i18n.render, languages
        ) or plain(values["actor"])
    if values.get("due"):
        values["due"] = i18n.iso_from_era(values["due"])
    return values


def _baht(text: str) -> int:
    """--budget as people write it (250000, 250,000, Thai digits)."""
    try:
        return plan.parse_baht(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an amount in baht: {text}") from None


async def cmd_plan_add(args: argparse.Namespace, settings: Settings) -> None:
    """Prints the new item's id alone."""
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        item = await plan.add_item(
            store,
            tambon,
            title=args.title,
            by=args.by,
            groups=args.group or (),
            submissions=args.submission or (),
            objective=args.objective,
            indicator=args.indicator,
            result=args.result,
            actor=args.actor,
            source=args.source,
            budget=args.budget,
            responsible=args.responsible,
            due=args.due,
        )
    print(item.id)


async def cmd_plan_status(args: argparse.Namespace, settings: Settings) -> None:
    async with open_db(settings) as store:
        item = await store.get_plan_item(args.id)
        if item is None:
            raise CliError(T("There is no plan item {ref}.", ref=args.id))
        updated = await plan.set_status(
            store,
            item,
            PlanStatus(args.status),
            by=args.by,
            note=args.note,
            progress=args.progress,
        )
    say(
        settings,
        T(
            "Plan item {ref} is now: {status} ({progress}%).",
            ref=updated.id,
            status=PLAN_STATUS_LABELS[updated.status.value],
            progress=updated.progress,
        ),
    )


async def cmd_plan_list(args: argparse.Namespace, settings: Settings) -> None:
    """One item a line: id, status, progress, title, how many reporters, how many notices
    were sent, and the verdicts of its latest "done" (yes/partly/no); with --json also its
    groups, linked submissions and the notices by change."""
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        items = await store.list_plan_items(tambon.id)
        submissions = await store.all_submissions(tambon.id)
        for item in items:
            verdicts = await store.plan_verdicts(item.id, item.done_round)
            told = await store.plan_notice_counts(item.id)
            record = {
                "id": item.id,
                "year": item.year_be,
                "title": item.title,
                "status": item.status.value,
                "progress": item.progress,
                "actor": item.actor,
                "source": item.source,
                "budget": item.budget,
                "responsible": item.responsible,
                "due": item.due,
                "groups": list(item.groups),
                "submissions": [s.id for s in submissions if s.group_id in item.groups],
                "reporters": len(await store.plan_reporters(item.id)),
                "told": told,
                "verdicts": {v.value: verdicts.get(v, 0) for v in Verdict},
            }
            print_record(
                record,
                args.json,
                [
                    item.id,
                    item.status.value,
                    f"{item.progress}%",
                    item.title,
                    f"reporters {record['reporters']}",
                    f"told {sum(told.values())}",
                    "verdicts " + "/".join(str(verdicts.get(v, 0)) for v in Verdict),
                ],
            )


async def cmd_plan_import(args: argparse.Namespace, settings: Settings) -> None:
    """Add and update many items from a CSV file (UTF-8, as Excel saves it; the columns of
    ``plan.IMPORT_COLUMNS``): all rows or none."""
    import csv
    from pathlib import Path

    path = Path(args.file)
    try:
        # A CLI process: nothing else waits on this event loop while the file is read.
        with path.open(encoding="utf-8-sig", newline="") as source:  # noqa: ASYNC230
            reader = csv.DictReader(source)
            rows = list(reader)
            columns = reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error):
        raise CliError(T("Cannot read {file} as a CSV file in UTF-8.", file=args.file)) from None
    names = _column_names(settings.locale)
    unknown = [c for c in columns if plain(c) not in names]
    if unknown or not columns:
        raise CliError(
            T(
                "Unknown columns: {names}. The columns are: {columns}.",
                names=", ".join(unknown) or "-",
                columns=", ".join(plan.IMPORT_COLUMNS),
            )
        )
    # Each row by the columns' own names; what the export computes is left out.
    rows = [
        _sheet_values(
            {column: v for k, v in row.items() if k and (column := names[plain(k)]) is not None}
        )
        for row in rows
    ]
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        done = await plan.import_rows(store, tambon, rows, by=args.by)
    say(
        settings,
        T(
            "Plan items: {added} added, {updated} updated, {unchanged} unchanged.",
            added=done.added,
            updated=done.updated,
            unchanged=done.unchanged,
        ),
    )


async def cmd_year_start(args: argparse.Namespace, settings: Settings) -> None:
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        started, carried = await plan.start_year(store, tambon, by=args.by, year_be=args.year)
    say(
        settings,
        T(
            "Plan year {year} started ({phase}); {carried} items of earlier years carried over.",
            year=started.year_be,
            phase=PHASE_LABELS[started.phase.value],
            carried=carried,
        ),
    )


async def cmd_year_phase(args: argparse.Namespace, settings: Settings) -> None:
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        changed = await plan.set_phase(store, tambon, PlanPhase(args.phase), by=args.by)
    say(
        settings,
        T(
            "Plan year {year}: {phase}.",
            year=changed.year_be,
            phase=PHASE_LABELS[changed.phase.value],
        ),
    )


async def cmd_year_show(args: argparse.Namespace, settings: Settings) -> None:
    """The year and phase as one JSON line (null when none is started)."""
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        current = await store.current_plan_year(tambon.id)
    print(
        json.dumps(
            None if current is None else {"year": current.year_be, "phase": current.phase.value}
        )
    )


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("plan", help="the tambon plan's items, from problem groups to done")
    plan_sub = parser.add_subparsers(dest="plan_command", required=True)
    add = plan_sub.add_parser("add", help="a new plan item (prints its id)")
    add.add_argument("--tambon", required=True, metavar="CODE")
    add.add_argument("--title", required=True)
    add.add_argument("--submission", type=int, action="append", metavar="N")
    add.add_argument("--group", type=int, action="append", metavar="N")
    add.add_argument("--objective")
    add.add_argument("--indicator", help="how success is measured")
    add.add_argument("--result", help="the expected result")
    add.add_argument("--actor", choices=list(plan.ACTORS))
    add.add_argument("--source", help="the budget source or agency")
    add.add_argument("--budget", type=_baht, metavar="BAHT", help="250000 or 250,000")
    add.add_argument("--responsible")
    add.add_argument("--due", metavar="YYYY-MM-DD")
    add.add_argument("--by", default=operator_name(), help="who, for the record")
    add.set_defaults(func=cmd_plan_add)
    status = plan_sub.add_parser("status", help="move an item on; its reporters are told")
    status.add_argument("id", type=int)
    status.add_argument(
        "status",
        type=_status_word,
        choices=[s.value for s in PlanStatus if s is not PlanStatus.PROPOSED],
        help="its name, or one of its words in Thai (as /item takes them)",
    )
    status.add_argument("--note")
    status.add_argument("--progress", type=int, metavar="PERCENT")
    status.add_argument("--by", default=operator_name(), help="who, for the record")
    status.set_defaults(func=cmd_plan_status)
    listing = plan_sub.add_parser("list", help="the tambon's plan items")
    listing.add_argument("--tambon", required=True, metavar="CODE")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=cmd_plan_list)
    importing = plan_sub.add_parser("import", help="add and update items from a CSV file")
    importing.add_argument("--tambon", required=True, metavar="CODE")
    importing.add_argument("file", metavar="FILE.csv")
    importing.add_argument("--by", default=operator_name(), help="who, for the record")
    importing.set_defaults(func=cmd_plan_import)

    year = sub.add_parser("year", help="the tambon's plan year and its phase")
    year_sub = year.add_subparsers(dest="year_command", required=True)
    start = year_sub.add_parser("start", help="start a plan year; unmet items are carried over")
    start.add_argument("--tambon", required=True, metavar="CODE")
    start.add_argument("--year", type=int, metavar="BE", help="Buddhist era (default: this year)")
    start.add_argument("--by", default=operator_name(), help="who, for the record")
    start.set_defaults(func=cmd_year_start)
    phase = year_sub.add_parser("phase", help="set the plan year's phase")
    phase.add_argument("--tambon", required=True, metavar="CODE")
    phase.add_argument("phase", choices=[p.value for p in PlanPhase])
    phase.add_argument("--by", default=operator_name(), help="who, for the record")
    phase.set_defaults(func=cmd_year_phase)
    show = year_sub.add_parser("show", help="the plan year and phase, as JSON")
    show.add_argument("--tambon", required=True, metavar="CODE")
    show.set_defaults(func=cmd_year_show)
