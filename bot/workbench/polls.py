"""The workbench's pages: polls and the hall's screen."""

from __future__ import annotations

from aiohttp import web

from bot.joinlinks import hall_link
from bot.workbench.core import (
    HALL_REFRESH_SECONDS,
    MAX_OPTIONS,
    NEW_POLL_HELP,
    PAPER_HELP,
    PATH,
    PLAN_FROM_POLL_HELP,
    WorkbenchCore,
    _actor,
    _field,
    _owned,
    _qr_data,
    _whole,
)
from handlers.services import Refused
from handlers.services import plan as plan_service
from handlers.services import polls as poll_service
from handlers.services.privacy import HIDDEN
from handlers.types import T
from storage.base import (
    Member,
    Poll,
    PollConflict,
    PollMethod,
    WebSession,
)


class PollPages(WorkbenchCore):
    """Polls and the hall's screen."""

    async def polls(
        self,
        request: web.Request,
        session: WebSession,
        member: Member,
        *,
        problem: str | None = None,
        typed: dict[str, str] | None = None,  # a refused form's fields: none to refill
    ) -> web.Response:
        found = await self.store.list_polls(member.tambon_id)
        results = {p.id: await poll_service.count_ballots(self.store, p) for p in found[:10]}
        return self.page(
            request,
            "polls.html.j2",
            status=400 if problem else 200,
            member=member,
            session=session,
            polls=found[:10],
            results=results,
            problem=problem,
        )

    async def _own_poll(self, request: web.Request, member: Member) -> Poll:
        return await _owned(request, member, self.store.get_poll)

    async def new_poll(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        """A poll whose options are the tambon's most reported problem groups (each option
        keeps its group, so the plan made from the result reaches the people who reported)."""
        form = await request.post()
        title = " ".join((_field(form, "title") or "").split())
        method = _field(form, "method")
        top = _whole((_field(form, "top") or "").strip())
        choose = _whole((_field(form, "choose") or "").strip())
        groups = (await self.store.list_groups(member.tambon_id))[: top or 0]
        if (
            not 1 <= len(title) <= poll_service.TITLE_CHARS
            or method not in {m.value for m in PollMethod}
            or top is None
            or not 2 <= top <= MAX_OPTIONS
            or len(groups) < 2
            or choose is None
            or not 1 <= choose <= len(groups)
        ):
            raise Refused(NEW_POLL_HELP)
        hidden = self._say(request, member, HIDDEN)
        await poll_service.create_poll(
            self.store,
            member.tambon_id,
            title,
            PollMethod(method),
            choose,
            poll_service.options_from_groups(groups, hidden),
            by=_actor(member),
        )
        raise web.HTTPSeeOther(f"{PATH}/polls")

    async def plan_from_poll(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        """Plan items from a closed poll's top options, in one step: each linked to its
        option's group (its reporters are told as the item moves on); an option whose group
        is in the plan already is left out."""
        poll = await self._own_poll(request, member)
        top = _whole((_field(await request.post(), "top") or "").strip())
        tambon = await self.store.get_tambon(member.tambon_id)
        if poll.status != "closed" or top is None or not 1 <= top <= MAX_OPTIONS or not tambon:
            raise Refused(PLAN_FROM_POLL_HELP)
        results = await poll_service.count_ballots(self.store, poll)
        chosen = results.options[:top]
        planned = await self.store.items_of_groups(
            [o.group_id for o in chosen if o.group_id is not None]
        )
        async with self.store.transaction():
            for option in chosen:
                if option.group_id is not None and planned.get(option.group_id):
                    continue
                await plan_service.add_item(
                    self.store,
                    tambon,
                    title=option.text,
                    groups=[option.group_id] if option.group_id is not None else [],
                    by=_actor(member),
                )
        raise web.HTTPSeeOther(f"{PATH}/plan")

    async def hall(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.Response:
        """The hall's screen, for the projector: the question, the count as it stands, and
        for a poll of the people present its code and QR code; it reloads itself every few
        seconds (a meta refresh: no script)."""
        poll = await self._own_poll(request, member)
        results = await poll_service.count_ballots(self.store, poll)
        qr = None
        if poll.presence_code:  # read across a hall: a larger QR code
            qr = _qr_data(hall_link(poll.presence_code, self.bot_username), scale=8)
        most = max((o.score for o in results.options), default=0) or 1
        return self.page(
            request,
            "hall.html.j2",
            member=member,
            session=session,
            poll=poll,
            results=results,
            most=most,
            qr=qr,
            refresh=HALL_REFRESH_SECONDS,
        )

    async def open_poll(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        poll = await self._own_poll(request, member)
        try:
            await poll_service.open_poll(self.store, poll, by=_actor(member))
        except PollConflict as conflict:
            raise Refused(
                T(
                    "Poll #{ref} is still open: close it first (a tambon runs one poll at a "
                    "time).",
                    ref=conflict.args[0] if conflict.args else "?",
                )
            ) from conflict
        raise web.HTTPSeeOther(f"{PATH}/polls")

    async def close_poll(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        poll = await self._own_poll(request, member)
        await poll_service.close_poll(self.store, poll, by=_actor(member))
        raise web.HTTPSeeOther(f"{PATH}/polls")

    async def paper(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        poll = await self._own_poll(request, member)
        form = await request.post()
        choices = [_whole(c.strip()) for c in (_field(form, "choices") or "").split(",")]
        count = _whole((_field(form, "count") or "1").strip())
        if not choices or None in choices or count is None:
            raise Refused(PAPER_HELP)
        await poll_service.record_paper_ballots(
            self.store, poll, [c for c in choices if c is not None], count, _actor(member)
        )
        raise web.HTTPSeeOther(f"{PATH}/polls")
