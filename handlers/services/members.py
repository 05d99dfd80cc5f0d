"""Membership: joining a tambon with a join code, consenting, and being forgotten.

The one way these happen, for every channel: a first join stores the person only as far as the
consent question, a decline stores nothing, and a re-join (another role, another tambon) changes
nothing until the person consents again, so a decline or /cancel half-way keeps what they filed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from storage.base import Invite, Member, Role, Store


async def usable_invite(store: Store, code: str) -> Invite | None:
    """The invite behind a join code, if it can still be used (it exists and is not revoked)."""
    invite = await store.get_invite(code)
    return None if invite is None or invite.revoked else invite


async def start_joining(store: Store, channel: str, user_id: str, invite: Invite) -> Member:
    """A first join: the person is stored as far as the consent question (no consent yet)."""
    return await store.upsert_member(channel, user_id, invite.tambon_id, invite.role, None)


async def consent(
    store: Store,
    member: Member,
    *,
    village: int | None,
    rejoining: tuple[int, Role] | None = None,
) -> Member:
    """The person consents: their village (0 or None: not said) and the consent are stored in
    one transaction; for a re-join, the new tambon and role take effect only now."""
    async with store.transaction():
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
    words were shown (group titles, poll options, cached reports). How many submissions went."""
    return await store.forget_member(member.id)


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
