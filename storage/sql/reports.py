"""What a member's last summary showed, and the links to the live report."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from storage.base import ReportLink
from storage.sql.common import SQLBase, _now, _ts, _ts_required


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


_LINK = "id, tambon_id, member_id, locale, created_at, expires_at, revoked_at"


def _link(row: Any) -> ReportLink:
    return ReportLink(
        row["tambon_id"],
        row["member_id"],
        row["locale"],
        _ts_required(row["created_at"]),
        _ts_required(row["expires_at"]),
        id=row["id"],
        revoked_at=_ts(row["revoked_at"]),
    )


class ReportQueries(SQLBase):
    """What a member's last summary showed, and the links to the live report."""

    # -- reports -------------------------------------------------------------------------

    async def get_summary_view(self, member_id: int) -> tuple[datetime, dict[str, Any]] | None:
        row = await self._one(
            "SELECT at, snapshot FROM summary_views WHERE member_id = ?", (member_id,)
        )
        return None if row is None else (_ts_required(row["at"]), json.loads(row["snapshot"]))

    async def save_summary_view(self, member_id: int, snapshot: dict[str, Any]) -> None:
        await self._exec(
            "INSERT INTO summary_views (member_id, at, snapshot) VALUES (?, ?, ?)"
            " ON CONFLICT (member_id) DO UPDATE SET"
            " at = excluded.at, snapshot = excluded.snapshot",
            (member_id, _now(), json.dumps(snapshot, ensure_ascii=False)),
        )

    async def create_report_link(self, token_hash: str, link: ReportLink) -> None:
        await self._exec(
            "INSERT INTO report_links"
            " (token_hash, tambon_id, member_id, locale, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                token_hash,
                link.tambon_id,
                link.member_id,
                link.locale,
                link.created_at.isoformat(),
                link.expires_at.isoformat(),
            ),
        )

    async def get_report_link(self, token_hash: str) -> ReportLink | None:
        row = await self._one(
            f"SELECT {_LINK} FROM report_links WHERE token_hash = ?", (token_hash,)
        )
        return None if row is None else _link(row)

    async def get_report_link_by_id(self, link_id: int) -> ReportLink | None:
        row = await self._one(f"SELECT {_LINK} FROM report_links WHERE id = ?", (link_id,))
        return None if row is None else _link(row)

    async def list_report_links(self, tambon_id: int, now: datetime) -> list[ReportLink]:
        rows = await self._all(
            f"SELECT {_LINK} FROM report_links WHERE tambon_id = ? AND expires_at > ?"
            " AND revoked_at IS NULL ORDER BY id DESC",
            (tambon_id, _iso(now)),
        )
        return [_link(row) for row in rows]

    async def revoke_report_links(
        self,
        tambon_id: int,
        now: datetime,
        *,
        link_id: int | None = None,
        member_id: int | None = None,
    ) -> list[ReportLink]:
        which, value = ("id", link_id) if link_id is not None else ("member_id", member_id)
        if value is None:
            return []
        rows = await self._all(
            f"UPDATE report_links SET revoked_at = ? WHERE tambon_id = ? AND {which} = ?"
            f" AND revoked_at IS NULL AND expires_at > ? RETURNING {_LINK}",
            (_iso(now), tambon_id, value, _iso(now)),
        )
        return sorted((_link(row) for row in rows), key=lambda link: link.id or 0)

    async def mark_report_opened(self, link_id: int, now: datetime, since: datetime) -> bool:
        changed = await self._exec(
            "UPDATE report_links SET opened_at = ? WHERE id = ?"
            " AND (opened_at IS NULL OR opened_at <= ?) RETURNING 1",
            (_iso(now), link_id, _iso(since)),
        )
        return changed > 0
