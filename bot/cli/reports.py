"""``tambon-bot report`` and ``demo``: the tambon's report in every format."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

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
from bot.settings import Settings
from handlers.services import audit, tambons
from handlers.types import T


async def cmd_report(args: argparse.Namespace, settings: Settings) -> None:
    from bot import progress
    from handlers.services.summary import read_printed_report, read_report

    if args.report_command == "links":
        await cmd_report_links(args, settings)
        return
    if args.report_command == "revoke":
        await cmd_report_revoke(args, settings)
        return
    if not args.tambon:
        raise CliError(T("Say which tambon and where to write: --tambon CODE -o FILE."))
    if args.book:
        await cmd_book(args, settings)
        return
    named = bool(args.output)
    if not named:
        # No -o: a name that says what it is, in the current folder; printed, so it can be found.
        table = f"-{args.table}" if args.format == "csv" else ""
        public = "-public" if args.public else ""
        args.output = f"report-{args.tambon}{table}{public}.{args.format}"

    if args.format == "csv" and args.public and args.table == "submissions":
        raise CliError(T("A copy for the public has no list of submissions."))
    if args.format == "pdf":
        _require_pango()
    locale = settings.locale
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        steps = progress.Steps(
            await store.count_submissions(tambon.id),
            [
                i18n.render(T("Reading submissions"), locale),
                i18n.render(T("Writing the report…"), locale),
            ],
        )
        # A printed report reads only what its appendix prints; the spreadsheets read it all.
        read = read_printed_report if args.format in ("html", "pdf", "md") else read_report
        summary, submissions = await read(store, tambon, settings.need_rule)
        await audit.record(
            store,
            tambon.id,
            operator_name(),
            audit.REPORT_TAKEN,
            format=args.format,
            public=bool(args.public),
        )
    steps.next()
    data = _report_file(args, summary, submissions, locale)
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)  # noqa: ASYNC240 - a CLI process: nothing else waits on this loop
    steps.close()
    if not named:
        print(path)


async def cmd_book(args: argparse.Namespace, settings: Settings) -> None:
    """The plan book: a PDF, or the plan form's table as XLSX when -o ends so (or --format
    xlsx); written where -o says (default: plan-book-CODE.pdf here, printed)."""
    from bot import planbook
    from handlers.services import book

    output = args.output or f"plan-book-{args.tambon}.pdf"
    as_xlsx = output.lower().endswith(".xlsx") or args.format == "xlsx"
    if not as_xlsx:
        _require_pango()
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        found = await book.read_book(store, tambon, settings.need_rule)
        await audit.record(
            store, tambon.id, operator_name(), audit.REPORT_TAKEN, format="book", public=False
        )
    locale = settings.locale
    data = planbook.xlsx(found, locale) if as_xlsx else planbook.pdf(found, locale)
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)  # noqa: ASYNC240 - a CLI process: nothing else waits on this loop
    if not args.output:
        print(path)


async def cmd_report_links(args: argparse.Namespace, settings: Settings) -> None:
    """The tambon's live report links, one a line: id, made by (member id), made, expires."""
    from handlers.services import reportlinks

    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        links = await reportlinks.live_links(store, tambon.id)
    for link in links:
        record = {
            "id": link.id,
            "made_by": link.member_id,
            "created_at": link.created_at.isoformat(timespec="seconds"),
            "expires_at": link.expires_at.isoformat(timespec="seconds"),
        }
        print_record(record, args.json, [str(value) for value in record.values()])


async def cmd_report_revoke(args: argparse.Namespace, settings: Settings) -> None:
    from handlers.services import reportlinks

    async with open_db(settings) as store:
        link = await store.get_report_link_by_id(args.id) if 0 < args.id < 10**12 else None
        ended = (
            await reportlinks.revoke(store, link.tambon_id, args.id, by=operator_name())
            if link is not None
            else None
        )
    if ended is None:
        raise CliError(T("There is no live report link {ref}.", ref=args.id))
    say(settings, T("Report link {ref} ended: it opens nothing any more.", ref=args.id))


def _report_file(
    args: argparse.Namespace, summary: Any, submissions: list[Any], locale: str
) -> bytes:
    """The report file's bytes in the format asked for."""
    from bot import report

    if args.format == "xlsx":
        return report.xlsx(summary, submissions, locale, public=args.public)
    if args.format == "pdf":
        return report.pdf(summary, submissions, locale, public=args.public)
    if args.format == "csv":
        text = report.table_csv(
            summary, submissions, args.table, locale, public=args.public, codes=args.codes
        )
        # utf-8-sig so that Excel, which officers open CSV files with, reads Thai correctly.
        return text.encode("utf-8-sig")
    return report.render(summary, submissions, args.format, locale, public=args.public).encode()


def _require_pango() -> None:
    try:
        import weasyprint  # noqa: F401
    except OSError as error:  # the Pango library is missing
        raise CliError(
            T(
                "PDF reports need the Pango library; install it with scripts/system-packages "
                "(Debian) and try again. ({error})",
                error=str(error).splitlines()[0],
            )
        ) from error


async def cmd_demo(args: argparse.Namespace, settings: Settings) -> None:
    """A sample tambon with reports through the real conversation, a closed poll, a report."""
    import tomllib
    from importlib import resources

    from bot import report
    from bot.core import Engine
    from handlers.services import polls, villages
    from handlers.services.privacy import HIDDEN
    from handlers.services.summary import read_printed_report
    from handlers.types import Incoming
    from storage.base import PollMethod

    messages = tomllib.loads(resources.files("bot").joinpath("demo.toml").read_text("utf-8"))
    async with open_db(settings) as store:
        sample = await tambons.ensure_sample_tambon(store)
        if sample is None:
            raise CliError(
                T("The demo needs an empty store or the sample tambon; set TAMBON_DATABASE_URL.")
            )
        tambon = sample.tambon
        engine = Engine(store, tagger_for(settings), default_locale=settings.locale)
        for number, text in enumerate(messages["messages"], start=1):
            user = f"demo-{number}"

            async def say(line: str, user: str = user) -> None:
                await engine.handle(Incoming("console", user, text=line))

            await say(f"/start {sample.invite.code}")
            await say(str((number - 1) % 6 + 1))
            await say("1")  # consent
            await say(text)
            await say("1")  # confirm
            await say("1")  # "same problem" when asked; otherwise nothing is waiting
        groups = await store.list_groups(tambon.id)
        poll = await polls.create_poll(
            store,
            tambon.id,
            str(messages["poll_title"]),
            PollMethod.BORDA,
            3,
            polls.options_from_groups(groups[:4], i18n.render(HIDDEN, settings.locale)),
            open_now=True,
        )
        members = [
            await store.get_member("console", f"demo-{n}")
            for n in range(1, len(messages["messages"]) + 1)
        ]
        for index, member in enumerate(m for m in members if m is not None):
            order = [(index + k) % len(poll.options) + 1 for k in range(3)]
            await polls.cast_ballot(store, poll, member, order)
        await polls.record_paper_ballots(store, poll, [1, 2, 3], 12, "demo")
        await polls.close_poll(store, poll)
        # The villages' figures and resources beside the voices (the sample's, illustrative).
        by = "operator demo"
        facts = [dict(row) for row in messages["village_facts"]]
        await villages.import_village_data(store, tambon, facts, villages.FACT_COLUMNS, by=by)
        results = [dict(row) for row in messages["indicators"]]
        await villages.import_village_data(
            store, tambon, results, villages.INDICATOR_COLUMNS, by=by
        )
        await villages.import_resources(store, tambon, messages["resources"], by=by)
        summary, submissions = await read_printed_report(store, tambon, settings.need_rule)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report.render(summary, submissions, "html", settings.locale), "utf-8")  # noqa: ASYNC240
    print(f"{tambon.code}\t{summary.submissions}\t{output}")
