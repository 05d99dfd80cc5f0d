"""``tambon-bot member``: the tambon's members, and their roles."""

from __future__ import annotations

import argparse

from bot.cli.common import (
    CliError,
    find_tambon,
    listener_url,
    open_db,
    operator_name,
    print_record,
    say,
)
from bot.settings import Settings
from handlers.labels import ROLE_LABELS
from handlers.services import members
from handlers.types import T
from storage.base import Role


async def cmd_member_list(args: argparse.Namespace, settings: Settings) -> None:
    """One member a line, by village then role: id, role, village, pseudonym, joined, state.
    No names or chat accounts: the pseudonym is what the team sees in chat too."""
    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        found = await store.list_members(tambon.id)
    for member in found:
        record = {
            "id": member.id,
            "role": member.role.value,
            "village": member.village_moo,
            "pseudonym": member.pseudonym,
            "channel": member.channel,
            "joined": member.created_at.isoformat(),
            "consented": member.onboarded,
        }
        village = "-" if member.village_moo is None else member.village_moo
        # Removed, half-way through joining, not reachable (blocked the bot, unfollowed), or
        # a member the bot can write to.
        if member.removed_at is not None:
            state = "removed"
        elif not member.onboarded:
            state = "joining"
        elif member.unreachable_at is not None:
            state = "unreachable"
        else:
            state = "member"
        record["state"] = state
        print_record(
            record, args.json, [member.id, member.role.value, village, member.pseudonym, state]
        )


async def cmd_member_role(args: argparse.Namespace, settings: Settings) -> None:
    async with open_db(settings) as store:
        member = await store.get_member_by_id(args.id)
        if member is None:
            raise CliError(T("There is no member {ref}.", ref=args.id))
        try:
            changed = await members.change_role(store, member, Role(args.role), by=operator_name())
        except members.LastAdmin:
            raise _last_admin(args.id) from None
    say(
        settings, T("Member {ref} is now: {role}.", ref=changed.id, role=ROLE_LABELS[changed.role])
    )


async def cmd_member_remove(args: argparse.Namespace, settings: Settings) -> None:
    async with open_db(settings) as store:
        member = await store.get_member_by_id(args.id)
        if member is None or member.removed_at is not None:
            raise CliError(T("There is no member {ref}.", ref=args.id))
        try:
            await members.remove(store, member, by=operator_name())
        except members.LastAdmin:
            raise _last_admin(args.id) from None
    say(
        settings,
        T(
            "Member {ref} removed; what they filed stays in the tambon's records.",
            ref=args.id,
        ),
    )


def _last_admin(ref: int) -> CliError:
    return CliError(
        T(
            "Member {ref} is the tambon's last administrator: make someone else administrator "
            "first.",
            ref=ref,
        )
    )


async def cmd_web_link(args: argparse.Namespace, settings: Settings) -> None:
    """A one-time sign-in link to the workbench, for a team member (by default the tambon's
    first administrator, for the first set-up); printed alone on its line, for scripts."""
    from handlers.services import workbench

    async with open_db(settings) as store:
        tambon = await find_tambon(store, args.tambon)
        if args.member is not None:
            member = await store.get_member_by_id(args.member)
            if member is None or member.tambon_id != tambon.id:
                raise CliError(T("There is no member {ref} in this tambon.", ref=args.member))
        else:
            team = [m for m in await store.list_members(tambon.id) if workbench.on_team(m)]
            admins = [m for m in team if m.role is Role.ADMIN]
            if not team:
                raise CliError(
                    T(
                        "Tambon {code} has nobody on its team yet: make a join code with "
                        "tambon-bot invite --tambon {code} --role admin, join with it, then "
                        "ask again.",
                        code=tambon.code,
                    )
                )
            member = min(admins or team, key=lambda m: m.id)
        if not workbench.on_team(member):
            raise CliError(workbench.NOT_TEAM)
        token = await workbench.sign_in_link(store, member)
    print(workbench.link_url(listener_url(settings), token))
