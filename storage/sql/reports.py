"""What a member's last summary showed, and the links to the live report."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from storage.base import ReportLink
from storage.sql.common import SQLBase, _now, _ts_required


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
            "SELECT tambon_id, member_id, locale, created_at, expires_at FROM report_links"
            " WHERE token_hash = ?",
            (token_hash,),
        )
        if row is None:
            return None
        return ReportLink(
            row["tambon_id"],
            row["member_id"],
            row["locale"],
            _ts_required(row["created_at"]),
            _ts_required(row["expires_at"]),
        )
