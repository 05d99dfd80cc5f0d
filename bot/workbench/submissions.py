"""The workbench's pages: today, submissions and one submission: review, correct, hide, group."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from aiohttp import web

from bot import i18n
from bot.workbench.core import (
    CHOOSE_CATEGORY,
    IMAGE_TYPES,
    PAGE_SIZE,
    PATH,
    REFUSED_TITLE,
    SECURITY_HEADERS,
    UNSURE_SHOWN,
    WorkbenchCore,
    _actor,
    _bangkok_midnight,
    _day,
    _field,
    _our_page,
    _owned,
    _whole,
)
from handlers.labels import (
    CATEGORY_LABELS,
    PHASE_LABELS,
)
from handlers.services import Refused
from handlers.services import groups as group_service
from handlers.services import submissions as submission_service
from handlers.services.submissions import CorrectionRefused
from storage.base import (
    Kind,
    Member,
    ProblemGroup,
    Submission,
    WebSession,
)


class SubmissionPages(WorkbenchCore):
    """Today, submissions and one submission: review, correct, hide, group."""

    async def today(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.Response:
        tambon = await self.store.get_tambon(member.tambon_id)
        latest = await self.store.find_submissions(member.tambon_id, hidden=False, limit=5)
        polls = [p for p in await self.store.list_polls(member.tambon_id) if p.status == "open"]
        year = await self.store.current_plan_year(member.tambon_id)
        # Filed as "other": the tagger was unsure and so was the person; the team places them.
        unsure = await self.store.find_submissions(
            member.tambon_id, category="other", hidden=False, reviewed=False, limit=UNSURE_SHOWN
        )
        return self.page(
            request,
            "today.html.j2",
            member=member,
            session=session,
            tambon=tambon,
            year=year,
            phase=i18n.render(PHASE_LABELS[year.phase.value], self.locale(request, member))
            if year
            else None,
            count=await self.store.count_submissions(member.tambon_id),
            unreviewed=await self.store.count_unreviewed(member.tambon_id),
            hidden=await self.store.count_hidden(member.tambon_id),
            unsure=len(unsure),
            unsure_more=len(unsure) == UNSURE_SHOWN,
            # Deployment-wide: the bot's own delivery, counts only.
            held=(await self.store.outbox_counts()).get("held", 0),
            dead=len(await self.store.dead_letters()),
            latest=latest,
            polls=polls,
        )

    async def submissions(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.Response:
        query = request.query
        village = _whole(query.get("village"))
        category = query.get("category") if query.get("category") in CATEGORY_LABELS else None
        kind = query.get("kind") if query.get("kind") in {k.value for k in Kind} else None
        hidden = {"yes": True, "no": False}.get(query.get("hidden", ""))
        reviewed = {"yes": True, "no": False}.get(query.get("reviewed", ""))
        text = (query.get("q") or "").strip()[:200] or None
        before = _whole(query.get("before"))
        since, until = _day(query.get("since")), _day(query.get("until"))
        found = await self.store.find_submissions(
            member.tambon_id,
            village=village,
            category=category,
            kind=kind,
            hidden=hidden,
            text=text,
            before_id=before,
            limit=PAGE_SIZE + 1,
            reviewed=reviewed,
            since=_bangkok_midnight(since) if since else None,
            until=_bangkok_midnight(until + timedelta(days=1)) if until else None,
        )
        page, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
        filters = {
            k: v
            for k, v in {
                "village": village,
                "category": category,
                "kind": kind,
                "hidden": query.get("hidden") if hidden is not None else None,
                "reviewed": query.get("reviewed") if reviewed is not None else None,
                "q": text,
                "since": query.get("since", "")[:10] if since else None,
                "until": query.get("until", "")[:10] if until else None,
            }.items()
            if v is not None
        }
        following = (
            f"{PATH}/submissions?{urlencode({**filters, 'before': page[-1].id})}" if more else None
        )
        return self.page(
            request,
            "submissions.html.j2",
            member=member,
            session=session,
            rows=page,
            filters=filters,
            villages=await self.store.list_villages(member.tambon_id),
            following=following,
        )

    async def _own_submission(self, request: web.Request, member: Member) -> Submission:
        return await _owned(request, member, self.store.get_submission)

    async def submission(
        self,
        request: web.Request,
        session: WebSession,
        member: Member,
        *,
        problem: str | None = None,
        typed: dict[str, str] | None = None,  # a refused form's fields: none to refill
        done: str | None = None,
    ) -> web.Response:
        found = await self._own_submission(request, member)
        group = await self.store.get_group(found.group_id) if found.group_id else None
        corrections = await self.store.list_corrections(found.id)
        return self.page(
            request,
            "submission.html.j2",
            status=400 if problem else 200,
            member=member,
            session=session,
            s=found,
            can_show_photos=found.channel in self.photos,
            group=group,
            corrections=corrections,
            problem=problem,
            done=done,
        )

    async def photo(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        """The submission's n-th photo, fetched now from the chat platform it came by (the
        bot keeps only its file id); served only as an image it really is."""
        submission = await self._own_submission(request, member)
        shown = [a.file_id for a in submission.attachments if a.media == "photo" and a.file_id]
        n = _whole(request.match_info["n"])
        fetch = self.photos.get(submission.channel)
        if n is None or not 1 <= n <= len(shown) or fetch is None:
            raise web.HTTPNotFound(headers=SECURITY_HEADERS)
        data = await fetch(shown[n - 1])
        kind = next(
            (t for magic, t in IMAGE_TYPES.items() if data and data.startswith(magic)), None
        )
        if data is None or kind is None:
            raise web.HTTPNotFound(headers=SECURITY_HEADERS)
        headers = {**SECURITY_HEADERS, "Cache-Control": "private, max-age=600"}
        return web.Response(body=data, content_type=kind, headers=headers)

    async def hide(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        found = await self._own_submission(request, member)
        reason = _field(await request.post(), "reason") or ""
        await submission_service.hide(self.store, found, reason, by=_actor(member))
        raise web.HTTPSeeOther(f"{PATH}/submissions/{found.id}")

    async def unhide(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        found = await self._own_submission(request, member)
        await submission_service.unhide(self.store, found, by=_actor(member))
        raise web.HTTPSeeOther(f"{PATH}/submissions/{found.id}")

    async def correct(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        found = await self._own_submission(request, member)
        form = await request.post()
        chosen = [c for c in form.getall("category", []) if isinstance(c, str)]
        kind_value = _field(form, "kind") or found.kind.value
        if not chosen or kind_value not in {k.value for k in Kind}:
            raise Refused(CHOOSE_CATEGORY)
        await submission_service.correct_tags(
            self.store,
            found,
            categories=chosen,
            kind=Kind(kind_value),
            village=found.village_moo,
            actor=found.actor,
            known_categories=CATEGORY_LABELS,
            member_id=member.id,
            corrected_by=_actor(member),
        )
        raise web.HTTPSeeOther(f"{PATH}/submissions/{found.id}")

    async def reviewed(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        found = await self._own_submission(request, member)
        await submission_service.mark_reviewed(
            self.store, member.tambon_id, [found.id], by=_actor(member)
        )
        raise web.HTTPSeeOther(f"{PATH}/submissions/{found.id}")

    async def _target_group(self, member: Member, typed: str | None) -> ProblemGroup | None:
        """The group a form names by number (None: a new group of its own); 404 for one
        that is not of the member's tambon."""
        number = _whole((typed or "").strip().lstrip("#"))
        if not (typed or "").strip():
            return None
        group = await self.store.get_group(number) if number is not None else None
        if group is None or group.tambon_id != member.tambon_id:
            raise web.HTTPNotFound(headers=SECURITY_HEADERS)
        return group

    async def move_to_group(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        """Move a submission out of its group: into another group, or into one of its own."""
        found = await self._own_submission(request, member)
        into = await self._target_group(member, _field(await request.post(), "group"))
        await group_service.move(self.store, [found], into, by=_actor(member))
        raise web.HTTPSeeOther(f"{PATH}/submissions/{found.id}")

    async def bulk(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        """One action on the submissions ticked in the list: mark them reviewed, or set their
        category (each through the same correction as /fix, all in one transaction)."""
        form = await request.post()
        ids = [n for v in form.getall("ids", []) if isinstance(v, str) and (n := _whole(v))]
        back = _our_page(_field(form, "back"), f"{PATH}/submissions")
        action = _field(form, "action")
        if not ids or action not in ("reviewed", "category", "group"):
            raise web.HTTPSeeOther(back)
        chosen = [
            s
            for s in [
                await self.store.get_submission(n) for n in ids[: submission_service.MAX_SELECTION]
            ]
            if s is not None and s.tambon_id == member.tambon_id
        ]
        try:
            if action == "group":
                into = await self._target_group(member, _field(form, "group"))
                await group_service.move(self.store, chosen, into, by=_actor(member))
            elif action == "reviewed":
                await submission_service.mark_reviewed(
                    self.store, member.tambon_id, [s.id for s in chosen], by=_actor(member)
                )
            else:
                category = _field(form, "category")
                if category not in CATEGORY_LABELS:
                    raise CorrectionRefused(CHOOSE_CATEGORY)
                async with self.store.transaction():  # all of them or none
                    for found in chosen:
                        await submission_service.correct_tags(
                            self.store,
                            found,
                            categories=[category],
                            kind=found.kind,
                            village=found.village_moo,
                            actor=found.actor,
                            known_categories=CATEGORY_LABELS,
                            member_id=member.id,
                            corrected_by=_actor(member),
                        )
        except CorrectionRefused as refused:
            return self.message(request, REFUSED_TITLE, refused.reason, status=400)
        raise web.HTTPSeeOther(back)
