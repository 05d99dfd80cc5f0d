"""The workbench's core: what every group of pages stands on — the store and the listener's
settings, rendering a page in the reader's language, the session and the checks of every form
(CSRF token, our own origin), and the small helpers the pages share (see :mod:`bot.workbench`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from aiohttp import web
from jinja2 import Environment

from bot import i18n
from bot.listener import MAX_BODY_BYTES
from handlers.labels import (
    ACTOR_LABELS,
    AUDIT_LABELS,
    CATEGORY_LABELS,
    KIND_LABELS,
    PLAN_STATUS_LABELS,
    ROLE_LABELS,
    village_label,
)
from handlers.services import Refused, workbench
from handlers.services import plan as plan_service
from handlers.services import submissions as submission_service
from handlers.services import villages as village_service
from handlers.services.villages import NeedRule
from handlers.types import T, Tagger, Text
from storage.base import (
    PLAN_DETAILS,
    Kind,
    Member,
    Store,
    Tambon,
    WebSession,
)

log = logging.getLogger(__name__)

PATH = workbench.PATH
COOKIE = "tambon_team"
LANG_COOKIE = "tambon_team_lang"
PAGE_SIZE = 50
STATIC = Path(__file__).parent.parent / "static"
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
    """A page a refused form shows again, with the reason and what the form held (``typed``,
    for a page to put back in its form: nobody types a paragraph twice)."""

    def __call__(
        self,
        request: web.Request,
        session: WebSession,
        member: Member,
        *,
        problem: str,
        typed: dict[str, str],
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


class WorkbenchCore:
    """What every page stands on: the store and the listener's settings, rendering, the
    session and its forms' checks (the pages are the mixins of :mod:`bot.workbench`)."""

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

    async def tambon_of(self, member: Member) -> Tambon:
        """The signed-in member's tambon (a member's tambon is always there)."""
        tambon = await self.store.get_tambon(member.tambon_id)
        assert tambon is not None
        return tambon

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

    def _say(self, request: web.Request, member: Member, text: Text) -> str:
        return i18n.render(text, self.locale(request, member))

    # -- signing in ----------------------------------------------------------------------

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
        :class:`Refused`, or the form's own) shows the ``back`` page again with the reason and
        what was typed."""

        async def page(request: web.Request) -> web.StreamResponse:
            found = await workbench.current(
                self.store, request.cookies.get(COOKIE), idle=self.idle
            )
            if found is None:
                return self.message(request, SIGN_IN_TITLE, SIGN_IN, status=401)
            session, member = found
            typed: dict[str, str] = {}
            if request.method == "POST":
                try:
                    form = await request.post()
                except web.HTTPRequestEntityTooLarge:
                    return self._too_large(request, member)
                if not self._same_origin(request) or not workbench.csrf_ok(
                    session, _field(form, "csrf")
                ):
                    return self._refused(request)
                typed = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
            try:
                return await handler(request, session, member)
            except Refused as refused:
                if back is None:
                    raise
                problem = self._say(request, member, refused.reason)
                return await back(request, session, member, problem=problem, typed=typed)

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
