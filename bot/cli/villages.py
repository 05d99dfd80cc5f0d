"""``tambon-bot villages``: the villages' own plans, their basic data and the household survey's
indicators, the tambon's resources, and the silent needs (docs/data.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot import i18n
from bot.cli.common import (
    CliError,
    find_tambon,
    open_db,
    operator_name,
    print_record,
    say,
    tagger_for,
)
from bot.datatables import DataTable, read_tables, template
from bot.plantable import TableRefused
from bot.settings import Settings
from handlers.labels import category_label
from handlers.services import villages
from handlers.types import T, Text
from storage.base import ResourceKind, Store, Tambon


def _read(path_text: str, kinds: tuple[str, ...]) -> list[DataTable]:
    path = Path(path_text)
    try:
        data = path.read_bytes()
    except OSError:
        raise CliError(T("Cannot read {file}.", file=path_text)) from None
    try:
        return read_tables(data, path.name, kinds)
    except TableRefused as refused:
        raise CliError(refused.reason) from None


def _write(path_text: str, data: bytes, settings: Settings) -> None:
    Path(path_text).write_bytes(data)
    say(settings, T("Written: {file}", file=path_text))


def _said(done: villages.DataImported) -> Text:
    labels = {
        "plans": T("Village plan rows"),
        "facts": T("Village facts"),
        "indicators": T("Indicator results"),
        "resources": T("Resources"),
    }
    return T(
        "{what}: {added} added, {updated} updated, {unchanged} already there.",
        what=labels[done.kind],
        added=done.added,
        updated=done.updated,
        unchanged=done.unchanged,
    )


async def cmd_plans_template(args: argparse.Namespace, settings: Settings) -> None:
    _write(args.output, template(("plans",), settings.locale), settings)


async def cmd_plans_import(args: argparse.Namespace, settings: Settings) -> None:
    """All rows or none; prints how many were added (a file imported again adds none)."""
    tables = _read(args.file, ("plans",))
    tagger = tagger_for(settings)
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        async with store.transaction():
            for table in tables:
                done = await villages.import_village_plans(
                    store, tambon, table.rows, tagger=tagger, by=args.by
                )
                say(settings, _said(done))


async def cmd_data_template(args: argparse.Namespace, settings: Settings) -> None:
    _write(args.output, template(("facts", "indicators"), settings.locale), settings)


async def cmd_data_import(args: argparse.Namespace, settings: Settings) -> None:
    """Village facts or indicator results (or both, a sheet each), told apart by their headers;
    all or none."""
    tables = _read(args.file, ("indicators", "facts"))
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        await _all_or_none(store, tambon, tables, args.by, settings)


async def _all_or_none(
    store: Store, tambon: Tambon, tables: list[DataTable], by: str, settings: Settings
) -> None:
    """Every table tried first (the problems of all of them named), then all written in one
    transaction."""
    problems: list[Text] = []
    for table in tables:
        preview = await villages.import_village_data(
            store, tambon, table.rows, table.columns, by=by, preview=True
        )
        problems += preview.problems
    if problems:
        raise villages.DataImportRefused(problems)
    async with store.transaction():
        for table in tables:
            done = await villages.import_village_data(
                store, tambon, table.rows, table.columns, by=by
            )
            say(settings, _said(done))


async def cmd_needs(args: argparse.Namespace, settings: Settings) -> None:
    """The silent needs, one a line: village, category, the share of households below the
    standard, reports by people (with --json: one JSON object a line)."""
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        found = await villages.analyse(store, tambon, settings.need_rule)
    for row in found.silent if found is not None else []:
        record = {
            "village": row.moo,
            "category": row.category,
            "below_share": round(row.below_share or 0.0, 4),
            "reports": row.reports,
            "indicator": row.indicator,
            "year": row.year,
            "households": row.households,
        }
        print_record(
            record,
            args.json,
            [
                row.moo,
                row.category,
                f"{100 * (row.below_share or 0):.0f}%",
                row.reports,
                i18n.render(category_label(row.category), settings.locale),
                row.indicator,
            ],
        )


async def cmd_resources_template(args: argparse.Namespace, settings: Settings) -> None:
    _write(args.output, template(("resources",), settings.locale), settings)


async def cmd_resources_import(args: argparse.Namespace, settings: Settings) -> None:
    tables = _read(args.file, ("resources",))
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        async with store.transaction():
            for table in tables:
                done = await villages.import_resources(store, tambon, table.rows, by=args.by)
                say(settings, _said(done))


async def cmd_resources_add(args: argparse.Namespace, settings: Settings) -> None:
    """Prints the resource's id alone (the one already registered, if it was)."""
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        resource, _ = await villages.add_resource(
            store,
            tambon,
            {
                "kind": args.kind,
                "name": args.name,
                "village": args.village or "",
                "contact_role": args.contact or "",
                "details": args.details or "",
            },
            by=args.by,
        )
    print(resource.id)


async def cmd_resources_list(args: argparse.Namespace, settings: Settings) -> None:
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        found = await store.list_resources(tambon.id)
    for resource in found:
        record = {
            "id": resource.id,
            "village": resource.moo or None,
            "kind": resource.kind.value,
            "name": resource.name,
            "contact_role": resource.contact_role,
            "details": resource.details,
        }
        print_record(
            record,
            args.json,
            [resource.id, resource.moo or "-", resource.kind.value, resource.name],
        )


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "villages", help="the villages' plans, data and resources beside the chat"
    )
    kinds = parser.add_subparsers(dest="villages_command", required=True)

    plans = kinds.add_parser("plans", help="the villages' own community plans")
    plans_sub = plans.add_subparsers(dest="plans_command", required=True)
    blank = plans_sub.add_parser("template", help="a workbook to fill in")
    blank.add_argument("-o", "--output", required=True, metavar="FILE.xlsx")
    blank.set_defaults(func=cmd_plans_template)
    load = plans_sub.add_parser("import", help="each row becomes a submission, all or none")
    load.add_argument("--tambon", required=True, metavar="CODE")
    load.add_argument("file", metavar="FILE.xlsx|csv")
    load.add_argument("--by", default=operator_name(), help="who, for the record")
    load.set_defaults(func=cmd_plans_import)

    data = kinds.add_parser("data", help="households, population and survey indicators")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    blank = data_sub.add_parser("template", help="a workbook to fill in")
    blank.add_argument("-o", "--output", required=True, metavar="FILE.xlsx")
    blank.set_defaults(func=cmd_data_template)
    load = data_sub.add_parser("import", help="village facts or indicator results, all or none")
    load.add_argument("--tambon", required=True, metavar="CODE")
    load.add_argument("file", metavar="FILE.xlsx|csv")
    load.add_argument("--by", default=operator_name(), help="who, for the record")
    load.set_defaults(func=cmd_data_import)

    needs = kinds.add_parser("needs", help="the silent needs: data shows them, nobody said")
    needs.add_argument("--tambon", required=True, metavar="CODE")
    needs.add_argument("--json", action="store_true", help="one JSON object per line")
    needs.set_defaults(func=cmd_needs)

    found = kinds.add_parser("resources", help="the community's potential")
    found_sub = found.add_subparsers(dest="resources_command", required=True)
    blank = found_sub.add_parser("template", help="a workbook to fill in")
    blank.add_argument("-o", "--output", required=True, metavar="FILE.xlsx")
    blank.set_defaults(func=cmd_resources_template)
    load = found_sub.add_parser("import", help="resources from a file, all or none")
    load.add_argument("--tambon", required=True, metavar="CODE")
    load.add_argument("file", metavar="FILE.xlsx|csv")
    load.add_argument("--by", default=operator_name(), help="who, for the record")
    load.set_defaults(func=cmd_resources_import)
    add = found_sub.add_parser("add", help="register one (prints its id)")
    add.add_argument("--tambon", required=True, metavar="CODE")
    add.add_argument("--kind", required=True, choices=[k.value for k in ResourceKind])
    add.add_argument("--name", required=True)
    add.add_argument("--village", help="its village; none: the whole tambon")
    add.add_argument("--contact", help="who to ask, by role (never a phone number)")
    add.add_argument("--details")
    add.add_argument("--by", default=operator_name(), help="who, for the record")
    add.set_defaults(func=cmd_resources_add)
    listing = found_sub.add_parser("list", help="the tambon's resources")
    listing.add_argument("--tambon", required=True, metavar="CODE")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=cmd_resources_list)
