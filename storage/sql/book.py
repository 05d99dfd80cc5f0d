"""The plan's direction, its public comment, the forum's approval and amendments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from storage.base import Amendment, Approval, CommentWindow, Direction, Response, Strategy
from storage.sql.common import SQLBase, _db_value, _now, from_row

DIRECTION_FIELDS = ("identity", "vision", "mission")


class BookQueries(SQLBase):
    """The plan's direction, its public comment, the forum's approval and amendments."""

    async def get_direction(self, tambon_id: int, year_be: int) -> Direction | None:
        row = await self._one(
            "SELECT * FROM plan_directions WHERE tambon_id = ? AND year_be = ?",
            (tambon_id, year_be),
        )
        strategies = tuple(
            from_row(Strategy, r)
            for r in await self._all(
                "SELECT * FROM plan_strategies WHERE tambon_id = ? AND year_be = ?"
                " ORDER BY position",
                (tambon_id, year_be),
            )
        )
        if row is None and not strategies:
            return None
        if row is None:
            return Direction(tambon_id, year_be, strategies=strategies)
        return from_row(Direction, row, strategies=strategies)

    async def set_direction(
        self,
        tambon_id: int,
        year_be: int,
        fields: Mapping[str, str | None],
        strategies: Sequence[str] | None,
    ) -> Direction:
        unknown = set(fields) - set(DIRECTION_FIELDS)
        if unknown:
            raise ValueError(f"not direction fields: {sorted(unknown)}")
        async with self.transaction():
            await self._exec(
                "INSERT INTO plan_directions (tambon_id, year_be, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (tambon_id, year_be) DO NOTHING",
                (tambon_id, year_be, _now()),
            )
            if fields:
                # Column names come from the fixed set, never from input.
                assignments = ", ".join(f"{name} = ?" for name in fields)
                await self._exec(
                    f"UPDATE plan_directions SET {assignments}, updated_at = ?"
                    " WHERE tambon_id = ? AND year_be = ?",
                    (*fields.values(), _now(), tambon_id, year_be),
                )
            if strategies is not None:
                for position, title in enumerate(strategies, start=1):
                    await self._exec(
                        "INSERT INTO plan_strategies (tambon_id, year_be, position, title)"
                        " VALUES (?, ?, ?, ?) ON CONFLICT (tambon_id, year_be, position)"
                        " DO UPDATE SET title = excluded.title",
                        (tambon_id, year_be, position, title),
                    )
                await self._exec(
                    "DELETE FROM plan_strategies WHERE tambon_id = ? AND year_be = ?"
                    " AND position > ?",
                    (tambon_id, year_be, len(strategies)),
                )
            found = await self.get_direction(tambon_id, year_be)
        assert found is not None
        return found

    async def get_comment_window(self, tambon_id: int, year_be: int) -> CommentWindow | None:
        row = await self._one(
            "SELECT * FROM comment_windows WHERE tambon_id = ? AND year_be = ?",
            (tambon_id, year_be),
        )
        return from_row(CommentWindow, row) if row is not None else None

    async def open_comment(
        self, tambon_id: int, year_be: int, now: datetime, closes_at: datetime
    ) -> CommentWindow:
        row = await self._one(
            "INSERT INTO comment_windows (tambon_id, year_be, round, opened_at, closes_at)"
            " VALUES (?, ?, 1, ?, ?) ON CONFLICT (tambon_id, year_be) DO UPDATE SET"
            " round = comment_windows.round + 1, opened_at = excluded.opened_at,"
            " closes_at = excluded.closes_at, closed_at = NULL RETURNING *",
            (tambon_id, year_be, _db_value(now), _db_value(closes_at)),
        )
        return from_row(CommentWindow, row)

    async def close_comment(
        self, tambon_id: int, year_be: int, now: datetime
    ) -> CommentWindow | None:
        row = await self._one(
            "UPDATE comment_windows SET closed_at = ? WHERE tambon_id = ? AND year_be = ?"
            " AND closed_at IS NULL RETURNING *",
            (_db_value(now), tambon_id, year_be),
        )
        return from_row(CommentWindow, row) if row is not None else None

    async def comment_windows_due(self, now: datetime) -> list[CommentWindow]:
        rows = await self._all(
            "SELECT * FROM comment_windows WHERE closed_at IS NULL AND closes_at <= ?",
            (_db_value(now),),
        )
        return [from_row(CommentWindow, row) for row in rows]

    async def set_response(
        self, item_id: int, member_id: int, now: datetime, **fields: Any
    ) -> Response:
        unknown = set(fields) - {"vote", "comment", "categories"}
        if unknown:
            raise ValueError(f"not response fields: {sorted(unknown)}")
        values = {k: ("|".join(v) if k == "categories" else v) for k, v in fields.items()}
        # Column names come from the fixed set above, never from input.
        columns = "".join(f", {name}" for name in values)
        updates = "".join(f", {name} = excluded.{name}" for name in values)
        row = await self._one(
            f"INSERT INTO plan_responses (item_id, member_id, at{columns})"
            f" VALUES (?, ?, ?{', ?' * len(values)}) ON CONFLICT (item_id, member_id)"
            f" DO UPDATE SET at = excluded.at{updates} RETURNING *",
            (item_id, member_id, _db_value(now), *values.values()),
        )
        return self._response(row)

    def _response(self, row: Any) -> Response:
        return from_row(
            Response,
            row,
            categories=tuple(c for c in (row["categories"] or "").split("|") if c),
        )

    async def list_responses(self, tambon_id: int) -> list[Response]:
        rows = await self._all(
            "SELECT r.* FROM plan_responses r JOIN plan_items i ON i.id = r.item_id"
            " WHERE i.tambon_id = ? ORDER BY r.item_id, r.at, r.member_id",
            (tambon_id,),
        )
        return [self._response(row) for row in rows]

    async def count_present(self, tambon_id: int, since: datetime, until: datetime) -> int:
        row = await self._one(
            "SELECT count(DISTINCT p.member_id) FROM poll_presence p"
            " JOIN polls o ON o.id = p.poll_id WHERE o.tambon_id = ? AND p.at >= ? AND p.at < ?",
            (tambon_id, _db_value(since), _db_value(until)),
        )
        return int(row[0]) if row is not None else 0

    async def record_approval(self, approval: Approval) -> Approval:
        row = await self._one(
            "INSERT INTO plan_approvals (tambon_id, year_be, decided_on, place, present, result,"
            " changes, recorded_by, recorded_at, poll_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (tambon_id, year_be) DO UPDATE SET decided_on = excluded.decided_on,"
            " place = excluded.place, present = excluded.present, result = excluded.result,"
            " changes = excluded.changes, recorded_by = excluded.recorded_by,"
            " recorded_at = excluded.recorded_at, poll_id = excluded.poll_id RETURNING *",
            (
                approval.tambon_id,
                approval.year_be,
                approval.decided_on,
                approval.place,
                approval.present,
                approval.result,
                approval.changes,
                approval.recorded_by,
                _now(),
                approval.poll_id,
            ),
        )
        return from_row(Approval, row)

    async def get_approval(self, tambon_id: int, year_be: int) -> Approval | None:
        row = await self._one(
            "SELECT * FROM plan_approvals WHERE tambon_id = ? AND year_be = ?",
            (tambon_id, year_be),
        )
        return from_row(Approval, row) if row is not None else None

    async def add_amendment(self, item_id: int, now: datetime, reason: str, who: str) -> None:
        await self._exec(
            "INSERT INTO plan_amendments (item_id, at, reason, who) VALUES (?, ?, ?, ?)",
            (item_id, _db_value(now), reason, who),
        )

    async def list_amendments(self, tambon_id: int) -> list[Amendment]:
        rows = await self._all(
            "SELECT a.* FROM plan_amendments a JOIN plan_items i ON i.id = a.item_id"
            " WHERE i.tambon_id = ? ORDER BY a.id",
            (tambon_id,),
        )
        return [from_row(Amendment, row) for row in rows]
