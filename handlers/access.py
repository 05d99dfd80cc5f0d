"""Join codes in chat, for the working team: /invite makes one, /revoke withdraws one.

/invite shows a button per role a code can give (not administrator: those are made on the
server); the code made lasts its role's default (``tambons.INVITE_DAYS``). /revoke CODE withdraws
a code of the member's own tambon; another tambon's code is answered as unknown, so that codes
cannot be probed across tambons.
"""

from __future__ import annotations

from handlers import payloads
from handlers.labels import ROLE_LABELS
from handlers.payloads import Pick
from handlers.router import Context, Router
from handlers.services import tambons
from handlers.services.submissions import who
from handlers.types import Choice, Reply, T
from storage.base import Role

router = Router()

TEAM = (Role.TEAM, Role.ADMIN)
GIVEN_IN_CHAT = (Role.VILLAGER, Role.MEMBER, Role.TEAM)


@router.command("invite", roles=TEAM)
async def invite(ctx: Context) -> list[Reply]:
    """Ask which role the new code should give."""
    choices = [
        Choice(ROLE_LABELS[role], Pick(payloads.INVITE, role.value).pack())
        for role in GIVEN_IN_CHAT
    ]
    return [Reply(T("A join code for whom?"), choices)]


@router.action(payloads.INVITE, roles=TEAM)
async def make_code(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    pick = Pick.unpack(ctx.incoming.choice)
    roles = {role.value: role for role in GIVEN_IN_CHAT}
    if pick is None or pick.arg not in roles:
        return await invite(ctx)
    tambon = await ctx.store.get_tambon(ctx.member.tambon_id)
    assert tambon is not None
    made = await tambons.create_invite(ctx.store, tambon, roles[pick.arg], by=who(ctx.member))
    assert made.expires_at is not None
    return [
        Reply(
            T(
                "New join code for {role}: {code}\nIt works until {date} for anyone who has it: "
                "share it only with the people it is for. To join, they type /start {code}. "
                "To withdraw it: /revoke {code}",
                role=ROLE_LABELS[made.role],
                code=made.code,
                date=made.expires_at,
            )
        )
    ]


@router.command("revoke", roles=TEAM)
async def revoke(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    code = ctx.args.strip()
    if not code:
        return [Reply(T("Please give the join code to withdraw, for example /revoke 12345678."))]
    found = await ctx.store.get_invite(code)
    if found is None or found.tambon_id != ctx.member.tambon_id:
        return [Reply(T("There is no join code {code}.", code=code[:20]))]
    if not await tambons.revoke_invite(ctx.store, code, by=who(ctx.member)):
        return [Reply(T("Join code {code} was withdrawn already.", code=code))]
    return [
        Reply(
            T(
                "Join code {code} withdrawn: nobody can join with it any more. Those who joined "
                "with it stay members.",
                code=code,
            )
        )
    ]
