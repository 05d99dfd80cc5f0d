"""Report links: unguessable, expiring tokens that open a tambon's report, made on demand.

A team member's /summary or /report makes a link (a random token; only its hash is stored).
The files behind it are made from the store when asked, so a link opened later shows the
report as it is then: the web listener serves them at ``/reports/TOKEN`` (the live report),
``/reports/TOKEN/report.pdf`` and ``/reports/TOKEN/chart.png``; Telegram and the console
send or save the same files.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage.base import ReportLink, Store

LINK_LIFETIME = timedelta(hours=24)
# Reports are made one at a time: a few officers opening links at once queue rather than
# overload a small server (WeasyPrint is not meant to run in several threads at once either).
_MAKING = asyncio.Semaphore(1)
PATH = "/reports"
# kind: (file name, media type)
KINDS = {
    "html": ("report.html", "text/html; charset=utf-8"),
    "pdf": ("report.pdf", "application/pdf"),
    "chart": ("chart.png", "image/png"),
}


@dataclass(frozen=True, slots=True)
class RenderedFile:
    data: bytes
    filename: str
    media_type: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_link(
    store: Store, tambon_id: int, member_id: int | None, locale: str
) -> tuple[str, datetime]:
    """A new token for a tambon's report, and when it expires."""
    token = secrets.token_urlsafe(24)  # 192 random bits
    now = datetime.now(UTC)
    expires = now + LINK_LIFETIME
    await store.create_report_link(
        token_hash(token), ReportLink(tambon_id, member_id, locale, now, expires)
    )
    return token, expires


def url(public_url: str, token: str, kind: str) -> str:
    base = f"{public_url.rstrip('/')}{PATH}/{token}"
    return base if kind == "html" else f"{base}/{KINDS[kind][0]}"


async def valid_link(store: Store, token: str) -> ReportLink | None:
    """The link of ``token`` if it exists and has not expired."""
    link = await store.get_report_link(token_hash(token))
    if link is None or link.expires_at <= datetime.now(UTC):
        return None
    return link


async def render_token(store: Store, token: str, kind: str) -> RenderedFile | None:
    link = await valid_link(store, token)
    return None if link is None else await render(store, link, kind)


async def render(store: Store, link: ReportLink, kind: str) -> RenderedFile:
    """Make one of a link's files from the store as it is now."""
    async with _MAKING:
        return await _render(store, link, kind)


async def _render(store: Store, link: ReportLink, kind: str) -> RenderedFile:
    from bot import report
    from bot.summary import build_summary, read_report

    tambon = await store.get_tambon(link.tambon_id)
    if tambon is None:
        raise LookupError(link.tambon_id)
    filename, media_type = KINDS[kind]
    if kind == "chart":
        summary = await build_summary(store, tambon)
        chart = await asyncio.to_thread(report.category_chart, summary, link.locale)
        data = chart or b""
    else:
        summary, submissions = await read_report(store, tambon)
        if kind == "pdf":
            data = await asyncio.to_thread(report.pdf, summary, submissions, link.locale)
        else:
            html = await asyncio.to_thread(
                report.render, summary, submissions, "html", link.locale
            )
            data = html.encode()
    return RenderedFile(data, f"{tambon.code}-{filename}", media_type)
