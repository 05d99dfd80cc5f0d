"""The storage contract every backend implements.

All state of the bot lives behind :class:`Store`: tambons and their villages, join codes,
members, the conversation step each member is in, submissions and the corrections made to
their tags. Handlers never hold state in process memory, so a restart resumes every
conversation where it was.

Writes that belong together run inside ``async with store.transaction():``. Inside it every
store call made by the same task joins that transaction; outside it each call is atomic on its
own. A backend serialises transactions as it must (SQLite has one writer), so callers keep
them short and never wait on the network inside one.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol


class Role(enum.StrEnum):
    """What a member may do in their tambon."""

    VILLAGER = "villager"
    # SOCH.T (community organisations centre): may relay for villagers who do not chat
    MEMBER = "member"
    TEAM = "team"  # the tambon working team: summaries, reports, polls
    ADMIN = "admin"

    @property
    def can_relay(self) -> bool:
        return self is not Role.VILLAGER


class Kind(enum.StrEnum):
    PROBLEM = "problem"
    NEED = "need"
    IDEA = "idea"


class PlanStatus(enum.StrEnum):
    """Where a plan item stands (the seed's steps 3-5)."""

    PROPOSED = "proposed"
    IN_PLAN = "in_plan"
    SUBMITTED = "submitted"  # submitted for a budget
    FUNDED = "funded"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"


class PlanPhase(enum.StrEnum):
    """Where a tambon's plan year is, set by the team."""

    COLLECTING = "collecting"
    HEARING = "hearing"
    DRAFTING = "drafting"
    APPROVED = "approved"
    IMPLEMENTING = "implementing"
    EVALUATED = "evaluated"


@dataclass(frozen=True, slots=True)
class PlanYear:
    tambon_id: int
    year_be: int
    phase: PlanPhase
    started_at: datetime


class Verdict(enum.StrEnum):
    """A reporter's answer to "is it really done?"."""

    YES = "yes"
    PARTLY = "partly"
    NO = "no"


@dataclass(frozen=True, slots=True)
class Village:
    tambon_id: int
    moo: int  # village number (moo thi)
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Tambon:
    id: int
    code: str  # official 6-digit DOPA code
    name_th: str
    amphoe_th: str
    province_th: str
    name_en: str | None
    amphoe_en: str | None
    province_en: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Invite:
    code: str
    tambon_id: int
    role: Role
    created_at: datetime
    revoked: bool = False
    expires_at: datetime | None = None  # None: never (codes made before expiry existed)
    max_uses: int | None = None  # None: any number of people
    uses: int = 0  # people who joined with it and consented


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One team action: who did what, when (detail: ids and counts as JSON)."""

    id: int
    tambon_id: int
    at: datetime
    who: str
    action: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Attempts:
    """Wrong guesses of one kind by one person within a window, and a lockout if any."""

    kind: str
    who: str
    failures: int
    first_at: datetime
    locked_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    channel: str
    platform_user_id: str
    tambon_id: int
    role: Role
    village_moo: int | None
    locale: str | None
    consent_at: datetime | None
    pseudonym: str
    created_at: datetime
    unreachable_at: datetime | None = None
    removed_at: datetime | None = None  # removed by the team (a re-join clears it)
    quiet_at: datetime | None = None  # asked (/quiet) not to be told of plan changes
    menu: str | None = None  # the menu their chat app shows them: "team", or None (default)

    @property
    def onboarded(self) -> bool:
        return self.consent_at is not None


@dataclass(slots=True)
class Conversation:
    """Where a member is in a flow; ``step`` is empty when they are idle."""

    member_id: int
    step: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    # The choices shown last, as (payload, rendered label), so that a typed number or label
    # can be matched to a choice even after a restart.
    offered: list[tuple[str, str]] = field(default_factory=list)
    # As last read from or written to the store, so that an unchanged conversation is not
    # written back.
    stored: str | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class StoredAttachment:
    """A photo (by the platform's file id; never downloaded) or a shared location."""

    media: str  # "photo" or "location"
    file_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None


# The channel of submissions imported from the villages' own plans (``tambon-bot villages plans
# import``): no person's platform, the file's row is its source.
VILLAGE_PLAN = "village_plan"
ORIGINS = ("chat", "relay", VILLAGE_PLAN)


@dataclass(frozen=True, slots=True)
class NewSubmission:
    tambon_id: int
    text: str
    kind: Kind
    categories: Sequence[str]
    village_moo: int | None
    author_id: int | None
    relayed: bool
    channel: str
    source_id: str | None  # the platform's message id, unique per channel
    attachments: Sequence[StoredAttachment] = ()
    group_id: int | None = None
    actor: str | None = None  # community / joint / external


class PrintedSubmission(NamedTuple):
    """What a report prints of a submission (its appendix): the fields of :class:`Submission`
    of the same names, read without the rest for a big tambon."""

    id: int
    created_at: datetime
    village_moo: int | None
    kind: Kind
    categories: tuple[str, ...]
    text: str


@dataclass(frozen=True, slots=True)
class Submission:
    id: int
    tambon_id: int
    text: str
    kind: Kind
    categories: tuple[str, ...]
    village_moo: int | None
    author_id: int | None
    relayed: bool
    channel: str
    source_id: str | None
    created_at: datetime
    attachments: tuple[StoredAttachment, ...] = ()
    group_id: int | None = None
    actor: str | None = None
    # Hidden by the team (and why): kept, shown to its author marked, left out of everything else.
    hidden_at: datetime | None = None
    hidden_reason: str | None = None
    reviewed_at: datetime | None = None  # the team looked at it (the workbench)

    @property
    def origin(self) -> str:
        """Where it came from: ``village_plan`` (a row of a village's own plan, imported),
        ``relay`` (an organisation member filed it for someone) or ``chat``."""
        if self.channel == VILLAGE_PLAN:
            return VILLAGE_PLAN
        return "relay" if self.relayed else "chat"


@dataclass(frozen=True, slots=True)
class SubmissionCounts:
    """What a tambon's summary counts of its submissions shown in reports, computed by the
    store (SQL ``GROUP BY``), so that a summary does not read every row."""

    count: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    kinds: Mapping[str, int] = field(default_factory=dict)
    by_category: Mapping[str, int] = field(default_factory=dict)
    by_village: Mapping[int, int] = field(default_factory=dict)
    village_category: Mapping[int, Mapping[str, int]] = field(default_factory=dict)
    authors: int = 0  # distinct members who filed for themselves
    relayed: int = 0  # submissions relayed for someone, or with no author
    category_authors: Mapping[str, int] = field(default_factory=dict)  # distinct, per category
    category_relayed: Mapping[str, int] = field(default_factory=dict)
    in_group: Mapping[int, int] = field(default_factory=dict)  # submissions per problem group
    needs_count: Mapping[str, int] = field(default_factory=dict)  # needs, by who can act
    needs_shown: Mapping[str, Sequence[Submission]] = field(default_factory=dict)  # the first few
    # The same reports by origin (as VillageStore.origin_counts counts them), for the villages'
    # data beside the voices: counted in the same pass.
    origins: OriginCounts = field(default_factory=lambda: OriginCounts())


@dataclass(frozen=True, slots=True)
class Strategy:
    """One of a plan year's development strategies, in the order the team set them."""

    id: int
    tambon_id: int
    year_be: int
    position: int
    title: str


@dataclass(frozen=True, slots=True)
class Direction:
    """The tambon's identity, vision, mission and strategies for a plan year (seed step 2)."""

    tambon_id: int
    year_be: int
    identity: str | None = None
    vision: str | None = None
    mission: str | None = None
    strategies: tuple[Strategy, ...] = ()


@dataclass(frozen=True, slots=True)
class CommentWindow:
    """The draft plan open for public comment, from ``opened_at`` until ``closes_at`` (or
    until the team closed it earlier)."""

    tambon_id: int
    year_be: int
    round: int
    opened_at: datetime
    closes_at: datetime
    closed_at: datetime | None = None

    def is_open(self, now: datetime) -> bool:
        return self.closed_at is None and now < self.closes_at


@dataclass(frozen=True, slots=True)
class Response:
    """One person's say on one item of the draft."""

    item_id: int
    member_id: int
    vote: str | None  # agree, disagree
    comment: str | None
    categories: tuple[str, ...]
    at: datetime


@dataclass(frozen=True, slots=True)
class Approval:
    """The tambon forum's decision on a plan year's plan."""

    tambon_id: int
    year_be: int
    decided_on: str  # YYYY-MM-DD
    result: str  # approved, approved_with_changes
    recorded_by: str
    place: str | None = None
    present: int | None = None
    changes: str | None = None
    recorded_at: datetime | None = None
    poll_id: int | None = None  # decided by this poll of those present


@dataclass(frozen=True, slots=True)
class Amendment:
    """A change made to an item of an approved plan."""

    id: int
    item_id: int
    at: datetime
    reason: str
    who: str


@dataclass(frozen=True, slots=True)
class VillageFacts:
    """A village's households and population (the village survey's first figures)."""

    tambon_id: int
    moo: int
    households: int
    population: int
    women: int | None = None
    men: int | None = None


@dataclass(frozen=True, slots=True)
class IndicatorResult:
    """One household-survey indicator in one village and year: households surveyed, and how
    many of them were below the standard. Counts for the whole village, never a household."""

    tambon_id: int
    moo: int
    year_be: int
    indicator: str  # the shipped list's code ("jpt-9"), or the name the file gave
    name: str
    category: str | None  # ours; None when neither the list nor the file maps it
    surveyed: int
    below: int


@dataclass(frozen=True, slots=True)
class VillagePlanRow:
    """What a village's own plan said of a row imported as a submission."""

    submission_id: int
    priority: int | None = None  # the village's own order, 1 first
    budget: int | None = None  # baht, the village's estimate
    source: str | None = None  # who could fund it, as the village wrote it


class ResourceKind(enum.StrEnum):
    FUND = "fund"  # village fund, savings groups
    GROUP = "group"  # groups and networks
    EXPERT = "expert"  # local experts, the village sages
    PRODUCT = "product"
    FACILITY = "facility"


@dataclass(frozen=True, slots=True)
class Resource:
    """Part of the community's potential: who or what the plan can draw on."""

    id: int
    tambon_id: int
    moo: int  # 0: the whole tambon
    kind: ResourceKind
    name: str
    contact_role: str | None = None  # a role ("chair of the savings group"), never a phone
    details: str | None = None


@dataclass(frozen=True, slots=True)
class OriginCounts:
    """Reports counted by where they came from (``ORIGINS``), computed by the store: per
    village and category, and per problem group (its "same problem" reporters included)."""

    village_category: Mapping[tuple[int, str], Mapping[str, int]] = field(default_factory=dict)
    groups: Mapping[int, Mapping[str, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProblemGroup:
    """Near-duplicate submissions gathered into one problem, with who reported it."""

    id: int
    tambon_id: int
    title: str  # the first report's text, as an example
    keywords: tuple[str, ...]  # what the reports share; shown to explain the grouping
    categories: tuple[str, ...]
    village_moo: int | None
    reporters: int  # submissions plus people who said "same problem"
    villages: tuple[int, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Correction:
    submission_id: int
    member_id: int | None
    source: str  # "sender" when fixed before filing, "team" when fixed afterwards
    old_categories: Sequence[str]
    new_categories: Sequence[str]
    old_kind: Kind
    new_kind: Kind
    old_village: int | None
    new_village: int | None
    corrected_by: str | None = None  # "team P-7F3A" from chat, a name from the command line


class PollStatus(enum.StrEnum):
    """A poll's life: drafted, open for ballots, closed (its count final)."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class PollMethod(enum.StrEnum):
    APPROVAL = "approval"  # pick up to k options; each pick is one vote
    BORDA = "borda"  # rank your top k; first gets k points, the k-th gets 1


@dataclass(frozen=True, slots=True)
class PollOption:
    position: int  # 1-based, as shown on the ballot
    text: str
    group_id: int | None = None


@dataclass(frozen=True, slots=True)
class Poll:
    id: int
    tambon_id: int
    title: str
    method: PollMethod
    choose: int
    status: PollStatus
    options: tuple[PollOption, ...]
    created_at: datetime
    opened_at: datetime | None = None
    closes_at: datetime | None = None
    closed_at: datetime | None = None
    presence_code: str | None = None  # set: only people who sent this code may vote

    def accepts_ballots(self, now: datetime) -> bool:
        return self.status is PollStatus.OPEN and (self.closes_at is None or now < self.closes_at)


@dataclass(frozen=True, slots=True)
class Ballot:
    id: int
    poll_id: int
    member_id: int
    village_moo: int | None
    choices: tuple[int, ...]  # option positions in rank order
    cast_at: datetime
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class PaperBallots:
    """``count`` paper ballots that all read ``choices``, entered by the team."""

    choices: tuple[int, ...]
    count: int
    entered_by: str
    entered_at: datetime


@dataclass(frozen=True, slots=True)
class ReportLink:
    """A link to a tambon's live report, made for a team member; valid until ``expires_at``."""

    tambon_id: int
    member_id: int | None
    locale: str
    created_at: datetime
    expires_at: datetime
    id: int | None = None  # given by the store
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WebSession:
    """A team member signed in to the workbench; the cookie's token is kept only as a hash."""

    id: int
    member_id: int
    tambon_id: int
    csrf: str  # the token every form of this session carries
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime  # the absolute end; the idle end is last_seen_at + the idle setting
    ended_at: datetime | None = None
    agent: str = ""  # the browser, as it named itself (shortened), to tell sessions apart


class PollClosed(Exception):
    """The poll does not accept ballots (not opened yet, or closed)."""


class LatePress(Exception):
    """A press older than the one the person's ballot already holds (two presses delivered
    out of order): the ballot stands as it is."""

    def __init__(self, standing: Ballot) -> None:
        super().__init__(standing.id)
        self.standing = standing


class PollConflict(Exception):
    """Another poll of the tambon is open: a tambon runs one poll at a time."""

    def __init__(self, open_poll: int) -> None:
        super().__init__(open_poll)
        self.open_poll = open_poll


class DuplicateTambon(Exception):
    """A tambon with this code is already registered."""


class ConstraintError(Exception):
    """The database refused a write that breaks a rule of the schema (a missing tambon, a
    duplicate key): the same exception from every backend."""


@dataclass(frozen=True, slots=True)
class InboxItem:
    """A platform update as received: its redelivery key, whose it is, and its JSON."""

    key: str
    sender: str
    payload: str


@dataclass(frozen=True, slots=True)
class InboxEvent:
    seq: int
    channel: str
    key: str
    sender: str
    payload: str
    attempts: int
    next_at: datetime | None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    channel: str
    key: str
    sender: str
    payload: str
    received_at: datetime
    failed_at: datetime
    attempts: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    channel: str
    recipient: str
    payload: str
    created_at: datetime
    attempts: int


@dataclass(frozen=True, slots=True)
class PlanItem:
    """An item (project) of a tambon's plan, made from problem groups."""

    id: int
    tambon_id: int
    year_be: int
    title: str
    status: PlanStatus
    progress: int  # percent
    done_round: int  # how many times it was marked done (a reopened item is done again later)
    created_at: datetime
    updated_at: datetime
    objective: str | None = None
    indicator: str | None = None  # how success is measured (the plan form's KPI column)
    result: str | None = None  # the expected result
    actor: str | None = None  # community, joint or external
    source: str | None = None  # the budget source or agency named
    budget: int | None = None  # baht
    responsible: str | None = None
    due: str | None = None  # YYYY-MM-DD
    groups: tuple[int, ...] = ()
    carried: int = 0  # how many years it was carried over unmet
    resource_id: int | None = None  # one of the tambon's resources named as a source
    strategy_id: int | None = None  # the plan year's strategy it belongs to


# A plan item's details, as a spreadsheet names them (the fields besides its status).
PLAN_DETAILS = (
    "title",
    "objective",
    "indicator",
    "result",
    "actor",
    "source",
    "budget",
    "responsible",
    "due",
)


@dataclass(frozen=True, slots=True)
class PlanNotice:
    """One person to be told of one change of a plan item."""

    item_id: int
    member_id: int
    event: str
    round: int


class DeliveryStore(Protocol):
    """The durable path: the redelivery ledger, the inbox and the outbox (bot/pipeline.py)."""

    # Updates: a redelivered platform update is recognised by its key.
    async def claim_update(self, channel: str, key: str) -> bool:
        """Record an incoming update; False when it was seen before."""
        ...

    # Inbox: platform updates kept before the platform is told they arrived (see bot.pipeline).
    async def inbox_add(self, channel: str, items: Sequence[InboxItem]) -> list[InboxItem]:
        """Keep the events not seen before (neither waiting nor in the ledger); returns them."""
        ...

    async def inbox_pending(self, channel: str) -> list[tuple[str, str]]:
        """(key, payload) of the events not yet handled, oldest first."""
        ...

    async def inbox_senders(self, now: datetime) -> list[tuple[str, str]]:
        """(channel, sender) of everyone with an event due to be handled."""
        ...

    async def inbox_take(self, channel: str, sender: str, now: datetime) -> InboxEvent | None:
        """Mark done and return this sender's oldest waiting event if it is due (None
        otherwise), with the sender locked for the transaction: the caller handles it in the
        same transaction, and a rollback takes the mark back. A done event stays as its
        redelivery key until pruned."""
        ...

    async def inbox_failed(
        self, channel: str, key: str, error: str, retry_at: datetime, max_attempts: int
    ) -> bool:
        """Count a failed attempt; after ``max_attempts`` the event moves to the dead letters
        (True). Otherwise it is tried again from ``retry_at``."""
        ...

    async def dead_letter_add(self, channel: str, item: InboxItem, error: str) -> bool:
        """Keep an update that cannot be read straight in the dead letters, its key in the
        ledger (a redelivery is recognised); False when the key was there already."""
        ...

    async def dead_letters(self, channel: str | None = None) -> list[DeadLetter]: ...

    # Pushes per month (LINE's monthly quota).
    async def count_push(self, channel: str, month: str, n: int = 1) -> int:
        """``n`` more messages pushed on ``channel`` in ``month`` (YYYY-MM): one push, or a
        multicast to ``n`` people (each counts); the month's count."""
        ...

    async def push_counts(self, month: str) -> dict[str, int]:
        """Pushes sent in ``month``, per channel."""
        ...

    # Outbox: replies written with the effects that produced them, delivered in order.
    async def outbox_add(
        self,
        messages: Sequence[tuple[str, str, str]],
        *,
        lease_until: datetime | None = None,
    ) -> list[OutboxMessage]:
        """Queue (channel, recipient, JSON payload) messages, in this order. With
        ``lease_until``, messages to one recipient with nothing else pending are leased to the
        caller and returned (it sends them without claiming); otherwise none are returned."""
        ...

    async def outbox_recipients(self, now: datetime) -> list[tuple[str, str]]:
        """(channel, recipient) of everyone with a message due."""
        ...

    async def outbox_claim(
        self, channel: str, recipient: str, now: datetime, lease: timedelta, limit: int = 20
    ) -> list[OutboxMessage]:
        """The recipient's first pending messages (up to ``limit``), in order, leased until
        ``now + lease``; none while one of theirs is leased elsewhere or waits for a retry,
        so that each person's messages go out one after the other."""
        ...

    async def outbox_release(self, message_ids: Sequence[int]) -> None:
        """Give back claimed messages that were not tried (one before them failed)."""
        ...

    async def outbox_settle(
        self, message_ids: Sequence[int], state: str, error: str | None = None
    ) -> None:
        """Mark messages sent, failed (refused for good) or dropped, in one write."""
        ...

    async def outbox_retry(self, message_id: int, error: str, retry_at: datetime) -> None: ...
    async def outbox_hold(self, message_id: int, reason: str, until: datetime) -> None:
        """Set a message aside until ``until`` (the platform's allowance for the month is
        spent): it no longer keeps the recipient's later messages waiting."""
        ...

    async def outbox_unhold(self, now: datetime) -> int:
        """Put back in line the messages held until ``now`` or before (their day of retries
        counts from then); returns how many."""
        ...

    async def outbox_drop(self, channel: str, recipient: str, reason: str) -> int:
        """Drop every pending message to someone who cannot be reached; returns how many."""
        ...

    async def outbox_release_leases(self) -> None:
        """Forget every lease (a store only this process uses, after a crash)."""
        ...

    async def outbox_counts(self) -> dict[str, int]:
        """How many messages are in each state."""
        ...

    async def prune_delivery(self, before: datetime, words_before: datetime | None = None) -> int:
        """Forget ledger keys and settled messages older than ``before``; take the words out
        of handled updates and settled messages older than ``words_before``. Returns how many
        rows went."""
        ...

    async def prune_attempts(self, before: datetime) -> int:
        """Forget counts of use and of guesses whose window began and whose pause ended
        before ``before``; returns how many."""
        ...


class TambonStore(Protocol):
    """Tambons, their villages and their join codes."""

    # Tambons and villages
    async def create_tambon(
        self,
        code: str,
        name_th: str,
        amphoe_th: str,
        province_th: str,
        villages: Sequence[tuple[int, str | None]],
        name_en: str | None = None,
        amphoe_en: str | None = None,
        province_en: str | None = None,
    ) -> Tambon: ...
    async def get_tambon(self, tambon_id: int) -> Tambon | None: ...
    async def get_tambon_by_code(self, code: str) -> Tambon | None: ...
    async def list_tambons(self) -> list[Tambon]: ...
    async def list_villages(self, tambon_id: int) -> list[Village]: ...

    # Join codes
    async def create_invite(
        self,
        tambon_id: int,
        role: Role,
        code: str,
        expires_at: datetime | None = None,
        max_uses: int | None = None,
    ) -> Invite: ...
    async def use_invite(self, code: str, now: datetime) -> bool:
        """Count one use of a code, if it is still usable at ``now`` (not revoked, not expired,
        not used up), in one statement; False when it is not."""
        ...

    async def revoke_invite(self, code: str) -> bool:
        """Revoke a code; False when there is no such code or it was revoked already."""
        ...

    async def get_invite(self, code: str) -> Invite | None: ...
    async def list_invites(self, tambon_id: int) -> list[Invite]: ...


class MemberStore(Protocol):
    """Members and their conversations."""

    # Members
    async def get_member(self, channel: str, platform_user_id: str) -> Member | None: ...
    async def get_member_and_conversation(
        self, channel: str, platform_user_id: str
    ) -> tuple[Member | None, Conversation | None]:
        """A member and their conversation in one read (None, None for a stranger)."""
        ...

    async def get_member_by_id(self, member_id: int) -> Member | None: ...
    async def get_members_by_ids(self, member_ids: Iterable[int]) -> dict[int, Member]:
        """The members of ``member_ids`` that exist, by id (one read for many)."""
        ...

    async def get_members_on(self, channel: str, user_ids: Iterable[str]) -> dict[str, Member]:
        """The members of ``channel`` with these platform user ids that exist, by user id."""
        ...

    async def add_audit(
        self, tambon_id: int, who: str, action: str, detail: Mapping[str, Any]
    ) -> None: ...
    async def list_audit(self, tambon_id: int) -> list[AuditEntry]:
        """A tambon's audit trail, oldest first."""
        ...

    async def get_attempts(self, kind: str, who: str) -> Attempts | None: ...
    async def save_attempts(self, attempts: Attempts) -> None: ...
    async def clear_attempts(self, kind: str, who: str) -> None: ...
    async def list_members(self, tambon_id: int) -> list[Member]:
        """The tambon's members (not those removed), by village (none last), then role, then
        joining order."""
        ...

    async def list_members_with_menu(self, channel: str, menu: str) -> list[Member]:
        """Every member on ``channel`` whose chat app was told to show them ``menu``."""
        ...

    async def upsert_member(
        self, channel: str, platform_user_id: str, tambon_id: int, role: Role, locale: str | None
    ) -> Member:
        """Join (or re-join) a tambon; consent and village are asked again."""
        ...

    async def update_member(self, member_id: int, **fields: Any) -> Member: ...
    async def forget_member(
        self, member_id: int, *, counts_of: str | None = None, keep_counts: Sequence[str] = ()
    ) -> int:
        """Delete a member, their conversation and their own submissions, and what the
        platforms brought and took for them: their settled or held replies and their dead
        letters; the words of every handled update and settled reply, theirs or anybody's
        (the keys stay, to recognise a redelivery), since another person's may quote them;
        other people's dead letters that quote their submissions lose their words; and the
        counts of use kept for ``counts_of`` (limits), but those of ``keep_counts`` kinds (a
        count of wrong guesses, which runs out by itself). Returns how many submissions
        went."""
        ...

    # Conversations
    async def get_conversation(self, member_id: int) -> Conversation: ...
    async def save_conversation(self, conversation: Conversation) -> None: ...


class SubmissionStore(Protocol):
    """Submissions, their corrections, and the problem groups they form."""

    # Submissions
    async def add_submission(self, new: NewSubmission) -> tuple[Submission, bool]:
        """Store a submission; returns it and False when its source_id was stored before."""
        ...

    async def withdraw_submission(
        self, channel: str, source_id: str, author_id: int
    ) -> int | None:
        """Delete the author's submission filed from this platform message (they took the
        message back); returns its id, or None when there is none."""
        ...

    async def get_submission(self, submission_id: int) -> Submission | None: ...
    async def list_submissions(
        self, tambon_id: int, *, author_id: int | None = None, limit: int | None = None
    ) -> list[Submission]:
        """A tambon's (or one author's) submissions, newest first, hidden ones included."""
        ...

    def iter_submissions(self, tambon_id: int) -> AsyncIterator[Submission]:
        """Every submission of a tambon the team has not hidden, oldest first."""
        ...

    async def find_submissions(
        self,
        tambon_id: int,
        *,
        village: int | None = None,
        category: str | None = None,
        kind: str | None = None,
        hidden: bool | None = None,
        text: str | None = None,
        before_id: int | None = None,
        limit: int = 50,
        reviewed: bool | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Submission]:
        """A page of a tambon's submissions, newest first, those before ``before_id`` (the
        last of the previous page): in ``village``, with ``category``, of ``kind``, hidden or
        not (None: both), reviewed or not, holding ``text`` (as typed: Thai has no spaces to
        split on), filed at ``since`` or later and before ``until``."""
        ...

    async def mark_reviewed(self, tambon_id: int, ids: Sequence[int], at: datetime) -> int:
        """Mark the tambon's submissions ``ids`` reviewed (those of another tambon, or
        reviewed already, are left as they are); how many were marked."""
        ...

    async def count_unreviewed(self, tambon_id: int) -> int:
        """The tambon's submissions shown in reports that nobody on the team has reviewed."""
        ...

    async def count_hidden(self, tambon_id: int) -> int:
        """The tambon's submissions the team has hidden from reports."""
        ...

    async def all_submissions(self, tambon_id: int) -> list[Submission]:
        """Every submission of a tambon not hidden, oldest first (committed ones), for
        reports."""
        ...

    async def printed_submissions(self, tambon_id: int) -> list[PrintedSubmission]:
        """What a report prints of every submission of a tambon not hidden, oldest first
        (committed ones): cheaper to read than :meth:`all_submissions` for a big tambon."""
        ...

    async def first_reports(self, tambon_id: int) -> dict[int, datetime]:
        """When each problem group of a tambon was first reported (its oldest submission not
        hidden)."""
        ...

    async def submission_counts(self, tambon_id: int, needs_shown: int) -> SubmissionCounts:
        """The summary's counts of a tambon's submissions not hidden, and the first
        ``needs_shown`` needs (not problems) for each who-can-act, oldest first."""
        ...

    async def count_submissions(self, tambon_id: int) -> int:
        """How many submissions of a tambon are not hidden."""
        ...

    async def set_hidden(self, submission_id: int, reason: str | None) -> bool:
        """Hide a submission with a reason (``None``: show it again); its problem group's
        title and counts follow. False when it already was in that state."""
        ...

    async def add_correction(self, correction: Correction) -> None: ...
    async def update_submission_tags(
        self,
        submission_id: int,
        categories: Sequence[str],
        kind: Kind,
        village_moo: int | None,
        actor: str | None,
    ) -> Submission:
        """Replace a submission's tags (a team correction); its text never changes."""
        ...

    # Problem groups
    async def create_group(
        self,
        tambon_id: int,
        title: str,
        keywords: Sequence[str],
        categories: Sequence[str],
        village_moo: int | None,
    ) -> int: ...
    async def list_groups(self, tambon_id: int) -> list[ProblemGroup]:
        """A tambon's groups with their counts, most reporters first."""
        ...

    async def get_group(self, group_id: int) -> ProblemGroup | None: ...
    async def rename_group(self, group_id: int, title: str) -> None: ...
    async def set_submission_group(self, submission_id: int, group_id: int) -> None: ...
    async def merge_groups(self, keep_id: int, gone_id: int) -> None:
        """Fold group ``gone_id`` into ``keep_id`` (the caller's transaction): its reports,
        its people who said "same problem" (each once), its poll options and plan items
        follow; their words and categories are joined; ``gone_id`` is no more."""
        ...

    async def add_group_reporter(
        self, group_id: int, member_id: int | None, village_moo: int | None, relayed: bool
    ) -> bool:
        """Count one more reporter; False when this member had already said "same problem"."""
        ...

    async def list_corrections(self, submission_id: int | None = None) -> list[Correction]: ...


class PollStore(Protocol):
    """Polls, ballots (chat and paper) and presence in the hall."""

    # Polls
    async def create_poll(
        self,
        tambon_id: int,
        title: str,
        method: PollMethod,
        choose: int,
        options: Sequence[tuple[str, int | None]],
    ) -> Poll: ...
    async def get_poll(self, poll_id: int) -> Poll | None: ...
    async def list_polls(self, tambon_id: int) -> list[Poll]: ...
    async def set_poll_status(
        self, poll_id: int, status: PollStatus, closes_at: datetime | None = None
    ) -> Poll: ...
    async def cast_ballot(
        self,
        poll_id: int,
        member_id: int,
        pseudonym: str,
        village_moo: int | None,
        choices: Sequence[int],
        pressed_at: datetime | None = None,
    ) -> tuple[Ballot, bool]:
        """Record or replace a member's ballot, and log it; raises PollClosed.

        Returns the ballot and True when it replaced an earlier one. ``pressed_at``: when the
        person pressed, as the platform says; raises LatePress (nothing written) when the
        ballot holds a later press."""
        ...

    async def set_presence_code(self, poll_id: int, code: str | None) -> Poll: ...
    async def mark_present(self, poll_id: int, member_id: int) -> None: ...
    async def is_present(self, poll_id: int, member_id: int) -> bool: ...
    async def get_ballot(self, poll_id: int, member_id: int) -> Ballot | None: ...
    async def list_ballots(self, poll_id: int) -> list[Ballot]: ...
    async def list_member_ballots(self, member_id: int) -> list[Ballot]:
        """A person's own ballots, in every poll (for /mydata)."""
        ...

    async def add_paper_ballots(  # PollClosed unless the poll is open
        self, poll_id: int, choices: Sequence[int], count: int, entered_by: str
    ) -> None: ...
    async def list_paper_ballots(self, poll_id: int) -> list[PaperBallots]: ...
    async def ballot_log(self, poll_id: int) -> list[dict[str, Any]]:
        """Every cast and change, oldest first, with the voter's pseudonym only."""
        ...


class ReportStore(Protocol):
    """What a member's last summary showed, and report links."""

    # Reports: what a member's last summary showed; links to the live report.
    async def get_summary_view(self, member_id: int) -> tuple[datetime, dict[str, Any]] | None: ...
    async def save_summary_view(self, member_id: int, snapshot: dict[str, Any]) -> None: ...
    async def create_report_link(self, token_hash: str, link: ReportLink) -> None: ...
    async def get_report_link(self, token_hash: str) -> ReportLink | None: ...
    async def get_report_link_by_id(self, link_id: int) -> ReportLink | None: ...
    async def list_report_links(self, tambon_id: int, now: datetime) -> list[ReportLink]:
        """A tambon's links that still open (not expired, not revoked), newest first."""
        ...

    async def revoke_report_links(
        self,
        tambon_id: int,
        now: datetime,
        *,
        link_id: int | None = None,
        member_id: int | None = None,
    ) -> list[ReportLink]:
        """End the tambon's live links: the one ``link_id``, or every one ``member_id`` made;
        returns those ended."""
        ...

    async def mark_report_opened(self, link_id: int, now: datetime, since: datetime) -> bool:
        """Note that a link was opened now, unless it was noted after ``since``: True when this
        opening should be recorded (once a minute a link, however often it is fetched)."""
        ...


class PlanStore(Protocol):
    """Plan items, their changes, who is told of them, and the reporters' verdicts."""

    async def add_plan_item(self, item: PlanItem) -> PlanItem:
        """Store a new item (its id and times are set here) with its groups."""
        ...

    async def get_plan_item(self, item_id: int) -> PlanItem | None: ...
    async def list_plan_items(self, tambon_id: int) -> list[PlanItem]: ...
    async def update_plan_item(
        self, item_id: int, status: PlanStatus, progress: int, done_round: int
    ) -> PlanItem: ...
    async def update_plan_details(self, item_id: int, **details: Any) -> PlanItem:
        """Change an item's title, objective, indicator, result, actor, source, budget,
        responsible or due date."""
        ...

    async def add_plan_update(
        self, item_id: int, status: PlanStatus, progress: int, note: str | None, who: str
    ) -> None: ...
    async def plan_updates(self, item_id: int) -> list[dict[str, Any]]: ...
    async def list_member_co_reports(self, member_id: int) -> list[tuple[int, datetime]]:
        """The problem groups a person said were their problem too ("the same problem"), not
        through a submission of their own, with when: (group id, when)."""
        ...

    async def plan_reporters(self, item_id: int) -> list[Member]:
        """Members who reported a problem of the item's groups (a submission not hidden, or
        "same problem"), still members and not quiet (/quiet); each once."""
        ...

    async def add_plan_notices(self, notices: Sequence[PlanNotice]) -> int:
        """Record who is to be told; a notice recorded before is not again. How many are new."""
        ...

    async def plan_notices_waiting(self, channels: Sequence[str]) -> bool:
        """Whether any notice to a member on ``channels`` waits to be queued (a read, no lock)."""
        ...

    async def claim_plan_notices(self, limit: int, channels: Sequence[str]) -> list[PlanNotice]:
        """Mark up to ``limit`` waiting notices to members on ``channels`` queued and return
        them: call it in the
        transaction that writes them to the outbox, so that each is queued once, whichever
        process gets there first."""
        ...

    async def plan_notice_counts(self, item_id: int) -> dict[str, int]:
        """Per event, how many people were told (queued to the outbox)."""
        ...

    async def set_plan_verdict(
        self, item_id: int, member_id: int, round: int, verdict: Verdict
    ) -> None: ...
    async def plan_verdicts(self, item_id: int, round: int) -> dict[Verdict, int]: ...
    async def set_plan_verdict_photo(
        self, item_id: int, member_id: int, round: int, file_id: str
    ) -> bool:
        """Keep a photo with the member's answer; False when they have no answer to add it to."""
        ...

    async def plan_verdict_photos(self, item_id: int, round: int) -> int:
        """How many answers of the round came with a photo."""
        ...

    async def current_plan_year(self, tambon_id: int) -> PlanYear | None:
        """The tambon's latest plan year, if the team started one."""
        ...

    async def start_plan_year(self, tambon_id: int, year_be: int) -> PlanYear: ...
    async def set_plan_phase(self, tambon_id: int, year_be: int, phase: PlanPhase) -> PlanYear: ...
    async def carry_plan_items(self, tambon_id: int, to_year: int) -> int:
        """Move the items of earlier years not done nor dropped into ``to_year``, marked carried
        (once more); how many."""
        ...

    async def items_of_groups(self, group_ids: Sequence[int]) -> dict[int, list[PlanItem]]:
        """The plan items each group is linked to."""
        ...


class WebStore(Protocol):
    """The workbench's sign-in links and sessions (tokens kept as hashes)."""

    async def add_web_link(
        self, token_hash: str, member_id: int, tambon_id: int, now: datetime, expires: datetime
    ) -> None: ...
    async def use_web_link(self, token_hash: str, now: datetime) -> tuple[int, int] | None:
        """Mark a link used, once, if it has not expired: its member and tambon; else None."""
        ...

    async def add_web_session(
        self,
        token_hash: str,
        csrf: str,
        member_id: int,
        tambon_id: int,
        now: datetime,
        expires: datetime,
        agent: str,
    ) -> WebSession: ...
    async def get_web_session(self, token_hash: str) -> WebSession | None: ...
    async def touch_web_session(self, session_id: int, now: datetime) -> None: ...
    async def list_web_sessions(self, member_id: int) -> list[WebSession]:
        """A member's sessions not ended, newest first."""
        ...

    async def end_web_sessions(
        self, now: datetime, *, member_id: int, session_id: int | None = None
    ) -> int:
        """End the member's sessions (or the one ``session_id`` of theirs); how many."""
        ...


class VillageStore(Protocol):
    """The villages' data beside the chat: facts, survey indicators, village-plan rows and the
    tambon's resources."""

    async def list_village_facts(self, tambon_id: int) -> list[VillageFacts]: ...
    async def save_village_facts(self, facts: Sequence[VillageFacts]) -> int:
        """Add or replace each village's facts; how many rows changed."""
        ...

    async def list_indicator_results(self, tambon_id: int) -> list[IndicatorResult]: ...
    async def save_indicator_results(self, results: Sequence[IndicatorResult]) -> int:
        """Add or replace each (village, year, indicator); how many rows changed."""
        ...

    async def add_village_plan_row(self, row: VillagePlanRow) -> None: ...
    async def list_village_plan_rows(self, tambon_id: int) -> dict[int, VillagePlanRow]:
        """By submission id, the hidden left out."""
        ...

    async def add_resource(self, resource: Resource) -> tuple[Resource, bool]:
        """Add one (False and the one there when the same village, kind and name is)."""
        ...

    async def get_resource(self, resource_id: int) -> Resource | None: ...
    async def list_resources(self, tambon_id: int) -> list[Resource]: ...
    async def origin_counts(self, tambon_id: int) -> OriginCounts:
        """Reports by origin per village and category, and per group (hidden left out)."""
        ...


class BookStore(Protocol):
    """The plan's direction, its public comment, its approval and amendments."""

    async def get_direction(self, tambon_id: int, year_be: int) -> Direction | None: ...
    async def set_direction(
        self,
        tambon_id: int,
        year_be: int,
        fields: Mapping[str, str | None],
        strategies: Sequence[str] | None,
    ) -> Direction:
        """Set identity, vision and mission (those in ``fields``) and, when given, the
        strategies by position (a strategy keeps its id, and its items, when retitled)."""
        ...

    async def get_comment_window(self, tambon_id: int, year_be: int) -> CommentWindow | None: ...
    async def open_comment(
        self, tambon_id: int, year_be: int, now: datetime, closes_at: datetime
    ) -> CommentWindow:
        """Open (or open again, as a new round) the draft for comment."""
        ...

    async def close_comment(
        self, tambon_id: int, year_be: int, now: datetime
    ) -> CommentWindow | None:
        """Close an open window (None when none was open)."""
        ...

    async def comment_windows_due(self, now: datetime) -> list[CommentWindow]:
        """Windows still open whose time ran out by ``now`` (every tambon's)."""
        ...

    async def set_response(
        self, item_id: int, member_id: int, now: datetime, **fields: Any
    ) -> Response:
        """Set ``vote`` and/or ``comment`` (with ``categories``) of a person's response."""
        ...

    async def list_responses(self, tambon_id: int) -> list[Response]: ...
    async def count_present(self, tambon_id: int, since: datetime, until: datetime) -> int:
        """Members who said /here in the hall of any of the tambon's polls between the two."""
        ...

    async def record_approval(self, approval: Approval) -> Approval: ...
    async def get_approval(self, tambon_id: int, year_be: int) -> Approval | None: ...
    async def add_amendment(self, item_id: int, now: datetime, reason: str, who: str) -> None: ...
    async def list_amendments(self, tambon_id: int) -> list[Amendment]: ...


class Store(
    BookStore,
    VillageStore,
    WebStore,
    PlanStore,
    DeliveryStore,
    TambonStore,
    MemberStore,
    SubmissionStore,
    PollStore,
    ReportStore,
    Protocol,
):
    """The async storage interface, one part per aggregate; see the module docstring for
    transactions. Every backend passes the same contract tests (tests/test_storage.py)."""

    # True when the backend commits one transaction at a time (SQLite's single writer):
    # then several people's updates are best handled in one (bot/pipeline.py, group commit).
    one_writer: bool

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    def transaction(self) -> AbstractAsyncContextManager[None]: ...
    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """Inside a transaction: what the block wrote is undone alone if it raises, and the
        transaction goes on."""
        ...
