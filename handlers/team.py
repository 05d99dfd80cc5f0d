"""The tambon's members, for the working team: /members lists them by village and role,
/role N gives member N another role, /remove N removes them.

Members are shown by number and pseudonym, never by name or chat account. The team gives the
roles villager, community organisation member and team; only an administrator gives or takes
the administrator role, and the tambon's last administrator keeps it. Another tambon's member
is answered as unknown.
"""

from __future__ import annotations

from itertools import groupby

from handlers import payloads
from handlers.labels import ROLE_LABELS, village_label
from handlers.payloads import Pick
from handlers.router import Context, Router, number
from handlers.services import members, workbench
from handlers.services.submissions import who
from handlers.types import Choice, Lines, Reply, T, Text
from storage.base import Member, Role

router = Router()

TEAM = (Role.TEAM, Role.ADMIN)
MAX_LISTED = 200  # more than a tambon's members who chat, far fewer than a message can hold


async def _target(ctx: Context, ref: str, command: str) -> Member | list[Reply]:
    """Member ``ref`` of the team member's own tambon, when they may change that member's role
    or remove them; otherwise the answer that says why not."""
    assert ctx.member is not None
    member_id = number(ref.strip().lstrip("#"))
    found = await ctx.store.get_member_by_id(member_id) if member_id is not None else None
    if found is None or found.tambon_id != ctx.member.tambon_id or found.removed_at is not None:
        return _unknown(ref, command)
    if found.role not in members.roles_given_by(ctx.member):
        return _out_of_reach(found)
    return found


def _unknown(ref: str, command: str) -> list[Reply]:
    return [
        Reply(
            T(
                "There is no member {ref} in your tambon. Type /members to see their numbers, "
                "then /{command} and the number, for example /{command} 12.",
                ref=ref.strip()[:20] or "?",
                command=command,
            )
        )
    ]


def _out_of_reach(target: Member) -> list[Reply]:
    return [
        Reply(
            T(
                "Only an administrator can change an administrator's role or remove them "
                "({member}).",
                member=target.pseudonym,
            )
        )
    ]


def _last_admin(target: Member) -> list[Reply]:
    return [
        Reply(
            T(
                "{member} is the tambon's last administrator: make someone else administrator "
                "first.",
                member=target.pseudonym,
            )
        )
    ]


@router.command("members", roles=TEAM)
async def list_members(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    found = [m for m in await ctx.store.list_members(ctx.member.tambon_id) if m.onboarded]
    lines: list[Text] = []
    for village, people in groupby(found[:MAX_LISTED], key=lambda m: m.village_moo):
        listed = list(people)
        lines.append(T("{village}: {count}", village=village_label(village), count=len(listed)))
        lines.extend(
            T(
                "  #{ref} {pseudonym} · {role}",
                ref=m.id,
                pseudonym=m.pseudonym,
                role=ROLE_LABELS[m.role],
            )
            for m in listed
        )
    heading = T(
        "{count} members, by village. To change a role: /role NUMBER. To remove someone: "
        "/remove NUMBER.",
        count=len(found),
    )
    return [Reply(T("{heading}\n\n{lines}", heading=heading, lines=Lines(lines)))]


@router.command("role", roles=TEAM)
async def role(ctx: Context) -> list[Reply]:
    """Which role for member N? A button per role this team member may give."""
    assert ctx.member is not None
    target = await _target(ctx, ctx.args, "role")
    if isinstance(target, list):
        return target
    choices = [
        Choice(ROLE_LABELS[r], Pick(payloads.ROLE, f"{target.id}.{r.value}").pack())
        for r in members.roles_given_by(ctx.member)
        if r is not target.role
    ]
    return [
        Reply(
            T(
                "{member} is now: {role}. Which role instead?",
                member=target.pseudonym,
                role=ROLE_LABELS[target.role],
            ),
            choices,
        )
    ]


@router.action(payloads.ROLE, roles=TEAM)
async def give_role(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    pick = Pick.unpack(ctx.incoming.choice)
    ref, _, wanted = (pick.arg if pick else "").partition(".")
    target = await _target(ctx, ref, "role")
    if isinstance(target, list):
        return target
    roles = {r.value: r for r in members.roles_given_by(ctx.member)}
    if wanted not in roles:
        return _out_of_reach(target)
    try:
        changed = await members.change_role(ctx.store, target, roles[wanted], by=who(ctx.member))
    except members.LastAdmin:
        return _last_admin(target)
    return [
        Reply(
            T(
                "{member} is now: {role}.",
                member=changed.pseudonym,
                role=ROLE_LABELS[changed.role],
            )
        )
    ]


@router.command("remove", roles=TEAM)
async def remove(ctx: Context) -> list[Reply]:
    """Ask before removing member N: it cannot be undone in chat (they need a new code)."""
    assert ctx.member is not None
    target = await _target(ctx, ctx.args, "remove")
    if isinstance(target, list):
        return target
    return [
        Reply(
            T(
                "Remove {member} ({role}) from the tambon? What they filed stays, anonymous; "
                "to come back they need a new join code.",
                member=target.pseudonym,
                role=ROLE_LABELS[target.role],
            ),
            [
                Choice(T("Yes, remove"), Pick(payloads.REMOVE, str(target.id)).pack()),
                Choice(T("No, keep"), Pick(payloads.REMOVE, "").pack()),
            ],
        )
    ]


@router.action(payloads.REMOVE, roles=TEAM)
async def confirm_remove(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    pick = Pick.unpack(ctx.incoming.choice)
    if pick is None or not pick.arg:
        return [Reply(T("Nobody was removed."))]
    target = await _target(ctx, pick.arg, "remove")
    if isinstance(target, list):
        return target
    try:
        await members.remove(ctx.store, target, by=who(ctx.member))
    except members.LastAdmin:
        return _last_admin(target)
    return [
        Reply(
            T(
                "{member} is no longer a member; what they filed stays in the tambon's records.",
                member=target.pseudonym,
            )
        )
    ]


@router.command("web", roles=TEAM)
async def web(ctx: Context) -> list[Reply]:
    """A one-time link that signs the team member in to the workbench."""
    assert ctx.member is not None
    if ctx.public_url is None:
        return [
            Reply(
                T(
                    "The workbench has no address people can open yet: the administrator sets "
                    "TAMBON_PUBLIC_URL, or prints a sign-in link on the server with tambon-bot "
                    "web-link."
                )
            )
        ]
    token = await workbench.sign_in_link(ctx.store, ctx.member, ctx.now())
    return [
        Reply(
            T(
                "Your link to the team's workbench (one use, for 10 minutes; do not pass it "
                "on):\n{url}",
                url=workbench.link_url(ctx.public_url, token),
            )
        )
    ]
