"""Display labels (as translatable msgids) for the stable ids of the taxonomy and roles."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from handlers.types import T, Text
from storage.base import Kind, Poll, PollMethod, Role

CATEGORY_LABELS: dict[str, Text] = {
    "infrastructure": T("Infrastructure"),
    "water": T("Water sources"),
    "agriculture": T("Agriculture"),
    "economy": T("Economy and jobs"),
    "health": T("Public health"),
    "social": T("Society and quality of life"),
    "education": T("Education, religion and culture"),
    "environment": T("Natural resources and environment"),
    "safety": T("Safety"),
    "governance": T("Management and participation"),
}

KIND_LABELS: dict[str, Text] = {
    Kind.PROBLEM: T("Problem"),
    Kind.NEED: T("Need"),
    Kind.IDEA: T("Idea"),
}

ROLE_LABELS: dict[str, Text] = {
    Role.VILLAGER: T("Villager"),
    Role.MEMBER: T("Community organisations centre member"),
    Role.TEAM: T("Tambon working team"),
    Role.ADMIN: T("Administrator"),
}

NO_VILLAGE = T("Not given")

# The audit trail's actions (handlers/services/audit.py), as the report names them.
AUDIT_LABELS: dict[str, Text] = {
    "invite.made": T("join code made"),
    "invite.revoked": T("join code withdrawn"),
    "member.role": T("role changed"),
    "member.removed": T("member removed"),
    "poll.created": T("poll created"),
    "poll.opened": T("poll opened"),
    "poll.closed": T("poll closed"),
    "poll.paper": T("paper ballots entered"),
    "submission.corrected": T("tags corrected"),
    "submission.hidden": T("submission hidden"),
    "submission.unhidden": T("submission shown again"),
    "report.taken": T("report taken"),
    "report.opened": T("report link opened"),
    "report.revoked": T("report link ended"),
    "plan.added": T("plan item added"),
    "plan.status": T("plan item status changed"),
    "plan.edited": T("plan item details changed"),
    "plan.reopened": T("plan item reopened by the villagers' answers"),
    "plan.year": T("plan year started"),
    "plan.phase": T("plan phase set"),
    "web.signin": T("signed in to the workbench"),
    "group.renamed": T("problem group renamed"),
    "group.merged": T("problem groups merged"),
    "submission.reviewed": T("submissions marked reviewed"),
    "group.moved": T("submissions moved between problem groups"),
    "data.imported": T("village data imported"),
    "plan.direction": T("the plan's direction set"),
    "plan.comment_opened": T("the draft plan opened for public comment"),
    "plan.comment_closed": T("public comment on the draft plan closed"),
    "plan.approved": T("the plan's approval by the tambon forum recorded"),
}

# Where a submission came from (Submission.origin).
ORIGIN_LABELS: dict[str, Text] = {
    "chat": T("by chat"),
    "relay": T("relayed for a villager"),
    "village_plan": T("a village's own plan"),
}

# The tambon forum's decision on the plan.
APPROVAL_LABELS: dict[str, Text] = {
    "approved": T("approved"),
    "approved_with_changes": T("approved with changes"),
}

# Where a plan item stands, as villagers and the team read it.
PLAN_STATUS_LABELS: dict[str, Text] = {
    "proposed": T("proposed"),
    "in_plan": T("in the tambon plan"),
    "submitted": T("submitted for a budget"),
    "funded": T("has a budget"),
    "in_progress": T("work in progress"),
    "done": T("done"),
    "dropped": T("dropped"),
}

# What a team member may type for a status after /item N: the status itself, or one of its
# words in Thai (the Thai catalog lists them, separated by |).
STATUS_WORDS: dict[str, Text] = {
    "in_plan": T("typed words for: in_plan"),
    "submitted": T("typed words for: submitted"),
    "funded": T("typed words for: funded"),
    "in_progress": T("typed words for: in_progress"),
    "done": T("typed words for: done"),
    "dropped": T("typed words for: dropped"),
}

# The phases of a plan year.
PHASE_LABELS: dict[str, Text] = {
    "collecting": T("collecting problems"),
    "hearing": T("the hearing"),
    "drafting": T("drafting the plan"),
    "approved": T("plan approved"),
    "implementing": T("carrying it out"),
    "evaluated": T("evaluated"),
}

# Who can act on a need (DESIGN.md §5).
ACTOR_LABELS: dict[str, Text] = {
    "community": T("The community itself"),
    "joint": T("Together with the local government"),
    "external": T("Support from district, province or agencies"),
}


def plain(text: str) -> str:
    """Text as it is compared with a name: spaces collapsed, case folded."""
    return " ".join(text.split()).casefold()


def code_named(
    typed: str,
    names: Mapping[str, Text],
    render: Callable[[Text, str], str],
    locales: Iterable[str],
) -> str | None:
    """The code ``typed`` names — the code itself, or its name in one of ``locales`` (a name
    may hold several words, separated by |) — or None: how a status, a role or a category is
    read when a person types it in their language."""
    word = plain(typed)
    languages = tuple(locales)
    for code, name in names.items():
        if word == code or any(
            word == plain(each) for loc in languages for each in render(name, loc).split("|")
        ):
            return str(code)
    return None


def preview(text: str, limit: int = 300) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut, for a line in chat."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def village_label(moo: int | None, name: str | None = None) -> Text:
    if moo is None:
        return NO_VILLAGE
    if name:
        return T("Moo {moo} {name}", moo=moo, name=name)
    return T("Moo {moo}", moo=moo)


def category_label(category: str) -> Text:
    """A category id's label; an id the taxonomy does not know is shown as it is."""
    return CATEGORY_LABELS.get(category, Text(category))


def category_labels(categories: tuple[str, ...] | list[str]) -> list[Text]:
    return [category_label(c) for c in categories]


def method_label(poll: Poll) -> Text:
    """How a poll was counted, for reports (the ballot card explains it to voters instead)."""
    if poll.method is PollMethod.BORDA:
        return T(
            "Method: ranking (Borda count). Each person ranked up to {k} problems; the first got "
            "{k} points, the next one point less, and so on.",
            k=poll.choose,
        )
    if poll.choose == 1:
        return T("Method: one vote each, for the problem that matters most.")
    return T("Method: each person chose up to {k} problems, one vote for each.", k=poll.choose)
