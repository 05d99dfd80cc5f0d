"""Membership: joining a tambon with a join code, consenting, and being forgotten.

The one way these happen, for every channel: a first join stores the person only as far as the
consent question, a decline stores nothing, and a re-join (another role, another tambon) changes
nothing until the person consents again, so a decline or /cancel half-way keeps what they filed.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from handlers.services import audit, limits, reportlinks
from storage.base import Conversation, Invite, Member, Role, Store


class InviteProblem(enum.StrEnum):
    """Why a join code cannot be used."""

    UNKNOWN = "unknown"
    REVOKED = "revoked"
    EXPIRED = "expired"
    USED_UP = "used_up"


class InviteUnusable(Exception):
    """The join code stopped being usable between /start and the consent."""

    def __init__(self, problem: InviteProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def invite_problem(invite: Invite | None, now: datetime | None = None) -> InviteProblem | None:
    """What stops a code being used now, or None when it can be."""
    now = now or datetime.now(UTC)
    if invite is None:
        return InviteProblem.UNKNOWN
    if invite.revoked:
        return InviteProblem.REVOKED
    if invite.expires_at is not None and invite.expires_at <= now:
        return InviteProblem.EXPIRED
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        return InviteProblem.USED_UP
    return None


async def check_invite(store: Store, code: str) -> tuple[Invite | None, InviteProblem | None]:
    """The invite behind a join code and what, if anything, stops it being used now."""
    invite = await store.get_invite(code)
    return invite, invite_problem(invite)


async def start_joining(store: Store, channel: str, user_id: str, invite: Invite) -> Member:
    """A first join: the person is stored as far as the consent question (no consent yet)."""
    return await store.upsert_member(channel, user_id, invite.tambon_id, invite.role, None)


async def consent(
    store: Store,
    member: Member,
    *,
    village: int | None,
    rejoining: tuple[int, Role] | None = None,
    invite_code: str | None = None,
) -> Member:
    """The person consents: their village (0 or None: not said) and the consent are stored in
    one transaction; for a re-join, the new tambon and role take effect only now. The join
    code's use is counted in the same transaction; a code that expired, was used up or revoked
    since /start raises :class:`InviteUnusable` and nothing is stored."""
    async with store.transaction():
        if invite_code is not None:
            now = datetime.now(UTC)
            if not await store.use_invite(invite_code, now):
                problem = invite_problem(await store.get_invite(invite_code), now)
                raise InviteUnusable(problem or InviteProblem.USED_UP)
        if rejoining is not None:
            tambon_id, role = rejoining
            member = await store.upsert_member(
                member.channel, member.platform_user_id, tambon_id, role, None
            )
        if rejoining is not None or village is not None:
            member = await store.update_member(member.id, village_moo=village or None)
        return await store.update_member(member.id, consent_at=datetime.now(UTC))


async def forget(store: Store, member: Member) -> int:
    """Erase a person: membership, conversation, their own submissions and every place their
    words were shown (group titles, poll options, the durable path's kept updates and replies).
    Their ballots in closed polls stay counted, on an anonymous stand-in. Their counts of use
    go too, but a count of wrong join or hall codes (gone by itself within the hour): else a
    guesser could wipe it by joining and declining. How many submissions went."""
    async with store.transaction():
        await reportlinks.revoke_member_links(
            store, member.tambon_id, member.id, by="forgotten member"
        )
        return await store.forget_member(
            member.id,
            counts_of=limits.person(member.channel, member.platform_user_id),
            keep_counts=limits.GUESSES,
        )


async def set_language(store: Store, member: Member, locale: str) -> Member:
    return await store.update_member(member.id, locale=locale)


async def set_village(store: Store, member: Member, village: int | None) -> Member:
    """The member's village (moo); 0 or None: not said (the team and the SOCH.T may serve
    every village)."""
    return await store.update_member(member.id, village_moo=village or None)


async def set_reachable(store: Store, member: Member, reachable: bool) -> Member:
    """The platform says the person blocked the bot (or unfollowed), or they wrote again."""
    if reachable == (member.unreachable_at is None):
        return member
    return await store.update_member(
        member.id, unreachable_at=None if reachable else datetime.now(UTC)
    )


TEAM_MENU = "team"  # the menu of the tambon team and administrators; None: the default
VILLAGER_MENU = "villager"  # the default menu, as a reply's hint and a rich menu name it


def menu_for(member: Member | None) -> str | None:
    """The menu a person's chat app should show them: the team's for a team member or an
    administrator who has joined and not been removed, else the default (the villager's)."""
    if (
        member is not None
        and member.onboarded
        and member.removed_at is None
        and member.role in (Role.TEAM, Role.ADMIN)
    ):
        return TEAM_MENU
    return None


async def set_menu(store: Store, member: Member, menu: str | None) -> Member:
    """Note the menu the member's chat app was told to show them."""
    return await store.update_member(member.id, menu=menu)


async def set_quiet(store: Store, member: Member, quiet: bool) -> Member:
    """The member asks for no more news of the plan (or for news again)."""
    return await store.update_member(member.id, quiet_at=datetime.now(UTC) if quiet else None)


class LastAdmin(Exception):
    """The change would leave the tambon without an administrator."""


def roles_given_by(actor: Member) -> tuple[Role, ...]:
    """The roles ``actor`` may give or take away (in chat and the workbench alike): the team
    gives villager, community organisation member and team; only an administrator gives or
    takes the administrator role."""
    if actor.role is Role.ADMIN:
        return (Role.VILLAGER, Role.MEMBER, Role.TEAM, Role.ADMIN)
    return (Role.VILLAGER, Role.MEMBER, Role.TEAM)


async def change_role(
    store: Store, member: Member, role: Role, *, by: str | None = None
) -> Member:
    """Give a member another role, in one transaction; the tambon's last administrator keeps
    theirs (:class:`LastAdmin`)."""
    async with store.transaction():
        if role is not Role.ADMIN:
            await _keep_an_admin(store, member)
        if by is not None:
            await audit.record(
                store,
                member.tambon_id,
                by,
                audit.ROLE_CHANGED,
                member=member.id,
                before=member.role.value,
                after=role.value,
            )
        if role not in (Role.TEAM, Role.ADMIN):
            # Out of the team: the report links they made open nothing any more, and their
            # workbench sessions end.
            await reportlinks.revoke_member_links(
                store, member.tambon_id, member.id, by=by or "system"
            )
            await store.end_web_sessions(datetime.now(UTC), member_id=member.id)
        return await store.update_member(member.id, role=role.value)


async def _keep_an_admin(store: Store, member: Member) -> None:
    """LastAdmin when ``member`` is the tambon's only administrator."""
    if member.role is not Role.ADMIN:
        return
    admins = [
        m
        for m in await store.list_members(member.tambon_id)
        if m.role is Role.ADMIN and m.onboarded
    ]
    if [m.id for m in admins] == [member.id]:
        raise LastAdmin(member.pseudonym)


async def remove(store: Store, member: Member, *, by: str | None = None) -> Member:
    """The team removes a member: no longer a member (they must join again with a new code to
    come back), their conversation dropped; what they filed and how they voted stay, anonymous
    as always. The tambon's last administrator cannot be removed (:class:`LastAdmin`)."""
    async with store.transaction():
        await _keep_an_admin(store, member)
        if by is not None:
            await audit.record(store, member.tambon_id, by, audit.MEMBER_REMOVED, member=member.id)
        await reportlinks.revoke_member_links(
            store, member.tambon_id, member.id, by=by or "system"
        )
        await store.end_web_sessions(datetime.now(UTC), member_id=member.id)
        await store.save_conversation(Conversation(member.id))
        return await store.update_member(member.id, consent_at=None, removed_at=datetime.now(UTC))
