"""Signing in to the team's workbench (the web pages under ``/team/``) without passwords.

A team member (or administrator) asks for a link in chat (``/web``), or the operator prints one
(``tambon-bot web-link``): a random token, single use, valid ten minutes, bound to that member
and tambon. Opening it starts a session: another random token in a cookie, kept here only as a
hash, with a CSRF token of its own for every form. A session ends when it has been idle too long
or lived too long (settings), when the member signs out or ends it from the workbench, and at
once when the member is removed or is no longer on the team. Every sign-in is audited.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from handlers.services import audit
from handlers.types import T
from storage.base import Member, Role, Store, WebSession

LINK_LIFETIME = timedelta(minutes=10)
IDLE = timedelta(hours=2)  # defaults; the settings may say otherwise
ABSOLUTE = timedelta(hours=12)
# The last-seen time is written at most this often (a page of clicks is one write, not twenty).
TOUCH_EVERY = timedelta(minutes=1)
TEAM = (Role.TEAM, Role.ADMIN)
PATH = "/team"


NOT_TEAM = T("Sorry, the workbench is only for the tambon team.")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def on_team(member: Member | None) -> bool:
    return (
        member is not None
        and member.onboarded
        and member.removed_at is None
        and member.role in TEAM
    )


async def sign_in_link(store: Store, member: Member, now: datetime | None = None) -> str:
    """A one-time sign-in token for a team member (the caller checks :func:`on_team`)."""
    if not on_team(member):
        raise PermissionError("not on the team")
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(24)
    await store.add_web_link(
        token_hash(token), member.id, member.tambon_id, now, now + LINK_LIFETIME
    )
    return token


def link_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}{PATH}/signin/{token}"


@dataclass(frozen=True)
class Started:
    token: str  # the cookie's value
    session: WebSession
    member: Member


async def sign_in(
    store: Store,
    link_token: str,
    *,
    agent: str = "",
    absolute: timedelta = ABSOLUTE,
    now: datetime | None = None,
) -> Started | None:
    """Use a sign-in link: a new session, or None when the link is unknown, used, expired or
    its member no longer on the team (nothing is said about which)."""
    now = now or datetime.now(UTC)
    async with store.transaction():
        used = await store.use_web_link(token_hash(link_token), now)
        if used is None:
            return None
        member = await store.get_member_by_id(used[0])
        if member is None or not on_team(member) or member.tambon_id != used[1]:
            return None
        token = secrets.token_urlsafe(32)
        session = await store.add_web_session(
            token_hash(token),
            secrets.token_urlsafe(32),
            member.id,
            member.tambon_id,
            now,
            now + absolute,
            agent[:120],
        )
        await audit.record(
            store,
            member.tambon_id,
            f"web member {member.id}",
            audit.WEB_SIGN_IN,
            session=session.id,
        )
    return Started(token, session, member)


async def current(
    store: Store,
    cookie: str | None,
    *,
    idle: timedelta = IDLE,
    now: datetime | None = None,
) -> tuple[WebSession, Member] | None:
    """The session a cookie stands for, and its member, while it is valid: not ended, not idle
    past ``idle``, not past its absolute end, its member still on the team of its tambon."""
    if not cookie or len(cookie) > 100:
        return None
    now = now or datetime.now(UTC)
    session = await store.get_web_session(token_hash(cookie))
    if session is None or session.ended_at is not None:
        return None
    if now >= session.expires_at or now - session.last_seen_at >= idle:
        return None
    member = await store.get_member_by_id(session.member_id)
    if member is None or not on_team(member) or member.tambon_id != session.tambon_id:
        await store.end_web_sessions(now, member_id=session.member_id)
        return None
    if now - session.last_seen_at >= TOUCH_EVERY:
        await store.touch_web_session(session.id, now)
    return session, member


async def end(store: Store, member: Member, session_id: int | None = None) -> int:
    """End one of the member's sessions, or all of them."""
    return await store.end_web_sessions(
        datetime.now(UTC), member_id=member.id, session_id=session_id
    )


def csrf_ok(session: WebSession, sent: str | None) -> bool:
    return bool(sent) and secrets.compare_digest(session.csrf, str(sent))
