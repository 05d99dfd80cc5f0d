"""Plan items, their changes, who is told of them, and the reporters' verdicts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from storage.base import (
    PLAN_DETAILS,
    Member,
    PlanItem,
    PlanNotice,
    PlanPhase,
    PlanStatus,
    PlanYear,
    Verdict,
)
from storage.sql.common import Row, SQLBase, _now, from_row

# Ids in one "IN (...)" list: well under SQLite's and PostgreSQL's limits on parameters.
IN_BATCH = 500


def _in_batches(ids: Sequence[int]) -> Iterator[tuple[tuple[int, ...], str]]:
    """``ids`` in batches for an ``IN (...)`` list: each batch and its placeholders."""
    for start in range(0, len(ids), IN_BATCH):
        batch = tuple(ids[start : start + IN_BATCH])
        yield batch, ", ".join("?" * len(batch))


class PlanQueries(SQLBase):
    """Plan items, their changes, who is told of them, and the reporters' verdicts."""

    async def _item(self, row: Row) -> PlanItem:
        (item,) = await self._items([row])
        return item

    async def _items(self, rows: Sequence[Row]) -> list[PlanItem]:
        """Plan items from their rows, each with its problem groups (read together)."""
        groups: dict[int, list[int]] = {int(row["id"]): [] for row in rows}
        for batch, marks in _in_batches(list(groups)):
            links = await self._all(
                f"SELECT item_id, group_id FROM plan_item_groups WHERE item_id IN ({marks})"
                " ORDER BY group_id",
                batch,
            )
            for link in links:
                groups[int(link["item_id"])].append(int(link["group_id"]))
        return [from_row(PlanItem, row, groups=tuple(groups[int(row["id"])])) for row in rows]

    async def add_plan_item(self, item: PlanItem) -> PlanItem:
        async with self.transaction():
            now = _now()
            item_id = await self._insert(
                "INSERT INTO plan_items (tambon_id, year_be, title, objective, indicator, result,"
                " actor, source, budget, responsible, due, status, progress, done_round,"
                " created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    item.tambon_id,
                    item.year_be,
                    item.title,
                    item.objective,
                    item.indicator,
                    item.result,
                    item.actor,
                    item.source,
                    item.budget,
                    item.responsible,
                    item.due,
                    item.status.value,
                    item.progress,
                    item.done_round,
                    now,
                    now,
                ),
            )
            await self._many(
                "INSERT INTO plan_item_groups (item_id, group_id) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                [(item_id, group) for group in dict.fromkeys(item.groups)],
            )
            stored = await self.get_plan_item(item_id)
        assert stored is not None
        return stored

    async def get_plan_item(self, item_id: int) -> PlanItem | None:
        row = await self._one("SELECT * FROM plan_items WHERE id = ?", (item_id,))
        return await self._item(row) if row else None

    async def list_plan_items(self, tambon_id: int) -> list[PlanItem]:
        rows = await self._all(
            "SELECT * FROM plan_items WHERE tambon_id = ? ORDER BY id", (tambon_id,)
        )
        return await self._items(rows)

    async def update_plan_item(
        self, item_id: int, status: PlanStatus, progress: int, done_round: int
    ) -> PlanItem:
        row = await self._one(
            "UPDATE plan_items SET status = ?, progress = ?, done_round = ?, updated_at = ?"
            " WHERE id = ? RETURNING *",
            (status.value, progress, done_round, _now(), item_id),
        )
        return await self._updated(row, item_id)

    async def _updated(self, row: Row | None, item_id: int) -> PlanItem:
        """The item an UPDATE ... RETURNING * gave back; LookupError when there is none."""
        if row is None:
            raise LookupError(item_id)
        return await self._item(row)

    async def update_plan_details(self, item_id: int, **details: Any) -> PlanItem:
        unknown = set(details) - set(PLAN_DETAILS) - {"resource_id", "strategy_id"}
        if unknown:
            raise ValueError(f"cannot update plan item fields {sorted(unknown)}")
        if details:
            # Column names come from the fixed set, never from input.
            assignments = ", ".join(f"{name} = ?" for name in details)
            row = await self._one(
                f"UPDATE plan_items SET {assignments}, updated_at = ? WHERE id = ? RETURNING *",
                (*details.values(), _now(), item_id),
            )
        else:
            row = await self._one("SELECT * FROM plan_items WHERE id = ?", (item_id,))
        return await self._updated(row, item_id)

    async def add_plan_update(
        self, item_id: int, status: PlanStatus, progress: int, note: str | None, who: str
    ) -> None:
        await self._exec(
            "INSERT INTO plan_updates (item_id, at, status, progress, note, who)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (item_id, _now(), status.value, progress, note, who),
        )

    async def plan_updates(self, item_id: int) -> list[dict[str, Any]]:
        rows = await self._all(
            "SELECT at, status, progress, note, who FROM plan_updates WHERE item_id = ?"
            " ORDER BY id",
            (item_id,),
        )
        return [
            dict(zip(("at", "status", "progress", "note", "who"), r, strict=True)) for r in rows
        ]

    async def plan_reporters(self, item_id: int) -> list[Member]:
        rows = await self._all(
            "SELECT * FROM members WHERE removed_at IS NULL AND consent_at IS NOT NULL"
            " AND quiet_at IS NULL AND id IN ("
            " SELECT s.author_id FROM submissions s JOIN plan_item_groups l"
            " ON l.group_id = s.group_id WHERE l.item_id = ? AND s.hidden_at IS NULL"
            " UNION SELECT r.member_id FROM group_reporters r JOIN plan_item_groups l"
            " ON l.group_id = r.group_id WHERE l.item_id = ?) ORDER BY id",
            (item_id, item_id),
        )
        return [from_row(Member, row) for row in rows]

    async def add_plan_notices(self, notices: Sequence[PlanNotice]) -> int:
        added = 0
        now = _now()
        for notice in notices:
            added += await self._exec(
                "INSERT INTO plan_notices (item_id, member_id, event, round, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
                (notice.item_id, notice.member_id, notice.event, notice.round, now),
            )
        return added

    _WAITING_NOTICES = (
        "SELECT n.item_id, n.member_id, n.event, n.round FROM plan_notices n"
        " JOIN members m ON m.id = n.member_id"
        " WHERE n.queued_at IS NULL AND m.channel IN ({marks})"
        " ORDER BY n.created_at, n.item_id, n.member_id LIMIT ?"
    )

    async def plan_notices_waiting(self, channels: Sequence[str]) -> bool:
        if not channels:
            return False
        marks = ", ".join("?" for _ in channels)
        return bool(await self._all(self._WAITING_NOTICES.format(marks=marks), (*channels, 1)))

    async def claim_plan_notices(self, limit: int, channels: Sequence[str]) -> list[PlanNotice]:
        if not channels:
            return []
        marks = ", ".join("?" for _ in channels)
        rows = await self._all(self._WAITING_NOTICES.format(marks=marks), (*channels, limit))
        if not rows:
            return []
        # One statement for the batch; "queued_at IS NULL" again, so that of two processes
        # claiming at once each notice goes to one.
        # Typed, as PostgreSQL reads a VALUES list's parameters as text otherwise.
        keys = ", ".join(
            "(CAST(? AS INTEGER), CAST(? AS INTEGER), ?, CAST(? AS INTEGER))" for _ in rows
        )
        claimed = await self._all(
            "UPDATE plan_notices SET queued_at = ? WHERE queued_at IS NULL"
            f" AND (item_id, member_id, event, round) IN (VALUES {keys})"
            " RETURNING item_id, member_id, event, round",
            (_now(), *(value for row in rows for value in row)),
        )
        order = {tuple(row): index for index, row in enumerate(rows)}
        return sorted(
            (PlanNotice(*row) for row in claimed),
            key=lambda n: order.get((n.item_id, n.member_id, n.event, n.round), 0),
        )

    async def plan_notice_counts(self, item_id: int) -> dict[str, int]:
        rows = await self._all(
            "SELECT event, count(*) FROM plan_notices WHERE item_id = ? AND queued_at IS NOT NULL"
            " GROUP BY event",
            (item_id,),
        )
        return {str(event): int(count) for event, count in rows}

    async def set_plan_verdict(
        self, item_id: int, member_id: int, round: int, verdict: Verdict
    ) -> None:
        await self._exec(
            "INSERT INTO plan_verdicts (item_id, member_id, round, verdict, at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (item_id, member_id, round) DO UPDATE SET"
            " verdict = excluded.verdict, at = excluded.at",
            (item_id, member_id, round, verdict.value, _now()),
        )

    async def plan_verdicts(self, item_id: int, round: int) -> dict[Verdict, int]:
        rows = await self._all(
            "SELECT verdict, count(*) FROM plan_verdicts WHERE item_id = ? AND round = ?"
            " GROUP BY verdict",
            (item_id, round),
        )
        return {Verdict(verdict): int(count) for verdict, count in rows}

    async def current_plan_year(self, tambon_id: int) -> PlanYear | None:
        row = await self._one(
            "SELECT * FROM plan_years WHERE tambon_id = ? ORDER BY year_be DESC LIMIT 1",
            (tambon_id,),
        )
        return from_row(PlanYear, row) if row else None

    async def start_plan_year(self, tambon_id: int, year_be: int) -> PlanYear:
        row = await self._one(
            "INSERT INTO plan_years (tambon_id, year_be, phase, started_at) VALUES (?, ?, ?, ?)"
            " RETURNING *",
            (tambon_id, year_be, PlanPhase.COLLECTING.value, _now()),
        )
        return from_row(PlanYear, row)

    async def set_plan_phase(self, tambon_id: int, year_be: int, phase: PlanPhase) -> PlanYear:
        row = await self._one(
            "UPDATE plan_years SET phase = ? WHERE tambon_id = ? AND year_be = ? RETURNING *",
            (phase.value, tambon_id, year_be),
        )
        if row is None:
            raise LookupError(year_be)
        return from_row(PlanYear, row)

    async def carry_plan_items(self, tambon_id: int, to_year: int) -> int:
        return await self._exec(
            "UPDATE plan_items SET year_be = ?, carried = carried + 1, updated_at = ?"
            " WHERE tambon_id = ? AND year_be < ? AND status NOT IN ('done', 'dropped')"
            " RETURNING 1",
            (to_year, _now(), tambon_id, to_year),
        )

    async def set_plan_verdict_photo(
        self, item_id: int, member_id: int, round: int, file_id: str
    ) -> bool:
        return bool(
            await self._exec(
                "UPDATE plan_verdicts SET photo = ? WHERE item_id = ? AND member_id = ?"
                " AND round = ? RETURNING 1",
                (file_id, item_id, member_id, round),
            )
        )

    async def plan_verdict_photos(self, item_id: int, round: int) -> int:
        row = await self._one(
            "SELECT count(*) FROM plan_verdicts WHERE item_id = ? AND round = ?"
            " AND photo IS NOT NULL",
            (item_id, round),
        )
        return int(row[0]) if row else 0

    async def items_of_groups(self, group_ids: Sequence[int]) -> dict[int, list[PlanItem]]:
        found: dict[int, list[PlanItem]] = {group: [] for group in group_ids}
        for batch, marks in _in_batches(list(found)):
            rows = await self._all(
                "SELECT l.group_id AS linked_group, i.* FROM plan_items i"
                f" JOIN plan_item_groups l ON l.item_id = i.id WHERE l.group_id IN ({marks})"
                " ORDER BY i.id",
                batch,
            )
            distinct = list({int(row["id"]): row for row in rows}.values())
            items = {item.id: item for item in await self._items(distinct)}
            for row in rows:
                found[int(row["linked_group"])].append(items[int(row["id"])])
        return found
