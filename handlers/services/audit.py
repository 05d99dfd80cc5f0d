"""The audit trail: every team action recorded with who, when and what, in the action's own
transaction (the caller's), so there is no action without its record nor a record without
its action. ``who`` is :func:`handlers.services.submissions.who` for chat (role and pseudonym)
or the operator's name on the command line; the detail holds ids and counts, never a
villager's words."""

from __future__ import annotations

from typing import Any

from storage.base import Store

# The actions recorded, as stored (scripts read them from `tambon-bot audit --json`).
INVITE_MADE = "invite.made"
INVITE_REVOKED = "invite.revoked"
ROLE_CHANGED = "member.role"
MEMBER_REMOVED = "member.removed"
POLL_CREATED = "poll.created"
POLL_OPENED = "poll.opened"
POLL_CLOSED = "poll.closed"
PAPER_BALLOTS = "poll.paper"
TAGS_CORRECTED = "submission.corrected"
HIDDEN = "submission.hidden"
UNHIDDEN = "submission.unhidden"
REPORT_TAKEN = "report.taken"
REPORT_OPENED = "report.opened"
REPORT_REVOKED = "report.revoked"
PLAN_ADDED = "plan.added"
PLAN_STATUS = "plan.status"
PLAN_EDITED = "plan.edited"
PLAN_REOPENED = "plan.reopened"
PLAN_YEAR = "plan.year"
PLAN_PHASE = "plan.phase"
WEB_SIGN_IN = "web.signin"
GROUP_RENAMED = "group.renamed"
GROUPS_MERGED = "group.merged"
REVIEWED = "submission.reviewed"
GROUP_MOVED = "group.moved"
DATA_IMPORTED = "data.imported"
PLAN_DIRECTION = "plan.direction"
COMMENT_OPENED = "plan.comment_opened"
COMMENT_CLOSED = "plan.comment_closed"
PLAN_APPROVED = "plan.approved"


async def record(store: Store, tambon_id: int, who: str, action: str, **detail: Any) -> None:
    await store.add_audit(tambon_id, who, action, detail)
