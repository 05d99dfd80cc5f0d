"""The workbench's pages of the plan back to the people: direction, public comment, approval,
the book."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from bot import i18n
from bot.workbench.core import (
    PATH,
    REPORT_TYPES,
    SECURITY_HEADERS,
    WorkbenchCore,
    _actor,
    _field,
    _owned,
    _whole,
)
from handlers.services import audit as audit_service
from handlers.services import book as book_service
from handlers.services import plan as plan_service
from handlers.types import T
from storage.base import (
    Member,
    WebSession,
)


class BookPages(WorkbenchCore):
    """The plan back to the people: direction, public comment, approval, the book."""

    async def book(
        self,
        request: web.Request,
        session: WebSession,
        member: Member,
        *,
        problem: str | None = None,
        typed: dict[str, str] | None = None,
    ) -> web.Response:
        """The seed's step 4 at the desk: the direction, the projects by strategy with what
        people said of them, the public comment's window, the approval and amendments."""
        from bot.planbook import _amendment
        from handlers.labels import APPROVAL_LABELS

        tambon = await self.tambon_of(member)
        year = await plan_service.this_plan_year(self.store, tambon.id)
        direction = await self.store.get_direction(tambon.id, year)
        window = await self.store.get_comment_window(tambon.id, year)
        approval = await self.store.get_approval(tambon.id, year)
        locale = self.locale(request, member)
        notices = {
            "opened": T("The draft is open for comment; everyone is being told."),
            "closed": T("The draft plan's comments are closed; the team is told."),
            "approved": T("The approval is recorded; the plan year is approved."),
            "saved": T("Saved."),
        }
        done = notices.get(request.query.get("done", ""))
        return self.page(
            request,
            "book.html.j2",
            status=400 if problem else 200,
            member=member,
            session=session,
            year=year,
            direction=direction,
            strategies_text="\n".join(
                s.title for s in (direction.strategies if direction else ())
            ),
            items=await book_service.draft_items(self.store, tambon),
            results={r.item.id: r for r in await book_service.results(self.store, tambon)},
            window=window,
            window_open=window is not None and window.is_open(datetime.now(UTC)),
            approval=approval,
            approval_label=(
                i18n.render(APPROVAL_LABELS[approval.result], locale) if approval else None
            ),
            amendments=await self.store.list_amendments(tambon.id),
            amendment=lambda reason: _amendment(reason, locale),
            resources=await self.store.list_resources(tambon.id),
            closed_polls=[
                p for p in await self.store.list_polls(tambon.id) if p.status.value == "closed"
            ],
            problem=problem,
            typed=typed or {},
            done=i18n.render(done, locale) if done else None,
        )

    async def book_file(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        """The plan book (PDF) or its projects table (XLSX), made now, in the page's language."""
        import asyncio

        from bot import planbook

        tambon = await self.tambon_of(member)
        found = await book_service.read_book(self.store, tambon, self.need_rule)
        locale = self.locale(request, member)
        as_pdf = request.path.endswith(".pdf")
        make = planbook.pdf if as_pdf else planbook.xlsx
        body = await asyncio.to_thread(make, found, locale)
        await audit_service.record(
            self.store, tambon.id, _actor(member), audit_service.REPORT_TAKEN, format="book"
        )
        name = f"plan-book-{tambon.code}.pdf" if as_pdf else f"plan-form-{tambon.code}.xlsx"
        return web.Response(
            body=body,
            content_type=REPORT_TYPES["pdf" if as_pdf else "xlsx"],
            headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def book_direction(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        tambon = await self.tambon_of(member)
        form = await request.post()
        await book_service.set_direction(
            self.store,
            tambon,
            by=_actor(member),
            identity=_field(form, "identity") or "",
            vision=_field(form, "vision") or "",
            mission=_field(form, "mission") or "",
            strategies=(_field(form, "strategies") or "").splitlines(),
        )
        raise web.HTTPSeeOther(f"{PATH}/book?done=saved#direction")

    async def item_strategy(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        item = await _owned(request, member, self.store.get_plan_item)
        tambon = await self.tambon_of(member)
        position = _whole(_field(await request.post(), "strategy"))
        await book_service.set_strategy(self.store, tambon, item, position or 0, by=_actor(member))
        raise web.HTTPSeeOther(f"{PATH}/book#item-{item.id}")

    async def item_resource(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        """The resource a project draws on (the villages' data page registers them)."""
        item = await _owned(request, member, self.store.get_plan_item)
        tambon = await self.tambon_of(member)
        chosen = _field(await request.post(), "resource") or ""
        await plan_service.set_resource(
            self.store, tambon, item, _whole(chosen) if chosen else None, by=_actor(member)
        )
        raise web.HTTPSeeOther(f"{PATH}/book#item-{item.id}")

    async def comment_open(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        tambon = await self.tambon_of(member)
        days = _whole(_field(await request.post(), "days"))
        await book_service.open_comment(self.store, tambon, days or 0, by=_actor(member))
        raise web.HTTPSeeOther(f"{PATH}/book?done=opened#comment")

    async def comment_close(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        tambon = await self.tambon_of(member)
        await book_service.close_comment(self.store, tambon, by=_actor(member))
        raise web.HTTPSeeOther(f"{PATH}/book?done=closed#comment")

    async def book_approve(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        tambon = await self.tambon_of(member)
        form = await request.post()
        present_text = (_field(form, "present") or "").strip()
        present = _whole(present_text) if present_text else None
        if present_text and present is None:
            raise book_service.BookRefused(T("How many were present is a number, 0 or more."))
        await book_service.approve(
            self.store,
            tambon,
            decided_on=i18n.iso_from_era(_field(form, "date") or ""),
            by=_actor(member),
            present=present,
            place=_field(form, "place"),
            changes=_field(form, "changes"),
            poll_id=_whole(_field(form, "poll")) if _field(form, "poll") else None,
        )
        raise web.HTTPSeeOther(f"{PATH}/book?done=approved#approval")
