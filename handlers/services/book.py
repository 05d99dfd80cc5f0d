"""The draft plan goes back to the people (the seed's step 4): the tambon's direction (step 2),
the public comment on the draft by chat, the tambon forum's approval, and amendments after it.

Telling people is recorded as plan notices (handlers/services/plan.py) in the transaction of
the change: everyone of the tambon when the draft opens for comment, the team when it closes;
``bot.pipeline`` renders them and paces them like every notice, and /quiet is respected there.
A notice about the whole draft is keyed to the draft's first item (one per person and round).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from handlers.services import Refused, audit
from handlers.services.plan import BANGKOK, this_plan_year, year_items
from handlers.services.polls import Results, count_ballots
from handlers.services.summary import CommentTally, PlanRow, TambonSummary, read_report, tally
from handlers.services.villages import NeedRule
from handlers.types import T, Tagger
from storage.base import (
    Amendment,
    Approval,
    CommentWindow,
    Direction,
    Member,
    PlanItem,
    PlanNotice,
    PlanPhase,
    PollStatus,
    Response,
    Role,
    Store,
    Strategy,
    Submission,
    Tambon,
    Village,
    VillageFacts,
)

MAX_TEXT_CHARS = 1000
MAX_STRATEGIES = 12
MAX_DAYS = 60
AGREE, DISAGREE = "agree", "disagree"
COMMENT_OPEN = "comment_open"  # the notice to everyone: the draft is open for comment
COMMENT_CLOSED = "comment_closed"  # the notice to the team: the comments are in
TEAM = (Role.TEAM, Role.ADMIN)


class BookRefused(Refused):
    """A step of the plan book that cannot be taken; ``reason`` says why."""


def _text(value: str | None) -> str | None:
    cleaned = " ".join((value or "").split())
    if len(cleaned) > MAX_TEXT_CHARS:
        raise BookRefused(T("Please keep it under {limit} characters.", limit=MAX_TEXT_CHARS))
    return cleaned or None


# -- the direction ------------------------------------------------------------------------


async def set_direction(
    store: Store,
    tambon: Tambon,
    *,
    by: str,
    identity: str | None = None,
    vision: str | None = None,
    mission: str | None = None,
    strategies: Sequence[str] | None = None,
) -> Direction:
    """Set the plan year's identity, vision, mission (those given) and strategies (when given,
    in order; a strategy retitled keeps its items)."""
    year = await this_plan_year(store, tambon.id)
    fields = {
        name: _text(value)
        for name, value in (("identity", identity), ("vision", vision), ("mission", mission))
        if value is not None
    }
    titles = None
    if strategies is not None:
        titles = [t for t in (_text(s) for s in strategies) if t]
        if len(titles) > MAX_STRATEGIES:
            raise BookRefused(T("A plan has at most {limit} strategies.", limit=MAX_STRATEGIES))
    async with store.transaction():
        direction = await store.set_direction(tambon.id, year, fields, titles)
        await audit.record(
            store,
            tambon.id,
            by,
            audit.PLAN_DIRECTION,
            year=year,
            fields=sorted(fields),
            strategies=len(direction.strategies),
        )
    return direction


async def set_strategy(
    store: Store, tambon: Tambon, item: PlanItem, position: int, *, by: str
) -> PlanItem:
    """Put a plan item under the plan year's strategy number ``position``."""
    direction = await store.get_direction(tambon.id, item.year_be)
    found = next(
        (s for s in (direction.strategies if direction else ()) if s.position == position), None
    )
    if found is None:
        raise BookRefused(
            T(
                "There is no strategy {ref} in the plan year's direction: set them with "
                "tambon-bot plan direction.",
                ref=position,
            )
        )
    async with store.transaction():
        updated = await store.update_plan_details(item.id, strategy_id=found.id)
        await audit.record(
            store, tambon.id, by, audit.PLAN_EDITED, item=item.id, fields=["strategy"]
        )
    return updated


# -- public comment -----------------------------------------------------------------------


async def draft_items(store: Store, tambon: Tambon) -> list[PlanItem]:
    """The plan year's items people comment on (not dropped), by strategy, then number."""
    year = await this_plan_year(store, tambon.id)
    direction = await store.get_direction(tambon.id, year)
    order = {s.id: s.position for s in (direction.strategies if direction else ())}
    items = await year_items(store, tambon.id, year)
    return sorted(items, key=lambda i: (order.get(i.strategy_id or 0, 999), i.id))


async def open_comment(
    store: Store, tambon: Tambon, days: int, *, by: str, now: datetime | None = None
) -> CommentWindow:
    """Open the draft for comment for ``days`` days and tell every member (through the
    outbox; those who asked for /quiet are not told)."""
    now = now or datetime.now(UTC)
    if not 1 <= days <= MAX_DAYS:
        raise BookRefused(T("Comments stay open from 1 to {limit} days.", limit=MAX_DAYS))
    items = await draft_items(store, tambon)
    if not items:
        raise BookRefused(
            T("The plan year has no items yet: add them first (tambon-bot plan add).")
        )
    year = await this_plan_year(store, tambon.id)
    people = [m for m in await store.list_members(tambon.id) if m.onboarded]
    async with store.transaction():
        window = await store.open_comment(tambon.id, year, now, now + timedelta(days=days))
        await store.add_plan_notices(
            [PlanNotice(items[0].id, m.id, COMMENT_OPEN, window.round) for m in people]
        )
        current = await store.current_plan_year(tambon.id)
        if current is not None and current.year_be == year:
            await store.set_plan_phase(tambon.id, year, PlanPhase.DRAFTING)
        await audit.record(
            store, tambon.id, by, audit.COMMENT_OPENED, year=year, days=days, told=len(people)
        )
    return window


async def close_comment(
    store: Store, tambon: Tambon, *, by: str, now: datetime | None = None
) -> CommentWindow:
    """Close the comments now (they close by themselves when their days are over: see
    :func:`close_due`); the team is told."""
    year = await this_plan_year(store, tambon.id)
    async with store.transaction():
        closed = await store.close_comment(tambon.id, year, now or datetime.now(UTC))
        if closed is None:
            raise BookRefused(T("The draft is not open for comment."))
        await _closed(store, tambon.id, closed, by)
    return closed


async def close_due(store: Store, now: datetime | None = None) -> int:
    """Close every window whose days are over, telling each tambon's team; how many."""
    now = now or datetime.now(UTC)
    closed = 0
    for window in await store.comment_windows_due(now):
        async with store.transaction():
            done = await store.close_comment(window.tambon_id, window.year_be, window.closes_at)
            if done is not None:
                await _closed(store, window.tambon_id, done, "system")
                closed += 1
    return closed


async def _closed(store: Store, tambon_id: int, window: CommentWindow, by: str) -> None:
    tambon = await store.get_tambon(tambon_id)
    assert tambon is not None
    items = await draft_items(store, tambon)
    team = [m for m in await store.list_members(tambon_id) if m.role in TEAM and m.onboarded]
    if items:
        await store.add_plan_notices(
            [PlanNotice(items[0].id, m.id, COMMENT_CLOSED, window.round) for m in team]
        )
    await audit.record(store, tambon_id, by, audit.COMMENT_CLOSED, year=window.year_be)


async def open_window(
    store: Store, tambon_id: int, now: datetime | None = None
) -> CommentWindow | None:
    """The window open now for the tambon's plan year, or None."""
    now = now or datetime.now(UTC)
    year = await this_plan_year(store, tambon_id)
    window = await store.get_comment_window(tambon_id, year)
    return window if window is not None and window.is_open(now) else None


async def _item_in_window(
    store: Store, member: Member, item_id: int, now: datetime | None
) -> PlanItem:
    if await open_window(store, member.tambon_id, now) is None:
        raise BookRefused(T("The draft plan is not open for comment now. Thank you!"))
    item = await store.get_plan_item(item_id)
    if item is None or item.tambon_id != member.tambon_id:
        raise BookRefused(T("There is no plan item {ref}.", ref=item_id))
    return item


async def respond(
    store: Store, member: Member, item_id: int, vote: str, now: datetime | None = None
) -> Response:
    """A person agrees or disagrees with an item of the draft (changeable while open)."""
    if vote not in (AGREE, DISAGREE):
        raise ValueError(vote)
    item = await _item_in_window(store, member, item_id, now)
    return await store.set_response(item.id, member.id, now or datetime.now(UTC), vote=vote)


async def comment(
    store: Store,
    member: Member,
    item_id: int,
    text: str,
    tagger: Tagger,
    now: datetime | None = None,
) -> Response:
    """A person's comment on an item of the draft, in their words, tagged like a submission
    (shown to others with phone and ID numbers hidden, as every word is)."""
    item = await _item_in_window(store, member, item_id, now)
    words = _text(text)
    if words is None:
        raise BookRefused(T("Please write your comment in a few words."))
    tags = tagger.tag(words)
    return await store.set_response(
        item.id,
        member.id,
        now or datetime.now(UTC),
        comment=words,
        categories=tuple(tags.categories or tags.guesses[:1]),
    )


# What people said of one project of the draft (the report's tally, with its comments).
ItemResult = CommentTally


async def results(store: Store, tambon: Tambon) -> list[ItemResult]:
    """Per item of the draft, by strategy: agree, disagree, and the comments (oldest first)."""
    return tally(await draft_items(store, tambon), await store.list_responses(tambon.id))


# -- approval -----------------------------------------------------------------------------


async def approve(
    store: Store,
    tambon: Tambon,
    *,
    decided_on: str,
    by: str,
    present: int | None = None,
    place: str | None = None,
    changes: str | None = None,
    poll_id: int | None = None,
) -> Approval:
    """Record the tambon forum's decision; the plan year moves to "approved" (changes to its
    items are amendments from then on). ``present`` not given: the members who said /here in
    a poll's hall on the forum's day (Thailand's), when any did. ``poll_id``: decided by a
    closed poll of those present whose first option is "approve" — it must have won, and its
    ballots count those present."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", decided_on):
        raise BookRefused(T("A date is written YYYY-MM-DD, for example 2027-02-15."))
    try:
        date.fromisoformat(decided_on)
    except ValueError:
        raise BookRefused(T("A date is written YYYY-MM-DD, for example 2027-02-15.")) from None
    if present is not None and present < 0:
        raise BookRefused(T("How many were present is a number, 0 or more."))
    year = await this_plan_year(store, tambon.id)
    noted = _text(changes)
    if poll_id is not None:
        present = await _decided_by_poll(store, tambon, poll_id, present)
    if present is None:
        day = datetime.combine(date.fromisoformat(decided_on), time(), tzinfo=BANGKOK)
        present = await store.count_present(tambon.id, day, day + timedelta(days=1)) or None
    async with store.transaction():
        approval = await store.record_approval(
            Approval(
                tambon.id,
                year,
                decided_on,
                "approved_with_changes" if noted else "approved",
                by,
                place=_text(place),
                present=present,
                changes=noted,
                poll_id=poll_id,
            )
        )
        window = await store.get_comment_window(tambon.id, year)
        if window is not None and window.closed_at is None:
            closed = await store.close_comment(tambon.id, year, datetime.now(UTC))
            if closed is not None:
                await _closed(store, tambon.id, closed, by)
        if await store.current_plan_year(tambon.id) is not None:
            await store.set_plan_phase(tambon.id, year, PlanPhase.APPROVED)
        await audit.record(
            store, tambon.id, by, audit.PLAN_APPROVED, year=year, result=approval.result
        )
    return approval


async def _decided_by_poll(
    store: Store, tambon: Tambon, poll_id: int, present: int | None
) -> int | None:
    """Check that a closed poll of the tambon approved the plan (its first option ahead of
    every other); how many were present (its ballots, unless counted otherwise)."""
    poll = await store.get_poll(poll_id)
    if poll is None or poll.tambon_id != tambon.id:
        raise BookRefused(T("There is no poll {ref} in this tambon.", ref=poll_id))
    if poll.status is not PollStatus.CLOSED:
        raise BookRefused(T("Close poll {ref} first: its count decides.", ref=poll_id))
    counted = await count_ballots(store, poll)
    votes = {o.position: o.votes for o in counted.options}
    if not counted.ballots or any(n >= votes.get(1, 0) for p, n in votes.items() if p != 1):
        raise BookRefused(
            T(
                "Poll {ref} did not approve the plan: its first option, to approve, must have "
                "more votes than every other.",
                ref=poll_id,
            )
        )
    return present if present is not None else counted.ballots


# -- the plan book ------------------------------------------------------------------------


@dataclass
class PlanBook:
    """Everything the plan book prints (bot/planbook.py): the tambon's summary and its
    submissions, the direction, the projects by strategy, the public comment, the approval."""

    summary: TambonSummary
    submissions: list[Submission]
    year: int
    direction: Direction | None
    # Each strategy (None: projects under no strategy) with its projects, in order.
    sections: list[tuple[Strategy | None, list[PlanRow]]]
    results: dict[int, ItemResult]
    window: CommentWindow | None
    approval: Approval | None
    amendments: list[Amendment]
    villages: list[Village]
    facts: dict[int, VillageFacts]
    approval_poll: Results | None = None  # the poll that decided the approval, counted


async def read_book(store: Store, tambon: Tambon, rule: NeedRule | None = None) -> PlanBook:
    summary, submissions = await read_report(store, tambon, rule)
    year = await this_plan_year(store, tambon.id)
    direction = await store.get_direction(tambon.id, year)
    approval = await store.get_approval(tambon.id, year)
    rows = [r for r in (summary.plan.rows if summary.plan else []) if r.item.year_be == year]
    sections: list[tuple[Strategy | None, list[PlanRow]]] = [
        (s, [r for r in rows if r.item.strategy_id == s.id])
        for s in (direction.strategies if direction else ())
    ]
    placed = {s.id for s in (direction.strategies if direction else ())}
    rest = [r for r in rows if r.item.strategy_id not in placed]
    if rest:
        sections.append((None, rest))
    return PlanBook(
        summary=summary,
        submissions=submissions,
        year=year,
        direction=direction,
        sections=[(s, found) for s, found in sections if found or s is not None],
        results={r.item.id: r for r in await results(store, tambon)},
        window=await store.get_comment_window(tambon.id, year),
        approval=approval,
        amendments=await store.list_amendments(tambon.id),
        villages=await store.list_villages(tambon.id),
        facts={f.moo: f for f in await store.list_village_facts(tambon.id)},
        approval_poll=await _approval_poll(store, approval),
    )


async def _approval_poll(store: Store, approval: Approval | None) -> Results | None:
    poll = await store.get_poll(approval.poll_id) if approval and approval.poll_id else None
    return await count_ballots(store, poll) if poll is not None else None
