"""``tambon-bot plan``: the tambon plan's items, from problem groups to done."""

from __future__ import annotations

import argparse

from bot import i18n
from bot.cli.common import CliError, find_tambon, open_db, operator_name, print_record
from bot.settings import Settings
from handlers.services import plan
from handlers.types import T
from storage.base import PlanStatus, Verdict


async def cmd_plan_add(args: argparse.Namespace, settings: Settings) -> None:
    """Prints the new item's id alone."""
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        try:
            item = await plan.add_item(
                store,
                tambon,
                title=args.title,
                by=args.by,
                groups=args.group or (),
                submissions=args.submission or (),
                objective=args.objective,
                actor=args.actor,
                source=args.source,
                budget=args.budget,
                responsible=args.responsible,
                due=args.due,
            )
        except plan.PlanRefused as refused:
            raise CliError(refused.reason) from refused
    print(item.id)


async def cmd_plan_status(args: argparse.Namespace, settings: Settings) -> None:
    async with open_db(settings) as store:
        item = await store.get_plan_item(args.id)
        if item is None:
            raise CliError(T("There is no plan item {ref}.", ref=args.id))
        try:
            updated = await plan.set_status(
                store,
                item,
                PlanStatus(args.status),
                by=args.by,
                note=args.note,
                progress=args.progress,
            )
        except plan.PlanRefused as refused:
            raise CliError(refused.reason) from refused
    print(
        i18n.render(
            T(
                "Plan item {ref} is now: {status} ({progress}%).",
                ref=updated.id,
                status=updated.status.value,
                progress=updated.progress,
            ),
            settings.locale,
        )
    )


async def cmd_plan_list(args: argparse.Namespace, settings: Settings) -> None:
    """One item a line: id, status, progress, title; with --json also its groups, linked
    submissions, reporters, how many were told of each change, and the verdicts of its latest
    "done"."""
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        items = await store.list_plan_items(tambon.id)
        submissions = await store.all_submissions(tambon.id)
        for item in items:
            verdicts = await store.plan_verdicts(item.id, item.done_round)
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
                "told": await store.plan_notice_counts(item.id),
                "verdicts": {v.value: verdicts.get(v, 0) for v in Verdict},
            }
            print_record(
                record,
                args.json,
                [item.id, item.status.value, f"{item.progress}%", item.title],
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
    add.add_argument("--actor", choices=list(plan.ACTORS))
    add.add_argument("--source", help="the budget source or agency")
    add.add_argument("--budget", type=int, metavar="BAHT")
    add.add_argument("--responsible")
    add.add_argument("--due", metavar="YYYY-MM-DD")
    add.add_argument("--by", default=operator_name(), help="who, for the record")
    add.set_defaults(func=cmd_plan_add)
    status = plan_sub.add_parser("status", help="move an item on; its reporters are told")
    status.add_argument("id", type=int)
    status.add_argument(
        "status", choices=[s.value for s in PlanStatus if s is not PlanStatus.PROPOSED]
    )
    status.add_argument("--note")
    status.add_argument("--progress", type=int, metavar="PERCENT")
    status.add_argument("--by", default=operator_name(), help="who, for the record")
    status.set_defaults(func=cmd_plan_status)
    listing = plan_sub.add_parser("list", help="the tambon's plan items")
    listing.add_argument("--tambon", required=True, metavar="CODE")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=cmd_plan_list)
