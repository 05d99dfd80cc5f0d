"""``tambon-bot tambon create|list`` and ``invite``."""

from __future__ import annotations

import argparse

from bot.cli.common import CliError, find_tambon, open_db, operator_name, print_record, say
from bot.settings import Settings
from handlers.services import gazetteer, members, tambons
from handlers.types import T
from storage.base import DuplicateTambon, Invite, Role, Tambon


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
    if args.invite_command == "list":
        await cmd_invite_list(args, settings)
        return
    if args.invite_command == "revoke":
        await cmd_invite_revoke(args, settings)
        return
    if not args.tambon:
        raise CliError(T("Say which tambon the join code is for: --tambon CODE."))
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        try:
            role = Role(args.role)
            # An administrator's code lets one person in, unless told otherwise.
            uses = args.uses if args.uses is not None or role is not Role.ADMIN else 1
            invite = await tambons.create_invite(
                store, tambon, role, days=args.days, uses=uses, by=operator_name()
            )
        except tambons.InviteRefused:
            raise CliError(
                T(
                    "A join code lasts 1 to {days} days (--days) and lets at least one person "
                    "join (--uses).",
                    days=tambons.MAX_INVITE_DAYS,
                )
            ) from None
    print(invite.code)
    username = settings.get("TELEGRAM_BOT_USERNAME")
    basic_id = settings.get("LINE_BOT_BASIC_ID")
    from bot.joinlinks import join_links

    for _, link in join_links(invite.code, username, basic_id):
        print(link)
    if not (username and basic_id):
        say(
            settings,
            T(
                "Set TELEGRAM_BOT_USERNAME and LINE_BOT_BASIC_ID to print the Telegram and "
                "LINE links as well."
            ),
            error=True,
        )


def _invite_state(invite: Invite) -> str:
    problem = members.invite_problem(invite)
    return "usable" if problem is None else problem.value


async def cmd_invite_list(args: argparse.Namespace, settings: Settings) -> None:
    """The tambon's join codes, one a line: code, role, state, uses, expiry, created."""
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        invites = await store.list_invites(tambon.id)
    for invite in invites:
        state = _invite_state(invite)
        expires = invite.expires_at.isoformat() if invite.expires_at else None
        uses = f"{invite.uses}/{invite.max_uses}" if invite.max_uses else str(invite.uses)
        record = {
            "code": invite.code,
            "role": invite.role.value,
            "state": state,
            "uses": invite.uses,
            "max_uses": invite.max_uses,
            "expires_at": expires,
            "created_at": invite.created_at.isoformat(),
        }
        print_record(
            record, args.json, [invite.code, invite.role.value, state, uses, expires or "-"]
        )


async def cmd_invite_revoke(args: argparse.Namespace, settings: Settings) -> None:
    async with open_db(settings) as store:
        invite = await store.get_invite(args.code)
        if invite is None:
            raise CliError(T("There is no join code {code}.", code=args.code))
        if not await tambons.revoke_invite(store, args.code, by=operator_name()):
            raise CliError(T("Join code {code} was withdrawn already.", code=args.code))
    say(settings, T("Join code {code} withdrawn.", code=args.code))
