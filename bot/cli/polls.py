"""``tambon-bot poll create|qr|open|close|paper|results``: the hearing's polls."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bot import i18n
from bot.cli.common import CliError, find_poll, find_tambon, open_db, operator_name, say
from bot.settings import Settings
from handlers.labels import method_label
from handlers.types import T
from storage.base import PollConflict


async def cmd_poll_create(args: argparse.Namespace, settings: Settings) -> None:
    from handlers.services.polls import create_poll, options_from_groups
    from handlers.services.privacy import HIDDEN
    from storage.base import PollMethod

    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
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
            by=operator_name(),
        )
    print(poll.id)


async def cmd_poll_qr(args: argparse.Namespace, settings: Settings) -> None:
    """The hall's screen: a QR code that tells the bot "I am here"."""
    from bot.charts import qr_png
    from bot.joinlinks import hall_link
    from handlers.services.polls import for_the_hall

    async with open_db(settings) as store:
        poll = await for_the_hall(store, await find_poll(store, args.id))
    assert poll.presence_code is not None  # for_the_hall gives the poll its hall code
    target = hall_link(poll.presence_code, settings.get("TELEGRAM_BOT_USERNAME"))
    Path(args.output).write_bytes(qr_png(target))  # noqa: ASYNC240 - a CLI process
    print(poll.presence_code)


async def cmd_poll_open(args: argparse.Namespace, settings: Settings) -> None:
    from handlers.services.polls import open_poll

    async with open_db(settings) as store:
        poll = await find_poll(store, args.id)
        try:
            await open_poll(store, poll, args.minutes, by=operator_name())
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
    from handlers.services.polls import close_poll

    async with open_db(settings) as store:
        await close_poll(store, await find_poll(store, args.id), by=operator_name())
    print(args.id)


async def cmd_poll_paper(args: argparse.Namespace, settings: Settings) -> None:
    from handlers.services.polls import record_paper_ballots

    async with open_db(settings) as store:
        poll = await find_poll(store, args.id)
        await record_paper_ballots(store, poll, args.choice, args.count, args.by)
    print(args.count)


async def cmd_poll_results(args: argparse.Namespace, settings: Settings) -> None:
    from handlers.services.polls import count_ballots

    async with open_db(settings) as store:
        poll = await find_poll(store, args.id)
        counted = await count_ballots(store, poll)
    if args.json:
        print(json.dumps(counted.as_json(), ensure_ascii=False))
        return
    say(
        settings,
        T(
            "{title}: {count} ballots. {method}",
            title=poll.title,
            count=counted.ballots,
            method=method_label(poll),
        ),
    )
    for option in counted.options:
        line = T(
            "{rank}. {text}\tvotes {votes}\tscore {score}\t(paper {paper})",
            rank=option.rank,
            text=option.text,
            votes=option.votes,
            score=option.score,
            paper=option.paper_votes,
        )
        if option.group_id is not None:
            line = T("{line}\tproblem group {group}", line=line, group=option.group_id)
        say(settings, line)
