"""The villages' data beside the chat: facts, survey indicators, village-plan rows, resources,
and reports counted by where they came from."""

from __future__ import annotations

from collections.abc import Sequence

from storage.base import (
    IndicatorResult,
    OriginCounts,
    Resource,
    VillageFacts,
    VillagePlanRow,
)
from storage.sql.common import ORIGIN_SQL, SQLBase, _now, from_row


class VillageQueries(SQLBase):
    """The villages' data beside the chat."""

    async def list_village_facts(self, tambon_id: int) -> list[VillageFacts]:
        rows = await self._all(
            "SELECT * FROM village_facts WHERE tambon_id = ? ORDER BY moo", (tambon_id,)
        )
        return [from_row(VillageFacts, row) for row in rows]

    async def save_village_facts(self, facts: Sequence[VillageFacts]) -> int:
        changed = 0
        async with self.transaction():
            known = {
                (f.tambon_id, f.moo): f
                for tambon_id in {f.tambon_id for f in facts}
                for f in await self.list_village_facts(tambon_id)
            }
            for fact in facts:
                if known.get((fact.tambon_id, fact.moo)) == fact:
                    continue
                await self._exec(
                    "INSERT INTO village_facts (tambon_id, moo, households, population, women,"
                    " men, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (tambon_id, moo) DO UPDATE SET households = excluded.households,"
                    " population = excluded.population, women = excluded.women,"
                    " men = excluded.men, updated_at = excluded.updated_at",
                    (
                        fact.tambon_id,
                        fact.moo,
                        fact.households,
                        fact.population,
                        fact.women,
                        fact.men,
                        _now(),
                    ),
                )
                known[(fact.tambon_id, fact.moo)] = fact
                changed += 1
        return changed

    async def list_indicator_results(self, tambon_id: int) -> list[IndicatorResult]:
        rows = await self._all(
            "SELECT * FROM village_indicators WHERE tambon_id = ?"
            " ORDER BY moo, year_be, indicator",
            (tambon_id,),
        )
        return [from_row(IndicatorResult, row) for row in rows]

    async def save_indicator_results(self, results: Sequence[IndicatorResult]) -> int:
        changed = 0
        async with self.transaction():
            known = {
                (r.tambon_id, r.moo, r.year_be, r.indicator): r
                for tambon_id in {r.tambon_id for r in results}
                for r in await self.list_indicator_results(tambon_id)
            }
            for result in results:
                key = (result.tambon_id, result.moo, result.year_be, result.indicator)
                if known.get(key) == result:
                    continue
                await self._exec(
                    "INSERT INTO village_indicators (tambon_id, moo, year_be, indicator, name,"
                    " category, surveyed, below, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (tambon_id, moo, year_be, indicator) DO UPDATE SET"
                    " name = excluded.name, category = excluded.category,"
                    " surveyed = excluded.surveyed, below = excluded.below,"
                    " updated_at = excluded.updated_at",
                    (*key, result.name, result.category, result.surveyed, result.below, _now()),
                )
                known[key] = result
                changed += 1
        return changed

    async def add_village_plan_row(self, row: VillagePlanRow) -> None:
        await self._exec(
            "INSERT INTO village_plan_rows (submission_id, priority, budget, source)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (submission_id) DO NOTHING",
            (row.submission_id, row.priority, row.budget, row.source),
        )

    async def list_village_plan_rows(self, tambon_id: int) -> dict[int, VillagePlanRow]:
        rows = await self._all(
            "SELECT r.* FROM village_plan_rows r JOIN submissions s ON s.id = r.submission_id"
            " WHERE s.tambon_id = ? AND s.hidden_at IS NULL ORDER BY r.submission_id",
            (tambon_id,),
        )
        return {int(row["submission_id"]): from_row(VillagePlanRow, row) for row in rows}

    async def add_resource(self, resource: Resource) -> tuple[Resource, bool]:
        async with self.transaction():
            row = await self._one(
                "INSERT INTO resources (tambon_id, moo, kind, name, contact_role, details,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (tambon_id, moo, kind, name) DO NOTHING RETURNING *",
                (
                    resource.tambon_id,
                    resource.moo,
                    resource.kind.value,
                    resource.name,
                    resource.contact_role,
                    resource.details,
                    _now(),
                ),
            )
            if row is not None:
                return from_row(Resource, row), True
            row = await self._one(
                "SELECT * FROM resources WHERE tambon_id = ? AND moo = ? AND kind = ?"
                " AND name = ?",
                (resource.tambon_id, resource.moo, resource.kind.value, resource.name),
            )
        return from_row(Resource, row), False

    async def get_resource(self, resource_id: int) -> Resource | None:
        row = await self._one("SELECT * FROM resources WHERE id = ?", (resource_id,))
        return from_row(Resource, row) if row is not None else None

    async def list_resources(self, tambon_id: int) -> list[Resource]:
        rows = await self._all(
            "SELECT * FROM resources WHERE tambon_id = ? ORDER BY moo, kind, name", (tambon_id,)
        )
        return [from_row(Resource, row) for row in rows]

    async def origin_counts(self, tambon_id: int) -> OriginCounts:
        shown = "s.tambon_id = ? AND s.hidden_at IS NULL"
        pairs, grouped, joined = await self._read_many(
            [
                (
                    f"SELECT s.village_moo, c.category, {ORIGIN_SQL} AS origin, count(*)"
                    " FROM submissions s JOIN submission_categories c"
                    f" ON c.submission_id = s.id WHERE {shown} AND s.village_moo IS NOT NULL"
                    f" GROUP BY s.village_moo, c.category, {ORIGIN_SQL}",
                    (tambon_id,),
                ),
                (
                    f"SELECT s.group_id, {ORIGIN_SQL} AS origin, count(*) FROM submissions s"
                    f" WHERE {shown} AND s.group_id IS NOT NULL GROUP BY s.group_id, {ORIGIN_SQL}",
                    (tambon_id,),
                ),
                (
                    "SELECT r.group_id, CASE WHEN r.relayed <> 0 THEN 'relay' ELSE 'chat' END,"
                    " count(*) FROM group_reporters r JOIN problem_groups g ON g.id = r.group_id"
                    " WHERE g.tambon_id = ? GROUP BY r.group_id,"
                    " CASE WHEN r.relayed <> 0 THEN 'relay' ELSE 'chat' END",
                    (tambon_id,),
                ),
            ]
        )
        village_category: dict[tuple[int, str], dict[str, int]] = {}
        for village, category, origin, n in pairs:
            village_category.setdefault((int(village), str(category)), {})[str(origin)] = int(n)
        groups: dict[int, dict[str, int]] = {}
        for group_id, origin, n in [*grouped, *joined]:
            counts = groups.setdefault(int(group_id), {})
            counts[str(origin)] = counts.get(str(origin), 0) + int(n)
        return OriginCounts(village_category=village_category, groups=groups)
