"""The workbench's pages: reports, sessions, signing out."""

from __future__ import annotations

from aiohttp import web

from bot.workbench.core import (
    COOKIE,
    PATH,
    REPORT_FILES,
    REPORT_TYPES,
    SECURITY_HEADERS,
    SIGNED_OUT,
    SIGNED_OUT_TITLE,
    WorkbenchCore,
    _actor,
    _whole,
)
from handlers.services import audit as audit_service
from handlers.services import workbench
from storage.base import (
    Member,
    WebSession,
)


class ReportPages(WorkbenchCore):
    """Reports, sessions, signing out."""

    async def reports(
        self,
        request: web.Request,
        session: WebSession,
        member: Member,
        *,
        link: str | None = None,
    ) -> web.Response:
        return self.page(
            request,
            "reports.html.j2",
            member=member,
            session=session,
            files=list(REPORT_FILES),
            link=link,
        )

    async def report_file(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        """A report file made now from the store, in the reader's language (audited as the
        command line's `report` is). The PDF and the workbook are made off the event loop."""
        import asyncio

        from bot import report
        from handlers.services.summary import read_printed_report, read_report
        from storage.base import PrintedSubmission, Submission

        name = request.match_info["name"]
        kind = REPORT_FILES.get(name)
        tambon = await self.store.get_tambon(member.tambon_id)
        if kind is None or tambon is None:
            raise web.HTTPNotFound(headers=SECURITY_HEADERS)
        locale = self.locale(request, member)
        # A printed report reads only what its appendix prints; the spreadsheets read it all.
        printed: list[PrintedSubmission] = []
        submissions: list[Submission] = []
        if kind in ("pdf", "html"):
            summary, printed = await read_printed_report(self.store, tambon, self.need_rule)
        else:
            summary, submissions = await read_report(self.store, tambon, self.need_rule)
        await audit_service.record(
            self.store, tambon.id, _actor(member), audit_service.REPORT_TAKEN, format=kind
        )
        if kind == "pdf":
            body = await asyncio.to_thread(report.pdf, summary, printed, locale)
        elif kind == "html":
            body = report.render(summary, printed, "html", locale).encode()
        elif kind == "xlsx":
            body = await asyncio.to_thread(report.xlsx, summary, submissions, locale)
        else:
            table = kind.removeprefix("csv:")
            body = report.table_csv(summary, submissions, table, locale).encode("utf-8-sig")
        return web.Response(
            body=body,
            content_type=REPORT_TYPES[name.rsplit(".", 1)[1]],
            headers={
                **SECURITY_HEADERS,
                "Content-Disposition": f'attachment; filename="{tambon.code}-{name}"',
            },
        )

    async def report_link(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        from handlers.services import reportlinks

        token, _ = await reportlinks.create_link(
            self.store,
            member.tambon_id,
            member.id,
            self.locale(request, member),
            by=_actor(member),
        )
        base = self.origin or f"{request.scheme}://{request.host}"
        return await self.reports(
            request, session, member, link=reportlinks.url(base, token, "html")
        )

    async def sessions(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.Response:
        return self.page(
            request,
            "sessions.html.j2",
            member=member,
            session=session,
            sessions=await self.store.list_web_sessions(member.id),
            current=session.id,
        )

    async def end_session(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        number = _whole(request.match_info["id"])
        if number is None or not await workbench.end(self.store, member, number):
            raise web.HTTPNotFound(headers=SECURITY_HEADERS)
        raise web.HTTPSeeOther(f"{PATH}/sessions" if number != session.id else f"{PATH}/")

    async def sign_out(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        await workbench.end(self.store, member, session.id)
        response = self.message(request, SIGNED_OUT_TITLE, SIGNED_OUT, status=200)
        response.del_cookie(COOKIE, path=PATH)
        return response
