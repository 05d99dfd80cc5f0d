"""Polls, their options, ballots (chat and paper) and who is in the hall."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from storage.base import (
    Ballot,
    LatePress,
    PaperBallots,
    Poll,
    PollClosed,
    PollConflict,
    PollMethod,
    PollOption,
    PollStatus,
)
from storage.sql.common import Row, SQLBase, _db_value, _now, _ts, _ts_required, from_row


class PollQueries(SQLBase):
    """Polls, their options, ballots (chat and paper) and who is in the hall."""

    # -- polls ---------------------------------------------------------------------------

    async def create_poll(
        self,
        tambon_id: int,
        title: str,
        method: PollMethod,
        choose: int,
        options: Sequence[tuple[str, int | None]],
    ) -> Poll:
        async with self.transaction():
            poll_id = await self._insert(
                "INSERT INTO polls (tambon_id, title, method, choose, created_at)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (tambon_id, title, method.value, choose, _now()),
            )
            await self._many(
                "INSERT INTO poll_options (poll_id, position, text, group_id) VALUES (?, ?, ?, ?)",
                [(poll_id, i, text, group) for i, (text, group) in enumerate(options, start=1)],
            )
            poll = await self.get_poll(poll_id)
        assert poll is not None
        return poll

    async def _poll(self, row: Row) -> Poll:
        # A poll's options never change once it exists, so they are read once per process.
        options = self._poll_options.get(row["id"])
        if options is None:
            rows = await self._all(
                "SELECT position, text, group_id FROM poll_options WHERE poll_id = ?"
                " ORDER BY position",
                (row["id"],),
            )
            options = tuple(PollOption(o["position"], o["text"], o["group_id"]) for o in rows)
            if not self._in_transaction():
                # Only what is committed: a rolled-back poll's id may be given out again.
                self._poll_options[row["id"]] = options
        return Poll(
            id=row["id"],
            tambon_id=row["tambon_id"],
            title=row["title"],
            method=PollMethod(row["method"]),
            choose=row["choose"],
            status=PollStatus(row["status"]),
            options=options,
            created_at=_ts_required(row["created_at"]),
            opened_at=_ts(row["opened_at"]),
            closes_at=_ts(row["closes_at"]),
            closed_at=_ts(row["closed_at"]),
            presence_code=row["presence_code"],
        )

    async def get_poll(self, poll_id: int) -> Poll | None:
        row = await self._one("SELECT * FROM polls WHERE id = ?", (poll_id,))
        return await self._poll(row) if row else None

    async def list_polls(self, tambon_id: int) -> list[Poll]:
        rows = await self._all(
            "SELECT * FROM polls WHERE tambon_id = ? ORDER BY id DESC", (tambon_id,)
        )
        return [await self._poll(r) for r in rows]

    async def set_poll_status(
        self, poll_id: int, status: PollStatus, closes_at: datetime | None = None
    ) -> Poll:
        status = PollStatus(status)
        column = {PollStatus.OPEN: "opened_at", PollStatus.CLOSED: "closed_at"}.get(status)
        async with self.transaction():
            await self._lock_key(f"poll:{poll_id}")
            if status is PollStatus.OPEN:
                row = await self._one("SELECT tambon_id FROM polls WHERE id = ?", (poll_id,))
                if row is None:
                    raise LookupError(poll_id)
                await self._lock_key(f"polls-of:{row['tambon_id']}")
                other = await self._one(
                    "SELECT id FROM polls WHERE tambon_id = ? AND status = 'open' AND id <> ?"
                    " AND (closes_at IS NULL OR closes_at > ?)",
                    (row["tambon_id"], poll_id, _now()),
                )
                if other is not None:
                    raise PollConflict(int(other["id"]))
            await self._exec(
                "UPDATE polls SET status = ?, closes_at = ?"
                + (f", {column} = ?" if column else "")
                + " WHERE id = ?",
                (status, _db_value(closes_at), *((_now(),) if column else ()), poll_id),
            )
            poll = await self.get_poll(poll_id)
        if poll is None:
            raise LookupError(poll_id)
        return poll

    async def set_presence_code(self, poll_id: int, code: str | None) -> Poll:
        async with self.transaction():
            await self._exec("UPDATE polls SET presence_code = ? WHERE id = ?", (code, poll_id))
            poll = await self.get_poll(poll_id)
        if poll is None:
            raise LookupError(poll_id)
        return poll

    async def mark_present(self, poll_id: int, member_id: int) -> None:
        await self._exec(
            "INSERT INTO poll_presence (poll_id, member_id, at) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (poll_id, member_id, _now()),
        )

    async def is_present(self, poll_id: int, member_id: int) -> bool:
        row = await self._one(
            "SELECT 1 FROM poll_presence WHERE poll_id = ? AND member_id = ?", (poll_id, member_id)
        )
        return row is not None

    @staticmethod
    def _ballot(row: Row) -> Ballot:
        return from_row(Ballot, row, choices=tuple(json.loads(row["choices"])))

    async def cast_ballot(
        self,
        poll_id: int,
        member_id: int,
        pseudonym: str,
        village_moo: int | None,
        choices: Sequence[int],
        pressed_at: datetime | None = None,
    ) -> tuple[Ballot, bool]:
        encoded = json.dumps(list(choices))
        pressed = (
            pressed_at.astimezone(UTC).isoformat(timespec="microseconds") if pressed_at else None
        )
        async with self.transaction():
            # Ballots exclude a close (which takes this lock exclusively), not each other.
            await self._lock_key(f"poll:{poll_id}", shared=True)
            poll = await self._one("SELECT status, closes_at FROM polls WHERE id = ?", (poll_id,))
            now = datetime.now(UTC)
            if (
                poll is None
                or poll["status"] != PollStatus.OPEN
                or (poll["closes_at"] and now >= _ts_required(poll["closes_at"]))
            ):
                raise PollClosed(poll_id)
            stamp = now.isoformat(timespec="microseconds")
            # The unique (poll, member) constraint makes this one ballot per person, whatever
            # the concurrency; a second cast replaces the first, unless it was pressed before
            # the press the ballot holds (LINE delivered the two out of order).
            row = await self._one(
                "INSERT INTO ballots (poll_id, member_id, village_moo, choices, cast_at,"
                " changed_at, pressed_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (poll_id, member_id) DO UPDATE SET choices = excluded.choices,"
                " village_moo = excluded.village_moo, changed_at = excluded.changed_at,"
                " pressed_at = excluded.pressed_at"
                " WHERE ballots.pressed_at IS NULL OR excluded.pressed_at IS NULL"
                " OR excluded.pressed_at >= ballots.pressed_at"
                " RETURNING *, cast_at != changed_at AS replaced",
                (poll_id, member_id, village_moo, encoded, stamp, stamp, pressed),
            )
            if row is None:
                standing = await self.get_ballot(poll_id, member_id)
                assert standing is not None
                raise LatePress(standing)
            ballot = self._ballot(row)
            changed = bool(row["replaced"])
            await self._exec(
                "INSERT INTO ballot_log (poll_id, ballot_id, pseudonym, choices, action, at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (poll_id, ballot.id, pseudonym, encoded, "change" if changed else "cast", stamp),
            )
        return ballot, changed

    async def get_ballot(self, poll_id: int, member_id: int) -> Ballot | None:
        row = await self._one(
            "SELECT * FROM ballots WHERE poll_id = ? AND member_id = ?", (poll_id, member_id)
        )
        return self._ballot(row) if row else None

    async def list_member_ballots(self, member_id: int) -> list[Ballot]:
        rows = await self._all(
            "SELECT * FROM ballots WHERE member_id = ? ORDER BY poll_id", (member_id,)
        )
        return [self._ballot(r) for r in rows]

    async def list_ballots(self, poll_id: int) -> list[Ballot]:
        rows = await self._all("SELECT * FROM ballots WHERE poll_id = ? ORDER BY id", (poll_id,))
        return [self._ballot(r) for r in rows]

    async def add_paper_ballots(
        self, poll_id: int, choices: Sequence[int], count: int, entered_by: str
    ) -> None:
        async with self.transaction():
            # Like a chat ballot: only while the poll is open, and never after a close (which
            # takes this lock exclusively).
            await self._lock_key(f"poll:{poll_id}", shared=True)
            poll = await self._one("SELECT status, closes_at FROM polls WHERE id = ?", (poll_id,))
            if (
                poll is None
                or poll["status"] != PollStatus.OPEN
                or (poll["closes_at"] and datetime.now(UTC) >= _ts_required(poll["closes_at"]))
            ):
                raise PollClosed(poll_id)
            await self._exec(
                "INSERT INTO paper_ballots (poll_id, choices, count, entered_by, entered_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (poll_id, json.dumps(list(choices)), count, entered_by, _now()),
            )

    async def list_paper_ballots(self, poll_id: int) -> list[PaperBallots]:
        rows = await self._all(
            "SELECT * FROM paper_ballots WHERE poll_id = ? ORDER BY id", (poll_id,)
        )
        return [
            PaperBallots(
                tuple(json.loads(r["choices"])),
                r["count"],
                r["entered_by"],
                _ts_required(r["entered_at"]),
            )
            for r in rows
        ]

    async def ballot_log(self, poll_id: int) -> list[dict[str, Any]]:
        rows = await self._all(
            "SELECT ballot_id, pseudonym, choices, action, at FROM ballot_log"
            " WHERE poll_id = ? ORDER BY id",
            (poll_id,),
        )
        return [
            {
                "ballot": r["ballot_id"],
                "voter": r["pseudonym"],
                "choices": json.loads(r["choices"]),
                "action": r["action"],
                "at": r["at"],
            }
            for r in rows
        ]
