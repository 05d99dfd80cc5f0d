"""The workbench's pages: problem groups: rename, merge."""

from __future__ import annotations

from aiohttp import web

from bot.workbench.core import (
    GROUPS_PAGE,
    NO_SUCH_GROUP,
    PATH,
    WorkbenchCore,
    _actor,
    _field,
    _owned,
    _whole,
)
from handlers.services import Refused
from handlers.services import groups as group_service
from storage.base import (
    Member,
    WebSession,
)


class GroupPages(WorkbenchCore):
    """Problem groups: rename, merge."""

    async def groups(
        self,
        request: web.Request,
        session: WebSession,
        member: Member,
        *,
        problem: str | None = None,
        typed: dict[str, str] | None = None,  # a refused form's fields: none to refill
    ) -> web.Response:
        found = await self.store.list_groups(member.tambon_id)
        shown = found[:GROUPS_PAGE]
        items = await self.store.items_of_groups([g.id for g in shown])
        return self.page(
            request,
            "groups.html.j2",
            status=400 if problem else 200,
            member=member,
            session=session,
            groups=shown,
            total=len(found),
            items=items,
            problem=problem,
        )

    async def rename_group(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        group = await _owned(request, member, self.store.get_group)
        title = _field(await request.post(), "title") or ""
        await group_service.rename(self.store, group, title, by=_actor(member))
        raise web.HTTPSeeOther(f"{PATH}/groups")

    async def merge_group(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        """Fold another group (its number typed) into this one."""
        keep = await _owned(request, member, self.store.get_group)
        other = _whole((_field(await request.post(), "other") or "").strip().lstrip("#"))
        gone = await self.store.get_group(other) if other is not None else None
        if gone is None or gone.tambon_id != member.tambon_id:
            raise Refused(NO_SUCH_GROUP)
        await group_service.merge(self.store, keep, gone, by=_actor(member))
        raise web.HTTPSeeOther(f"{PATH}/groups")
