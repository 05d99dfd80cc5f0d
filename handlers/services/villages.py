"""Data beside voices (the seed's first component and first step): the villages' own plans, their
basic facts and the household survey's indicators (JPT), the tambon's resources, and the
analysis a hearing needs — reports per 100 households beside the share of households below the
survey's standard, the needs the data shows that nobody reported ("silent needs"), and the
voices the data does not back.

Imports take rows keyed by the columns' own names (``bot.datatables`` reads the files, their
headers in Thai or English): every row is tried and all go in or none, every bad row named.
Numbers about households are counts for a whole village: nothing here names a household.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from handlers.services import Refused, audit
from handlers.services.grouping import best_match
from handlers.services.imports import Counts, RowsRefused, all_or_none
from handlers.services.plan import parse_baht
from handlers.types import CATEGORIES, THAI_DIGITS, T, Tagger, Text
from storage.base import (
    VILLAGE_PLAN,
    IndicatorResult,
    Kind,
    NewSubmission,
    OriginCounts,
    ProblemGroup,
    Resource,
    ResourceKind,
    Store,
    Tambon,
    Village,
    VillageFacts,
    VillagePlanRow,
)

# The columns of each file, by their own (English) names; the first ones are required.
PLAN_COLUMNS = ("village", "title", "details", "category", "priority", "budget", "source")
FACT_COLUMNS = ("village", "households", "population", "women", "men")
INDICATOR_COLUMNS = ("village", "year", "indicator", "surveyed", "below", "category")
RESOURCE_COLUMNS = ("village", "kind", "name", "contact_role", "details")
REQUIRED = {
    "plans": ("village", "title"),
    "facts": ("village", "households", "population"),
    "indicators": ("village", "year", "indicator", "surveyed", "below"),
    "resources": ("kind", "name"),
}
COLUMNS = {
    "plans": PLAN_COLUMNS,
    "facts": FACT_COLUMNS,
    "indicators": INDICATOR_COLUMNS,
    "resources": RESOURCE_COLUMNS,
}
# How each column is named in the templates' headers (Thai first; English beside it).
COLUMN_LABELS: dict[str, Text] = {
    "village": T("Village"),
    "title": T("Problem or project"),
    "details": T("Details"),
    "category": T("Category"),
    "priority": T("Village priority"),
    "budget": T("Budget estimate (baht)"),
    "source": T("Who could fund it"),
    "households": T("Households"),
    "population": T("Population"),
    "women": T("Women"),
    "men": T("Men"),
    "year": T("Survey year"),
    "indicator": T("Survey indicator"),
    "surveyed": T("Households surveyed"),
    "below": T("Households below the standard"),
    "kind": T("Kind of resource"),
    "name": T("Name"),
    "contact_role": T("Contact (a role, not a phone number)"),
}
RESOURCE_LABELS: dict[str, Text] = {
    ResourceKind.FUND: T("Fund"),
    ResourceKind.GROUP: T("Group or network"),
    ResourceKind.EXPERT: T("Local expert"),
    ResourceKind.PRODUCT: T("Product"),
    ResourceKind.FACILITY: T("Facility"),
}
MAX_TEXT_CHARS = 1000
MAX_NAME_CHARS = 200
MAX_ROWS = 5000
# A contact written as a phone number (9-10 digits, however spaced): reports name roles only.
_PHONE = re.compile(r"(?:\d[\s\-.]?){9,10}")


class DataRefused(Refused):
    """Village data that cannot be taken; ``reason`` says why, in the reader's language."""


class DataImportRefused(RowsRefused, DataRefused):
    """A file with bad rows: nothing of it was written; ``problems`` names each bad row."""


@dataclass
class DataImported(Counts):
    """What an import did (or, as a preview, would do), and of which kind of file."""

    kind: str = ""  # plans, facts, indicators, resources


# -- the household survey's indicators --------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    code: str  # "jpt-9"
    number: int
    name: str  # Thai, as the survey names it
    group: str  # the survey's group (its five headings), in Thai
    category: str  # ours
    standard: str | None = None


@dataclass(frozen=True)
class IndicatorList:
    period: str  # Buddhist-era years, "2560-2564"
    confirmed: bool  # False: see the file's header and docs/data.md
    source: str
    current_period: str
    indicators: tuple[Indicator, ...]

    @property
    def years(self) -> range:
        first, _, last = self.period.partition("-")
        return range(int(first), int(last) + 1)


@cache
def indicator_list() -> IndicatorList:
    """The shipped list (``handlers/services/data/jpt.toml``), read once."""
    text = resources.files(__package__).joinpath("data/jpt.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    groups = {int(k): str(v) for k, v in data["groups"].items()}
    return IndicatorList(
        period=data["period"],
        confirmed=bool(data["confirmed"]),
        source=data["source"],
        current_period=data["current_period"],
        indicators=tuple(
            Indicator(
                code=f"jpt-{row['number']}",
                number=int(row["number"]),
                name=row["name"],
                group=groups[int(row["group"])],
                category=row["category"],
                standard=row.get("standard"),
            )
            for row in data["indicator"]
        ),
    )


_SPACING = re.compile(r"[\s.,:;()\[\]/\\\-\u2013\u2014\"'\u201c\u201d_]+")


def _compact(text: str) -> str:
    """A name as names are compared: no spaces or punctuation, Thai digits as digits (Thai
    vowel and tone marks are kept: they tell words apart)."""
    return _SPACING.sub("", text.translate(THAI_DIGITS)).casefold()


# "indicator 9 :", "item 9.", "9)" (in Thai words too) before a name
_NUMBER_FIRST = re.compile(r"^\s*(?:\D{0,12}?)\s*(\d{1,2})\s*[:.)\-]?\s*")


def find_indicator(typed: str, year_be: int) -> Indicator | None:
    """The shipped indicator ``typed`` names: by its code, by its name (a standard written
    after it is fine), or by its number alone when the survey year is of the list's period."""
    known = indicator_list()
    text = typed.translate(THAI_DIGITS).strip()
    by_code = {i.code: i for i in known.indicators}
    if text.casefold() in by_code:
        return by_code[text.casefold()]
    numbered = _NUMBER_FIRST.match(text)
    name = _compact(text[numbered.end() :] if numbered else text)
    if name and not name.isdigit():
        for indicator in known.indicators:
            own = _compact(indicator.name)
            if name.startswith(own) or (len(name) >= 12 and own.startswith(name)):
                return indicator
        return None
    if numbered and year_be in known.years:
        return next((i for i in known.indicators if i.number == int(numbered[1])), None)
    return None


# -- reading cells ----------------------------------------------------------------------


def read_count(text: str) -> int:
    """A count as people write it: "1,250", Thai digits; ValueError otherwise."""
    return parse_baht(text)


def read_village(text: str, villages: Sequence[Village]) -> int:
    """A village as a file names it: "3", "moo 3", "m. 3" in Thai digits, "moo 3 ban X" (in
    Thai), or its name (with or without the word "ban" before it);
    ValueError when it is none of the tambon's."""
    cleaned = text.translate(THAI_DIGITS).strip()
    number = re.search(r"\d+", cleaned)
    moos = {v.moo for v in villages}
    if number is not None and int(number[0]) in moos:
        return int(number[0])
    if number is None:
        wanted = _compact(cleaned)
        for village in villages:
            own = _compact(village.name or "")
            if own and len(wanted) >= 3 and (own == wanted or own.endswith(wanted)):
                return village.moo
    raise ValueError(text)


def _text(value: str | None, limit: int = MAX_TEXT_CHARS) -> str:
    return " ".join((value or "").split())[:limit]


# -- imports ----------------------------------------------------------------------------


async def import_village_plans(
    store: Store,
    tambon: Tambon,
    rows: Sequence[Mapping[str, str]],
    *,
    tagger: Tagger,
    by: str,
    preview: bool = False,
) -> DataImported:
    """Each row of the villages' plans becomes a submission of origin "village plan" (relayed,
    by the importer), tagged like a chat report (a category the file gives wins), and joins
    the problem group it repeats or starts its own, as the chat's reports do. A row imported
    before (the same village, title and details) is not filed again. All rows or none."""
    villages = await store.list_villages(tambon.id)
    names = {v.moo: v.name for v in villages if v.name}
    known = set(tagger.categories) | set(CATEGORIES)
    done = DataImported(kind="plans")

    async def one(row: Mapping[str, str]) -> str:
        title, details = _text(row.get("title"), MAX_NAME_CHARS), _text(row.get("details"))
        if not title:
            raise DataRefused(T("a row needs a problem or project."))
        village = read_village(row["village"], villages) if _text(row.get("village")) else None
        typed = [c for c in re.split(r"[|,]", row.get("category") or "") if c.strip()]
        unknown = [c.strip() for c in typed if c.strip() not in known]
        if unknown:
            raise DataRefused(T("Unknown categories: {names}.", names=", ".join(unknown)))
        priority = read_count(row["priority"]) if _text(row.get("priority")) else None
        if priority == 0:
            raise ValueError("priority 0")
        budget = read_count(row["budget"]) if _text(row.get("budget")) else None
        text = f"{title} — {details}" if details else title
        tags = tagger.tag(text, names)
        categories = [c.strip() for c in typed] or list(tags.categories or tags.guesses[:1])
        categories = categories or ["other"]
        source = hashlib.sha256(
            f"{tambon.id}\x1f{village}\x1f{title}\x1f{details}".encode()
        ).hexdigest()[:32]
        groups = await store.list_groups(tambon.id)
        match = best_match(tags.keywords, categories, village, groups)
        group_id = (
            match.group.id
            if match is not None
            else await store.create_group(
                tambon.id, text, list(tags.keywords), categories, village
            )
        )
        submission, created = await store.add_submission(
            NewSubmission(
                tambon_id=tambon.id,
                text=text,
                kind=Kind(tags.kind),
                categories=categories,
                village_moo=village,
                author_id=None,
                relayed=True,
                channel=VILLAGE_PLAN,
                source_id=source,
                group_id=group_id,
                actor=tags.actor,
            )
        )
        if not created:
            return "unchanged"
        await store.add_village_plan_row(
            VillagePlanRow(submission.id, priority, budget, _text(row.get("source")) or None)
        )
        return "added"

    await _import(store, rows, done, one, preview)
    if done.added and not preview:
        await audit.record(
            store, tambon.id, by, audit.DATA_IMPORTED, kind="plans", rows=done.added
        )
    return done


async def import_village_data(
    store: Store,
    tambon: Tambon,
    rows: Sequence[Mapping[str, str]],
    columns: Sequence[str],
    *,
    by: str,
    preview: bool = False,
) -> DataImported:
    """Village facts (households, population) or the survey's indicator results per village
    and year, told apart by the file's ``columns``; a village's row replaces what was there
    for it. All rows or none."""
    kind = "indicators" if {"indicator", "surveyed", "below"} <= set(columns) else "facts"
    missing = [c for c in REQUIRED[kind] if c not in columns]
    if missing:
        raise DataRefused(
            T(
                "The file lacks the columns: {names}. Village facts need: {facts}; indicator "
                "results need: {indicators}.",
                names=", ".join(missing),
                facts=", ".join(REQUIRED["facts"]),
                indicators=", ".join(REQUIRED["indicators"]),
            )
        )
    villages = await store.list_villages(tambon.id)
    known = {f.moo: f for f in await store.list_village_facts(tambon.id)}
    results = {
        (r.moo, r.year_be, r.indicator): r for r in await store.list_indicator_results(tambon.id)
    }
    done = DataImported(kind=kind)

    def village(row: Mapping[str, str]) -> int:
        if not _text(row.get("village")):
            raise DataRefused(T("a row needs its village."))
        return read_village(row["village"], villages)

    def optional(row: Mapping[str, str], column: str) -> int | None:
        return read_count(row[column]) if _text(row.get(column)) else None

    async def fact(row: Mapping[str, str]) -> str:
        moo = village(row)
        new = VillageFacts(
            tambon.id,
            moo,
            read_count(row["households"]),
            read_count(row["population"]),
            optional(row, "women"),
            optional(row, "men"),
        )
        if new.women is not None and new.men is not None and new.women + new.men != new.population:
            raise DataRefused(T("women and men do not add up to the population."))
        await store.save_village_facts([new])
        return _outcome(known.get(moo), new)

    async def indicator(row: Mapping[str, str]) -> str:
        moo = village(row)
        year = read_count(row["year"])
        if year < 2400:  # written in the Common Era
            year += 543
        surveyed, below = read_count(row["surveyed"]), read_count(row["below"])
        if below > surveyed:
            raise DataRefused(T("more households below the standard than were surveyed."))
        typed = _text(row.get("indicator"), MAX_NAME_CHARS)
        if not typed:
            raise DataRefused(T("a row needs its indicator."))
        found = find_indicator(typed, year)
        category = _text(row.get("category")) or None
        if category is not None and category not in CATEGORIES:
            raise DataRefused(T("Unknown categories: {names}.", names=category))
        new = IndicatorResult(
            tambon.id,
            moo,
            year,
            found.code if found else typed,
            found.name if found else typed,
            category or (found.category if found else None),
            surveyed,
            below,
        )
        await store.save_indicator_results([new])
        return _outcome(results.get((moo, year, new.indicator)), new)

    await _import(store, rows, done, indicator if kind == "indicators" else fact, preview)
    if (done.added or done.updated) and not preview:
        await audit.record(
            store, tambon.id, by, audit.DATA_IMPORTED, kind=kind, rows=done.added + done.updated
        )
    return done


async def import_resources(
    store: Store,
    tambon: Tambon,
    rows: Sequence[Mapping[str, str]],
    *,
    by: str,
    preview: bool = False,
) -> DataImported:
    """The tambon's resources, one a row (kind, name, village or none for the whole tambon,
    a contact role, details). A resource already registered is left as it is."""
    villages = await store.list_villages(tambon.id)
    done = DataImported(kind="resources")

    async def one(row: Mapping[str, str]) -> str:
        _, created = await _add_resource(store, tambon, villages, row)
        return "added" if created else "unchanged"

    await _import(store, rows, done, one, preview)
    if done.added and not preview:
        await audit.record(
            store, tambon.id, by, audit.DATA_IMPORTED, kind="resources", rows=done.added
        )
    return done


async def add_resource(
    store: Store, tambon: Tambon, fields: Mapping[str, str], *, by: str
) -> tuple[Resource, bool]:
    """Register one resource (``RESOURCE_COLUMNS``); False when it was registered already."""
    villages = await store.list_villages(tambon.id)
    try:
        resource, created = await _add_resource(store, tambon, villages, fields)
    except DataRefused:
        raise
    except ValueError:  # the village could not be read
        raise DataRefused(
            T("There is no village {moo} in this tambon.", moo=fields.get("village"))
        ) from None
    if created:
        await audit.record(store, tambon.id, by, audit.DATA_IMPORTED, kind="resources", rows=1)
    return resource, created


async def _add_resource(
    store: Store, tambon: Tambon, villages: Sequence[Village], row: Mapping[str, str]
) -> tuple[Resource, bool]:
    kind = _text(row.get("kind"))
    if kind not in set(ResourceKind):
        raise DataRefused(
            T(
                "A resource's kind is one of: {kinds}.",
                kinds=", ".join(k.value for k in ResourceKind),
            )
        )
    name = _text(row.get("name"), MAX_NAME_CHARS)
    if not name:
        raise DataRefused(T("a resource needs its name."))
    contact = _text(row.get("contact_role"), MAX_NAME_CHARS) or None
    if contact is not None and _PHONE.search(contact.translate(THAI_DIGITS)):
        raise DataRefused(
            T("A contact is a role (such as chair of the savings group), not a phone number.")
        )
    moo = read_village(row["village"], villages) if _text(row.get("village")) else 0
    return await store.add_resource(
        Resource(
            0, tambon.id, moo, ResourceKind(kind), name, contact, _text(row.get("details")) or None
        )
    )


def _outcome(before: object, after: object) -> str:
    if before is None:
        return "added"
    return "unchanged" if before == after else "updated"


async def _import(
    store: Store,
    rows: Sequence[Mapping[str, str]],
    done: DataImported,
    one: Callable[[Mapping[str, str]], Awaitable[str]],
    preview: bool,
) -> None:
    """All rows or none, every bad row named (:func:`imports.all_or_none`)."""
    if len(rows) > MAX_ROWS:
        raise DataRefused(T("A file of village data has at most {limit} rows.", limit=MAX_ROWS))
    await all_or_none(
        store,
        rows,
        one,
        done,
        preview=preview,
        refused=DataRefused,
        unreadable=lambda number: T(
            "Row {row}: a village or a number could not be read.", row=number
        ),
        errors=(ValueError, KeyError),
        refusal=DataImportRefused,
    )


# -- the analysis -------------------------------------------------------------------------


@dataclass(frozen=True)
class NeedRule:
    """When the data shows a wide need: at least ``share`` of households below the standard on
    one of a category's indicators; "few reports" is fewer than ``reports`` by people."""

    share: float = 0.2
    reports: int = 2


@dataclass(frozen=True)
class VillageCategory:
    """One village and category: what people said beside what the survey found."""

    moo: int
    category: str
    reports: int  # filed by people (chat and relayed)
    plan_rows: int  # rows of the village's own plan
    households: int | None
    below_share: float | None  # the category's worst indicator, latest year; None: no data
    indicator: str | None  # that indicator's name
    year: int | None

    @property
    def per_100(self) -> float | None:
        """Reports by people per 100 households; None when the households are not known."""
        if not self.households:
            return None
        return 100 * self.reports / self.households


@dataclass(frozen=True)
class GroupSources:
    """What a problem group drew on: reports by origin and the survey's indicators of its
    village and categories (name, share below)."""

    origins: Mapping[str, int]
    indicators: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class DataAnalysis:
    rule: NeedRule
    facts: dict[int, VillageFacts]
    rows: list[VillageCategory]  # every village and category with reports or data
    silent: list[VillageCategory]  # a wide need in the data, few or no reports
    unbacked: list[VillageCategory]  # reported, but the data shows no wide need (or none)
    groups: dict[int, GroupSources]
    indicators: int  # indicator results held
    plan_rows: int  # village-plan rows held
    resources: list[Resource] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return bool(self.facts or self.indicators or self.plan_rows or self.resources)


async def analyse(
    store: Store,
    tambon: Tambon,
    rule: NeedRule | None = None,
    groups: Sequence[ProblemGroup] | None = None,
    by_origin: OriginCounts | None = None,
) -> DataAnalysis | None:
    """Voices beside data, per village and category, with the silent needs and the voices
    without data; and what each problem group drew on (``groups`` and ``by_origin``: the
    tambon's, when read already). None when the tambon holds no village data at all."""
    rule = rule or NeedRule()
    facts = {f.moo: f for f in await store.list_village_facts(tambon.id)}
    results = await store.list_indicator_results(tambon.id)
    plan_rows = await store.list_village_plan_rows(tambon.id)
    resources = await store.list_resources(tambon.id)
    if not (facts or results or plan_rows or resources):
        return None
    counted = by_origin if by_origin is not None else await store.origin_counts(tambon.id)
    latest: dict[tuple[int, str], IndicatorResult] = {}
    for result in results:  # ordered by village, year, indicator: the latest year wins
        latest[(result.moo, result.indicator)] = result
    worst: dict[tuple[int, str], IndicatorResult] = {}
    for result in latest.values():
        if result.category is None or not result.surveyed:
            continue
        key = (result.moo, result.category)
        held = worst.get(key)
        if held is None or _share(result) > _share(held):
            worst[key] = result
    keys = set(worst) | set(counted.village_category)
    rows = []
    for moo, category in sorted(keys):
        origins = counted.village_category.get((moo, category), {})
        found = worst.get((moo, category))
        fact = facts.get(moo)
        rows.append(
            VillageCategory(
                moo=moo,
                category=category,
                reports=origins.get("chat", 0) + origins.get("relay", 0),
                plan_rows=origins.get(VILLAGE_PLAN, 0),
                households=fact.households if fact else None,
                below_share=_share(found) if found else None,
                indicator=found.name if found else None,
                year=found.year_be if found else None,
            )
        )
    surveyed = {r.moo for r in latest.values()}
    silent = [
        r
        for r in rows
        if r.below_share is not None and r.below_share >= rule.share and r.reports < rule.reports
    ]
    unbacked = [
        r
        for r in rows
        if r.moo in surveyed
        and r.reports >= rule.reports
        and (r.below_share is None or r.below_share < rule.share)
    ]
    silent.sort(key=lambda r: (-(r.below_share or 0), r.moo, r.category))
    by_group: dict[int, GroupSources] = {}
    if groups is None:
        groups = await store.list_groups(tambon.id)
    for group in groups:
        origins = counted.groups.get(group.id, {})
        places = group.villages or ((group.village_moo,) if group.village_moo else ())
        marks = tuple(
            (worst[(moo, c)].name, _share(worst[(moo, c)]))
            for moo in places
            for c in group.categories
            if (moo, c) in worst
        )
        by_group[group.id] = GroupSources(dict(origins), marks)
    return DataAnalysis(
        rule=rule,
        facts=facts,
        rows=rows,
        silent=silent,
        unbacked=unbacked,
        groups=by_group,
        indicators=len(results),
        plan_rows=len(plan_rows),
        resources=resources,
    )


def _share(result: IndicatorResult) -> float:
    return result.below / result.surveyed if result.surveyed else 0.0
