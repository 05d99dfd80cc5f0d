"""Tambons, their villages and their join codes."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from storage.base import AuditEntry, DuplicateTambon, Invite, Role, Tambon, Village
from storage.sql.common import Row, SQLBase, _db_value, _now, from_row


class TambonQueries(SQLBase):
    """Tambons, their villages and their join codes."""

    # -- tambons -------------------------------------------------------------------------

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
    ) -> Tambon:
        async with self.transaction():
            # ON CONFLICT: two processes creating the same tambon at once (PostgreSQL) get one
            # tambon and one DuplicateTambon, not a constraint error.
            row = await self._one(
                "INSERT INTO tambons (code, name_th, amphoe_th, province_th, name_en, amphoe_en,"
                " province_en, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (code) DO NOTHING RETURNING id",
                (code, name_th, amphoe_th, province_th, name_en, amphoe_en, province_en, _now()),
            )
            if row is None:
                raise DuplicateTambon(code)
            tambon_id = int(row[0])
            await self._many(
                "INSERT INTO villages (tambon_id, moo, name) VALUES (?, ?, ?)",
                [(tambon_id, moo, name) for moo, name in villages],
            )
            self._villages.pop(tambon_id, None)
            tambon = await self.get_tambon(tambon_id)
        assert tambon is not None
        return tambon

    @staticmethod
    def _tambon(row: Row) -> Tambon:
        return from_row(Tambon, row)

    async def get_tambon(self, tambon_id: int) -> Tambon | None:
        row = await self._one("SELECT * FROM tambons WHERE id = ?", (tambon_id,))
        return self._tambon(row) if row else None

    async def get_tambon_by_code(self, code: str) -> Tambon | None:
        row = await self._one("SELECT * FROM tambons WHERE code = ?", (code,))
        return self._tambon(row) if row else None

    async def list_tambons(self) -> list[Tambon]:
        return [self._tambon(r) for r in await self._all("SELECT * FROM tambons ORDER BY code")]

    async def list_villages(self, tambon_id: int) -> list[Village]:
        # Villages are written only with their tambon, so they are read once per process.
        cached = self._villages.get(tambon_id)
        if cached is None:
            rows = await self._all(
                "SELECT tambon_id, moo, name FROM villages WHERE tambon_id = ? ORDER BY moo",
                (tambon_id,),
            )
            cached = tuple(Village(r["tambon_id"], r["moo"], r["name"]) for r in rows)
            if cached:
                self._villages[tambon_id] = cached
        return list(cached)

    # -- invites -------------------------------------------------------------------------

    @staticmethod
    def _invite(row: Row) -> Invite:
        return from_row(Invite, row)

    async def create_invite(
        self,
        tambon_id: int,
        role: Role,
        code: str,
        expires_at: datetime | None = None,
        max_uses: int | None = None,
    ) -> Invite:
        await self._exec(
            "INSERT INTO invites (code, tambon_id, role, created_at, expires_at, max_uses)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (code, tambon_id, role.value, _now(), _db_value(expires_at), max_uses),
        )
        invite = await self.get_invite(code)
        assert invite is not None
        return invite

    async def get_invite(self, code: str) -> Invite | None:
        row = await self._one("SELECT * FROM invites WHERE code = ?", (code,))
        return self._invite(row) if row else None

    async def use_invite(self, code: str, now: datetime) -> bool:
        return bool(
            await self._exec(
                "UPDATE invites SET uses = uses + 1 WHERE code = ? AND revoked = 0"
                " AND (expires_at IS NULL OR expires_at > ?)"
                " AND (max_uses IS NULL OR uses < max_uses) RETURNING code",
                (code, _db_value(now)),
            )
        )

    async def revoke_invite(self, code: str) -> bool:
        return bool(
            await self._exec(
                "UPDATE invites SET revoked = 1 WHERE code = ? AND revoked = 0 RETURNING code",
                (code,),
            )
        )

    # -- the audit trail -----------------------------------------------------------------

    async def add_audit(
        self, tambon_id: int, who: str, action: str, detail: Mapping[str, Any]
    ) -> None:
        await self._exec(
            "INSERT INTO audit (tambon_id, at, who, action, detail) VALUES (?, ?, ?, ?, ?)",
            (tambon_id, _now(), who, action, json.dumps(dict(detail), ensure_ascii=False)),
        )

    async def list_audit(self, tambon_id: int) -> list[AuditEntry]:
        rows = await self._all("SELECT * FROM audit WHERE tambon_id = ? ORDER BY id", (tambon_id,))
        return [from_row(AuditEntry, r, detail=json.loads(r["detail"])) for r in rows]

    async def list_invites(self, tambon_id: int) -> list[Invite]:
        rows = await self._all(
            "SELECT * FROM invites WHERE tambon_id = ? ORDER BY created_at, code", (tambon_id,)
        )
        return [self._invite(r) for r in rows]
