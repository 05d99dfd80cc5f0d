"""What the SQL backends share: every query of the :class:`~storage.base.Store` contract.

Statements are written once, with ``?`` placeholders and portable SQL; a backend supplies the
connection, transactions, migrations and the few fragments that differ between dialects
(:class:`storage.sqlite.SQLiteStore`, :class:`storage.postgres.PostgresStore`). Timestamps are
ISO 8601 text in UTC in both, so that the same rows read the same everywhere.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from storage.base import (
    Ballot,
    Conversation,
    Correction,
    DeadLetter,
    DuplicateTambon,
    InboxEvent,
    InboxItem,
    Invite,
    Kind,
    Member,
    NewSubmission,
    OutboxMessage,
    PaperBallots,
    Poll,
    PollClosed,
    PollConflict,
    PollMethod,
    PollOption,
    PollStatus,
    ProblemGroup,
    ReportLink,
    Role,
    StoredAttachment,
    Submission,
    Tambon,
    Village,
)

PAGE = 1000  # submissions per query when reading them all
_KINDS = {kind.value: kind for kind in Kind}

_MEMBER_FIELDS = frozenset(
    {"role", "village_moo", "locale", "consent_at", "tambon_id", "unreachable_at"}
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _at(moment: datetime) -> str:
    """A moment for the delivery tables' ``next_at`` and leases: to the microsecond."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _inbox_event(row: Any) -> InboxEvent:
    return InboxEvent(
        seq=row["seq"],
        channel=row["channel"],
        key=row["event_key"],
        sender=row["sender"],
        payload=row["payload"],
        attempts=row["attempts"],
        next_at=_ts(row["next_at"]),
    )


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _ts_required(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _db_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return value


Row = Any  # a result row: read by column name or position (Row, asyncpg.Record)


class SQLStore:
    """The queries of :class:`storage.base.Store`; subclasses bring the database."""

    # Dialect fragments: a submission with its categories ("a|b", in order) and attachments (a
    # JSON list), and a problem group with its reporters and villages ("1|3").
    _SUBMISSION_SQL: ClassVar[str]
    _GROUP_SQL: ClassVar[str]

    def __init__(self) -> None:
        self._villages: dict[int, tuple[Village, ...]] = {}
        self._poll_options: dict[int, tuple[PollOption, ...]] = {}

    # -- what a backend provides ----------------------------------------------------------

    async def open(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> SQLStore:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def transaction(self) -> AbstractAsyncContextManager[None]:
        """All the statements inside commit together, or none; nested calls join the outer."""
        raise NotImplementedError

    async def _all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """Run one statement (``?`` placeholders) and return its rows."""
        raise NotImplementedError

    async def _many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Run one statement for each parameter tuple."""
        raise NotImplementedError

    def _overlapping_reads(self) -> bool:
        """Whether a query may run while another's rows are being used (page prefetch)."""
        return True

    # Each statement is a round trip to the database, which costs far more than the statement
    # itself; counts and new ids therefore come back through RETURNING rather than through
    # further calls.

    async def _one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    async def _exec(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement; returns how many rows it returned (use RETURNING to count)."""
        return len(await self._all(sql, params))

    async def _insert(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one INSERT ... RETURNING id; returns the new row's id."""
        row = await self._one(sql, params)
        if row is None:
            raise RuntimeError("insert returned no row id")
        return int(row[0])

    # -- updates ------------------------------------------------------------------------

    async def claim_update(self, channel: str, key: str) -> bool:
        changed = await self._exec(
            "INSERT INTO processed_updates (channel, update_key, received_at) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            (channel, key, _now()),
        )
        return changed > 0

    # -- inbox --------------------------------------------------------------------------

    async def _lock_key(self, key: str, *, shared: bool = False) -> None:
        """Hold a lock named ``key`` until the transaction ends; ``shared`` ones only exclude
        the others (a backend with one writer at a time has nothing to do)."""

    def _in_transaction(self) -> bool:
        raise NotImplementedError

    async def inbox_add(self, channel: str, items: Sequence[InboxItem]) -> list[InboxItem]:
        if not items:
            return []
        now = _now()
        keys = list(dict.fromkeys(item.key for item in items))
        marks = ", ".join("?" * len(keys))
        async with self.transaction():
            # An event already handled is in the ledger; one waiting is in the inbox. Three
            # statements for a whole batch: each statement is a round trip.
            seen = {
                row[0]
                for row in await self._all(
                    f"SELECT update_key FROM processed_updates WHERE channel = ?"
                    f" AND update_key IN ({marks}) UNION SELECT event_key FROM inbox"
                    f" WHERE channel = ? AND event_key IN ({marks})",
                    (channel, *keys, channel, *keys),
                )
            }
            new: list[InboxItem] = []
            for item in items:
                if item.key not in seen:
                    seen.add(item.key)
                    new.append(item)
            await self._many(
                "INSERT INTO inbox (channel, event_key, sender, payload, received_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [(channel, i.key, i.sender, i.payload, now) for i in new],
            )
        return new

    async def inbox_pending(self, channel: str) -> list[tuple[str, str]]:
        rows = await self._all(
            "SELECT event_key, payload FROM inbox WHERE channel = ? AND done_at IS NULL"
            " ORDER BY seq",
            (channel,),
        )
        return [(r["event_key"], r["payload"]) for r in rows]

    async def inbox_senders(self, now: datetime) -> list[tuple[str, str]]:
        rows = await self._all(
            "SELECT channel, sender, min(seq) AS first FROM inbox WHERE done_at IS NULL"
            " AND next_at <= ? GROUP BY channel, sender ORDER BY first",
            (_at(now),),
        )
        return [(r["channel"], r["sender"]) for r in rows]

    async def inbox_take(self, channel: str, sender: str, now: datetime) -> InboxEvent | None:
        await self._lock_key(f"inbox:{channel}:{sender}")
        # Marked done in this transaction (the mark is its redelivery key from now on): if
        # handling fails, the rollback takes the mark back.
        row = await self._one(
            "UPDATE inbox SET done_at = ? WHERE seq = (SELECT min(seq) FROM inbox WHERE"
            " channel = ? AND sender = ? AND done_at IS NULL) AND next_at <= ? RETURNING *",
            (_now(), channel, sender, _at(now)),
        )
        return _inbox_event(row) if row is not None else None

    async def inbox_done(self, channel: str, key: str) -> None:
        await self._exec("DELETE FROM inbox WHERE channel = ? AND event_key = ?", (channel, key))

    async def inbox_failed(
        self, channel: str, key: str, error: str, retry_at: datetime, max_attempts: int
    ) -> bool:
        async with self.transaction():
            row = await self._one(
                "UPDATE inbox SET attempts = attempts + 1, next_at = ?, last_error = ?"
                " WHERE channel = ? AND event_key = ? RETURNING *",
                (_at(retry_at), error[:2000], channel, key),
            )
            if row is None or row["attempts"] < max_attempts:
                return False
            await self._exec(
                "INSERT INTO dead_letters (channel, event_key, sender, payload, received_at,"
                " failed_at, attempts, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " RETURNING id",
                (
                    channel,
                    key,
                    row["sender"],
                    row["payload"],
                    row["received_at"],
                    _now(),
                    row["attempts"],
                    row["last_error"],
                ),
            )
            # Kept in the ledger too, so that a redelivery does not bring it back.
            await self.claim_update(channel, key)
            await self.inbox_done(channel, key)
            return True

    async def dead_letters(self, channel: str | None = None) -> list[DeadLetter]:
        if channel is None:
            rows = await self._all("SELECT * FROM dead_letters ORDER BY id")
        else:
            rows = await self._all(
                "SELECT * FROM dead_letters WHERE channel = ? ORDER BY id", (channel,)
            )
        return [
            DeadLetter(
                channel=r["channel"],
                key=r["event_key"],
                sender=r["sender"],
                payload=r["payload"],
                received_at=_ts_required(r["received_at"]),
                failed_at=_ts_required(r["failed_at"]),
                attempts=r["attempts"],
                last_error=r["last_error"],
            )
            for r in rows
        ]

    # -- outbox -------------------------------------------------------------------------

    async def outbox_add(
        self,
        messages: Sequence[tuple[str, str, str]],
        *,
        lease_until: datetime | None = None,
    ) -> list[OutboxMessage]:
        if not messages:
            return []
        now = _now()
        channel, recipient, _ = messages[0]
        one_recipient = all(m[:2] == (channel, recipient) for m in messages)
        # Leased to the caller at once when nothing else waits for this recipient, so that it
        # can send them right after the commit without claiming them; the check and the insert
        # are one statement (the CTE is computed once, before any row goes in).
        lease = _at(lease_until) if lease_until is not None and one_recipient else ""
        values = ", ".join(["(?, ?, ?)"] * len(messages))
        rows = await self._all(
            "WITH waiting AS MATERIALIZED (SELECT EXISTS (SELECT 1 FROM outbox WHERE"
            " state = 'pending' AND channel = ? AND recipient = ?) AS busy),"
            f" fresh (channel, recipient, payload) AS (VALUES {values})"
            " INSERT INTO outbox (channel, recipient, payload, created_at, leased_until)"
            " SELECT f.channel, f.recipient, f.payload, ?,"
            " CASE WHEN w.busy THEN '' ELSE ? END FROM fresh f, waiting w"
            " RETURNING id, recipient, payload, leased_until",
            [channel, recipient, *[v for m in messages for v in m], now, lease],
        )
        created = _ts_required(now)
        return sorted(
            (
                OutboxMessage(row["id"], channel, row["recipient"], row["payload"], created, 0)
                for row in rows
                if row["leased_until"]
            ),
            key=lambda m: m.id,
        )

    async def outbox_recipients(self, now: datetime) -> list[tuple[str, str]]:
        rows = await self._all(
            "SELECT channel, recipient, min(id) AS first FROM outbox"
            " WHERE state = 'pending' AND next_at <= ? AND leased_until <= ?"
            " GROUP BY channel, recipient ORDER BY first",
            (_at(now), _at(now)),
        )
        return [(r["channel"], r["recipient"]) for r in rows]

    async def outbox_claim(
        self, channel: str, recipient: str, now: datetime, lease: timedelta, limit: int = 20
    ) -> list[OutboxMessage]:
        at = _at(now)
        rows = await self._all(
            "UPDATE outbox SET leased_until = ? WHERE id IN (SELECT id FROM outbox"
            " WHERE state = 'pending' AND channel = ? AND recipient = ? ORDER BY id LIMIT ?)"
            " AND NOT EXISTS (SELECT 1 FROM outbox WHERE state = 'pending' AND channel = ?"
            " AND recipient = ? AND (leased_until > ? OR next_at > ?)) RETURNING *",
            (_at(now + lease), channel, recipient, limit, channel, recipient, at, at),
        )
        return sorted(
            (
                OutboxMessage(
                    id=row["id"],
                    channel=row["channel"],
                    recipient=row["recipient"],
                    payload=row["payload"],
                    created_at=_ts_required(row["created_at"]),
                    attempts=row["attempts"],
                )
                for row in rows
            ),
            key=lambda message: message.id,
        )

    async def outbox_release(self, message_ids: Sequence[int]) -> None:
        if message_ids:
            marks = ", ".join("?" * len(message_ids))
            await self._exec(
                f"UPDATE outbox SET leased_until = '' WHERE id IN ({marks}) RETURNING 1",
                tuple(message_ids),
            )

    async def outbox_settle(
        self, message_ids: Sequence[int], state: str, error: str | None = None
    ) -> None:
        if message_ids:
            marks = ", ".join("?" * len(message_ids))
            await self._exec(
                "UPDATE outbox SET state = ?, done_at = ?, leased_until = '', last_error = ?"
                f" WHERE id IN ({marks}) RETURNING 1",
                (state, _now(), error, *message_ids),
            )

    async def outbox_retry(self, message_id: int, error: str, retry_at: datetime) -> None:
        await self._exec(
            "UPDATE outbox SET next_at = ?, leased_until = '', last_error = ?,"
            " attempts = attempts + 1 WHERE id = ? RETURNING 1",
            (_at(retry_at), error[:2000], message_id),
        )

    async def outbox_drop(self, channel: str, recipient: str, reason: str) -> int:
        return await self._exec(
            "UPDATE outbox SET state = 'dropped', done_at = ?, leased_until = '', last_error = ?"
            " WHERE state = 'pending' AND channel = ? AND recipient = ? RETURNING 1",
            (_now(), reason, channel, recipient),
        )

    async def outbox_release_leases(self) -> None:
        """Forget every lease (a store only this process uses, after a crash)."""
        await self._exec(
            "UPDATE outbox SET leased_until = '' WHERE state = 'pending' AND leased_until <> ''"
            " RETURNING 1"
        )

    async def outbox_counts(self) -> dict[str, int]:
        rows = await self._all("SELECT state, count(*) AS n FROM outbox GROUP BY state")
        return {r["state"]: int(r["n"]) for r in rows}

    async def prune_delivery(self, before: datetime) -> int:
        cutoff = before.astimezone(UTC).isoformat(timespec="seconds")
        async with self.transaction():
            pruned = await self._exec(
                "DELETE FROM processed_updates WHERE received_at < ? RETURNING 1", (cutoff,)
            )
            pruned += await self._exec(
                "DELETE FROM outbox WHERE state <> 'pending' AND done_at < ? RETURNING 1",
                (cutoff,),
            )
            pruned += await self._exec(
                "DELETE FROM inbox WHERE done_at IS NOT NULL AND done_at < ? RETURNING 1",
                (cutoff,),
            )
        return pruned

    # -- tambons ------------------------------------------------------------------------

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
        return Tambon(
            id=row["id"],
            code=row["code"],
            name_th=row["name_th"],
            amphoe_th=row["amphoe_th"],
            province_th=row["province_th"],
            name_en=row["name_en"],
            amphoe_en=row["amphoe_en"],
            province_en=row["province_en"],
            created_at=_ts_required(row["created_at"]),
        )

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

    # -- invites ------------------------------------------------------------------------

    @staticmethod
    def _invite(row: Row) -> Invite:
        return Invite(
            code=row["code"],
            tambon_id=row["tambon_id"],
            role=Role(row["role"]),
            created_at=_ts_required(row["created_at"]),
            revoked=bool(row["revoked"]),
        )

    async def create_invite(self, tambon_id: int, role: Role, code: str) -> Invite:
        await self._exec(
            "INSERT INTO invites (code, tambon_id, role, created_at) VALUES (?, ?, ?, ?)",
            (code, tambon_id, role.value, _now()),
        )
        invite = await self.get_invite(code)
        assert invite is not None
        return invite

    async def get_invite(self, code: str) -> Invite | None:
        row = await self._one("SELECT * FROM invites WHERE code = ?", (code,))
        return self._invite(row) if row else None

    async def list_invites(self, tambon_id: int) -> list[Invite]:
        rows = await self._all(
            "SELECT * FROM invites WHERE tambon_id = ? ORDER BY created_at, code", (tambon_id,)
        )
        return [self._invite(r) for r in rows]

    # -- members ------------------------------------------------------------------------

    @staticmethod
    def _member(row: Row) -> Member:
        return Member(
            id=row["id"],
            channel=row["channel"],
            platform_user_id=row["platform_user_id"],
            tambon_id=row["tambon_id"],
            role=Role(row["role"]),
            village_moo=row["village_moo"],
            locale=row["locale"],
            consent_at=_ts(row["consent_at"]),
            pseudonym=row["pseudonym"],
            created_at=_ts_required(row["created_at"]),
            unreachable_at=_ts(row["unreachable_at"]),
        )

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

    async def upsert_member(
        self, channel: str, platform_user_id: str, tambon_id: int, role: Role, locale: str | None
    ) -> Member:
        async with self.transaction():
            await self._exec(
                "INSERT INTO members (channel, platform_user_id, tambon_id, role, locale,"
                " pseudonym, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (channel, platform_user_id) DO UPDATE SET"
                " tambon_id = excluded.tambon_id, role = excluded.role,"
                " village_moo = NULL, consent_at = NULL,"
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

    async def forget_member(self, member_id: int) -> int:
        async with self.transaction():
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

    async def withdraw_submission(
        self, channel: str, source_id: str, author_id: int
    ) -> int | None:
        async with self.transaction():
            row = await self._one(
                "DELETE FROM submissions WHERE channel = ? AND source_id = ? AND author_id = ?"
                " RETURNING id, group_id",
                (channel, source_id, author_id),
            )
            if row is not None and row["group_id"] is not None:
                await self._retitle_group(row["group_id"])
        self._poll_options.clear()
        return int(row["id"]) if row is not None else None

    async def _retitle_group(self, group_id: int) -> None:
        """A group's title is its first remaining reporter's words, or, when none remain, its
        keywords: never the words of someone who asked for them to be erased. Poll options
        drawn from the group follow."""
        group = await self._one(
            "SELECT title, keywords FROM problem_groups WHERE id = ?", (group_id,)
        )
        if group is None:
            return
        first = await self._one(
            "SELECT text FROM submissions WHERE group_id = ? ORDER BY id LIMIT 1", (group_id,)
        )
        if first is not None and first["text"] == group["title"]:
            return  # the erased words were not the title
        keywords = [k for k in group["keywords"].split("|") if k]
        label = " · ".join(keywords) or f"#{group_id}"
        title = first["text"] if first is not None else label
        # Options made from the group (with its id, or copied from its title by /newpoll) take
        # the neutral label: a ballot shows nobody's own words.
        await self._exec(
            "UPDATE poll_options SET text = ? WHERE group_id = ? OR (text = ? AND poll_id IN"
            " (SELECT p.id FROM polls p JOIN problem_groups g ON g.tambon_id = p.tambon_id"
            " WHERE g.id = ?)) RETURNING 1",
            (label[:80], group_id, group["title"][:80], group_id),
        )
        if first is None and not await self._one(
            "SELECT 1 FROM group_reporters WHERE group_id = ?", (group_id,)
        ):
            # Nobody reports it any more: the group goes.
            await self._exec("DELETE FROM problem_groups WHERE id = ? RETURNING 1", (group_id,))
        elif title != group["title"]:
            await self._exec(
                "UPDATE problem_groups SET title = ? WHERE id = ? RETURNING 1", (title, group_id)
            )

    # -- conversations ------------------------------------------------------------------

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

    # -- submissions --------------------------------------------------------------------

    @staticmethod
    def _submission(row: Row) -> Submission:
        cats = row["categories"]
        stored = row["attachments"]
        attachments = (
            tuple(
                StoredAttachment(media, file_id, lat, lon)
                for media, file_id, lat, lon in json.loads(stored)
            )
            if stored and stored != "[]"
            else ()
        )
        return Submission(
            id=row["id"],
            tambon_id=row["tambon_id"],
            text=row["text"],
            kind=_KINDS[row["kind"]],
            categories=tuple(cats.split("|")) if cats else (),
            village_moo=row["village_moo"],
            author_id=row["author_id"],
            relayed=bool(row["relayed"]),
            channel=row["channel"],
            source_id=row["source_id"],
            created_at=_ts_required(row["created_at"]),
            attachments=attachments,
            group_id=row["group_id"],
            actor=row["actor"],
        )

    async def add_submission(self, new: NewSubmission) -> tuple[Submission, bool]:
        async with self.transaction():
            if new.source_id is not None:
                row = await self._one(
                    self._SUBMISSION_SQL + " WHERE channel = ? AND source_id = ?",
                    (new.channel, new.source_id),
                )
                if row is not None:
                    if new.group_id is not None:
                        # A redelivered message: the group made for it holds nobody.
                        await self._exec(
                            "DELETE FROM problem_groups WHERE id = ? AND NOT EXISTS"
                            " (SELECT 1 FROM submissions WHERE group_id = ?) AND NOT EXISTS"
                            " (SELECT 1 FROM group_reporters WHERE group_id = ?) RETURNING 1",
                            (new.group_id, new.group_id, new.group_id),
                        )
                    return self._submission(row), False
            submission_id = await self._insert(
                "INSERT INTO submissions (tambon_id, village_moo, author_id, relayed, text, kind,"
                " channel, source_id, created_at, group_id, actor)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    new.tambon_id,
                    new.village_moo,
                    new.author_id,
                    int(new.relayed),
                    new.text,
                    new.kind.value,
                    new.channel,
                    new.source_id,
                    _now(),
                    new.group_id,
                    new.actor,
                ),
            )
            await self._many(
                "INSERT INTO submission_categories (submission_id, category, position)"
                " VALUES (?, ?, ?)",
                [(submission_id, cat, i) for i, cat in enumerate(dict.fromkeys(new.categories))],
            )
            await self._many(
                "INSERT INTO submission_attachments (submission_id, media, file_id, latitude,"
                " longitude) VALUES (?, ?, ?, ?, ?)",
                [
                    (submission_id, a.media, a.file_id, a.latitude, a.longitude)
                    for a in new.attachments
                ],
            )
            stored = await self.get_submission(submission_id)
        assert stored is not None
        return stored, True

    async def get_submission(self, submission_id: int) -> Submission | None:
        row = await self._one(self._SUBMISSION_SQL + " WHERE s.id = ?", (submission_id,))
        return self._submission(row) if row else None

    async def list_submissions(
        self, tambon_id: int, *, author_id: int | None = None, limit: int | None = None
    ) -> list[Submission]:
        sql = self._SUBMISSION_SQL + " WHERE s.tambon_id = ?"
        params: list[Any] = [tambon_id]
        if author_id is not None:
            sql += " AND s.author_id = ?"
            params.append(author_id)
        sql += " ORDER BY s.id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [self._submission(r) for r in await self._all(sql, params)]

    async def iter_submissions(self, tambon_id: int) -> AsyncIterator[Submission]:
        """All of a tambon's submissions, oldest first, fetched in pages.

        The next page is fetched (where the backend can run two queries at once) while this one
        is turned into objects."""
        sql = self._SUBMISSION_SQL + " WHERE s.tambon_id = ? AND s.id > ? ORDER BY s.id LIMIT ?"
        rows = await self._all(sql, (tambon_id, 0, PAGE))
        while rows:
            following = (
                asyncio.ensure_future(self._all(sql, (tambon_id, rows[-1]["id"], PAGE)))
                if len(rows) == PAGE and self._overlapping_reads()
                else None
            )
            try:
                for row in rows:
                    yield self._submission(row)
            except BaseException:  # the reader stopped early (or failed): drop the next page
                if following is not None:
                    following.cancel()
                raise
            if following is not None:
                rows = await following
            elif len(rows) == PAGE:
                rows = await self._all(sql, (tambon_id, rows[-1]["id"], PAGE))
            else:
                rows = []

    async def all_submissions(self, tambon_id: int) -> list[Submission]:
        return [s async for s in self.iter_submissions(tambon_id)]

    async def count_submissions(self, tambon_id: int) -> int:
        row = await self._one("SELECT count(*) FROM submissions WHERE tambon_id = ?", (tambon_id,))
        return int(row[0]) if row else 0

    async def add_correction(self, correction: Correction) -> None:
        await self._exec(
            "INSERT INTO tag_corrections (submission_id, member_id, source, old_categories,"
            " new_categories, old_kind, new_kind, old_village, new_village, corrected_by,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                correction.submission_id,
                correction.member_id,
                correction.source,
                "|".join(correction.old_categories),
                "|".join(correction.new_categories),
                correction.old_kind.value,
                correction.new_kind.value,
                correction.old_village,
                correction.new_village,
                correction.corrected_by,
                _now(),
            ),
        )

    async def update_submission_tags(
        self,
        submission_id: int,
        categories: Sequence[str],
        kind: Kind,
        village_moo: int | None,
        actor: str | None,
    ) -> Submission:
        async with self.transaction():
            await self._exec(
                "UPDATE submissions SET kind = ?, village_moo = ?, actor = ? WHERE id = ?",
                (kind.value, village_moo, actor, submission_id),
            )
            await self._exec(
                "DELETE FROM submission_categories WHERE submission_id = ?", (submission_id,)
            )
            await self._many(
                "INSERT INTO submission_categories (submission_id, category, position)"
                " VALUES (?, ?, ?)",
                [(submission_id, c, i) for i, c in enumerate(dict.fromkeys(categories))],
            )
            updated = await self.get_submission(submission_id)
        if updated is None:
            raise LookupError(submission_id)
        return updated

    # -- polls --------------------------------------------------------------------------

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
        return Ballot(
            id=row["id"],
            poll_id=row["poll_id"],
            member_id=row["member_id"],
            village_moo=row["village_moo"],
            choices=tuple(json.loads(row["choices"])),
            cast_at=_ts_required(row["cast_at"]),
            changed_at=_ts_required(row["changed_at"]),
        )

    async def cast_ballot(
        self,
        poll_id: int,
        member_id: int,
        pseudonym: str,
        village_moo: int | None,
        choices: Sequence[int],
    ) -> tuple[Ballot, bool]:
        encoded = json.dumps(list(choices))
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
            # the concurrency; a second cast replaces the first.
            row = await self._one(
                "INSERT INTO ballots (poll_id, member_id, village_moo, choices, cast_at,"
                " changed_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (poll_id, member_id) DO UPDATE SET choices = excluded.choices,"
                " village_moo = excluded.village_moo, changed_at = excluded.changed_at"
                " RETURNING *, cast_at != changed_at AS replaced",
                (poll_id, member_id, village_moo, encoded, stamp, stamp),
            )
            assert row is not None
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

    async def list_ballots(self, poll_id: int) -> list[Ballot]:
        rows = await self._all("SELECT * FROM ballots WHERE poll_id = ? ORDER BY id", (poll_id,))
        return [self._ballot(r) for r in rows]

    async def add_paper_ballots(
        self, poll_id: int, choices: Sequence[int], count: int, entered_by: str
    ) -> None:
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

    # -- problem groups -----------------------------------------------------------------

    @staticmethod
    def _group(row: Row) -> ProblemGroup:
        return ProblemGroup(
            id=row["id"],
            tambon_id=row["tambon_id"],
            title=row["title"],
            keywords=tuple(k for k in row["keywords"].split("|") if k),
            categories=tuple(c for c in row["categories"].split("|") if c),
            village_moo=row["village_moo"],
            reporters=int(row["reporters"]),
            villages=tuple(int(v) for v in (row["villages"] or "").split("|") if v),
            created_at=_ts_required(row["created_at"]),
        )

    async def create_group(
        self,
        tambon_id: int,
        title: str,
        keywords: Sequence[str],
        categories: Sequence[str],
        village_moo: int | None,
    ) -> int:
        return await self._insert(
            "INSERT INTO problem_groups (tambon_id, title, keywords, categories, village_moo,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (tambon_id, title, "|".join(keywords), "|".join(categories), village_moo, _now()),
        )

    async def list_groups(self, tambon_id: int) -> list[ProblemGroup]:
        rows = await self._all(
            self._GROUP_SQL + " WHERE g.tambon_id = ? ORDER BY reporters DESC, g.id",
            (tambon_id,),
        )
        return [self._group(r) for r in rows]

    async def get_group(self, group_id: int) -> ProblemGroup | None:
        row = await self._one(self._GROUP_SQL + " WHERE g.id = ?", (group_id,))
        return self._group(row) if row else None

    async def add_group_reporter(
        self, group_id: int, member_id: int | None, village_moo: int | None, relayed: bool
    ) -> bool:
        added = await self._exec(
            "INSERT INTO group_reporters (group_id, member_id, village_moo, relayed, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
            (group_id, member_id, village_moo, int(relayed), _now()),
        )
        return added > 0

    async def list_corrections(self, submission_id: int | None = None) -> list[Correction]:
        sql = "SELECT * FROM tag_corrections"
        params: tuple[Any, ...] = ()
        if submission_id is not None:
            sql += " WHERE submission_id = ?"
            params = (submission_id,)
        rows = await self._all(sql + " ORDER BY id", params)
        return [
            Correction(
                submission_id=r["submission_id"],
                member_id=r["member_id"],
                source=r["source"],
                old_categories=tuple(filter(None, r["old_categories"].split("|"))),
                new_categories=tuple(filter(None, r["new_categories"].split("|"))),
                old_kind=Kind(r["old_kind"]),
                new_kind=Kind(r["new_kind"]),
                old_village=r["old_village"],
                new_village=r["new_village"],
                corrected_by=r["corrected_by"],
            )
            for r in rows
        ]

    # -- reports ------------------------------------------------------------------------

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
