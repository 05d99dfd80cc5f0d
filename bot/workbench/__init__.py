"""The team's workbench: web pages under ``/team/`` on the bot's one listener.

One more outer-ring adapter, like a chat channel: every change goes through the same service
functions as chat and the command line, in one transaction, audited with the web actor ("web"
and the member's role and pseudonym), and answered with the same polite refusals. Sign-in is by
a one-time link asked for in chat (``/web``) or printed by the operator
(``tambon-bot web-link``); see :mod:`handlers.services.workbench` for the sessions.

Every page is rendered from ``bot/templates/team/`` with its sentences from the catalogs, Thai
by default with an English switch; its style is served from the package; no script. Every form
carries the session's CSRF token; a page of another tambon's ids answers 404.

The pages come in groups, a mixin each (:mod:`bot.workbench.submissions`, ``.plan``, ``.data``,
``.book`` …) over :class:`bot.workbench.core.WorkbenchCore`; :class:`Workbench` joins them and
routes the paths.
"""

from __future__ import annotations

from aiohttp import web

from bot.workbench.audit import AuditPages
from bot.workbench.book import BookPages
from bot.workbench.core import COOKIE, PATH, PhotoSource, _qr_data
from bot.workbench.data import DataPages
from bot.workbench.groups import GroupPages
from bot.workbench.people import PeoplePages
from bot.workbench.plan import PlanPages
from bot.workbench.polls import PollPages
from bot.workbench.reports import ReportPages
from bot.workbench.submissions import SubmissionPages

__all__ = ["COOKIE", "PATH", "PhotoSource", "Workbench", "_qr_data"]


class Workbench(
    SubmissionPages,
    GroupPages,
    PeoplePages,
    PlanPages,
    DataPages,
    BookPages,
    PollPages,
    AuditPages,
    ReportPages,
):
    """The pages, bound to a store and the listener's settings."""

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
        r.add_post(f"{PATH}/plan/new", self.signed(self.new_plan_item, self.plan))
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
