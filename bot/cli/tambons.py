"""``tambon-bot tambon create|list`` and ``invite``."""

from __future__ import annotations

import argparse
import sys

from bot import i18n
from bot.cli.common import CliError, find_tambon, open_db
from bot.settings import Settings
from handlers.services import gazetteer, tambons
from handlers.types import T
from storage.base import DuplicateTambon, Role, Tambon


async def cmd_tambon_create(args: argparse.Namespace, settings: Settings) -> None:
    if args.villages < 1 or args.villages > 99:
        raise CliError(
            T("A tambon has between 1 and 99 villages; got {count}.", count=args.villages)
        )
    async with open_db(settings) as store:
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
    async with open_db(settings) as store:
        for tambon in await store.list_tambons():
            villages = await store.list_villages(tambon.id)
            print(_tambon_line(tambon, len(villages)))


async def cmd_invite(args: argparse.Namespace, settings: Settings) -> None:
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
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
