"""The workbench's pages: members and join codes."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from bot.joinlinks import join_links
from bot.workbench.core import (
    CHOOSE_ROLE,
    CODE_DAYS,
    PATH,
    SECURITY_HEADERS,
    TICK_TO_REMOVE,
    WorkbenchCore,
    _actor,
    _field,
    _owned,
    _qr_data,
    _whole,
)
from handlers.services import Refused, members, tambons
from handlers.types import T
from storage.base import (
    Member,
    WebSession,
)


class PeoplePages(WorkbenchCore):
    """Members and join codes."""

    async def people(
        self,
        request: web.Request,
        session: WebSession,
        member: Member,
        *,
        problem: str | None = None,
        typed: dict[str, str] | None = None,  # a refused form's fields: none to refill
    ) -> web.Response:
        found = [m for m in await self.store.list_members(member.tambon_id) if m.onboarded]
        now = datetime.now(UTC)
        codes = [
            i
            for i in await self.store.list_invites(member.tambon_id)
            if members.invite_problem(i, now) is None
        ]
        qr = {
            invite.code: [
                (channel, link, _qr_data(link))
                for channel, link in join_links(invite.code, self.bot_username, self.line_basic_id)
            ]
            for invite in codes
        }
        return self.page(
            request,
            "people.html.j2",
            qr=qr,
            status=400 if problem else 200,
            member=member,
            session=session,
            people=found,
            roles=[r.value for r in members.roles_given_by(member)],
            codes=codes,
            problem=problem,
        )

    async def _own_member(self, request: web.Request, member: Member) -> Member:
        found = await _owned(request, member, self.store.get_member_by_id)
        if found.removed_at is not None:
            raise web.HTTPNotFound(headers=SECURITY_HEADERS)
        return found

    async def _reach(
        self, request: web.Request, session: WebSession, actor: Member, target: Member
    ) -> web.Response | None:
        """The refusal when ``actor`` may not change ``target`` (as in chat), else None."""
        if target.role not in members.roles_given_by(actor):
            problem = T(
                "Only an administrator can change an administrator's role or remove them "
                "({member}).",
                member=target.pseudonym,
            )
            return await self.people(
                request, session, actor, problem=self._say(request, actor, problem)
            )
        return None

    def _last_admin(self, request: web.Request, member: Member, target: Member) -> str:
        return self._say(
            request,
            member,
            T(
                "{member} is the tambon's last administrator: make someone else administrator "
                "first.",
                member=target.pseudonym,
            ),
        )

    async def set_role(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        target = await self._own_member(request, member)
        refused = await self._reach(request, session, member, target)
        if refused is not None:
            return refused
        wanted = _field(await request.post(), "role")
        given = {r.value: r for r in members.roles_given_by(member)}
        if wanted not in given:
            raise Refused(CHOOSE_ROLE)
        try:
            await members.change_role(self.store, target, given[wanted], by=_actor(member))
        except members.LastAdmin:
            problem = self._last_admin(request, member, target)
            return await self.people(request, session, member, problem=problem)
        raise web.HTTPSeeOther(f"{PATH}/people")

    async def remove_member(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        target = await self._own_member(request, member)
        refused = await self._reach(request, session, member, target)
        if refused is not None:
            return refused
        if _field(await request.post(), "sure") != "yes":
            raise Refused(TICK_TO_REMOVE)
        try:
            await members.remove(self.store, target, by=_actor(member))
        except members.LastAdmin:
            problem = self._last_admin(request, member, target)
            return await self.people(request, session, member, problem=problem)
        raise web.HTTPSeeOther(f"{PATH}/people")

    async def make_code(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        form = await request.post()
        given = {r.value: r for r in members.roles_given_by(member)}
        wanted = _field(form, "role")
        days = _whole(_field(form, "days") or "")
        tambon = await self.store.get_tambon(member.tambon_id)
        if wanted not in given or tambon is None:
            raise Refused(CHOOSE_ROLE)
        try:
            await tambons.create_invite(
                self.store, tambon, given[wanted], days=days, by=_actor(member)
            )
        except tambons.InviteRefused:
            raise Refused(CODE_DAYS) from None
        raise web.HTTPSeeOther(f"{PATH}/people")

    async def revoke_code(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        code = request.match_info["code"][:20]
        invite = await self.store.get_invite(code)
        if invite is None or invite.tambon_id != member.tambon_id:
            raise web.HTTPNotFound(headers=SECURITY_HEADERS)
        await tambons.revoke_invite(self.store, code, by=_actor(member))
        raise web.HTTPSeeOther(f"{PATH}/people")
