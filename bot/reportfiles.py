"""A report link's files (the HTML report, the PDF, the chart), made from the store when asked.

The links themselves are a service (``handlers/services/reportlinks.py``); this is the outer
ring's part: rendering with Jinja2, WeasyPrint and matplotlib, one report at a time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from handlers.services.reportlinks import KINDS, valid_link
from handlers.services.villages import NeedRule
from storage.base import ReportLink, Store

# Reports are made one at a time: a few officers opening links at once queue rather than
# overload a small server (WeasyPrint is not meant to run in several threads at once either).
_MAKING = asyncio.Semaphore(1)


@dataclass(frozen=True, slots=True)
class RenderedFile:
    data: bytes
    filename: str
    media_type: str


async def render_token(
    store: Store, token: str, kind: str, rule: NeedRule | None = None
) -> RenderedFile | None:
    link = await valid_link(store, token)
    return None if link is None else await render(store, link, kind, rule)


async def render(
    store: Store, link: ReportLink, kind: str, rule: NeedRule | None = None
) -> RenderedFile:
    """Make one of a link's files from the store as it is now (``rule``: when the villages'
    data shows a silent need)."""
    async with _MAKING:
        return await _render(store, link, kind, rule)


async def _render(
    store: Store, link: ReportLink, kind: str, rule: NeedRule | None
) -> RenderedFile:
    from bot import report
    from handlers.services.summary import build_summary, read_printed_report

    tambon = await store.get_tambon(link.tambon_id)
    if tambon is None:
        raise LookupError(link.tambon_id)
    filename, media_type = KINDS[kind]
    if kind == "chart":
        summary = await build_summary(store, tambon, rule)
        chart = await asyncio.to_thread(report.category_chart, summary, link.locale)
        data = chart or b""
    else:
        summary, submissions = await read_printed_report(store, tambon, rule)
        if kind == "pdf":
            data = await asyncio.to_thread(report.pdf, summary, submissions, link.locale)
        else:
            html = await asyncio.to_thread(
                report.render, summary, submissions, "html", link.locale
            )
            data = html.encode()
    return RenderedFile(data, f"{tambon.code}-{filename}", media_type)
