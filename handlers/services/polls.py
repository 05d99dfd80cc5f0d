"""Counting a hearing's priority poll: approval or Borda, chat and paper ballots together.

- **approval** (choose up to k): each option a ballot picks gets one vote; the score is the
  number of votes.
- **borda** (rank your top k): on each ballot the first choice gets k points, the second k-1,
  ..., the k-th 1; the score is the sum of points, and ``votes`` counts the ballots that ranked
  the option at all.

Ranks are "competition" ranks: options with equal scores share a rank and the next rank skips
(1, 2, 2, 4). The count is a pure function of the stored ballots, so a recount always gives the
same result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from handlers.services import Refused, audit
from handlers.services.privacy import redact_numbers
from handlers.types import T
from storage.base import (
    Ballot,
    Member,
    PaperBallots,
    Poll,
    PollClosed,
    PollMethod,
    PollStatus,
    ProblemGroup,
    Store,
)


@dataclass
class OptionResult:
    position: int
    text: str
    votes: int = 0
    score: int = 0
    rank: int = 0
    chat_votes: int = 0
    paper_votes: int = 0
    by_village: dict[int, int] = field(default_factory=dict)  # chat votes by village
    group_id: int | None = None  # the problem group the option stands for, if any


@dataclass
class Results:
    poll: Poll
    options: list[OptionResult]  # in rank order
    chat_ballots: int
    paper_ballots: int

    @property
    def ballots(self) -> int:
        return self.chat_ballots + self.paper_ballots

    def as_json(self) -> dict[str, Any]:
        """The shape of ``tambon-bot poll results --json`` (DESIGN.md §4), plus the split."""
        return {
            "poll": self.poll.id,
            "method": self.poll.method.value,
            "options": [
                {
                    "text": o.text,
                    "votes": o.votes,
                    "score": o.score,
                    "rank": o.rank,
                    "chat_votes": o.chat_votes,
                    "paper_votes": o.paper_votes,
                    "group": o.group_id,
                }
                for o in self.options
            ],
            "ballots": self.ballots,
            "chat_ballots": self.chat_ballots,
            "paper_ballots": self.paper_ballots,
        }


def presence_code() -> str:
    """A fresh six-digit code for the hall's screen."""
    import secrets

    return "".join(secrets.choice("0123456789") for _ in range(6))


def valid_choices(poll: Poll, choices: Sequence[int]) -> bool:
    positions = {o.position for o in poll.options}
    return (
        0 < len(choices) <= poll.choose
        and len(set(choices)) == len(choices)
        and all(c in positions for c in choices)
    )


def points(method: PollMethod, choose: int, rank_index: int) -> int:
    """What one ballot gives the option it lists at ``rank_index`` (0 = first)."""
    return 1 if method is PollMethod.APPROVAL else choose - rank_index


def tally(poll: Poll, ballots: Iterable[Ballot], paper: Iterable[PaperBallots] = ()) -> Results:
    results = {
        o.position: OptionResult(o.position, o.text, group_id=o.group_id) for o in poll.options
    }
    chat = 0
    for ballot in ballots:
        chat += 1
        for index, position in enumerate(ballot.choices):
            option = results[position]
            option.votes += 1
            option.chat_votes += 1
            option.score += points(poll.method, poll.choose, index)
            if ballot.village_moo is not None:
                option.by_village[ballot.village_moo] = (
                    option.by_village.get(ballot.village_moo, 0) + 1
                )
    on_paper = 0
    for batch in paper:
        on_paper += batch.count
        for index, position in enumerate(batch.choices):
            option = results[position]
            option.votes += batch.count
            option.paper_votes += batch.count
            option.score += batch.count * points(poll.method, poll.choose, index)
    ordered = sorted(results.values(), key=lambda o: (-o.score, o.position))
    for option in ordered:
        option.rank = 1 + sum(1 for other in ordered if other.score > option.score)
    return Results(poll, ordered, chat, on_paper)


# Paper ballots entered at once: more than a tambon's hall holds is a typing slip.
MAX_PAPER_BALLOTS = 10_000


class BallotsRefused(Refused):
    """Ballots that do not fit the poll; ``reason`` says why, to the person who entered them."""


async def latest_poll(store: Store, tambon_id: int) -> Poll | None:
    """The tambon's newest poll that has been opened (open or closed; drafts are not shown)."""
    return next(
        (p for p in await store.list_polls(tambon_id) if p.status is not PollStatus.DRAFT), None
    )


async def running_poll(store: Store, tambon_id: int) -> Poll | None:
    """The tambon's poll that takes ballots now (at most one is open at a time)."""
    now = datetime.now(UTC)
    return next((p for p in await store.list_polls(tambon_id) if p.accepts_ballots(now)), None)


async def count_ballots(store: Store, poll: Poll) -> Results:
    """A poll's count from its stored ballots, chat and paper."""
    return tally(poll, await store.list_ballots(poll.id), await store.list_paper_ballots(poll.id))


async def record_paper_ballots(
    store: Store, poll: Poll, choices: Sequence[int], count: int, entered_by: str
) -> None:
    """``count`` paper ballots that read ``choices`` (in rank order), entered by ``entered_by``:
    the one way, from the chat's /paper and from ``tambon-bot poll paper`` alike."""
    if not 1 <= count <= MAX_PAPER_BALLOTS:
        raise BallotsRefused(
            T(
                "The number of paper ballots must be from 1 to {most} at a time.",
                most=MAX_PAPER_BALLOTS,
            )
        )
    if not valid_choices(poll, choices):
        raise BallotsRefused(
            T(
                "Those choices do not fit this poll: up to {k} different option numbers.",
                k=poll.choose,
            )
        )
    try:
        async with store.transaction():
            await store.add_paper_ballots(poll.id, list(choices), count, entered_by)
            await audit.record(
                store, poll.tambon_id, entered_by, audit.PAPER_BALLOTS, poll=poll.id, count=count
            )
    except PollClosed:
        # A closed poll's result is final: no ballot, chat or paper, counts after it; paper is
        # counted while the poll is open (close it once the hall's count is in).
        raise BallotsRefused(
            T(
                "Poll #{ref} is not open, so no paper ballots can be added: paper ballots are "
                "counted while the poll is open, and a closed poll's result is final.",
                ref=poll.id,
            )
        ) from None


OPTION_CHARS = 80  # a ballot option, as buttons and the report show it
TITLE_CHARS = 120


def options_from_groups(
    groups: Sequence[ProblemGroup], hidden: str
) -> list[tuple[str, int | None]]:
    """Problem groups as ballot options, each keeping its group's id. A group's title is a
    person's own words: the numbers they typed (phones, ID cards) are never offered on a
    ballot, ``hidden`` (rendered) stands in their place."""
    return [(redact_numbers(g.title, hidden)[:OPTION_CHARS], g.id) for g in groups]


async def create_poll(
    store: Store,
    tambon_id: int,
    title: str,
    method: PollMethod,
    choose: int,
    options: Sequence[tuple[str, int | None]],
    *,
    open_now: bool = False,
    presence: bool = False,
    by: str | None = None,
) -> Poll:
    """A new poll, in one transaction: the one way, from the chat's /newpoll and from
    ``tambon-bot poll create``. ``open_now`` opens it at once (PollConflict while another of
    the tambon's polls is open: then nothing is created); ``presence`` gives it a hall code.
    The callers check their input (two options or more, ``choose`` within them) and word
    their own answers; a poll that breaks these rules is a bug, refused here."""
    if len(options) < 2 or not 1 <= choose <= len(options):
        raise ValueError(f"a poll needs two options or more and 1 <= choose <= {len(options)}")
    async with store.transaction():
        poll = await store.create_poll(
            tambon_id,
            title[:TITLE_CHARS],
            method,
            choose,
            [(text[:OPTION_CHARS], group) for text, group in options],
        )
        if open_now:
            poll = await store.set_poll_status(poll.id, PollStatus.OPEN)
        if presence:
            poll = await store.set_presence_code(poll.id, presence_code())
        if by is not None:
            await audit.record(
                store, tambon_id, by, audit.POLL_CREATED, poll=poll.id, opened=open_now
            )
    return poll


class NotPresent(Exception):
    """A poll for the people in the hall, and this person has not said they are there."""


async def absent(store: Store, poll: Poll, member: Member) -> bool:
    """Whether a hall-only poll is waiting for this member to say they are in the hall."""
    return bool(poll.presence_code) and not await store.is_present(poll.id, member.id)


async def cast_ballot(
    store: Store,
    poll: Poll,
    member: Member,
    choices: Sequence[int],
    pressed_at: datetime | None = None,
) -> bool:
    """A member's ballot, cast or changed: one person, one ballot. True when it changed an
    earlier one. Raises NotPresent (a hall-only poll, and they have not typed its code),
    BallotsRefused (choices that do not fit), storage's PollClosed, or storage's LatePress
    (``pressed_at`` is older than the press the ballot holds: it stands)."""
    if await absent(store, poll, member):
        raise NotPresent()
    if not valid_choices(poll, choices):
        raise BallotsRefused(T("Please choose at least one problem before submitting."))
    _, changed = await store.cast_ballot(
        poll.id, member.id, member.pseudonym, member.village_moo, list(choices), pressed_at
    )
    return changed


async def mark_present(store: Store, poll: Poll, member: Member, code: str) -> bool:
    """The member typed (or scanned) the hall's code: counted present if it is this open
    poll's. False when it is not."""
    if poll.status is not PollStatus.OPEN or not poll.presence_code or code != poll.presence_code:
        return False
    await store.mark_present(poll.id, member.id)
    return True


async def open_poll(
    store: Store, poll: Poll, minutes: int | None = None, *, by: str | None = None
) -> Poll:
    """Open a poll for ballots, closing by itself after ``minutes`` when given. A tambon runs
    one poll at a time: PollConflict (with the open one's id) while another is open."""
    closes = datetime.now(UTC) + timedelta(minutes=minutes) if minutes else None
    async with store.transaction():
        opened = await store.set_poll_status(poll.id, PollStatus.OPEN, closes)
        if by is not None:
            await audit.record(store, poll.tambon_id, by, audit.POLL_OPENED, poll=poll.id)
    return opened


async def close_poll(store: Store, poll: Poll, *, by: str | None = None) -> Poll:
    """Close a poll: no more ballots (a ballot racing the close is refused); its count is
    final, paper ballots entered afterwards aside."""
    async with store.transaction():
        closed = await store.set_poll_status(poll.id, PollStatus.CLOSED)
        if by is not None:
            await audit.record(store, poll.tambon_id, by, audit.POLL_CLOSED, poll=poll.id)
    return closed


async def for_the_hall(store: Store, poll: Poll) -> Poll:
    """Limit a poll to the people in the hall: it gets a presence code (kept if it has one)
    that they type or scan before voting."""
    if poll.presence_code:
        return poll
    return await store.set_presence_code(poll.id, presence_code())
