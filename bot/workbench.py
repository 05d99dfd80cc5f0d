"""The team's workbench: web pages under ``/team/`` on the bot's one listener.

One more outer-ring adapter, like a chat channel: every change goes through the same service
functions as chat and the command line, in one transaction, audited with the web actor ("web"
and the member's role and pseudonym), and answered with the same polite refusals. Sign-in is by
a one-time link asked for in chat (``/web``) or printed by the operator
(``tambon-bot web-link``); see :mod:`handlers.services.workbench` for the sessions.

Every page is rendered from ``bot/templates/team/`` with its sentences from the catalogs, Thai
by default with an English switch; its style is served from the package; no script. Every form
carries the session's CSRF token; a page of another tambon's ids answers 404.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode, urlsplit

from aiohttp import web
from jinja2 import Environment

from bot import i18n
from bot.joinlinks import hall_link, join_links
from bot.listener import MAX_BODY_BYTES
from handlers.labels import (
    ACTOR_LABELS,
    AUDIT_LABELS,
    CATEGORY_LABELS,
    KIND_LABELS,
    PHASE_LABELS,
    PLAN_STATUS_LABELS,
    ROLE_LABELS,
    village_label,
)
from handlers.services import Refused, members, tambons, workbench
from handlers.services import audit as audit_service
from handlers.services import book as book_service
from handlers.services import groups as group_service
from handlers.services import plan as plan_service
from handlers.services import polls as poll_service
from handlers.services import submissions as submission_service
from handlers.services import villages as village_service
from handlers.services.privacy import HIDDEN
from handlers.services.submissions import CorrectionRefused
from handlers.services.villages import NeedRule
from handlers.types import T, Tagger, Text
from storage.base import (
    PLAN_DETAILS,
    Kind,
    Member,
    PlanStatus,
    Poll,
    PollConflict,
    PollMethod,
    ProblemGroup,
    ResourceKind,
    Store,
    Submission,
    WebSession,
)

log = logging.getLogger(__name__)

PATH = workbench.PATH
COOKIE = "tambon_team"
LANG_COOKIE = "tambon_team_lang"
PAGE_SIZE = 50
STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    # Pages, style and images from here only; no script at all; never in a frame.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
        "form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on our own
    # forms, and the origin check below could not tell them from forged ones.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PhotoSource = Callable[[str], Awaitable[bytes | None]]


class Page(Protocol):
    """A page a refused form shows again, with the reason."""

    def __call__(
        self, request: web.Request, session: WebSession, member: Member, *, problem: str
    ) -> Awaitable[web.StreamResponse]: ...


# What a photo's first bytes say it is; nothing else is served as an image.
IMAGE_TYPES = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"GIF8": "image/gif",
}


@cache
def _environment(locale: str) -> Environment:
    from bot.report import translated_environment

    env = translated_environment("templates/team", locale)

    def label(text: Text) -> str:
        return i18n.render(text, locale)

    env.filters["category"] = lambda code: (
        label(CATEGORY_LABELS[code]) if code in CATEGORY_LABELS else code
    )
    env.filters["kind"] = lambda kind: label(KIND_LABELS[kind])
    env.filters["village"] = lambda moo: label(village_label(moo))
    env.filters["date"] = lambda moment: i18n.format_date(moment, locale, with_time=True)
    env.filters["role"] = lambda role: label(ROLE_LABELS[role])
    env.filters["plan_status"] = lambda status: label(PLAN_STATUS_LABELS[str(status)])
    env.filters["actor"] = lambda a: label(ACTOR_LABELS[a]) if a in ACTOR_LABELS else a
    env.filters["baht"] = lambda n: "" if n is None else f"{n:,}"
    # A due date as stored (YYYY-MM-DD), as the plan table writes it (Buddhist era in Thai).
    env.filters["era"] = lambda iso: i18n.era_date(iso, locale) if iso else ""
    env.filters["action"] = lambda a: label(AUDIT_LABELS[a]) if a in AUDIT_LABELS else a
    env.filters["percent"] = lambda x: "—" if x is None else f"{100 * x:.0f}%"
    env.filters["per100"] = lambda x: "—" if x is None else f"{x:.1f}"
    env.filters["resource_kind"] = lambda k: label(village_service.RESOURCE_LABELS[k])
    env.filters["column"] = lambda c: label(village_service.COLUMN_LABELS[c])
    env.globals["categories"] = list(CATEGORY_LABELS)
    env.globals["kinds"] = [k.value for k in Kind]
    env.globals["path"] = PATH
    return env


class Workbench:
    """The pages, bound to a store and the listener's settings."""

    def __init__(
        self,
        store: Store,
        *,
        public_url: str | None = None,
        idle: timedelta = workbench.IDLE,
        absolute: timedelta = workbench.ABSOLUTE,
        bot_username: str | None = None,
        line_basic_id: str | None = None,
        photos: Mapping[str, PhotoSource] | None = None,
        need_rule: NeedRule | None = None,
        tagger: Tagger | None = None,
    ) -> None:
        self.store = store
        self.need_rule = need_rule or NeedRule()
        # Tags the villages' plan rows as chat's reports are tagged (loaded when first needed).
        self._tagger = tagger
        # Each chat channel's way to fetch a photo sent on it (its file id), to show the team.
        self.photos = dict(photos or {})
        self.bot_username = bot_username  # TELEGRAM_BOT_USERNAME: the hall's QR opens the bot
        self.line_basic_id = line_basic_id  # LINE_BOT_BASIC_ID: join codes' QR for LINE
        self.secure = bool(public_url and public_url.startswith("https://"))
        self.origin = _origin(public_url) if public_url else None
        self.idle = idle
        self.absolute = absolute

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get(f"{PATH}/static/workbench.css", self.style)
        r.add_get(f"{PATH}/static/NotoSansThai.ttf", self.font)
        r.add_get(f"{PATH}/signin/{{token}}", self.sign_in_page)
        r.add_post(f"{PATH}/signin/{{token}}", self.sign_in)
        r.add_get(f"{PATH}/lang/{{locale}}", self.language)
        r.add_get(PATH, self.redirect_home)
        r.add_get(f"{PATH}/", self.signed(self.today))
        r.add_get(f"{PATH}/submissions", self.signed(self.submissions))
        r.add_get(f"{PATH}/submissions/{{id}}", self.signed(self.submission))
        r.add_get(f"{PATH}/submissions/{{id}}/photos/{{n}}", self.signed(self.photo))
        r.add_post(f"{PATH}/submissions/{{id}}/hide", self.signed(self.hide, self.submission))
        r.add_post(f"{PATH}/submissions/{{id}}/unhide", self.signed(self.unhide))
        r.add_post(f"{PATH}/submissions/{{id}}/tags", self.signed(self.correct, self.submission))
        r.add_post(f"{PATH}/submissions/{{id}}/reviewed", self.signed(self.reviewed))
        r.add_post(f"{PATH}/submissions/{{id}}/group", self.signed(self.move_to_group))
        r.add_post(f"{PATH}/submissions/bulk", self.signed(self.bulk))
        r.add_get(f"{PATH}/groups", self.signed(self.groups))
        r.add_post(f"{PATH}/groups/{{id}}/rename", self.signed(self.rename_group, self.groups))
        r.add_post(f"{PATH}/groups/{{id}}/merge", self.signed(self.merge_group, self.groups))
        r.add_get(f"{PATH}/people", self.signed(self.people))
        r.add_post(f"{PATH}/people/{{id}}/role", self.signed(self.set_role, self.people))
        r.add_post(f"{PATH}/people/{{id}}/remove", self.signed(self.remove_member, self.people))
        r.add_post(f"{PATH}/codes", self.signed(self.make_code, self.people))
        r.add_post(f"{PATH}/codes/{{code}}/revoke", self.signed(self.revoke_code))
        r.add_get(f"{PATH}/plan", self.signed(self.plan))
        r.add_post(f"{PATH}/plan/{{id}}/status", self.signed(self.plan_status, self.plan))
        r.add_post(f"{PATH}/plan/{{id}}/details", self.signed(self.plan_details, self.plan))
        r.add_post(f"{PATH}/plan/new", self.signed(self.new_plan_item))
        r.add_post(f"{PATH}/plan/import", self.signed(self.plan_import, self.plan))
        r.add_post(f"{PATH}/plan/import/confirm", self.signed(self.plan_import_confirm))
        r.add_get(f"{PATH}/data", self.signed(self.data))
        r.add_get(f"{PATH}/data/template/{{kind}}", self.signed(self.data_template))
        r.add_post(f"{PATH}/data/import", self.signed(self.data_import, self.data))
        r.add_post(f"{PATH}/data/import/confirm", self.signed(self.data_import_confirm))
        r.add_post(f"{PATH}/data/resources", self.signed(self.add_resource, self.data))
        r.add_get(f"{PATH}/book", self.signed(self.book))
        r.add_get(f"{PATH}/book/plan-book.pdf", self.signed(self.book_file))
        r.add_get(f"{PATH}/book/plan-form.xlsx", self.signed(self.book_file))
        r.add_post(f"{PATH}/book/direction", self.signed(self.book_direction, self.book))
        r.add_post(
            f"{PATH}/book/items/{{id}}/strategy", self.signed(self.item_strategy, self.book)
        )
        r.add_post(
            f"{PATH}/book/items/{{id}}/resource", self.signed(self.item_resource, self.book)
        )
        r.add_post(f"{PATH}/book/comment/open", self.signed(self.comment_open, self.book))
        r.add_post(f"{PATH}/book/comment/close", self.signed(self.comment_close, self.book))
        r.add_post(f"{PATH}/book/approve", self.signed(self.book_approve, self.book))
        r.add_get(f"{PATH}/polls", self.signed(self.polls))
        r.add_post(f"{PATH}/polls/new", self.signed(self.new_poll, self.polls))
        r.add_post(f"{PATH}/polls/{{id}}/plan", self.signed(self.plan_from_poll, self.polls))
        r.add_get(f"{PATH}/polls/{{id}}/hall", self.signed(self.hall))
        r.add_post(f"{PATH}/polls/{{id}}/open", self.signed(self.open_poll, self.polls))
        r.add_post(f"{PATH}/polls/{{id}}/close", self.signed(self.close_poll))
        r.add_post(f"{PATH}/polls/{{id}}/paper", self.signed(self.paper, self.polls))
        r.add_get(f"{PATH}/audit", self.signed(self.audit))
        r.add_get(f"{PATH}/reports", self.signed(self.reports))
        r.add_get(f"{PATH}/reports/{{name}}", self.signed(self.report_file))
        r.add_post(f"{PATH}/reports/link", self.signed(self.report_link))
        r.add_get(f"{PATH}/sessions", self.signed(self.sessions))
        r.add_post(f"{PATH}/sessions/{{id}}/end", self.signed(self.end_session))
        r.add_post(f"{PATH}/signout", self.signed(self.sign_out))

    # -- rendering ------------------------------------------------------------------------

    def locale(self, request: web.Request, member: Member | None = None) -> str:
        chosen = request.cookies.get(LANG_COOKIE)
        if chosen in i18n.LOCALES:
            return str(chosen)
        if member is not None and member.locale in i18n.LOCALES:
            return str(member.locale)
        return i18n.DEFAULT_LOCALE

    def page(
        self,
        request: web.Request,
        template: str,
        *,
        status: int = 200,
        member: Member | None = None,
        session: WebSession | None = None,
        **context: Any,
    ) -> web.Response:
        locale = self.locale(request, member)
        html = (
            _environment(locale)
            .get_template(template)
            .render(
                locale=locale,
                member=member,
                csrf=session.csrf if session else "",
                here=request.path_qs,
                **context,
            )
        )
        return web.Response(
            text=html,
            status=status,
            content_type="text/html",
            charset="utf-8",
            headers=SECURITY_HEADERS,
        )

    def message(
        self, request: web.Request, title: Text, body: Text, *, status: int
    ) -> web.Response:
        locale = self.locale(request)
        return self.page(
            request,
            "message.html.j2",
            status=status,
            title=i18n.render(title, locale),
            body=i18n.render(body, locale),
        )

    async def style(self, request: web.Request) -> web.Response:
        return web.Response(
            body=(STATIC / "workbench.css").read_bytes(),
            content_type="text/css",
            headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    async def font(self, request: web.Request) -> web.Response:
        """Noto Sans Thai from the package (fontpkg), so that Thai reads the same on every
        office computer, offline included."""
        from bot import fonts

        return web.Response(
            body=fonts.font_path().read_bytes(),
            content_type="font/ttf",
            headers={"Cache-Control": "max-age=86400", "X-Content-Type-Options": "nosniff"},
        )

    async def redirect_home(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{PATH}/")

    async def language(self, request: web.Request) -> web.Response:
        locale = request.match_info["locale"]
        response = web.HTTPFound(_our_page(request.query.get("back"), f"{PATH}/"))
        if locale in i18n.LOCALES:
            response.set_cookie(
                LANG_COOKIE, locale, path=PATH, samesite="Strict", secure=self.secure
            )
        raise response

    # -- signing in -----------------------------------------------------------------------

    async def sign_in_page(self, request: web.Request) -> web.Response:
        """The link from chat opens a page with one button: a link previewer (a chat app
        fetching the link to show a preview) cannot use the link up."""
        return self.page(request, "signin.html.j2", token=request.match_info["token"])

    async def sign_in(self, request: web.Request) -> web.Response:
        if not self._same_origin(request):
            return self._refused(request)
        started = await workbench.sign_in(
            self.store,
            request.match_info["token"][:100],
            agent=request.headers.get("User-Agent", ""),
            absolute=self.absolute,
        )
        if started is None:
            return self.message(request, LINK_USED_TITLE, LINK_USED, status=403)
        response = web.HTTPSeeOther(f"{PATH}/")
        response.set_cookie(
            COOKIE,
            started.token,
            path=PATH,
            httponly=True,
            samesite="Strict",
            secure=self.secure,
            max_age=int(self.absolute.total_seconds()),
        )
        raise response

    def signed(
        self,
        handler: Callable[[web.Request, WebSession, Member], Awaitable[web.StreamResponse]],
        back: Page | None = None,
    ) -> Handler:
        """A page for a signed-in team member: others see how to sign in; a form posted
        without this session's CSRF token changes nothing. A form's refusal (a service's
        :class:`Refused`, or the form's own) shows the ``back`` page again with the reason."""

        async def page(request: web.Request) -> web.StreamResponse:
            found = await workbench.current(
                self.store, request.cookies.get(COOKIE), idle=self.idle
            )
            if found is None:
                return self.message(request, SIGN_IN_TITLE, SIGN_IN, status=401)
            session, member = found
            if request.method == "POST":
                try:
                    form = await request.post()
                except web.HTTPRequestEntityTooLarge:
                    return self._too_large(request, member)
                if not self._same_origin(request) or not workbench.csrf_ok(
                    session, _field(form, "csrf")
                ):
                    return self._refused(request)
            try:
                return await handler(request, session, member)
            except Refused as refused:
                if back is None:
                    raise
                problem = self._say(request, member, refused.reason)
                return await back(request, session, member, problem=problem)

        return page

    def _same_origin(self, request: web.Request) -> bool:
        """A form posted from our own pages: the browser's Origin (or Referer) is this host."""
        sent = request.headers.get("Origin") or request.headers.get("Referer")
        if not sent:
            return False
        expected = self.origin or f"{request.scheme}://{request.host}"
        return _origin(sent) == expected

    def _too_large(self, request: web.Request, member: Member) -> web.Response:
        locale = self.locale(request, member)
        limit = MAX_BODY_BYTES // (1024 * 1024)
        return self.page(
            request,
            "message.html.j2",
            status=413,
            member=member,
            title=i18n.render(TOO_LARGE_TITLE, locale),
            body=i18n.render(T(TOO_LARGE.msgid, limit=limit), locale),
        )

    def _refused(self, request: web.Request) -> web.Response:
        return self.message(request, REFUSED_TITLE, REFUSED, status=403)

    # -- pages ----------------------------------------------------------------------------

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

    # -- problem groups -------------------------------------------------------------------

    async def groups(
        self,
        request: web.Request,
        session: WebSession,
        member: Member,
        *,
        problem: str | None = None,
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

    # -- people -------------------------------------------------------------------------

    async def people(
        self,
        request: web.Request,
        session: WebSession,
        member: Member,
        *,
        problem: str | None = None,
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

    def _say(self, request: web.Request, member: Member, text: Text) -> str:
        return i18n.render(text, self.locale(request, member))

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

    # -- the plan -------------------------------------------------------------------------

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
        tambon = await self.store.get_tambon(member.tambon_id)
        assert tambon is not None
        typed = {k: str(v) for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        try:
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
        except plan_service.PlanRefused as refused:
            problem = self._say(request, member, refused.reason)
            return await self.plan(request, session, member, problem=problem, typed=typed)
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

        tambon = await self.store.get_tambon(member.tambon_id)
        assert tambon is not None
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
        tambon = await self.store.get_tambon(member.tambon_id)
        assert tambon is not None
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

    # -- the villages' data -------------------------------------------------------------

    @property
    def tagger(self) -> Tagger:
        if self._tagger is None:
            from bot.nlp.tagger import KeywordTagger, packaged_model

            self._tagger = KeywordTagger(model=packaged_model())
        return self._tagger

    async def data(
        self,
        request: web.Request,
        session: WebSession,
        member: Member,
        *,
        problem: str | None = None,
        typed: dict[str, str] | None = None,
    ) -> web.Response:
        """Voices beside the villages' data: the silent needs, the voices without data, each
        village's figures; the imports (after a preview) and the resources."""
        tambon = await self.store.get_tambon(member.tambon_id)
        assert tambon is not None
        found = await village_service.analyse(self.store, tambon, self.need_rule)
        done = {k: _whole(request.query.get(k)) for k in ("added", "updated", "unchanged")}
        return self.page(
            request,
            "data.html.j2",
            status=400 if problem else 200,
            member=member,
            session=session,
            data=found,
            villages=await self.store.list_villages(tambon.id),
            facts=await self.store.list_village_facts(tambon.id),
            kinds=[k.value for k in ResourceKind],
            known=village_service.indicator_list(),
            problem=problem,
            typed=typed or {},
            imported=done if None not in done.values() else None,
            max_upload=MAX_BODY_BYTES // (1024 * 1024),
        )

    async def data_template(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        """A workbook to fill in, headers in the reader's language."""
        from bot.datatables import template

        name = request.match_info["kind"].removesuffix(".xlsx")
        kinds = TEMPLATE_KINDS.get(name)
        if kinds is None:
            raise web.HTTPNotFound()
        body = template(kinds, self.locale(request, member))
        return web.Response(
            body=body,
            content_type=REPORT_TYPES["xlsx"],
            headers={
                **SECURITY_HEADERS,
                "Content-Disposition": f'attachment; filename="villages-{name}.xlsx"',
            },
        )

    async def data_import(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        """A file's tables tried in a transaction rolled back: what each would add, and every
        bad row, before anything is written."""
        from bot.datatables import read_tables

        form = await request.post()
        kinds = DATA_KINDS.get(_field(form, "kind") or "")
        upload = form.get("file")
        if kinds is None or not isinstance(upload, web.FileField) or not upload.filename:
            raise Refused(CHOOSE_FILE)
        found = read_tables(upload.file.read(), upload.filename, kinds)
        tables = [{"kind": t.kind, "columns": list(t.columns), "rows": t.rows} for t in found]
        return await self._data_preview(request, session, member, tables, upload.filename)

    async def _import_tables(
        self, member: Member, tables: list[dict[str, Any]], *, preview: bool
    ) -> list[village_service.DataImported]:
        tambon = await self.store.get_tambon(member.tambon_id)
        assert tambon is not None
        by = _actor(member)
        done = []
        # Written together, all or none; a preview rolls each table back itself (it must not
        # run inside a transaction, which would keep what it tried).
        async with contextlib.nullcontext() if preview else self.store.transaction():
            for table in tables:
                rows, columns = table["rows"], table["columns"]
                if table["kind"] == "plans":
                    done.append(
                        await village_service.import_village_plans(
                            self.store, tambon, rows, tagger=self.tagger, by=by, preview=preview
                        )
                    )
                elif table["kind"] == "resources":
                    done.append(
                        await village_service.import_resources(
                            self.store, tambon, rows, by=by, preview=preview
                        )
                    )
                else:
                    done.append(
                        await village_service.import_village_data(
                            self.store, tambon, rows, columns, by=by, preview=preview
                        )
                    )
        return done

    async def _data_preview(
        self,
        request: web.Request,
        session: WebSession,
        member: Member,
        tables: list[dict[str, Any]],
        name: str,
    ) -> web.Response:
        import json

        done = await self._import_tables(member, tables, preview=True)
        locale = self.locale(request, member)
        problems = [p for d in done for p in d.problems]
        return self.page(
            request,
            "data_import.html.j2",
            status=400 if problems else 200,
            member=member,
            session=session,
            name=name,
            tables=[
                {
                    **table,
                    "rows": table["rows"][:PREVIEW_ROWS],
                    "more": max(0, len(table["rows"]) - PREVIEW_ROWS),
                    "done": outcome,
                    "bad": {p.params.get("row") for p in outcome.problems},
                    "title": i18n.render(TABLE_TITLES[table["kind"]], locale),
                }
                for table, outcome in zip(tables, done, strict=True)
            ],
            problems=[i18n.render(p, locale) for p in problems],
            payload=json.dumps(tables, ensure_ascii=False),
        )

    async def data_import_confirm(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        """The previewed tables written together, all or none (tried again: the data may have
        changed since the preview)."""
        import json

        form = await request.post()
        try:
            tables = json.loads(_field(form, "tables") or "")
        except ValueError:
            tables = None
        if not _data_tables(tables):
            return self._refused(request)
        try:
            done = await self._import_tables(member, tables, preview=False)
        except village_service.DataImportRefused:
            return await self._data_preview(
                request, session, member, tables, _field(form, "name") or "data"
            )
        counts = {
            "added": sum(d.added for d in done),
            "updated": sum(d.updated for d in done),
            "unchanged": sum(d.unchanged for d in done),
        }
        raise web.HTTPSeeOther(f"{PATH}/data?{urlencode(counts)}")

    async def add_resource(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        tambon = await self.store.get_tambon(member.tambon_id)
        assert tambon is not None
        form = await request.post()
        fields = {c: _field(form, c) or "" for c in village_service.RESOURCE_COLUMNS}
        try:
            resource, _ = await village_service.add_resource(
                self.store, tambon, fields, by=_actor(member)
            )
        except Refused as refused:
            problem = self._say(request, member, refused.reason)
            return await self.data(request, session, member, problem=problem, typed=fields)
        raise web.HTTPSeeOther(f"{PATH}/data#resource-{resource.id}")

    # -- the plan back to the people ----------------------------------------------------

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

        tambon = await self.store.get_tambon(member.tambon_id)
        assert tambon is not None
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

        tambon = await self.store.get_tambon(member.tambon_id)
        assert tambon is not None
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
        tambon = await self.store.get_tambon(member.tambon_id)
        assert tambon is not None
        form = await request.post()
        typed = {k: str(v) for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        try:
            await book_service.set_direction(
                self.store,
                tambon,
                by=_actor(member),
                identity=_field(form, "identity") or "",
                vision=_field(form, "vision") or "",
                mission=_field(form, "mission") or "",
                strategies=(_field(form, "strategies") or "").splitlines(),
            )
        except Refused as refused:
            problem = self._say(request, member, refused.reason)
            return await self.book(request, session, member, problem=problem, typed=typed)
        raise web.HTTPSeeOther(f"{PATH}/book?done=saved#direction")

    async def item_strategy(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        item = await _owned(request, member, self.store.get_plan_item)
        tambon = await self.store.get_tambon(member.tambon_id)
        assert tambon is not None
        position = _whole(_field(await request.post(), "strategy"))
        await book_service.set_strategy(self.store, tambon, item, position or 0, by=_actor(member))
        raise web.HTTPSeeOther(f"{PATH}/book#item-{item.id}")

    async def item_resource(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        """The resource a project draws on (the villages' data page registers them)."""
        item = await _owned(request, member, self.store.get_plan_item)
        tambon = await self.store.get_tambon(member.tambon_id)
        assert tambon is not None
        chosen = _field(await request.post(), "resource") or ""
        await plan_service.set_resource(
            self.store, tambon, item, _whole(chosen) if chosen else None, by=_actor(member)
        )
        raise web.HTTPSeeOther(f"{PATH}/book#item-{item.id}")

    async def comment_open(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        tambon = await self.store.get_tambon(member.tambon_id)
        assert tambon is not None
        days = _whole(_field(await request.post(), "days"))
        await book_service.open_comment(self.store, tambon, days or 0, by=_actor(member))
        raise web.HTTPSeeOther(f"{PATH}/book?done=opened#comment")

    async def comment_close(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        tambon = await self.store.get_tambon(member.tambon_id)
        assert tambon is not None
        await book_service.close_comment(self.store, tambon, by=_actor(member))
        raise web.HTTPSeeOther(f"{PATH}/book?done=closed#comment")

    async def book_approve(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        tambon = await self.store.get_tambon(member.tambon_id)
        assert tambon is not None
        form = await request.post()
        typed = {k: str(v) for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        present_text = (_field(form, "present") or "").strip()
        try:
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
            )
        except Refused as refused:
            problem = self._say(request, member, refused.reason)
            return await self.book(request, session, member, problem=problem, typed=typed)
        raise web.HTTPSeeOther(f"{PATH}/book?done=approved#approval")

    # -- polls ----------------------------------------------------------------------------

    async def polls(
        self,
        request: web.Request,
        session: WebSession,
        member: Member,
        *,
        problem: str | None = None,
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

    # -- the audit trail ------------------------------------------------------------------

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

    # -- reports --------------------------------------------------------------------------

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
        from handlers.services.summary import read_report

        name = request.match_info["name"]
        kind = REPORT_FILES.get(name)
        tambon = await self.store.get_tambon(member.tambon_id)
        if kind is None or tambon is None:
            raise web.HTTPNotFound(headers=SECURITY_HEADERS)
        locale = self.locale(request, member)
        summary, submissions = await read_report(self.store, tambon, self.need_rule)
        await audit_service.record(
            self.store, tambon.id, _actor(member), audit_service.REPORT_TAKEN, format=kind
        )
        if kind == "pdf":
            body = await asyncio.to_thread(report.pdf, summary, submissions, locale)
        elif kind == "xlsx":
            body = await asyncio.to_thread(report.xlsx, summary, submissions, locale)
        elif kind == "html":
            body = report.render(summary, submissions, "html", locale).encode()
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


class _OfATambon(Protocol):
    @property
    def tambon_id(self) -> int: ...


_Owned = TypeVar("_Owned", bound=_OfATambon)


async def _owned(
    request: web.Request, member: Member, get: Callable[[int], Awaitable[_Owned | None]]
) -> _Owned:
    """The record the URL's id names, if it is of the member's tambon; 404 otherwise, whatever
    the id (another tambon's, none, not a number): the same answer, so nothing is learnt."""
    number = _whole(request.match_info["id"])
    found = await get(number) if number is not None else None
    if found is None or found.tambon_id != member.tambon_id:
        raise web.HTTPNotFound(headers=SECURITY_HEADERS)
    return found


def _actor(member: Member) -> str:
    """How the audit trail names a change made in the workbench."""
    return f"web {submission_service.who(member)}"


def _field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _plan_details(form: Any) -> dict[str, object]:
    """The plan-form fields of a form, as the plan service takes them: a field left empty clears
    it; a budget as people write it; a due date in either era."""
    details: dict[str, object] = {}
    for name in PLAN_DETAILS:
        value = _field(form, name)
        if value is None:
            continue
        value = " ".join(value.split())
        if name == "budget":
            try:
                details[name] = plan_service.parse_baht(value) if value else None
            except ValueError:
                raise plan_service.PlanRefused(BUDGET_HELP) from None
        elif name == "due":
            details[name] = i18n.iso_from_era(value) if value else None
        else:
            details[name] = value if value or name == "title" else None
    return details


def _whole(value: str | None) -> int | None:
    if value is None or not value.isdecimal() or len(value) > 12:
        return None
    return int(value)


def _our_page(back: str | None, default: str) -> str:
    """Where to go back to after a form: ``back`` when it is a page under ``default`` (only our
    own pages: never another site, "//host"), else ``default``."""
    if back and back.startswith(default) and "//" not in back:
        return back
    return default


def _qr_data(text: str, scale: int = 4) -> str:
    """A QR code of ``text`` as a data URI, for an <img> (the CSP allows data: images)."""
    import base64

    from bot.charts import qr_png

    return "data:image/png;base64," + base64.b64encode(qr_png(text, scale=scale)).decode()


def _day(value: str | None) -> date | None:
    """A date typed as year-month-day, in the Buddhist era or not ("2569-12-07", "2026-12-07")."""
    if not value:
        return None
    try:
        return date.fromisoformat(i18n.iso_from_era(value.strip()[:10]))
    except ValueError:
        return None


def _bangkok_midnight(day: date) -> datetime:
    """The moment a day begins in Thailand."""
    return datetime(day.year, day.month, day.day, tzinfo=i18n.BANGKOK)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


SIGN_IN_TITLE = T("Please sign in")
SIGN_IN = T(
    "The workbench is for the tambon team. To sign in, type /web in your chat with the bot "
    "and open the link it gives you (one use, for 10 minutes)."
)
LINK_USED_TITLE = T("This link cannot be used")
LINK_USED = T(
    "The sign-in link was used already, has expired, or is not for a team member. Type /web "
    "in your chat with the bot for a new one."
)
REFUSED_TITLE = T("Not done")
REFUSED = T(
    "This form did not come from your workbench page, so nothing was changed. Go back, reload "
    "the page and try again."
)
SIGNED_OUT_TITLE = T("Signed out")
SIGNED_OUT = T("You have signed out of the workbench. Type /web in chat to sign in again.")
CHOOSE_CATEGORY = T("Please choose at least one category.")
CHOOSE_ROLE = T("Please choose one of the roles offered.")
TICK_TO_REMOVE = T("Tick the box to confirm, then press Remove.")
CODE_DAYS = T("A join code lasts from 1 to 366 days.")
PAPER_HELP = T(
    "Write the option numbers as on the paper ballot, separated by commas (for example 2,1), "
    "and how many such ballots."
)
STATUS_HELP = T("Please choose a status; progress is a percentage from 0 to 100.")
AUDIT_PAGE = 500
GROUPS_PAGE = 300
NEW_ITEM_GROUPS = 40  # the largest groups not yet in the plan, offered to tick
PREVIEW_ROWS = 100
UNSURE_SHOWN = 100  # counted up to this many ("100+")
MAX_OPTIONS = 10  # a ballot people can read at once
HALL_REFRESH_SECONDS = 5
NEW_POLL_HELP = T(
    "A poll needs a title, a way of counting, two to ten of the most reported problem groups, "
    "and how many each person chooses (at most as many as the options)."
)
PLAN_FROM_POLL_HELP = T(
    "Plan items are made from a closed poll's result: choose how many of the top options "
    "(1 to 10)."
)  # the most reported first; a tambon rarely has more worth tidying
CHOOSE_FILE = T("Please choose a CSV or XLSX file to import.")
BUDGET_HELP = T("A budget is an amount in baht, 0 or more.")
TOO_LARGE_TITLE = T("The file is too large")
TOO_LARGE = T(
    "What was sent is larger than {limit} MB. A plan table is much smaller: please save only "
    "the plan's sheet, as CSV or XLSX, and send it again."
)
# The imports the Villages' data page offers, and the tables each file may hold.
DATA_KINDS = {
    "plans": ("plans",),
    "data": ("indicators", "facts"),
    "resources": ("resources",),
}
TABLE_TITLES = {
    "plans": T("Village plans"),
    "facts": T("Village facts"),
    "indicators": T("Indicator results"),
    "resources": T("Resources"),
}
# The templates: their sheets, in this order.
TEMPLATE_KINDS = {
    "plans": ("plans",),
    "data": ("facts", "indicators"),
    "resources": ("resources",),
}


def _data_tables(tables: object) -> bool:
    """A confirmed import's tables as the preview sent them: a list of kinds, known columns
    and rows of text (anything else is a forged form)."""
    if not isinstance(tables, list) or not tables:
        return False
    for table in tables:
        if not isinstance(table, dict) or table.get("kind") not in village_service.COLUMNS:
            return False
        known = village_service.COLUMNS[table["kind"]]
        columns, rows = table.get("columns"), table.get("rows")
        if not isinstance(columns, list) or not all(c in known for c in columns):
            return False
        if not isinstance(rows, list) or not all(
            isinstance(r, dict) and all(k in known and isinstance(v, str) for k, v in r.items())
            for r in rows
        ):
            return False
    return True


NO_SUCH_GROUP = T("There is no such problem group in your tambon: type its number, as listed.")
# The files of the Reports page, by name, and what makes each.
REPORT_FILES = {
    "report.pdf": "pdf",
    "report.xlsx": "xlsx",
    "report.html": "html",
    "groups.csv": "csv:groups",
    "submissions.csv": "csv:submissions",
    "poll.csv": "csv:poll",
    "plan.csv": "csv:plan",
}
REPORT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html",
    "csv": "text/csv",
}
