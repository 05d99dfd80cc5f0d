"""The workbench's pages: the audit trail."""

from __future__ import annotations

from aiohttp import web

from bot import i18n
from bot.workbench.core import (
    AUDIT_PAGE,
    WorkbenchCore,
    _day,
)
from handlers.labels import (
    AUDIT_LABELS,
)
from storage.base import (
    Member,
    WebSession,
)


class AuditPages(WorkbenchCore):
    """The audit trail."""

    async def audit(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.Response:
        entries = await self.store.list_audit(member.tambon_id)
        action = request.query.get("action")
        who = (request.query.get("who") or "").strip()[:60]
        since = _day(request.query.get("since"))
        if action:
            entries = [e for e in entries if e.action == action]
        if who:
            entries = [e for e in entries if who.casefold() in e.who.casefold()]
        if since is not None:
            entries = [e for e in entries if e.at.astimezone(i18n.BANGKOK).date() >= since]
        return self.page(
            request,
            "audit.html.j2",
            member=member,
            session=session,
            entries=list(reversed(entries))[:AUDIT_PAGE],
            actions=sorted(AUDIT_LABELS),
            chosen=action,
            who=who,
            since=request.query.get("since", "")[:10] if since else "",
        )
