"""What a tambon said, counted: the context every summary and report renders from.

:class:`TambonSummary` is built once from the store (one pass over the submissions) and is the
documented context of the chat summary and of the report templates.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from statistics import median
from typing import Any

from handlers.services import audit
from handlers.services.plan import this_plan_year, year_items
from handlers.services.polls import Results, count_ballots, latest_poll
from handlers.services.villages import DataAnalysis, NeedRule, analyse
from storage.base import (
    AuditEntry,
    CommentWindow,
    PlanItem,
    PlanStatus,
    PrintedSubmission,
    ProblemGroup,
    Response,
    Store,
    Submission,
    Tambon,
    Verdict,
)

TOP_GROUPS = 10
AUDIT_ROWS = 10  # the report's audit section: the team's latest actions
NEEDS_SHOWN = 30  # per who-can-act, in the report; the rest are counted (and in the appendix)


@dataclass(frozen=True)
class PlanRow:
    """A plan item as the report's plan table shows it (the columns of a local development
    plan's project table, form Por. 02), with what its reporters said of it."""

    item: PlanItem
    strategy: str | None  # the category of its first linked group: the plan's strategy
    villages: tuple[int, ...]  # the target: where its problems were reported
    reporters: int
    verdicts: dict[str, int]  # of its latest "done": yes, partly, no
    photos: int = 0  # answers that came with a photo of how it is now
    resource: str | None = None  # the name of the tambon's resource it draws on
    # The plan year's strategy it belongs to (plan direction), its number and title.
    strategy_position: int | None = None
    strategy_title: str | None = None


@dataclass(frozen=True)
class PlanSection:
    """The plan and how it was followed through."""

    rows: list[PlanRow]
    by_status: dict[str, int]
    # Median days from an item's first report to the plan, and from the plan to done.
    days_to_plan: float | None
    days_to_done: float | None
    verdicts: dict[str, int]  # all items' latest answers together


@dataclass
class CommentTally:
    """What people said of one project of the draft plan by chat."""

    item: PlanItem
    agree: int = 0
    disagree: int = 0
    comments: list[Response] = field(default_factory=list)  # oldest first


def tally(items: Sequence[PlanItem], responses: Sequence[Response]) -> list[CommentTally]:
    """Each of ``items`` with the responses to it counted (others' left out)."""
    found = {i.id: CommentTally(i) for i in items}
    for response in responses:
        counted = found.get(response.item_id)
        if counted is None:
            continue
        counted.agree += response.vote == "agree"
        counted.disagree += response.vote == "disagree"
        if response.comment:
            counted.comments.append(response)
    return list(found.values())


@dataclass(frozen=True)
class CommentSection:
    """The draft plan's public comment, as the live report shows it while it comes in."""

    window: CommentWindow
    tallies: list[CommentTally]


@dataclass(frozen=True)
class TambonSummary:
    tambon: Tambon
    generated_at: datetime
    submissions: int
    # Reports by people: each filer counted once, each relayed report, and each "same problem".
    reporters: int
    villages: list[int]  # every village of the tambon
    villages_heard: list[int]
    first_at: datetime | None
    last_at: datetime | None
    by_category: list[tuple[str, int]]  # category, submissions; most first
    # category, reports by people (as ``reporters``, within the category); most first
    reporters_by_category: list[tuple[str, int]]
    by_village: dict[int, int]
    village_category: dict[int, dict[str, int]]  # the heat table
    kinds: dict[str, int]
    groups: list[ProblemGroup]  # the top ones, most reporters first (chat, HTML, PDF)
    needs_by_actor: dict[str, list[Submission]] = field(default_factory=dict)  # the first few
    needs_count: dict[str, int] = field(default_factory=dict)  # all of them, by who can act
    poll: Results | None = None
    # The team's latest actions, newest last (the report's short audit section), and how many
    # there are in all.
    audit: list[AuditEntry] = field(default_factory=list)
    audit_count: int = 0
    plan: PlanSection | None = None  # None: no plan items yet
    # Every group, most reporters first: the spreadsheets list them all, since `plan add
    # --group N` needs any group's id.
    all_groups: list[ProblemGroup] = field(default_factory=list)
    plan_year: int = 0  # Buddhist era: handlers.services.plan.this_plan_year
    # The villages' data beside the voices (handlers.services.villages); None: none imported.
    data: DataAnalysis | None = None
    comment: CommentSection | None = None  # the draft's public comment; None: never opened

    @property
    def villages_silent(self) -> list[int]:
        return [v for v in self.villages if v not in self.villages_heard]


async def read_report(
    store: Store, tambon: Tambon, rule: NeedRule | None = None
) -> tuple[TambonSummary, list[Submission]]:
    """The summary and every submission, for a report's tables (spreadsheets): the
    submissions are read once."""
    # The rows (a worker thread, on SQLite) and the counts (the store's aggregates) at once.
    submissions, summary = await asyncio.gather(
        store.all_submissions(tambon.id), build_summary(store, tambon, rule)
    )
    return await _with_sections(store, tambon, summary), submissions


async def read_printed_report(
    store: Store, tambon: Tambon, rule: NeedRule | None = None
) -> tuple[TambonSummary, list[PrintedSubmission]]:
    """The summary and what a printed report (HTML, PDF, Markdown) shows of every submission:
    only the fields its appendix prints are read, which for a big tambon is about half the
    work of :func:`read_report`."""
    submissions, summary = await asyncio.gather(
        store.printed_submissions(tambon.id), build_summary(store, tambon, rule)
    )
    return await _with_sections(store, tambon, summary), submissions


async def _with_sections(store: Store, tambon: Tambon, summary: TambonSummary) -> TambonSummary:
    """The summary with what only a report shows: the team's actions, the plan, the draft."""
    # The team's actions; the openings of report links (audited too) are not theirs.
    trail = [e for e in await store.list_audit(tambon.id) if e.action != audit.REPORT_OPENED]
    return replace(
        summary,
        audit=trail[-AUDIT_ROWS:],
        audit_count=len(trail),
        plan=await plan_section(store, tambon),
        comment=await comment_section(store, tambon, summary.plan_year),
    )


async def comment_section(store: Store, tambon: Tambon, year: int) -> CommentSection | None:
    """The plan year's draft with what people said of each project by chat, or None when it
    was never put to comment."""
    window = await store.get_comment_window(tambon.id, year)
    if window is None:
        return None
    items = await year_items(store, tambon.id, year)
    return CommentSection(window, tally(items, await store.list_responses(tambon.id)))


async def plan_section(store: Store, tambon: Tambon) -> PlanSection | None:
    """The tambon's plan items for the report, by strategy (category) and who acts, with the
    follow-through figures; None when there are none."""
    items = await store.list_plan_items(tambon.id)
    if not items:
        return None
    groups = {g.id: g for g in await store.list_groups(tambon.id)}
    resources = {r.id: r.name for r in await store.list_resources(tambon.id)}
    direction = await store.get_direction(tambon.id, await this_plan_year(store, tambon.id))
    strategies = {s.id: s for s in (direction.strategies if direction else ())}
    first_report = await store.first_reports(tambon.id)
    rows: list[PlanRow] = []
    to_plan: list[float] = []
    to_done: list[float] = []
    verdicts: Counter[str] = Counter()
    for item in items:
        linked = [groups[g] for g in item.groups if g in groups]
        answers = await store.plan_verdicts(item.id, item.done_round)
        verdicts.update({v.value: n for v, n in answers.items()})
        rows.append(
            PlanRow(
                item=item,
                strategy=next((g.categories[0] for g in linked if g.categories), None),
                villages=tuple(sorted({v for g in linked for v in g.villages})),
                reporters=len(await store.plan_reporters(item.id)),
                verdicts={v.value: answers.get(v, 0) for v in Verdict},
                photos=await store.plan_verdict_photos(item.id, item.done_round),
                resource=resources.get(item.resource_id) if item.resource_id else None,
                strategy_position=(
                    strategies[item.strategy_id].position
                    if item.strategy_id in strategies
                    else None
                ),
                strategy_title=(
                    strategies[item.strategy_id].title if item.strategy_id in strategies else None
                ),
            )
        )
        updates = await store.plan_updates(item.id)
        planned = _first_at(updates, PLANNED)
        reported = [first_report[g] for g in item.groups if g in first_report]
        if planned is not None and reported:
            to_plan.append((planned - min(reported)).total_seconds() / 86400)
        done = _first_at(updates, {PlanStatus.DONE.value})
        if planned is not None and done is not None:
            to_done.append((done - planned).total_seconds() / 86400)
    # By the plan's strategies in their order when set, then by category and who acts.
    rows.sort(
        key=lambda r: (
            r.strategy_position or 999,
            r.strategy or "~",
            r.item.actor or "~",
            r.item.id,
        )
    )
    return PlanSection(
        rows=rows,
        by_status=dict(Counter(i.status.value for i in items)),
        days_to_plan=median(to_plan) if to_plan else None,
        days_to_done=median(to_done) if to_done else None,
        verdicts={v.value: verdicts.get(v.value, 0) for v in Verdict},
    )


# The statuses that mean an item is in the plan (the first of them dates its entry).
PLANNED = {s.value for s in PlanStatus} - {PlanStatus.PROPOSED.value, PlanStatus.DROPPED.value}


def _first_at(updates: Sequence[dict[str, Any]], statuses: set[str]) -> datetime | None:
    for update in updates:
        if update["status"] in statuses:
            return datetime.fromisoformat(update["at"])
    return None


def _most_first(counts: Mapping[Any, int]) -> list[tuple[Any, int]]:
    """Counts, most first; equal counts in their keys' order, so every reading agrees."""
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))


async def build_summary(
    store: Store, tambon: Tambon, rule: NeedRule | None = None
) -> TambonSummary:
    """Count a tambon's submissions (the store's aggregates: nothing is read row by row but
    the few needs the summary lists), its groups and latest poll, and set the villages' data
    beside them (``rule``: when the data shows a silent need)."""
    counted = await store.submission_counts(tambon.id, NEEDS_SHOWN)
    grouped = sum(counted.in_group.values())
    groups = await store.list_groups(tambon.id)
    # A group's reporters are its submissions plus the people who said "same problem".
    joined = sum(g.reporters for g in groups) - grouped
    category_others: Counter[str] = Counter(counted.category_relayed)
    for g in groups:
        category_others.update(
            {c: g.reporters - counted.in_group.get(g.id, 0) for c in g.categories}
        )
    per_category = Counter(counted.category_authors) + category_others
    villages = [v.moo for v in await store.list_villages(tambon.id)]
    latest = await latest_poll(store, tambon.id)
    results = None if latest is None else await count_ballots(store, latest)
    return TambonSummary(
        tambon=tambon,
        generated_at=datetime.now(UTC),
        submissions=counted.count,
        reporters=counted.authors + counted.relayed + joined,
        villages=villages,
        villages_heard=sorted(counted.by_village),
        first_at=counted.first_at,
        last_at=counted.last_at,
        by_category=_most_first(counted.by_category),
        reporters_by_category=_most_first(per_category),
        by_village=dict(sorted(counted.by_village.items())),
        village_category={
            v: dict(_most_first(c)) for v, c in sorted(counted.village_category.items())
        },
        kinds=dict(counted.kinds),
        groups=groups[:TOP_GROUPS],
        all_groups=groups,
        plan_year=await this_plan_year(store, tambon.id),
        needs_by_actor={a: list(n) for a, n in counted.needs_shown.items()},
        needs_count=dict(counted.needs_count),
        poll=results,
        data=await analyse(store, tambon, rule, groups, counted.origins),
    )
