"""The ``tambon-bot`` command line (DESIGN.md §4)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot import i18n
from bot.settings import Settings
from handlers.services import gazetteer, tambons
from handlers.types import T, Text
from storage import open_store
from storage.base import DuplicateTambon, PollConflict, Role, Store, Tambon

EXIT_USAGE = 2


def _operator() -> str:
    """Who runs the command, as records name them when not told: the login name."""
    import getpass

    try:
        return f"operator {getpass.getuser()}"
    except (KeyError, OSError):  # no login name (a container's bare user id)
        return "operator"


class CliError(Exception):
    """A problem to report to the operator in their language, then exit with status 2."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.msgid)
        self.text = text


@asynccontextmanager
async def _store(settings: Settings) -> AsyncIterator[Store]:
    store = open_store(settings.database_url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def _tambon(store: Store, code: str) -> Tambon:
    tambon = await store.get_tambon_by_code(code)
    if tambon is None:
        raise CliError(
            T(
                "No tambon with code {code} is registered here. Register it with: "
                "tambon-bot tambon create --code {code} --villages N",
                code=code,
            )
        )
    return tambon


def _tagger(settings: Settings | None = None) -> Any:
    """The tagger with the retrained model if there is one, else the packaged model."""
    from bot.nlp.classifier import LinearModel
    from bot.nlp.tagger import KeywordTagger, packaged_model

    path = Path(settings.get("TAMBON_MODEL_PATH") or "") if settings else None
    model = LinearModel.load(path) if path and path.is_file() else packaged_model()
    return KeywordTagger(model=model)


# -- commands ---------------------------------------------------------------------------------


async def cmd_console(args: argparse.Namespace, settings: Settings) -> None:
    from bot.channels.console import run_console
    from bot.core import Engine

    locale = settings.locale
    async with _store(settings) as store:
        sample = await tambons.ensure_sample_tambon(store)
        greeting: list[str] = []
        if sample is not None:
            if sample.created:
                greeting.append(
                    i18n.render(
                        T(
                            "This store was empty, so I created a sample tambon to try the "
                            "bot with: Tambon {tambon}, Amphoe {amphoe}, {province} "
                            "province (code {code}).",
                            tambon=sample.tambon.name_th,
                            amphoe=sample.tambon.amphoe_th,
                            province=sample.tambon.province_th,
                            code=sample.tambon.code,
                        ),
                        locale,
                    )
                )
            greeting.append(
                i18n.render(
                    T(
                        "Console chat. To join Tambon {tambon} as a villager, type: /start "
                        "{join_code}",
                        tambon=sample.tambon.name_th,
                        join_code=sample.invite.code,
                    ),
                    locale,
                )
            )
        else:
            greeting.append(
                i18n.render(T("Console chat. Type /start followed by your join code."), locale)
            )
        engine = Engine(store, _tagger(settings), default_locale=locale)
        await run_console(
            engine, args.user, sys.stdin, sys.stdout, greeting, files_dir=settings.files_dir
        )


async def cmd_run(args: argparse.Namespace, settings: Settings) -> None:
    if not (settings.telegram_enabled or settings.line_enabled):
        args.user = "console"
        await cmd_console(args, settings)
        return
    await run_channels(settings)


async def run_channels(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Serve every configured chat channel until SIGINT/SIGTERM (or ``stop`` is set)."""
    import logging
    import signal

    from bot import web
    from bot.core import Engine

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    log = logging.getLogger(__name__)
    webhook_url = settings.get("TELEGRAM_WEBHOOK_URL")
    secret = settings.get("TELEGRAM_WEBHOOK_SECRET")
    if settings.telegram_enabled and webhook_url and not secret:
        raise CliError(
            T("Webhook mode needs TELEGRAM_WEBHOOK_SECRET, so that forged calls are refused.")
        )
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with _store(settings) as store:
        engine = Engine(
            store,
            _tagger(settings),
            default_locale=settings.locale,
            public_url=settings.public_url,
        )
        from bot.pipeline import Pipeline
        from storage.sqlite import SQLiteStore

        # One durable path for every channel; an SQLite store belongs to this process alone.
        pipeline = Pipeline(engine, exclusive_store=isinstance(store, SQLiteStore))
        telegram = line = None
        if settings.telegram_enabled:
            from bot.channels.telegram import TelegramChannel

            token = settings.get("TELEGRAM_BOT_TOKEN")
            assert token is not None
            telegram = TelegramChannel(
                engine,
                token,
                base_url=settings.get("TELEGRAM_API_BASE_URL"),
                webhook=bool(webhook_url),
                default_locale=settings.locale,
                pipeline=pipeline,
            )
        if settings.line_enabled:
            from bot.channels.line import LineChannel

            line_secret = settings.get("LINE_CHANNEL_SECRET")
            access_token = settings.get("LINE_CHANNEL_ACCESS_TOKEN")
            assert line_secret is not None
            assert access_token is not None
            line = LineChannel(
                engine,
                line_secret,
                access_token,
                base_url=settings.get("LINE_API_BASE_URL"),
                default_locale=settings.locale,
                basic_id=settings.get("LINE_BOT_BASIC_ID"),
                pipeline=pipeline,
            )
        app = web.build_app(
            telegram=telegram if webhook_url else None,
            telegram_secret=secret,
            line=line,
            store=store,
            locale=settings.locale,
        )
        listen = settings.get("TAMBON_LISTEN") or "127.0.0.1:8080"
        runner = await web.serve(app, listen)
        try:
            if line is not None:
                await line.start()
                log.info("LINE channel running (webhook at %s%s)", listen, web.LINE_PATH)
            if telegram is not None:
                await telegram.start(webhook_url=webhook_url, secret=secret)
                log.info("Telegram channel running (%s)", "webhook" if webhook_url else "polling")
            await stop.wait()
        finally:
            if telegram is not None:
                await telegram.stop()
            await runner.cleanup()
            if line is not None:
                await line.stop()


async def cmd_tambon_create(args: argparse.Namespace, settings: Settings) -> None:
    if args.villages < 1 or args.villages > 99:
        raise CliError(
            T("A tambon has between 1 and 99 villages; got {count}.", count=args.villages)
        )
    async with _store(settings) as store:
        try:
            tambon = await tambons.create_tambon(
                store,
                args.code,
                args.villages,
                name=args.name,
                amphoe=args.amphoe,
                province=args.province,
            )
        except gazetteer.UnknownTambon:
            raise CliError(
                T(
                    "{code} is not a tambon code in the official list. A tambon code has six "
                    "digits, for example 600801; or give --name, --amphoe and --province.",
                    code=args.code,
                )
            ) from None
        except DuplicateTambon:
            raise CliError(T("Tambon {code} is already registered.", code=args.code)) from None
    print(_tambon_line(tambon, args.villages))


def _tambon_line(tambon: Tambon, villages: int) -> str:
    return "\t".join(
        [tambon.code, tambon.name_th, tambon.amphoe_th, tambon.province_th, str(villages)]
    )


async def cmd_tambon_list(args: argparse.Namespace, settings: Settings) -> None:
    async with _store(settings) as store:
        for tambon in await store.list_tambons():
            villages = await store.list_villages(tambon.id)
            print(_tambon_line(tambon, len(villages)))


async def cmd_invite(args: argparse.Namespace, settings: Settings) -> None:
    async with _store(settings) as store:
        tambon = await _tambon(store, args.tambon)
        invite = await tambons.create_invite(store, tambon, Role(args.role))
    print(invite.code)
    username = settings.get("TELEGRAM_BOT_USERNAME")
    basic_id = settings.get("LINE_BOT_BASIC_ID")
    if username:
        print(f"https://t.me/{username.lstrip('@')}?start={invite.code}")
    if basic_id:
        from urllib.parse import quote

        message = quote(f"/start {invite.code}", safe="")
        print(f"https://line.me/R/oaMessage/{quote(basic_id, safe='')}/?{message}")
    if not (username and basic_id):
        print(
            i18n.render(
                T(
                    "Set TELEGRAM_BOT_USERNAME and LINE_BOT_BASIC_ID to print the Telegram and "
                    "LINE links as well."
                ),
                settings.locale,
            ),
            file=sys.stderr,
        )


async def cmd_tag(args: argparse.Namespace, settings: Settings) -> None:
    tagger = _tagger(settings)
    if args.eval is not None:
        from bot.nlp.evaluate import evaluate, load_gold

        report = evaluate(tagger, load_gold(Path(args.eval)), tambons.sample_village_names())
        print(json.dumps(report.as_dict(), ensure_ascii=False) if args.json else report.table())
        return
    lines: Iterable[str] = [args.text] if args.text is not None else sys.stdin
    for raw in lines:
        text = raw.rstrip("\r\n")
        if not text.strip():
            continue
        tags = tagger.tag(text)
        if args.json:
            record = {
                "text": text,
                "categories": list(tags.categories),
                "kind": tags.kind,
                "village": tags.village,
                "actor": tags.actor,
            }
            print(json.dumps(record, ensure_ascii=False), flush=True)
        else:
            village = "" if tags.village is None else str(tags.village)
            print("\t".join([",".join(tags.categories), tags.kind, village, text]), flush=True)


async def cmd_train(args: argparse.Namespace, settings: Settings) -> None:
    from bot.nlp.classifier import LinearModel
    from bot.nlp.evaluate import evaluate, load_gold
    from bot.nlp.tagger import KeywordTagger
    from bot.nlp.training import Example, examples_from_gold, train

    examples = examples_from_gold(load_gold(Path(args.data)))
    corrected = 0
    if not args.no_corrections:
        async with _store(settings) as store:
            for correction in await store.list_corrections():
                submission = await store.get_submission(correction.submission_id)
                if submission is not None and correction.new_categories:
                    examples.append(Example(submission.text, frozenset(correction.new_categories)))
                    corrected += 1
    before_tagger = _tagger(settings)
    model = train(KeywordTagger(before_tagger.lexicon), examples)
    output = Path(args.output or settings.get("TAMBON_MODEL_PATH") or "data/tagger-model.json")
    model.save(output)
    after_tagger = KeywordTagger(before_tagger.lexicon, LinearModel.load(output))
    print(
        f"trained on {len(examples)} messages ({corrected} from corrections); "
        f"thresholds {model.thresholds}; written to {output}"
    )
    if args.test:
        gold = load_gold(Path(args.test))
        names = tambons.sample_village_names()
        before = evaluate(before_tagger, gold, names)
        after = evaluate(after_tagger, gold, names)
        print(f"{'on ' + args.test:<40}{'before':>10}{'after':>10}")
        for label, b, a in (
            ("macro F1", before.macro_f1, after.macro_f1),
            ("micro F1", before.micro_f1, after.micro_f1),
            ("kind accuracy", before.kind_accuracy, after.kind_accuracy),
            ("village accuracy", before.village_accuracy, after.village_accuracy),
        ):
            print(f"{label:<40}{b:>10.3f}{a:>10.3f}")


async def _poll(store: Store, poll_id: int) -> Any:
    poll = await store.get_poll(poll_id)
    if poll is None:
        raise CliError(T("There is no poll {ref}.", ref=poll_id))
    return poll


async def cmd_poll_create(args: argparse.Namespace, settings: Settings) -> None:
    from handlers.services.polls import create_poll, options_from_groups
    from handlers.services.privacy import HIDDEN
    from storage.base import PollMethod

    async with _store(settings) as store:
        tambon = await _tambon(store, args.tambon)
        options: list[tuple[str, int | None]] = [(text, None) for text in args.option or []]
        if args.from_groups:
            groups = (await store.list_groups(tambon.id))[: args.from_groups]
            options += options_from_groups(groups, i18n.render(HIDDEN, settings.locale))
        if len(options) < 2:
            raise CliError(T("A poll needs at least two options (--option, or --from-groups N)."))
        choose = args.choose or (1 if args.method == "approval" else min(3, len(options)))
        if not 1 <= choose <= len(options):
            raise CliError(
                T(
                    "--choose must be between 1 and the number of options ({count}).",
                    count=len(options),
                )
            )
        poll = await create_poll(
            store,
            tambon.id,
            args.title,
            PollMethod(args.method),
            choose,
            options,
            presence=args.present_only,
        )
    print(poll.id)


async def cmd_poll_qr(args: argparse.Namespace, settings: Settings) -> None:
    """The hall's screen: a QR code that tells the bot "I am here"."""
    from bot.charts import qr_png
    from handlers.services.polls import presence_code

    async with _store(settings) as store:
        poll = await _poll(store, args.id)
        if not poll.presence_code:
            poll = await store.set_presence_code(poll.id, presence_code())
    username = settings.get("TELEGRAM_BOT_USERNAME")
    target = (
        f"https://t.me/{username.lstrip('@')}?start=here-{poll.presence_code}"
        if username
        else f"/here {poll.presence_code}"
    )
    Path(args.output).write_bytes(qr_png(target))  # noqa: ASYNC240 - a CLI process
    print(poll.presence_code)


async def cmd_inbox_status(args: argparse.Namespace, settings: Settings) -> None:
    """One line each: updates waiting per channel, dead letters, replies per state."""
    async with _store(settings) as store:
        counts: dict[str, int] = {}
        for channel in ("telegram", "line"):
            counts[f"inbox.{channel}"] = len(await store.inbox_pending(channel))
        counts["dead_letters"] = len(await store.dead_letters())
        for state, count in sorted((await store.outbox_counts()).items()):
            counts[f"outbox.{state}"] = count
    if args.json:
        print(json.dumps(counts))
    else:
        for name, count in counts.items():
            print(f"{name}\t{count}")


async def cmd_inbox_dead(args: argparse.Namespace, settings: Settings) -> None:
    """The dead letters: kept as received, for the administrator to look into."""
    async with _store(settings) as store:
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
            print(json.dumps({**row, "payload": json.loads(letter.payload)}, ensure_ascii=False))
        else:
            print("\t".join(str(v) for v in row.values()))


async def cmd_poll_open(args: argparse.Namespace, settings: Settings) -> None:
    from datetime import UTC, datetime, timedelta

    async with _store(settings) as store:
        await _poll(store, args.id)
        closes = datetime.now(UTC) + timedelta(minutes=args.minutes) if args.minutes else None
        try:
            await store.set_poll_status(args.id, "open", closes)
        except PollConflict as conflict:
            raise CliError(
                T(
                    "Poll #{ref} is still open, and a tambon runs one poll at a time. Close it "
                    "first with: tambon-bot poll close {ref}",
                    ref=conflict.open_poll,
                )
            ) from conflict
    print(args.id)


async def cmd_poll_close(args: argparse.Namespace, settings: Settings) -> None:
    async with _store(settings) as store:
        await _poll(store, args.id)
        await store.set_poll_status(args.id, "closed")
    print(args.id)


async def cmd_poll_paper(args: argparse.Namespace, settings: Settings) -> None:
    from handlers.services.polls import BallotsRefused, record_paper_ballots

    async with _store(settings) as store:
        poll = await _poll(store, args.id)
        try:
            await record_paper_ballots(store, poll, args.choice, args.count, args.by)
        except BallotsRefused as refused:
            raise CliError(refused.reason) from refused
    print(args.count)


async def cmd_poll_results(args: argparse.Namespace, settings: Settings) -> None:
    from handlers.services.polls import count_ballots

    async with _store(settings) as store:
        poll = await _poll(store, args.id)
        counted = await count_ballots(store, poll)
    if args.json:
        print(json.dumps(counted.as_json(), ensure_ascii=False))
        return
    print(f"{poll.title} ({poll.method.value}, choose {poll.choose}): {counted.ballots} ballots")
    for option in counted.options:
        print(
            f"{option.rank:>3}. {option.text}\tvotes {option.votes}\tscore {option.score}"
            f"\t(paper {option.paper_votes})"
        )


async def cmd_report(args: argparse.Namespace, settings: Settings) -> None:
    from bot import progress
    from handlers.services.summary import read_report

    if args.format == "csv" and args.public and args.table == "submissions":
        raise CliError(T("A copy for the public has no list of submissions."))
    if args.format == "pdf":
        _require_pango()
    locale = settings.locale
    async with _store(settings) as store:
        tambon = await _tambon(store, args.tambon)
        steps = progress.Steps(
            await store.count_submissions(tambon.id),
            [
                i18n.render(T("Reading submissions"), locale),
                i18n.render(T("Writing the report…"), locale),
            ],
        )
        summary, submissions = await read_report(store, tambon)
    steps.next()
    data = _report_file(args, summary, submissions, locale)
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)  # noqa: ASYNC240 - a CLI process: nothing else waits on this loop
    steps.close()


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
        text = report.table_csv(summary, submissions, args.table, locale, public=args.public)
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
    from handlers.services.summary import read_report
    from handlers.types import Incoming
    from storage.base import PollMethod

    messages = tomllib.loads(resources.files("bot").joinpath("demo.toml").read_text("utf-8"))
    async with _store(settings) as store:
        sample = await tambons.ensure_sample_tambon(store)
        if sample is None:
            raise CliError(
                T("The demo needs an empty store or the sample tambon; set TAMBON_DATABASE_URL.")
            )
        tambon = sample.tambon
        engine = Engine(store, _tagger(settings), default_locale=settings.locale)
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
        poll = await store.create_poll(
            tambon.id,
            str(messages["poll_title"]),
            PollMethod.BORDA,
            3,
            [(g.title, g.id) for g in groups[:4]],
        )
        await store.set_poll_status(poll.id, "open")
        members = [
            await store.get_member("console", f"demo-{n}")
            for n in range(1, len(messages["messages"]) + 1)
        ]
        for index, member in enumerate(m for m in members if m is not None):
            order = [(index + k) % len(poll.options) + 1 for k in range(3)]
            await store.cast_ballot(
                poll.id, member.id, member.pseudonym, member.village_moo, order
            )
        await store.add_paper_ballots(poll.id, [1, 2, 3], 12, "demo")
        await store.set_poll_status(poll.id, "closed")
        summary, submissions = await read_report(store, tambon)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report.render(summary, submissions, "html", settings.locale), "utf-8")  # noqa: ASYNC240
    print(f"{tambon.code}\t{summary.submissions}\t{output}")


async def cmd_correct(args: argparse.Namespace, settings: Settings) -> None:
    from handlers.services.submissions import CorrectionRefused, correct_tags
    from storage.base import Kind

    async with _store(settings) as store:
        submission = await store.get_submission(args.id)
        if submission is None:
            raise CliError(T("There is no submission #{ref}.", ref=args.id))
        try:
            updated = await correct_tags(
                store,
                submission,
                categories=(
                    args.categories.split(",") if args.categories else submission.categories
                ),
                kind=Kind(args.kind) if args.kind else submission.kind,
                village=args.village if args.village is not None else submission.village_moo,
                actor=args.actor or submission.actor,
                known_categories=_tagger(settings).categories,
                member_id=None,
                corrected_by=args.by,
            )
        except CorrectionRefused as refused:
            raise CliError(refused.reason) from refused
    row = tambons.submission_row(updated)
    row["actor"] = updated.actor
    print(json.dumps(row, ensure_ascii=False))


async def cmd_export(args: argparse.Namespace, settings: Settings) -> None:
    from bot import progress

    async with _store(settings) as store:
        tambon = await _tambon(store, args.tambon)
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


# -- parser -----------------------------------------------------------------------------------

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

    invite = sub.add_parser("invite", help="make a join code")
    invite.add_argument("--tambon", required=True, metavar="CODE")
    invite.add_argument(
        "--role", choices=[r.value for r in Role if r is not Role.ADMIN], default="villager"
    )
    invite.set_defaults(func=cmd_invite)

    tag = sub.add_parser("tag", help="tag TEXT, or each line of stdin")
    tag.add_argument("text", nargs="?")
    tag.add_argument("--json", action="store_true", help="one JSON object per line")
    tag.add_argument(
        "--eval",
        metavar="FILE",
        help="score the tagger on labelled messages (JSONL or CSV) instead of tagging",
    )
    tag.set_defaults(func=cmd_tag)

    train_parser = sub.add_parser(
        "train", help="retrain the tagger's classifier from labelled data and corrections"
    )
    train_parser.add_argument("--data", default="tests/data/tagging_dev.jsonl", metavar="FILE")
    train_parser.add_argument(
        "--test",
        default="tests/data/tagging_test.jsonl",
        metavar="FILE",
        help="report scores before and after on this labelled file",
    )
    train_parser.add_argument("-o", "--output", metavar="FILE")
    train_parser.add_argument(
        "--no-corrections", action="store_true", help="ignore corrections in the store"
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

    report_parser = sub.add_parser("report", help="the tambon report (html, pdf, md; csv, xlsx)")
    report_parser.add_argument("--tambon", required=True, metavar="CODE")
    report_parser.add_argument(
        "--format", choices=["html", "pdf", "md", "csv", "xlsx"], default="html"
    )
    report_parser.add_argument("-o", "--output", required=True, metavar="FILE")
    report_parser.add_argument(
        "--public",
        action="store_true",
        help='for publication: counts under 5 shown as "<5", no list of submissions',
    )
    report_parser.add_argument(
        "--table",
        choices=["groups", "submissions", "poll"],
        default="groups",
        help="which table --format csv writes (xlsx has them all)",
    )
    report_parser.set_defaults(func=cmd_report)

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
        "--by", default=_operator(), help="who corrects, for the record (default: your login)"
    )
    correct.set_defaults(func=cmd_correct)

    export = sub.add_parser("export", help="export a tambon's data")
    export.add_argument("--tambon", required=True, metavar="CODE")
    export.add_argument("--what", choices=["submissions", "ballots"], default="submissions")
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    export.add_argument("-o", "--output", metavar="FILE")
    export.set_defaults(func=cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.load()
    func: Command = args.func
    try:
        asyncio.run(func(args, settings))
    except CliError as error:
        print(i18n.render(error.text, settings.locale), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
