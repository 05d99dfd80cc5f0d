"""The workbench's sign-in links and sessions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from storage.base import WebSession
from storage.sql.common import SQLBase, _ts, _ts_required


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _session(row: Any) -> WebSession:
    return WebSession(
        id=row["id"],
        member_id=row["member_id"],
        tambon_id=row["tambon_id"],
        csrf=row["csrf"],
        created_at=_ts_required(row["created_at"]),
        last_seen_at=_ts_required(row["last_seen_at"]),
        expires_at=_ts_required(row["expires_at"]),
        ended_at=_ts(row["ended_at"]),
        agent=row["agent"],
    )


_SESSION = "id, member_id, tambon_id, csrf, created_at, last_seen_at, expires_at, ended_at, agent"


class WebQueries(SQLBase):
    """The workbench's sign-in links and sessions."""

    async def add_web_link(
        self, token_hash: str, member_id: int, tambon_id: int, now: datetime, expires: datetime
    ) -> None:
        await self._exec(
            "INSERT INTO web_links (token_hash, member_id, tambon_id, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (token_hash, member_id, tambon_id, _iso(now), _iso(expires)),
        )

    async def use_web_link(self, token_hash: str, now: datetime) -> tuple[int, int] | None:
        row = await self._one(
            "UPDATE web_links SET used_at = ?"
            " WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?"
            " RETURNING member_id, tambon_id",
            (_iso(now), token_hash, _iso(now)),
        )
        return None if row is None else (row["member_id"], row["tambon_id"])

    async def add_web_session(
        self,
        token_hash: str,
        csrf: str,
        member_id: int,
        tambon_id: int,
        now: datetime,
        expires: datetime,
        agent: str,
    ) -> WebSession:
        row = await self._one(
            "INSERT INTO web_sessions (token_hash, csrf, member_id, tambon_id, created_at,"
            " last_seen_at, expires_at, agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            f" RETURNING {_SESSION}",
            (token_hash, csrf, member_id, tambon_id, _iso(now), _iso(now), _iso(expires), agent),
        )
        assert row is not None
        return _session(row)

    async def get_web_session(self, token_hash: str) -> WebSession | None:
        row = await self._one(
            f"SELECT {_SESSION} FROM web_sessions WHERE token_hash = ?", (token_hash,)
        )
        return None if row is None else _session(row)

    async def touch_web_session(self, session_id: int, now: datetime) -> None:
        await self._exec(
            "UPDATE web_sessions SET last_seen_at = ? WHERE id = ?", (_iso(now), session_id)
        )

    async def list_web_sessions(self, member_id: int) -> list[WebSession]:
        rows = await self._all(
            f"SELECT {_SESSION} FROM web_sessions WHERE member_id = ? AND ended_at IS NULL"
            " ORDER BY created_at DESC, id DESC",
            (member_id,),
        )
        return [_session(r) for r in rows]

    async def end_web_sessions(
        self, now: datetime, *, member_id: int, session_id: int | None = None
    ) -> int:
        rows = await self._all(
            "UPDATE web_sessions SET ended_at = ? WHERE member_id = ? AND ended_at IS NULL"
            + (" AND id = ?" if session_id is not None else "")
            + " RETURNING id",
            (_iso(now), member_id, *(() if session_id is None else (session_id,))),
        )
        return len(rows)
