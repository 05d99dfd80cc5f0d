"""Report links: unguessable, expiring tokens that open a tambon's report, made on demand.

A team member's /summary or /report makes a link (a random token; only its hash is stored).
The files behind it are made from the store when asked (``bot/reportfiles.py``), so a link
opened later shows the report as it is then: the web listener serves them at
``/reports/TOKEN`` (the live report), ``/reports/TOKEN/report.pdf`` and
``/reports/TOKEN/chart.png``; Telegram and the console send or save the same files.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from handlers.services import audit
from storage.base import ReportLink, Store

LINK_LIFETIME = timedelta(hours=24)
PATH = "/reports"
# kind: (file name, media type)
KINDS = {
    "html": ("report.html", "text/html; charset=utf-8"),
    "pdf": ("report.pdf", "application/pdf"),
    "chart": ("chart.png", "image/png"),
}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_link(
    store: Store, tambon_id: int, member_id: int | None, locale: str, *, by: str | None = None
) -> tuple[str, datetime]:
    """A new token for a tambon's report, and when it expires (a report taken: audited)."""
    token = secrets.token_urlsafe(24)  # 192 random bits
    now = datetime.now(UTC)
    expires = now + LINK_LIFETIME
    async with store.transaction():
        await store.create_report_link(
            token_hash(token), ReportLink(tambon_id, member_id, locale, now, expires)
        )
        if by is not None:
            await audit.record(store, tambon_id, by, audit.REPORT_TAKEN, locale=locale)
    return token, expires


def url(public_url: str, token: str, kind: str) -> str:
    base = f"{public_url.rstrip('/')}{PATH}/{token}"
    return base if kind == "html" else f"{base}/{KINDS[kind][0]}"


# However often a link is fetched (a browser's prefetch, a HEAD, a reload), one opening a minute
# is recorded.
OPENING_RECORDED_EVERY = timedelta(minutes=1)


async def opened(store: Store, link: ReportLink, kind: str) -> None:
    """A live report link served one of its files: audited, once a minute a link. Whoever
    holds a link may open it, so the record names the link (who made it, when) and the file,
    not the person."""
    now = datetime.now(UTC)
    if link.id is not None and not await store.mark_report_opened(
        link.id, now, now - OPENING_RECORDED_EVERY
    ):
        return
    await audit.record(
        store,
        link.tambon_id,
        "report link",
        audit.REPORT_OPENED,
        file=kind,
        made_by=link.member_id,
        made_at=link.created_at.isoformat(timespec="seconds"),
    )


async def valid_link(store: Store, token: str) -> ReportLink | None:
    """The link of ``token`` if it exists and has not expired."""
    link = await store.get_report_link(token_hash(token))
    if link is None or link.revoked_at is not None or link.expires_at <= datetime.now(UTC):
        return None
    return link


async def live_links(store: Store, tambon_id: int) -> list[ReportLink]:
    """The tambon's links that still open a report, newest first."""
    return await store.list_report_links(tambon_id, datetime.now(UTC))


async def revoke(store: Store, tambon_id: int, link_id: int, *, by: str) -> ReportLink | None:
    """End one of the tambon's live links (audited); None when there is no such live link."""
    async with store.transaction():
        ended = await store.revoke_report_links(tambon_id, datetime.now(UTC), link_id=link_id)
        for link in ended:
            await audit.record(store, tambon_id, by, audit.REPORT_REVOKED, link=link.id)
    return ended[0] if ended else None


async def revoke_member_links(store: Store, tambon_id: int, member_id: int, *, by: str) -> int:
    """End every live link a member made (they were removed, left the team or forgotten):
    a link in a former member's hands opens nothing. How many; each audited."""
    async with store.transaction():
        ended = await store.revoke_report_links(tambon_id, datetime.now(UTC), member_id=member_id)
        for link in ended:
            await audit.record(
                store, tambon_id, by, audit.REPORT_REVOKED, link=link.id, made_by=member_id
            )
    return len(ended)
