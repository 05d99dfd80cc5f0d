"""The plan's second half (the seed's steps 3-5): the team turns problem groups into plan items
and follows them to done; everyone who reported a linked problem is told when the item enters
the plan, is funded, is done or dropped, and, once it is done, asked whether it really is. When
enough of them say no, the item reopens and the team is told.

Telling is recorded here as notices (who, which item, which change), in the transaction of the
change, one per person and change however often the change is written; ``bot.notify`` renders
them in each person's language and puts them in the outbox, through which every reply goes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from handlers.services import Refused, audit
from handlers.services.imports import Counts, RowsRefused, all_or_none
from handlers.types import THAI_DIGITS, T, Text
from storage.base import (
    PLAN_DETAILS,
    Member,
    PlanItem,
    PlanNotice,
    PlanPhase,
    PlanStatus,
    PlanYear,
    Role,
    Store,
    Tambon,
    Verdict,
)

BANGKOK = timezone(timedelta(hours=7))
MAX_TITLE_CHARS = 200
MAX_NOTE_CHARS = 500
ACTORS = ("community", "joint", "external")
# The changes people are told of, and the event each is recorded as.
TOLD = {
    PlanStatus.IN_PLAN: "in_plan",
    PlanStatus.FUNDED: "funded",
    PlanStatus.DONE: "done",
    PlanStatus.DROPPED: "dropped",
}
REOPENED = "reopened"  # told to the team


@dataclass(frozen=True)
class ReopenRule:
    """An item marked done reopens when at least ``at_least`` of its reporters answered "no"
    and they are more than ``share`` of those who answered."""

    at_least: int = 2
    share: float = 1 / 3

    def reopens(self, verdicts: dict[Verdict, int]) -> bool:
        answered = sum(verdicts.values())
        no = verdicts.get(Verdict.NO, 0)
        return no >= self.at_least and no > self.share * answered


def parse_baht(text: str) -> int:
    """An amount in baht as people write it: "250000", "250,000", in Thai digits, "250,000.00";
    ValueError otherwise (the command line and the CSV import alike)."""
    cleaned = text.strip().replace(",", "").replace(" ", "").translate(THAI_DIGITS)
    whole, _, cents = cleaned.partition(".")
    if not whole.isdigit() or (cents and not (cents.isdigit() and int(cents) == 0)):
        raise ValueError(f"not an amount in baht: {text!r}")
    return int(whole)


class PlanRefused(Refused):
    """A plan change that cannot be made; ``reason`` says why, in the user's language."""


def plan_year(now: datetime) -> int:
    """The Buddhist-era year in Thailand at ``now``."""
    return now.astimezone(BANGKOK).year + 543


async def this_plan_year(store: Store, tambon_id: int, now: datetime | None = None) -> int:
    """The one rule for "this plan year", used by chat, the command line and the report: the
    year the tambon started (``year start``, ``/year``), or, before any is started, the
    Buddhist-era year now — the year ``year start`` would start."""
    current = await store.current_plan_year(tambon_id)
    return current.year_be if current is not None else plan_year(now or datetime.now(UTC))


class YearRefused(PlanRefused):
    """A plan year that cannot be started, or a phase set without a year."""


async def start_year(
    store: Store,
    tambon: Tambon,
    *,
    by: str,
    year_be: int | None = None,
    now: datetime | None = None,
) -> tuple[PlanYear, int]:
    """Start the tambon's plan year (Buddhist era; by default this year, or the one after the
    latest), in the collecting phase; the items of earlier years not done nor dropped come
    along, marked carried. The year and how many items were carried."""
    current = await store.current_plan_year(tambon.id)
    year = year_be or max(
        plan_year(now or datetime.now(UTC)), (current.year_be + 1) if current else 0
    )
    if current is not None and year <= current.year_be:
        raise YearRefused(
            T(
                "The plan year {year} is started already; the next is {next}.",
                year=current.year_be,
                next=current.year_be + 1,
            )
        )
    if not 2500 <= year <= 2700:
        raise YearRefused(T("A plan year is a Buddhist-era year, for example 2570."))
    async with store.transaction():
        started = await store.start_plan_year(tambon.id, year)
        carried = await store.carry_plan_items(tambon.id, year)
        await audit.record(store, tambon.id, by, audit.PLAN_YEAR, year=year, carried=carried)
    return started, carried


async def set_phase(store: Store, tambon: Tambon, phase: PlanPhase, *, by: str) -> PlanYear:
    current = await store.current_plan_year(tambon.id)
    if current is None:
        raise YearRefused(
            T(
                "Start the plan year first: tambon-bot year start --tambon {code}.",
                code=tambon.code,
            )
        )
    async with store.transaction():
        changed = await store.set_plan_phase(tambon.id, current.year_be, phase)
        await audit.record(
            store, tambon.id, by, audit.PLAN_PHASE, year=current.year_be, phase=phase.value
        )
    return changed


async def year_closed_to_polls(store: Store, tambon_id: int) -> PlanYear | None:
    """The plan year when its phase keeps polls closed (any phase but the hearing); None when
    the team may open a poll (no plan year started, or its hearing phase)."""
    current = await store.current_plan_year(tambon_id)
    if current is None or current.phase is PlanPhase.HEARING:
        return None
    return current


def calendar(now: datetime) -> Text:
    """The seed's calendar, as the team is reminded of it (by the month in Thailand)."""
    month = now.astimezone(BANGKOK).month
    if month == 1:
        return T(
            "This month the villages review their community plans (the seed's calendar: January)."
        )
    if month in (2, 3):
        return T(
            "February–March: the tambon integrates the village plans at the hearing (the seed's "
            "calendar)."
        )
    return T(
        "The seed's calendar: the villages review their plans in January; the tambon integrates "
        "them at the hearing in February–March."
    )


async def add_item(
    store: Store,
    tambon: Tambon,
    *,
    title: str,
    by: str,
    groups: Sequence[int] = (),
    submissions: Sequence[int] = (),
    objective: str | None = None,
    indicator: str | None = None,
    result: str | None = None,
    actor: str | None = None,
    source: str | None = None,
    budget: int | None = None,
    responsible: str | None = None,
    due: str | None = None,
    resource: int | None = None,
    now: datetime | None = None,
) -> PlanItem:
    """A new item (proposed) linked to ``groups`` and to the groups of ``submissions``, and
    drawing on one of the tambon's registered ``resource``s (its id) when given."""
    title = " ".join(title.split())
    if not title or len(title) > MAX_TITLE_CHARS:
        raise PlanRefused(
            T("A plan item needs a title of 1 to {limit} characters.", limit=MAX_TITLE_CHARS)
        )
    if actor is not None and actor not in ACTORS:
        raise PlanRefused(T("Who acts must be community, joint or external."))
    if budget is not None and budget < 0:
        raise PlanRefused(T("A budget is an amount in baht, 0 or more."))
    if due is not None and not _is_date(due):
        raise PlanRefused(T("A due date is written YYYY-MM-DD, for example 2027-03-31."))
    linked = list(groups)
    for ref in submissions:
        submission = await store.get_submission(ref)
        if submission is None or submission.tambon_id != tambon.id or submission.group_id is None:
            raise PlanRefused(T("There is no submission #{ref} in this tambon.", ref=ref))
        linked.append(submission.group_id)
    for group_id in linked:
        group = await store.get_group(group_id)
        if group is None or group.tambon_id != tambon.id:
            raise PlanRefused(T("There is no problem group {ref} in this tambon.", ref=group_id))
    if resource is not None:
        found = await store.get_resource(resource)
        if found is None or found.tambon_id != tambon.id:
            raise PlanRefused(T("There is no resource {ref} in this tambon.", ref=resource))
    moment = now or datetime.now(UTC)
    current = await store.current_plan_year(tambon.id)
    async with store.transaction():
        item = await store.add_plan_item(
            PlanItem(
                id=0,
                tambon_id=tambon.id,
                year_be=current.year_be if current else plan_year(moment),
                title=title,
                status=PlanStatus.PROPOSED,
                progress=0,
                done_round=0,
                created_at=moment,
                updated_at=moment,
                objective=objective,
                indicator=indicator,
                result=result,
                actor=actor,
                source=source,
                budget=budget,
                responsible=responsible,
                due=due,
                groups=tuple(linked),
            )
        )
        if resource is not None:
            item = await store.update_plan_details(item.id, resource_id=resource)
        await store.add_plan_update(item.id, item.status, 0, None, by)
        await audit.record(store, tambon.id, by, audit.PLAN_ADDED, item=item.id, groups=linked)
        await amend_if_approved(store, item, ADDED, by)
    return item


def _is_date(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


async def set_status(
    store: Store,
    item: PlanItem,
    status: PlanStatus,
    *,
    by: str,
    note: str | None = None,
    progress: int | None = None,
) -> PlanItem:
    """Move an item to ``status`` (with a dated note and progress in percent), in one
    transaction with its audit record and the notices for its reporters."""
    if progress is not None and not 0 <= progress <= 100:
        raise PlanRefused(T("Progress is a percentage from 0 to 100."))
    note = " ".join(note.split())[:MAX_NOTE_CHARS] if note else None
    if status is PlanStatus.DROPPED and not note:
        raise PlanRefused(T("Please give the reason an item is dropped: its reporters are told."))
    done_round = item.done_round + 1 if status is PlanStatus.DONE else item.done_round
    if progress is None:
        progress = 100 if status is PlanStatus.DONE else item.progress
    async with store.transaction():
        updated = await store.update_plan_item(item.id, status, progress, done_round)
        await store.add_plan_update(item.id, status, progress, note, by)
        await audit.record(
            store,
            item.tambon_id,
            by,
            audit.PLAN_STATUS,
            item=item.id,
            before=item.status.value,
            after=status.value,
        )
        if status is PlanStatus.DROPPED and status is not item.status:
            await amend_if_approved(store, updated, note or "-", by)
        event = TOLD.get(status)
        if event is not None and status is not item.status:
            round_ = done_round if status is PlanStatus.DONE else 0
            reporters = await store.plan_reporters(item.id)
            await store.add_plan_notices(
                [PlanNotice(item.id, member.id, event, round_) for member in reporters]
            )
    return updated


# An amendment's reason when it is not the team's words: the fields changed, or an item added
# (shown in the reader's language by the plan book).
CHANGED, ADDED = "fields:", "added"


async def amend_if_approved(store: Store, item: PlanItem, reason: str, by: str) -> bool:
    """A change to the contents of an approved plan (an item added, its plan-form fields
    changed, an item dropped) is an amendment, recorded with its date and reason. True when
    it was one. (An item's progress to funded, under way and done is following the plan,
    not changing it.)"""
    if await store.get_approval(item.tambon_id, item.year_be) is None:
        return False
    await store.add_amendment(item.id, datetime.now(UTC), reason[:MAX_NOTE_CHARS], by)
    return True


async def year_items(store: Store, tambon_id: int, year: int) -> list[PlanItem]:
    """A plan year's items still in the plan (not dropped): the draft people comment on."""
    return [
        i
        for i in await store.list_plan_items(tambon_id)
        if i.year_be == year and i.status is not PlanStatus.DROPPED
    ]


async def notice_detail(store: Store, item: PlanItem, event: str) -> str | None:
    """What a notice of ``event`` says beyond the item: the reason it was dropped, or how many
    of those who answered said "no" when it was reopened (both the latest note written)."""
    if event == "comment_open":  # the draft's size (handlers/services/book.py)
        return str(len(await year_items(store, item.tambon_id, item.year_be)))
    if event == "comment_closed":
        return str(len(await store.list_responses(item.tambon_id)))
    if event not in (TOLD[PlanStatus.DROPPED], REOPENED):
        return None
    notes = [u["note"] for u in await store.plan_updates(item.id) if u["note"]]
    return notes[-1] if notes else None


async def give_verdict(
    store: Store,
    item: PlanItem,
    member: Member,
    round_: int,
    verdict: Verdict,
    rule: ReopenRule = ReopenRule(),
) -> bool:
    """A reporter answers "is it really done?" for the item's latest round; when the "no"
    answers pass ``rule`` the item reopens (in progress) and the team is told. True when this
    answer reopened it."""
    reporters = {m.id for m in await store.plan_reporters(item.id)}
    if member.id not in reporters:
        raise PlanRefused(T("Only the people who reported this problem are asked about it."))
    if item.status is not PlanStatus.DONE or round_ != item.done_round:
        raise PlanRefused(
            T("Thank you. This question is closed: the item has changed since. Type /status.")
        )
    async with store.transaction():
        await store.set_plan_verdict(item.id, member.id, round_, verdict)
        verdicts = await store.plan_verdicts(item.id, round_)
        if not rule.reopens(verdicts):
            return False
        answered = sum(verdicts.values())
        no = verdicts.get(Verdict.NO, 0)
        note = f"{no}/{answered}"
        await store.update_plan_item(
            item.id, PlanStatus.IN_PROGRESS, min(item.progress, 90), round_
        )
        await store.add_plan_update(
            item.id, PlanStatus.IN_PROGRESS, min(item.progress, 90), note, "villagers"
        )
        await audit.record(
            store,
            item.tambon_id,
            "villagers",
            audit.PLAN_REOPENED,
            item=item.id,
            no=no,
            answered=answered,
        )
        team = [
            m
            for m in await store.list_members(item.tambon_id)
            if m.role in (Role.TEAM, Role.ADMIN) and m.onboarded
        ]
        await store.add_plan_notices([PlanNotice(item.id, m.id, REOPENED, round_) for m in team])
    return True


# The columns `tambon-bot plan import` reads (each optional but ``title`` for a new item).
IMPORT_COLUMNS = ("id", "status", "progress", "note", *PLAN_DETAILS, "submissions", "groups")
# The plan table's export (`report --table plan`, the XLSX sheet) names some of them otherwise,
# and adds columns it computes: an exported file, edited in a spreadsheet, imports back.
EXPORT_NAMES = {
    "item": "id",
    "project": "title",
    "budget_baht": "budget",
    "budget_source": "source",
    "expected_result": "result",
}
EXPORT_ONLY = (
    "year",
    "strategy",
    "target_villages",
    "reporters",
    "verdict_yes",
    "verdict_partly",
    "verdict_no",
    "verdict_photos",
)
# Each column's name as a team may type it in their language (the catalogs translate it): the
# command line accepts the Thai or English name beside the column's own.
COLUMN_LABELS = {
    "id": T("No."),
    "status": T("Status"),
    "progress": T("Progress (%)"),
    "note": T("Note"),
    "title": T("Project"),
    "objective": T("Objective"),
    "indicator": T("Indicator"),
    "result": T("Expected result"),
    "actor": T("Who acts"),
    "source": T("Budget source"),
    "budget": T("Budget (baht)"),
    "responsible": T("Responsible"),
    "due": T("Due date"),
    "submissions": T("Submissions"),
    "groups": T("Problem groups"),
}


# What an import did, or would do (a preview).
Imported = Counts


class ImportRefused(RowsRefused, PlanRefused):
    """A file with bad rows: nothing of it was written; ``problems`` names each bad row."""


async def import_rows(
    store: Store,
    tambon: Tambon,
    rows: Sequence[dict[str, str]],
    *,
    by: str,
    preview: bool = False,
) -> Imported:
    """Add and update many items at once (a spreadsheet the team keeps): a row with an ``id``
    changes that item (its details, then its status, progress and note, told to its reporters
    as any change is), a row without one adds an item. All rows or none: every row is tried,
    and if any is bad the whole file is refused (:class:`ImportRefused` names each bad row
    and why). A ``preview`` tries it all the same way in a transaction it then rolls back,
    and returns what would be done with the problems instead of raising."""
    done = Imported()

    async def one(row: dict[str, str]) -> str:
        return await _import_row(store, tambon, row, by)

    await all_or_none(
        store,
        rows,
        one,
        done,
        preview=preview,
        refused=PlanRefused,
        unreadable=lambda number: T(
            "Row {row}: a number, a status or a date could not be read.", row=number
        ),
        errors=(ValueError,),
        refusal=ImportRefused,
    )
    return done


async def _import_row(store: Store, tambon: Tambon, row: dict[str, str], by: str) -> str:
    """One row of an import; which count it adds to (``added``, ``updated``, ``unchanged``)."""
    cell = {k: (v or "").strip() for k, v in row.items() if k}
    details: dict[str, object] = {k: cell[k] for k in PLAN_DETAILS if cell.get(k)}
    if "budget" in details:
        details["budget"] = parse_baht(str(details["budget"]))
    status = PlanStatus(cell["status"]) if cell.get("status") else None
    progress = int(cell["progress"].rstrip("%")) if cell.get("progress") else None
    if not cell.get("id"):
        item = await add_item(
            store,
            tambon,
            by=by,
            title=str(details.pop("title", "")),
            submissions=[int(n) for n in cell.get("submissions", "").split("|") if n],
            groups=[int(n) for n in cell.get("groups", "").split("|") if n],
            **details,  # type: ignore[arg-type]
        )
        if status is not None and status is not PlanStatus.PROPOSED:
            await set_status(store, item, status, by=by, note=cell.get("note"), progress=progress)
        return "added"
    found = await store.get_plan_item(int(cell["id"]))
    if found is None or found.tambon_id != tambon.id:
        raise PlanRefused(T("There is no plan item {ref}.", ref=cell["id"]))
    item = await edit_details(store, found, by=by, **details)
    moved = status is not None and status is not item.status
    if moved or (progress is not None and progress != item.progress):
        item = await set_status(
            store, item, status or item.status, by=by, note=cell.get("note"), progress=progress
        )
    return "unchanged" if item == found else "updated"


async def edit_details(store: Store, item: PlanItem, *, by: str, **details: object) -> PlanItem:
    """Change an item's plan-form fields (title, objective, indicator, expected result, who acts,
    budget source, budget, responsible, due date); an empty value clears a field but the
    title. Fields given as they are change nothing and leave no audit record."""
    unknown = set(details) - set(PLAN_DETAILS)
    if unknown:
        raise ValueError(f"not plan item fields: {sorted(unknown)}")
    if "title" in details:
        details["title"] = " ".join(str(details["title"] or "").split())
        if not details["title"]:
            raise PlanRefused(
                T("A plan item needs a title of 1 to {limit} characters.", limit=MAX_TITLE_CHARS)
            )
    changed = {k: v for k, v in details.items() if getattr(item, k) != v}
    if not changed:
        return item
    _check_details(changed)
    async with store.transaction():
        updated = await store.update_plan_details(item.id, **changed)
        await audit.record(
            store, item.tambon_id, by, audit.PLAN_EDITED, item=item.id, fields=sorted(changed)
        )
        await amend_if_approved(store, updated, CHANGED + ",".join(sorted(changed)), by)
    return updated


async def set_resource(
    store: Store, tambon: Tambon, item: PlanItem, resource_id: int | None, *, by: str
) -> PlanItem:
    """Name one of the tambon's resources as a source the item draws on (None: none)."""
    if resource_id is not None:
        found = await store.get_resource(resource_id)
        if found is None or found.tambon_id != tambon.id:
            raise PlanRefused(T("There is no resource {ref} in this tambon.", ref=resource_id))
    if item.resource_id == resource_id:
        return item
    async with store.transaction():
        updated = await store.update_plan_details(item.id, resource_id=resource_id)
        await audit.record(
            store, item.tambon_id, by, audit.PLAN_EDITED, item=item.id, fields=["resource"]
        )
        await amend_if_approved(store, updated, CHANGED + "resource", by)
    return updated


def _check_details(details: dict[str, object]) -> None:
    title = details.get("title")
    if title is not None and len(str(title)) > MAX_TITLE_CHARS:
        raise PlanRefused(
            T("A plan item needs a title of 1 to {limit} characters.", limit=MAX_TITLE_CHARS)
        )
    if details.get("actor") is not None and details["actor"] not in ACTORS:
        raise PlanRefused(T("Who acts must be community, joint or external."))
    budget = details.get("budget")
    if isinstance(budget, int) and budget < 0:
        raise PlanRefused(T("A budget is an amount in baht, 0 or more."))
    due = details.get("due")
    if due is not None and not _is_date(str(due)):
        raise PlanRefused(T("A due date is written YYYY-MM-DD, for example 2027-03-31."))


async def add_verdict_photo(
    store: Store, item: PlanItem, member: Member, round_: int, file_id: str
) -> None:
    """A reporter adds a photo of how it is now to their answer of the round."""
    if not await store.set_plan_verdict_photo(item.id, member.id, round_, file_id):
        raise PlanRefused(T("Please answer the question first, then add a photo."))
