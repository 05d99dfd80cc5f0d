"""The ``tambon-bot`` command line (DESIGN.md §4): the parser, and one module per command group."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from bot import i18n
from bot.cli.audit import cmd_audit
from bot.cli.backup import cmd_backup, cmd_restore
from bot.cli.common import EXIT_USAGE, CliError, operator_name
from bot.cli.inbox import cmd_inbox_dead, cmd_inbox_release, cmd_inbox_status
from bot.cli.members import cmd_member_list, cmd_member_remove, cmd_member_role, cmd_web_link
from bot.cli.nlp import cmd_categories, cmd_tag, cmd_train
from bot.cli.plan import add_parsers as add_plan_parsers
from bot.cli.polls import (
    cmd_poll_close,
    cmd_poll_create,
    cmd_poll_open,
    cmd_poll_paper,
    cmd_poll_qr,
    cmd_poll_results,
)
from bot.cli.reports import cmd_demo, cmd_report
from bot.cli.run import cmd_console, cmd_run
from bot.cli.submissions import cmd_correct, cmd_export, cmd_hide
from bot.cli.tambons import cmd_invite, cmd_tambon_create, cmd_tambon_list
from bot.cli.villages import add_parsers as add_village_parsers
from bot.settings import LIMIT_MAX, SettingError, Settings
from handlers.services import Refused
from handlers.types import T
from storage.base import Role

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, None]]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tambon-bot", description="Chatbot for Thai tambon-level participatory planning."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start every configured channel; with none, the console")
    run.set_defaults(func=cmd_run)

    console = sub.add_parser("console", help="chat in the terminal (reads stdin lines)")
    console.add_argument("--user", default="console", help="the console user's id")
    console.set_defaults(func=cmd_console)

    tambon = sub.add_parser("tambon", help="register and list tambons")
    tambon_sub = tambon.add_subparsers(dest="tambon_command", required=True)
    create = tambon_sub.add_parser("create", help="register a tambon by its 6-digit code")
    create.add_argument("--code", required=True)
    create.add_argument("--name")
    create.add_argument("--amphoe")
    create.add_argument("--province")
    create.add_argument(
        "--villages", type=int, required=True, help="number of villages (moo 1..N)"
    )
    create.set_defaults(func=cmd_tambon_create)
    tambon_list = tambon_sub.add_parser("list", help="one tambon per line, its code first")
    tambon_list.set_defaults(func=cmd_tambon_list)

    invite = sub.add_parser(
        "invite", help="make a join code (the code alone on the first line); list; revoke"
    )
    invite.add_argument("--tambon", metavar="CODE")
    # Administrator codes only here, on the server (chat's /invite offers the other roles):
    # how a new tambon gets its first administrator.
    invite.add_argument(
        "--role", type=role_word, choices=[r.value for r in Role], default="villager"
    )
    invite.add_argument(
        "--days",
        type=int,
        metavar="N",
        help="how long the code lasts (default by role: villager 90, member 30, team 7)",
    )
    invite.add_argument("--uses", type=int, metavar="N", help="how many people may join with it")
    invite.set_defaults(func=cmd_invite, invite_command=None)
    invite_sub = invite.add_subparsers(dest="invite_command")
    invite_list = invite_sub.add_parser("list", help="the tambon's join codes and their state")
    invite_list.add_argument("--tambon", required=True, metavar="CODE")
    invite_list.add_argument("--json", action="store_true", help="one JSON object per line")
    invite_revoke = invite_sub.add_parser("revoke", help="withdraw a join code")
    invite_revoke.add_argument("code")

    add_plan_parsers(sub)
    add_village_parsers(sub)

    audit = sub.add_parser("audit", help="who did what, when: the team's actions in a tambon")
    audit.add_argument("--tambon", required=True, metavar="CODE")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    audit.set_defaults(func=cmd_audit)

    backup = sub.add_parser("backup", help="copy the whole store to FILE, while the bot runs")
    backup.add_argument("-o", "--output", required=True, metavar="FILE")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser("restore", help="put a backup back (stop the bot first)")
    restore.add_argument("file", metavar="FILE")
    restore.add_argument("--force", action="store_true", help="replace the data there")
    restore.set_defaults(func=cmd_restore)

    member = sub.add_parser("member", help="the tambon's members and their roles")
    member_sub = member.add_subparsers(dest="member_command", required=True)
    member_list = member_sub.add_parser("list", help="members by village and role")
    member_list.add_argument("--tambon", required=True, metavar="CODE")
    member_list.add_argument("--json", action="store_true", help="one JSON object per line")
    member_list.set_defaults(func=cmd_member_list)
    member_role = member_sub.add_parser("role", help="give a member another role")
    member_role.add_argument("id", type=int)
    member_role.add_argument(
        "role", type=role_word, choices=[r.value for r in Role], help="its name, Thai or English"
    )
    member_role.set_defaults(func=cmd_member_role)
    member_remove = member_sub.add_parser(
        "remove", help="remove a member (what they filed stays, anonymous)"
    )
    member_remove.add_argument("id", type=int)
    member_remove.set_defaults(func=cmd_member_remove)

    web_link = sub.add_parser(
        "web-link", help="a one-time sign-in link to the team's workbench (10 minutes)"
    )
    web_link.add_argument("--tambon", required=True, metavar="CODE")
    web_link.add_argument(
        "--member", type=int, metavar="ID", help="default: the tambon's first administrator"
    )
    web_link.set_defaults(func=cmd_web_link)

    categories = sub.add_parser(
        "categories", help="the category codes (for correct --categories) and their names"
    )
    categories.add_argument("--json", action="store_true", help="one JSON object per line")
    categories.set_defaults(func=cmd_categories)

    tag = sub.add_parser("tag", help="tag TEXT, or each line of stdin")
    tag.add_argument("text", nargs="?")
    tag.add_argument("--json", action="store_true", help="one JSON object per line")
    tag.add_argument(
        "--eval",
        metavar="FILE",
        action="append",
        help="score the tagger on labelled messages (JSONL or CSV) instead of tagging; a Traffy"
        " file (ticket_id column, .csv.gz) is scored on its held-out test fifth; repeatable",
    )
    tag.set_defaults(func=cmd_tag)

    train_parser = sub.add_parser(
        "train", help="retrain the tagger's classifier from labelled data and corrections"
    )
    train_parser.add_argument(
        "--data",
        action="append",
        metavar="FILE",
        help="labelled messages to learn from (JSONL, CSV, or a Traffy file, of which only the"
        " development part is read); repeatable; default: the rural set and the shared Traffy"
        " file (docs/tagger.md)",
    )
    train_parser.add_argument(
        "--test",
        action="append",
        metavar="FILE",
        help="report scores before and after on this labelled file; repeatable; default: the"
        " rural and the Traffy test parts",
    )
    train_parser.add_argument("-o", "--output", metavar="FILE")
    train_parser.add_argument(
        "--no-corrections", action="store_true", help="ignore corrections in the store"
    )
    train_parser.add_argument(
        "--force",
        action="store_true",
        help="install the new model even if it scores worse than the one in use on a test part",
    )
    train_parser.set_defaults(func=cmd_train)

    poll = sub.add_parser("poll", help="priority polls for hearings")
    poll_sub = poll.add_subparsers(dest="poll_command", required=True)
    create_poll = poll_sub.add_parser("create", help="create a poll; prints its id")
    create_poll.add_argument("--tambon", required=True, metavar="CODE")
    create_poll.add_argument("--title", required=True)
    create_poll.add_argument("--option", action="append", help="an option (repeat)")
    create_poll.add_argument(
        "--from-groups", type=int, metavar="N", help="add the tambon's top N problem groups"
    )
    create_poll.add_argument("--method", choices=["approval", "borda"], default="approval")
    create_poll.add_argument("--choose", type=int, help="how many each person may pick or rank")
    create_poll.add_argument(
        "--present-only", action="store_true", help="only people who send the hall's code vote"
    )
    create_poll.set_defaults(func=cmd_poll_create)
    qr = poll_sub.add_parser("qr", help="write the hall's presence QR code (PNG); prints the code")
    qr.add_argument("id", type=int)
    qr.add_argument("-o", "--output", required=True, metavar="FILE.png")
    qr.set_defaults(func=cmd_poll_qr)
    open_poll = poll_sub.add_parser("open", help="open a poll for ballots")
    open_poll.add_argument("id", type=int)
    open_poll.add_argument("--minutes", type=int, help="close it by itself after this long")
    open_poll.set_defaults(func=cmd_poll_open)
    close_poll = poll_sub.add_parser("close", help="close a poll")
    close_poll.add_argument("id", type=int)
    close_poll.set_defaults(func=cmd_poll_close)
    paper = poll_sub.add_parser("paper", help="enter paper ballots that read the same")
    paper.add_argument("id", type=int)
    paper.add_argument("--choice", type=int, action="append", required=True, help="in rank order")
    paper.add_argument("--count", type=int, default=1)
    paper.add_argument("--by", required=True, help="who entered them (name or role)")
    paper.set_defaults(func=cmd_poll_paper)
    results = poll_sub.add_parser("results", help="the count")
    results.add_argument("id", type=int)
    results.add_argument("--json", action="store_true")
    results.set_defaults(func=cmd_poll_results)

    inbox = sub.add_parser("inbox", help="the durable path: what waits, what failed")
    inbox_sub = inbox.add_subparsers(dest="inbox_command", required=True)
    status = inbox_sub.add_parser("status", help="updates waiting, dead letters, replies by state")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_inbox_status)
    dead = inbox_sub.add_parser("dead", help="updates that failed again and again, oldest first")
    dead.add_argument("--json", action="store_true")
    dead.set_defaults(func=cmd_inbox_dead)
    release = inbox_sub.add_parser(
        "release", help="send the messages held for LINE's monthly quota now (after raising it)"
    )
    release.set_defaults(func=cmd_inbox_release)

    report_parser = sub.add_parser(
        "report", help="the tambon report (html, pdf, md; csv, xlsx); its live links; revoke one"
    )
    report_parser.add_argument("--tambon", metavar="CODE")
    report_parser.add_argument(
        "--format", choices=["html", "pdf", "md", "csv", "xlsx"], default="html"
    )
    report_parser.add_argument(
        "-o", "--output", metavar="FILE", help="default: report-CODE.FORMAT here (printed)"
    )
    report_parser.add_argument(
        "--public",
        action="store_true",
        help='for publication: counts under 5 shown as "<5", no list of submissions',
    )
    report_parser.add_argument(
        "--table",
        choices=["groups", "submissions", "poll", "plan", "data"],
        default="groups",
        help="which table --format csv writes (xlsx has them all)",
    )
    report_parser.add_argument(
        "--book",
        action="store_true",
        help="the plan book the office files: PDF (or XLSX: the plan form's table), by -o's end",
    )
    report_parser.add_argument(
        "--codes",
        action="store_true",
        help="csv: columns, categories and statuses by their codes, dates in ISO (for scripts)",
    )
    report_parser.set_defaults(func=cmd_report, report_command=None)
    report_sub = report_parser.add_subparsers(dest="report_command")
    links = report_sub.add_parser("links", help="the report links that still open, one a line")
    links.add_argument("--tambon", required=True, metavar="CODE")
    links.add_argument("--json", action="store_true", help="one JSON object per line")
    revoke = report_sub.add_parser("revoke", help="end a report link now (its id, from links)")
    revoke.add_argument("id", type=int)

    demo = sub.add_parser("demo", help="a sample tambon with reports and a closed poll; a report")
    demo.add_argument("-o", "--output", default="data/demo-report.html", metavar="FILE")
    demo.set_defaults(func=cmd_demo)

    correct = sub.add_parser("correct", help="correct a submission's tags (a team correction)")
    correct.add_argument("--id", type=int, required=True, help="the submission's number")
    correct.add_argument("--categories", help="category ids joined by commas")
    correct.add_argument("--kind", choices=["problem", "need", "idea"])
    correct.add_argument("--village", type=int)
    correct.add_argument("--actor", choices=["community", "joint", "external"])
    correct.add_argument(
        "--by", default=operator_name(), help="who corrects, for the record (default: your login)"
    )
    correct.set_defaults(func=cmd_correct)

    hide = sub.add_parser("hide", help="hide a submission from summaries, reports, groups, polls")
    hide.add_argument("--id", type=int, required=True, help="the submission's number")
    hide.add_argument("--reason", required=True, help="why, for the record and for its sender")
    hide.add_argument(
        "--by", default=operator_name(), help="who hides it, for the record (default: your login)"
    )
    hide.set_defaults(func=cmd_hide)
    unhide = sub.add_parser("unhide", help="show a hidden submission again")
    unhide.add_argument("--id", type=int, required=True, help="the submission's number")
    unhide.add_argument(
        "--by", default=operator_name(), help="who shows it, for the record (default: your login)"
    )
    unhide.set_defaults(func=cmd_hide)

    export = sub.add_parser("export", help="export a tambon's data")
    export.add_argument("--tambon", required=True, metavar="CODE")
    export.add_argument("--what", choices=["submissions", "ballots"], default="submissions")
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    export.add_argument("-o", "--output", metavar="FILE")
    export.set_defaults(func=cmd_export)
    return parser


def role_word(text: str) -> str:
    """A role as typed: its code (team), or its name in Thai or English (as the bot says it)."""
    from handlers.labels import ROLE_LABELS, code_named, plain

    return code_named(text, ROLE_LABELS, i18n.render, i18n.LOCALES) or plain(text)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.load()
    func: Command = args.func
    try:
        # A wrong value is reported before any command runs.
        settings.limits  # noqa: B018
        settings.count("TELEGRAM_MESSAGES_PER_SECOND")
        asyncio.run(func(args, settings))
    except CliError as error:
        print(i18n.render(error.text, settings.locale), file=sys.stderr)
        return EXIT_USAGE
    except Refused as refused:  # a service would not make the change: its reason
        print(i18n.render(refused.reason, settings.locale), file=sys.stderr)
        return EXIT_USAGE
    except SettingError as error:
        wrong = T(
            "The setting {name} must be a whole number from 1 to {limit}, not '{value}'.",
            name=error.name,
            limit=LIMIT_MAX,
            value=error.value,
        )
        print(i18n.render(wrong, settings.locale), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _reader_gone()
        return 0
    try:
        sys.stdout.flush()  # here, not at exit, where a closed pipe can only be complained of
    except BrokenPipeError:
        _reader_gone()
    return 0


def _reader_gone() -> None:
    """The reader of our output went away (`tambon-bot plan list | head`): nothing more to say,
    and no traceback for it; stdout points at nothing, so that the exit's flush is quiet too."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
