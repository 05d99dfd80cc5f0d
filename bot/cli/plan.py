"""``tambon-bot plan``: the tambon plan's items, from problem groups to done."""

from __future__ import annotations

import argparse
import json

from bot import i18n
from bot.cli.common import CliError, find_tambon, open_db, operator_name, print_record, say
from bot.plantable import status_word
from bot.settings import Settings
from handlers.labels import (
    APPROVAL_LABELS,
    PHASE_LABELS,
    PLAN_STATUS_LABELS,
)
from handlers.services import book, plan
from handlers.types import T
from storage.base import Direction, PlanPhase, PlanStatus, Verdict


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
            resource=args.resource,
        )
        if args.strategy is not None:
            item = await book.set_strategy(store, tambon, item, args.strategy, by=args.by)
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
                "resource": item.resource_id,
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
    """Add and update many items from a CSV file (UTF-8, as Excel saves it) or an XLSX
    workbook (the columns of ``plan.IMPORT_COLUMNS``, or the report's plan table): all rows or
    none, every bad row named."""
    from pathlib import Path

    from bot.plantable import TableRefused, read_plan_table

    path = Path(args.file)
    try:
        data = path.read_bytes()  # noqa: ASYNC240 (a CLI process: nothing else waits)
    except OSError:
        raise CliError(T("Cannot read {file} as a CSV file in UTF-8.", file=args.file)) from None
    try:
        rows = read_plan_table(data, path.name, settings.locale)
    except TableRefused as refused:
        raise CliError(refused.reason) from None
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


async def cmd_plan_direction(args: argparse.Namespace, settings: Settings) -> None:
    """Set what is given, then print the direction: identity, vision, mission, then each
    strategy on a line of its own, its number first."""
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        given = any(
            v is not None for v in (args.identity, args.vision, args.mission, args.strategy)
        )
        if given:
            direction = await book.set_direction(
                store,
                tambon,
                by=args.by,
                identity=args.identity,
                vision=args.vision,
                mission=args.mission,
                strategies=args.strategy,
            )
        else:
            year = await plan.this_plan_year(store, tambon.id)
            direction = await store.get_direction(tambon.id, year) or Direction(tambon.id, year)
    record = {
        "year": direction.year_be,
        "identity": direction.identity,
        "vision": direction.vision,
        "mission": direction.mission,
        "strategies": [{"number": s.position, "title": s.title} for s in direction.strategies],
    }
    if args.json:
        print(json.dumps(record, ensure_ascii=False))
        return
    for name in ("identity", "vision", "mission"):
        print(f"{name}\t{record[name] or ''}")
    for strategy in direction.strategies:
        print(f"{strategy.position}\t{strategy.title}")


async def cmd_comment_open(args: argparse.Namespace, settings: Settings) -> None:
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        window = await book.open_comment(store, tambon, args.days, by=args.by)
        told = len([m for m in await store.list_members(tambon.id) if m.onboarded])
    say(
        settings,
        T(
            "The draft plan is open for comment until {until}; {count} members will be told "
            "(those who asked for quiet are not).",
            until=window.closes_at,
            count=told,
        ),
    )


async def cmd_comment_close(args: argparse.Namespace, settings: Settings) -> None:
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        await book.close_comment(store, tambon, by=args.by)
    say(settings, T("The draft plan's comments are closed; the team is told."))


async def cmd_comment_results(args: argparse.Namespace, settings: Settings) -> None:
    """One item a line: item, agree, disagree, how many comments, title; with --json one
    object a line with ``item``, ``agree``, ``disagree`` and ``comments`` (their texts)."""
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        found = await book.results(store, tambon)
    for result in found:
        record = {
            "item": result.item.id,
            "title": result.item.title,
            "agree": result.agree,
            "disagree": result.disagree,
            "comments": [
                i18n.hide_numbers(c.comment or "", settings.locale) for c in result.comments
            ],
        }
        print_record(
            record,
            args.json,
            [
                result.item.id,
                result.agree,
                result.disagree,
                len(result.comments),
                result.item.title,
            ],
        )


async def cmd_plan_approve(args: argparse.Namespace, settings: Settings) -> None:
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        approval = await book.approve(
            store,
            tambon,
            decided_on=args.date,
            by=args.by,
            present=args.present,
            place=args.place,
            changes=args.changes,
            poll_id=args.poll,
        )
    say(
        settings,
        T(
            "The tambon plan {year} is recorded as approved ({result}) on {date}.",
            year=approval.year_be,
            result=APPROVAL_LABELS[approval.result],
            date=i18n.era_date(approval.decided_on, settings.locale),
        ),
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
    add.add_argument(
        "--resource", type=int, metavar="ID", help="a resource it draws on (villages resources)"
    )
    add.add_argument(
        "--strategy", type=int, metavar="N", help="the plan year's strategy N (plan direction)"
    )
    add.add_argument("--by", default=operator_name(), help="who, for the record")
    add.set_defaults(func=cmd_plan_add)
    status = plan_sub.add_parser("status", help="move an item on; its reporters are told")
    status.add_argument("id", type=int)
    status.add_argument(
        "status",
        type=status_word,
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
    direction = plan_sub.add_parser(
        "direction", help="the plan year's identity, vision, mission and strategies"
    )
    direction.add_argument("--tambon", required=True, metavar="CODE")
    direction.add_argument("--identity")
    direction.add_argument("--vision")
    direction.add_argument("--mission")
    direction.add_argument(
        "--strategy", action="append", metavar="T", help="each strategy, in order (all of them)"
    )
    direction.add_argument("--json", action="store_true", help="as one JSON object")
    direction.add_argument("--by", default=operator_name(), help="who, for the record")
    direction.set_defaults(func=cmd_plan_direction)
    comment = plan_sub.add_parser("comment", help="the draft plan's public comment by chat")
    comment_sub = comment.add_subparsers(dest="comment_command", required=True)
    opening = comment_sub.add_parser("open", help="open it for N days; everyone is told")
    opening.add_argument("--tambon", required=True, metavar="CODE")
    opening.add_argument("--days", required=True, type=int, metavar="N")
    opening.add_argument("--by", default=operator_name(), help="who, for the record")
    opening.set_defaults(func=cmd_comment_open)
    closing = comment_sub.add_parser("close", help="close it now; the team is told")
    closing.add_argument("--tambon", required=True, metavar="CODE")
    closing.add_argument("--by", default=operator_name(), help="who, for the record")
    closing.set_defaults(func=cmd_comment_close)
    tally = comment_sub.add_parser("results", help="per item: agree, disagree, comments")
    tally.add_argument("--tambon", required=True, metavar="CODE")
    tally.add_argument("--json", action="store_true", help="one JSON object per line")
    tally.set_defaults(func=cmd_comment_results)
    approve = plan_sub.add_parser("approve", help="record the tambon forum's approval")
    approve.add_argument("--tambon", required=True, metavar="CODE")
    approve.add_argument("--date", required=True, metavar="YYYY-MM-DD")
    approve.add_argument("--present", type=int, metavar="N", help="how many were present")
    approve.add_argument("--place")
    approve.add_argument("--changes", metavar="TEXT", help="approved with these changes")
    approve.add_argument(
        "--poll", type=int, metavar="ID", help="decided by this closed poll (option 1: approve)"
    )
    approve.add_argument("--by", default=operator_name(), help="who, for the record")
    approve.set_defaults(func=cmd_plan_approve)

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
