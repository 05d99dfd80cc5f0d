"""Members and their conversations."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from storage.base import Attempts, Conversation, Member, Role
from storage.sql.common import (
    _MEMBER_FIELDS,
    Row,
    SQLBase,
    _db_value,
    _now,
    from_row,
)

# The channel of the stand-in that keeps a forgotten person's ballots in closed polls counted:
# no platform has it, so nobody is ever messaged or matched through it.
FORGOTTEN = "forgotten"


class MemberQueries(SQLBase):
    """Members and their conversations."""

    # -- members -------------------------------------------------------------------------

    @staticmethod
    def _member(row: Row) -> Member:
        return from_row(Member, row)

    async def get_member(self, channel: str, platform_user_id: str) -> Member | None:
        row = await self._one(
            "SELECT * FROM members WHERE channel = ? AND platform_user_id = ?",
            (channel, platform_user_id),
        )
        return self._member(row) if row else None

    async def get_member_and_conversation(
        self, channel: str, platform_user_id: str
    ) -> tuple[Member | None, Conversation | None]:
        row = await self._one(
            "SELECT m.*, c.step AS c_step, c.data AS c_data, c.offered AS c_offered"
            " FROM members m LEFT JOIN conversations c ON c.member_id = m.id"
            " WHERE m.channel = ? AND m.platform_user_id = ?",
            (channel, platform_user_id),
        )
        if row is None:
            return None, None
        member = self._member(row)
        if row["c_step"] is None:
            return member, Conversation(member.id)
        return member, self._conversation(
            member.id, row["c_step"], row["c_data"], row["c_offered"]
        )

    async def get_member_by_id(self, member_id: int) -> Member | None:
        row = await self._one("SELECT * FROM members WHERE id = ?", (member_id,))
        return self._member(row) if row else None

    async def get_members_by_ids(self, member_ids: Iterable[int]) -> dict[int, Member]:
        found = await self._members_where("id", member_ids)
        return {m.id: m for m in found}

    async def get_members_on(self, channel: str, user_ids: Iterable[str]) -> dict[str, Member]:
        found = await self._members_where("platform_user_id", user_ids, "channel = ?", channel)
        return {m.platform_user_id: m for m in found}

    async def _members_where(
        self, column: str, values: Iterable[Any], also: str = "1 = 1", *params: Any
    ) -> list[Member]:
        """Members whose ``column`` (a fixed name, never input) is one of ``values``, read 500
        at a time (one statement each), and ``also`` holds."""
        wanted = sorted(set(values))
        found = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = await self._all(
                f"SELECT * FROM members WHERE {also} AND {column} IN ({marks})", (*params, *chunk)
            )
            found += [self._member(row) for row in rows]
        return found

    async def get_attempts(self, kind: str, who: str) -> Attempts | None:
        row = await self._one("SELECT * FROM attempts WHERE kind = ? AND who = ?", (kind, who))
        return from_row(Attempts, row) if row else None

    async def save_attempts(self, attempts: Attempts) -> None:
        await self._exec(
            "INSERT INTO attempts (kind, who, failures, first_at, locked_until)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, who) DO UPDATE SET"
            " failures = excluded.failures, first_at = excluded.first_at,"
            " locked_until = excluded.locked_until",
            (
                attempts.kind,
                attempts.who,
                attempts.failures,
                _db_value(attempts.first_at),
                _db_value(attempts.locked_until),
            ),
        )

    async def prune_attempts(self, before: datetime) -> int:
        at = _db_value(before)
        return await self._exec(
            "DELETE FROM attempts WHERE first_at < ? AND (locked_until IS NULL"
            " OR locked_until < ?) RETURNING 1",
            (at, at),
        )

    async def clear_attempts(self, kind: str, who: str) -> None:
        await self._exec("DELETE FROM attempts WHERE kind = ? AND who = ?", (kind, who))

    async def list_members(self, tambon_id: int) -> list[Member]:
        rows = await self._all(
            "SELECT * FROM members WHERE tambon_id = ? AND removed_at IS NULL"
            " ORDER BY village_moo IS NULL, village_moo, role, id",
            (tambon_id,),
        )
        return [self._member(r) for r in rows]

    async def list_members_with_menu(self, channel: str, menu: str) -> list[Member]:
        rows = await self._all(
            "SELECT * FROM members WHERE channel = ? AND menu = ? ORDER BY id", (channel, menu)
        )
        return [self._member(r) for r in rows]

    async def upsert_member(
        self, channel: str, platform_user_id: str, tambon_id: int, role: Role, locale: str | None
    ) -> Member:
        async with self.transaction():
            await self._exec(
                "INSERT INTO members (channel, platform_user_id, tambon_id, role, locale,"
                " pseudonym, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (channel, platform_user_id) DO UPDATE SET"
                " tambon_id = excluded.tambon_id, role = excluded.role,"
                " village_moo = NULL, consent_at = NULL, removed_at = NULL,"
                " locale = COALESCE(members.locale, excluded.locale)",
                (
                    channel,
                    platform_user_id,
                    tambon_id,
                    role.value,
                    locale,
                    "P-" + secrets.token_hex(5),
                    _now(),
                ),
            )
            member = await self.get_member(channel, platform_user_id)
        assert member is not None
        return member

    async def update_member(self, member_id: int, **fields: Any) -> Member:
        unknown = set(fields) - _MEMBER_FIELDS
        if unknown:
            raise ValueError(f"cannot update member fields {sorted(unknown)}")
        if not fields:
            member = await self.get_member_by_id(member_id)
        else:
            # Column names come from the fixed set above, never from input.
            assignments = ", ".join(f"{name} = ?" for name in fields)
            values = [_db_value(v) for v in fields.values()]
            row = await self._one(
                f"UPDATE members SET {assignments} WHERE id = ? RETURNING *", (*values, member_id)
            )
            member = self._member(row) if row else None
        if member is None:
            raise LookupError(member_id)
        return member

    async def forget_member(
        self, member_id: int, *, counts_of: str | None = None, keep_counts: Sequence[str] = ()
    ) -> int:
        async with self.transaction():
            who = await self._one(
                "SELECT channel, platform_user_id FROM members WHERE id = ?", (member_id,)
            )
            texts = [
                str(r["text"])
                for r in await self._all(
                    "SELECT text FROM submissions WHERE author_id = ? AND relayed = 0",
                    (member_id,),
                )
            ]
            if who is not None:
                # Their held replies and their dead letters go.
                person = (who["channel"], who["platform_user_id"])
                # Their replies' lane and their notices' lane (bot/pipeline.py BULK_LANE).
                await self._exec(
                    "DELETE FROM outbox WHERE channel = ? AND recipient IN (?, ?)"
                    " AND state <> 'pending' RETURNING 1",
                    (*person, "bulk:" + person[1]),
                )
                await self._exec(
                    "DELETE FROM dead_letters WHERE channel = ? AND sender = ? RETURNING 1",
                    person,
                )
            # Their words may be in other people's rows too: a reply that showed a problem's
            # title, a button press that echoes the message it was under. Every handled update
            # and settled reply, whoever's, loses its words now (the keys stay, so redeliveries
            # are still recognised); other people's dead letters that quote them lose theirs.
            await self._blank_delivered(None)
            await self._blank_dead_letters_quoting(texts)
            if counts_of is not None:
                marks = ", ".join("?" * len(keep_counts)) or "''"
                await self._exec(
                    f"DELETE FROM attempts WHERE who = ? AND kind NOT IN ({marks}) RETURNING 1",
                    (counts_of, *keep_counts),
                )
            await self._keep_closed_ballots(member_id)
            removed = await self._all(
                "DELETE FROM submissions WHERE author_id = ? AND relayed = 0"
                " RETURNING id, group_id",
                (member_id,),
            )
            await self._exec("DELETE FROM members WHERE id = ?", (member_id,))
            groups = sorted({r["group_id"] for r in removed if r["group_id"] is not None})
            for group_id in groups:
                await self._retitle_group(group_id)
        self._poll_options.clear()  # option texts may have changed
        return len(removed)

    async def _keep_closed_ballots(self, member_id: int) -> None:
        """Before a member is erased: their ballots in closed polls stay counted (a hearing's
        result, once announced, does not change) on a stand-in with no account, name, consent
        or village, and a new pseudonym in the ballot log; their ballots in polls still open go
        with them, and so does those ballots' log."""
        kept = [
            int(row["id"])
            for row in await self._all(
                "SELECT b.id FROM ballots b JOIN polls p ON p.id = b.poll_id"
                " WHERE b.member_id = ? AND p.status = 'closed'",
                (member_id,),
            )
        ]
        if kept:
            now = _now()
            pseudonym = "P-" + secrets.token_hex(5)
            stand_in = await self._insert(
                "INSERT INTO members (channel, platform_user_id, tambon_id, role, pseudonym,"
                " created_at, removed_at) SELECT ?, ?, tambon_id, ?, ?, ?, ? FROM members"
                " WHERE id = ? RETURNING id",
                (
                    FORGOTTEN,
                    secrets.token_hex(16),
                    Role.VILLAGER.value,
                    pseudonym,
                    now,
                    now,
                    member_id,
                ),
            )
            marks = ", ".join("?" * len(kept))
            await self._exec(
                f"UPDATE ballots SET member_id = ? WHERE id IN ({marks}) RETURNING 1",
                (stand_in, *kept),
            )
            await self._exec(
                f"UPDATE ballot_log SET pseudonym = ? WHERE ballot_id IN ({marks}) RETURNING 1",
                (pseudonym, *kept),
            )
        await self._exec(
            "DELETE FROM ballot_log WHERE ballot_id IN"
            " (SELECT id FROM ballots WHERE member_id = ?) RETURNING 1",
            (member_id,),
        )

    # -- conversations -------------------------------------------------------------------

    async def get_conversation(self, member_id: int) -> Conversation:
        row = await self._one(
            "SELECT step, data, offered FROM conversations WHERE member_id = ?", (member_id,)
        )
        if row is None:
            return Conversation(member_id)
        return self._conversation(member_id, row["step"], row["data"], row["offered"])

    @staticmethod
    def _conversation(member_id: int, step: str, data: str, offered: str) -> Conversation:
        choices = [(str(p), str(label)) for p, label in json.loads(offered)]
        stored = "\x00".join((step, data, offered))
        return Conversation(member_id, step, json.loads(data), choices, stored)

    async def save_conversation(self, conversation: Conversation) -> None:
        data = json.dumps(conversation.data, ensure_ascii=False)
        offered = json.dumps(conversation.offered, ensure_ascii=False)
        serialised = "\x00".join((conversation.step, data, offered))
        if serialised == conversation.stored:
            return  # unchanged: nothing to write
        conversation.stored = serialised
        await self._exec(
            "INSERT INTO conversations (member_id, step, data, offered, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (member_id) DO UPDATE SET"
            " step = excluded.step, data = excluded.data, offered = excluded.offered,"
            " updated_at = excluded.updated_at",
            (
                conversation.member_id,
                conversation.step,
                data,
                offered,
                _now(),
            ),
        )
