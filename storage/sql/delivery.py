"""The durable path's tables: the redelivery ledger, the inbox, the dead letters and the
outbox."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from storage.base import DeadLetter, InboxEvent, InboxItem, OutboxMessage
from storage.sql.common import SQLBase, _at, _inbox_event, _now, _ts_required, from_row


class DeliveryQueries(SQLBase):
    """The durable path's tables: the redelivery ledger, the inbox, the dead letters and the
    outbox."""

    # -- updates -------------------------------------------------------------------------

    async def claim_update(self, channel: str, key: str) -> bool:
        changed = await self._exec(
            "INSERT INTO processed_updates (channel, update_key, received_at) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            (channel, key, _now()),
        )
        return changed > 0

    # -- inbox ---------------------------------------------------------------------------

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
            # Marked done, the row stays as its redelivery key, as a handled event's does, so
            # that a redelivery does not bring it back.
            await self._exec(
                "UPDATE inbox SET done_at = ? WHERE channel = ? AND event_key = ? RETURNING 1",
                (_now(), channel, key),
            )
            return True

    async def dead_letter_add(self, channel: str, item: InboxItem, error: str) -> bool:
        async with self.transaction():
            if not await self.claim_update(channel, item.key):
                return False  # kept already (a redelivery)
            now = _now()
            await self._exec(
                "INSERT INTO dead_letters (channel, event_key, sender, payload, received_at,"
                " failed_at, attempts, last_error) VALUES (?, ?, ?, ?, ?, ?, 0, ?) RETURNING id",
                (channel, item.key, item.sender, item.payload, now, now, error[:2000]),
            )
        return True

    async def dead_letters(self, channel: str | None = None) -> list[DeadLetter]:
        if channel is None:
            rows = await self._all("SELECT * FROM dead_letters ORDER BY id")
        else:
            rows = await self._all(
                "SELECT * FROM dead_letters WHERE channel = ? ORDER BY id", (channel,)
            )
        return [from_row(DeadLetter, r, key=r["event_key"]) for r in rows]

    # -- outbox --------------------------------------------------------------------------

    async def count_push(self, channel: str, month: str, n: int = 1) -> int:
        row = await self._one(
            "INSERT INTO push_counts (channel, month, pushes) VALUES (?, ?, ?)"
            " ON CONFLICT (channel, month) DO UPDATE SET pushes = push_counts.pushes + ?"
            " RETURNING pushes",
            (channel, month, n, n),
        )
        return int(row["pushes"]) if row else 0

    async def push_counts(self, month: str) -> dict[str, int]:
        rows = await self._all("SELECT channel, pushes FROM push_counts WHERE month = ?", (month,))
        return {str(r["channel"]): int(r["pushes"]) for r in rows}

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
            (from_row(OutboxMessage, row) for row in rows),
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

    async def outbox_hold(self, message_id: int, reason: str, until: datetime) -> None:
        await self._exec(
            "UPDATE outbox SET state = 'held', next_at = ?, leased_until = '', last_error = ?,"
            " attempts = attempts + 1 WHERE id = ? RETURNING 1",
            (_at(until), reason[:2000], message_id),
        )

    async def outbox_unhold(self, now: datetime) -> int:
        return await self._exec(
            "UPDATE outbox SET state = 'pending', next_at = '', created_at = ?"
            " WHERE state = 'held' AND next_at <= ? RETURNING 1",
            (_now(), _at(now)),
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

    async def _blank_delivered(self, before: str | None) -> int:
        # A handled update's row is its redelivery key and a settled reply's row says it went:
        # neither needs the words any more.
        since = "" if before is None else " AND done_at < ?"
        params = () if before is None else (before,)
        blanked = await self._exec(
            "UPDATE inbox SET payload = '' WHERE done_at IS NOT NULL AND payload <> ''"
            f"{since} RETURNING 1",
            params,
        )
        return blanked + await self._exec(
            "UPDATE outbox SET payload = '' WHERE state NOT IN ('pending', 'held')"
            f" AND payload <> ''{since} RETURNING 1",
            params,
        )

    async def _blank_dead_letters_quoting(self, texts: Iterable[str]) -> int:
        pieces = quotable_pieces(texts)
        if not pieces:
            return 0
        quoting = [
            int(row["id"])
            for row in await self._all("SELECT id, payload FROM dead_letters WHERE payload <> ''")
            if any(piece in _words_of(row["payload"]) for piece in pieces)
        ]
        for chunk in range(0, len(quoting), 500):
            ids = quoting[chunk : chunk + 500]
            await self._exec(
                "UPDATE dead_letters SET payload = '', last_error = 'words forgotten'"
                f" WHERE id IN ({', '.join('?' * len(ids))}) RETURNING 1",
                ids,
            )
        return len(quoting)

    async def outbox_counts(self) -> dict[str, int]:
        rows = await self._all("SELECT state, count(*) AS n FROM outbox GROUP BY state")
        return {r["state"]: int(r["n"]) for r in rows}

    async def prune_delivery(self, before: datetime, words_before: datetime | None = None) -> int:
        cutoff = before.astimezone(UTC).isoformat(timespec="seconds")
        async with self.transaction():
            if words_before is not None:
                await self._blank_delivered(
                    words_before.astimezone(UTC).isoformat(timespec="seconds")
                )
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


# Digits (a phone number may be shown hidden) and line breaks cut a text into the pieces that
# another reply may quote as they are; a piece this long is the person's own sentence.
_CUTS = re.compile(r"[0-9\u0e50-\u0e59\n]+")
PIECE_CHARS = 12


def quotable_pieces(texts: Iterable[str]) -> list[str]:
    """The first characters of each long enough run of a text between digits and line breaks:
    what a reply that quoted it, whole, cut short or with its numbers hidden, still holds."""
    pieces = {
        piece.strip()[:PIECE_CHARS]
        for text in texts
        for piece in _CUTS.split(text)
        if len(piece.strip()) >= PIECE_CHARS
    }
    return sorted(pieces)


def _words_of(payload: str) -> str:
    """A stored update's or reply's strings, unescaped (payloads are JSON, some with \\u)."""
    try:
        data = json.loads(payload)
    except ValueError:
        return payload
    strings: list[str] = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return "\n".join(strings)
