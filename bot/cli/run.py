"""``tambon-bot run`` and ``console``: the channel wiring (Telegram, LINE, the web listener,
the console)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from bot import i18n
from bot.cli.common import CliError, listener_url, open_db, tagger_for
from bot.settings import Settings
from handlers.services import tambons
from handlers.types import T, Text
from storage import is_sqlite, sqlite_path
from storage.base import Role, Store

if TYPE_CHECKING:
    from bot.workbench import PhotoSource, Workbench


async def cmd_console(args: argparse.Namespace, settings: Settings) -> None:
    from bot.channels.console import run_console
    from bot.core import Engine

    locale = settings.locale
    async with open_db(settings) as store:
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
        serve = getattr(args, "serve_web", False)
        url = listener_url(settings) if serve else None
        if serve and sample is not None and url is not None:
            team = await tambons.sample_invite(store, sample.tambon, Role.TEAM)
            greeting.append(
                i18n.render(
                    T(
                        "The team's workbench: {url}/team/ . To try it, join as the tambon "
                        "team with /start {join_code}, then type /web for your sign-in link.",
                        url=url,
                        join_code=team.code,
                    ),
                    locale,
                )
            )
        # The operator's own terminal: no per-person pace (scripts pipe many lines a minute).
        engine = Engine(
            store,
            tagger_for(settings),
            default_locale=locale,
            limits=settings.limits.without_use_limits(),
            public_url=url or settings.public_url,
            need_rule=settings.need_rule,
        )
        async with contextlib.AsyncExitStack() as listening:
            if serve:
                await listening.enter_async_context(serving(settings, store))
            await run_console(
                engine, args.user, sys.stdin, sys.stdout, greeting, files_dir=settings.files_dir
            )


@contextlib.asynccontextmanager
async def serving(settings: Settings, store: Store) -> AsyncIterator[None]:
    """The HTTP listener with report links and the team's workbench, for as long as the
    console chat runs (the README's first command); a port in use is said, not fatal."""
    from bot import web

    listen = settings.get("TAMBON_LISTEN") or "127.0.0.1:8080"
    app = web.build_app(
        store=store,
        locale=settings.locale,
        workbench=workbench_for(settings, store),
        need_rule=settings.need_rule,
    )
    try:
        runner = await web.serve(app, listen)
    except (OSError, ValueError) as error:
        print(
            i18n.render(
                T(
                    "The workbench is not served: cannot listen on {listen} ({error}). Set "
                    "TAMBON_LISTEN to a free host:port.",
                    listen=listen,
                    error=getattr(error, "strerror", None) or str(error),
                ),
                settings.locale,
            ),
            file=sys.stderr,
        )
        yield
        return
    try:
        yield
    finally:
        await runner.cleanup()


def workbench_for(
    settings: Settings, store: Store, photos: Mapping[str, PhotoSource] | None = None
) -> Workbench:
    """The team's workbench, with each running chat channel's way to fetch a photo."""
    from datetime import timedelta

    from bot.workbench import Workbench

    return Workbench(
        store,
        public_url=settings.public_url,
        idle=timedelta(minutes=settings.count("TAMBON_WEB_IDLE_MINUTES")),
        absolute=timedelta(hours=settings.count("TAMBON_WEB_SESSION_HOURS")),
        bot_username=settings.get("TELEGRAM_BOT_USERNAME"),
        line_basic_id=settings.get("LINE_BOT_BASIC_ID"),
        photos=photos,
        need_rule=settings.need_rule,
        tagger=tagger_for(settings),
    )


@contextlib.contextmanager
def only_runner(database: str, refusal: Text | None = None) -> Iterator[None]:
    """One ``run`` per SQLite file: its durable path takes over whatever replies a crash left
    half-sent, which is right only if no other process is sending them. A second ``run`` on the
    same file is refused; several processes need PostgreSQL (docs/scaling.md). The kernel lets
    the lock go when the process ends, however it ends."""
    if database == ":memory:":
        yield
        return
    lock = Path(database).with_name(Path(database).name + ".run-lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CliError(
                refusal
                or T(
                    "Another tambon-bot run is already serving {path}. An SQLite store serves one "
                    "process; to run several, use PostgreSQL (docs/scaling.md).",
                    path=database,
                )
            ) from None
        yield


async def cmd_run(args: argparse.Namespace, settings: Settings) -> None:
    if not (settings.telegram_enabled or settings.line_enabled):
        # The console chat is a run too: one at a time on an SQLite file, as with channels.
        args.user = "console"
        args.serve_web = True  # the workbench beside the console chat, on TAMBON_LISTEN
        url = settings.database_url
        database = sqlite_path(url) if is_sqlite(url) else None
        with (
            only_runner(str(database)) if isinstance(database, Path) else contextlib.nullcontext()
        ):
            await cmd_console(args, settings)
        return
    await run_channels(settings)


async def run_channels(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Serve every configured chat channel until SIGINT/SIGTERM (or ``stop`` is set)."""
    import logging
    import signal

    from telegram.error import Forbidden, InvalidToken

    from bot import web
    from bot.core import Engine

    TelegramRefused = (InvalidToken, Forbidden)

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
    async with open_db(settings) as store, contextlib.AsyncExitStack() as held:
        from bot.pipeline import Pipeline
        from storage.sqlite import SQLiteStore

        exclusive = isinstance(store, SQLiteStore)
        if isinstance(store, SQLiteStore):
            held.enter_context(only_runner(store.path))
        engine = Engine(
            store,
            tagger_for(settings),
            default_locale=settings.locale,
            public_url=settings.public_url,
            limits=settings.limits,
            need_rule=settings.need_rule,
        )
        # One durable path for every channel; an SQLite store belongs to this process alone.
        pipeline = Pipeline(engine, exclusive_store=exclusive)
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
                messages_per_second=settings.count("TELEGRAM_MESSAGES_PER_SECOND"),
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
                data_url=settings.get("LINE_DATA_API_BASE_URL"),
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
            workbench=workbench_for(
                settings,
                store,
                photos={
                    channel.name: channel.photo
                    for channel in (telegram, line)
                    if channel is not None
                },
            ),
            need_rule=settings.need_rule,
        )
        listen = settings.get("TAMBON_LISTEN") or "127.0.0.1:8080"
        try:
            runner = await web.serve(app, listen)
        except (OSError, ValueError) as error:
            raise CliError(
                T(
                    "Cannot listen on {listen}: {error}. Is another program (or another "
                    "tambon-bot) using that port? Set TAMBON_LISTEN to a free host:port.",
                    listen=listen,
                    error=getattr(error, "strerror", None) or str(error),
                )
            ) from None
        try:
            if line is not None:
                await line.start()
                log.info("LINE channel running (webhook at %s%s)", listen, web.LINE_PATH)
            if telegram is not None:
                try:
                    await telegram.start(webhook_url=webhook_url, secret=secret)
                except TelegramRefused:
                    raise CliError(
                        T(
                            "Telegram refused the bot's token (TELEGRAM_BOT_TOKEN). Check it with "
                            "@BotFather and start again."
                        )
                    ) from None
                log.info("Telegram channel running (%s)", "webhook" if webhook_url else "polling")
            await stop.wait()
        finally:
            if telegram is not None:
                await telegram.stop()
            await runner.cleanup()
            if line is not None:
                await line.stop()
