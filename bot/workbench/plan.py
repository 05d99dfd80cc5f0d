"""The workbench's pages: the plan as the plan form's table, its import."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from aiohttp import web

from bot import i18n
from bot.listener import MAX_BODY_BYTES
from bot.workbench.core import (
    CHOOSE_FILE,
    NEW_ITEM_GROUPS,
    NO_SUCH_GROUP,
    PATH,
    PREVIEW_ROWS,
    STATUS_HELP,
    WorkbenchCore,
    _actor,
    _field,
    _owned,
    _plan_details,
    _whole,
)
from handlers.services import Refused
from handlers.services import plan as plan_service
from storage.base import (
    Member,
    PlanStatus,
    WebSession,
)


class PlanPages(WorkbenchCore):
    """The plan as the plan form's table, its import."""

    async def plan(
        self,
        request: web.Request,
        session: WebSession,
        member: Member,
        *,
        problem: str | None = None,
        typed: dict[str, str] | None = None,
    ) -> web.Response:
        """The plan as the plan form's table, each row editable where it stands; a new item from
        problem groups; a spreadsheet imported after a preview."""
        items = await self.store.list_plan_items(member.tambon_id)
        verdicts = {
            item.id: await self.store.plan_verdicts(item.id, item.done_round)
            for item in items
            if item.done_round
        }
        planned = {g for item in items for g in item.groups}
        groups = [g for g in await self.store.list_groups(member.tambon_id) if g.id not in planned]
        done = {k: _whole(request.query.get(k)) for k in ("added", "updated", "unchanged")}
        return self.page(
            request,
            "plan.html.j2",
            status=400 if problem else 200,
            member=member,
            session=session,
            items=items,
            verdicts={i: {str(k): v for k, v in counts.items()} for i, counts in verdicts.items()},
            statuses=[s.value for s in PlanStatus],
            actors=list(plan_service.ACTORS),
            groups=groups[:NEW_ITEM_GROUPS],
            problem=problem,
            typed=typed or {},
            imported=done if None not in done.values() else None,
            max_upload=MAX_BODY_BYTES // (1024 * 1024),
        )

    async def plan_details(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        item = await _owned(request, member, self.store.get_plan_item)
        form = await request.post()
        details = _plan_details(form)
        await plan_service.edit_details(self.store, item, by=_actor(member), **details)
        raise web.HTTPSeeOther(f"{PATH}/plan#item-{item.id}")

    async def new_plan_item(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        """An item from the groups ticked (and any typed by number), with its plan-form fields."""
        form = await request.post()
        tambon = await self.tambon_of(member)
        ticked = [_whole(str(v)) for v in form.getall("group", [])]
        more = [_whole(n) for n in re.split(r"[\s,]+", _field(form, "groups") or "") if n]
        if None in ticked or None in more:
            raise plan_service.PlanRefused(NO_SUCH_GROUP)
        details = _plan_details(form)
        item = await plan_service.add_item(
            self.store,
            tambon,
            by=_actor(member),
            title=str(details.pop("title", "")),
            groups=sorted({n for n in (*ticked, *more) if n is not None}),
            **{k: v for k, v in details.items() if v is not None},  # type: ignore[arg-type]
        )
        raise web.HTTPSeeOther(f"{PATH}/plan#item-{item.id}")

    async def plan_import(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        """A spreadsheet's rows tried in a transaction rolled back: what would be added and
        changed, and every bad row, before anything is written."""
        from bot.plantable import read_plan_table

        form = await request.post()
        upload = form.get("file")
        if not isinstance(upload, web.FileField) or not upload.filename:
            raise Refused(CHOOSE_FILE)
        locale = self.locale(request, member)
        rows = read_plan_table(upload.file.read(), upload.filename, locale)
        return await self._preview(request, session, member, rows, upload.filename)

    async def _preview(
        self,
        request: web.Request,
        session: WebSession,
        member: Member,
        rows: list[dict[str, str]],
        name: str,
    ) -> web.Response:
        import json

        tambon = await self.tambon_of(member)
        done = await plan_service.import_rows(
            self.store, tambon, rows, by=_actor(member), preview=True
        )
        locale = self.locale(request, member)
        return self.page(
            request,
            "plan_import.html.j2",
            status=400 if done.problems else 200,
            member=member,
            session=session,
            name=name,
            rows=rows[:PREVIEW_ROWS],
            more=max(0, len(rows) - PREVIEW_ROWS),
            done=done,
            problems=[i18n.render(p, locale) for p in done.problems],
            bad_rows={p.params.get("row") for p in done.problems},
            payload=json.dumps(rows, ensure_ascii=False),
            statuses=[s.value for s in PlanStatus],
        )

    async def plan_import_confirm(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        """The previewed rows written, all or none (tried again: the plan may have changed
        since the preview)."""
        import json

        form = await request.post()
        try:
            rows = json.loads(_field(form, "rows") or "")
        except ValueError:
            rows = None
        if not isinstance(rows, list) or not all(
            isinstance(r, dict) and all(isinstance(v, str) for v in r.values()) for r in rows
        ):
            return self._refused(request)
        tambon = await self.tambon_of(member)
        try:
            done = await plan_service.import_rows(self.store, tambon, rows, by=_actor(member))
        except plan_service.ImportRefused:
            return await self._preview(
                request, session, member, rows, _field(form, "name") or "plan"
            )
        counts = {"added": done.added, "updated": done.updated, "unchanged": done.unchanged}
        query = urlencode(counts)
        raise web.HTTPSeeOther(f"{PATH}/plan?{query}")

    async def plan_status(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        item = await _owned(request, member, self.store.get_plan_item)
        form = await request.post()
        wanted = _field(form, "status")
        progress_text = (_field(form, "progress") or "").strip()
        progress = _whole(progress_text) if progress_text else None
        if wanted not in {s.value for s in PlanStatus} or (progress_text and progress is None):
            raise Refused(STATUS_HELP)
        await plan_service.set_status(
            self.store,
            item,
            PlanStatus(wanted),
            by=_actor(member),
            note=_field(form, "note") or None,
            progress=progress,
        )
        raise web.HTTPSeeOther(f"{PATH}/plan")
