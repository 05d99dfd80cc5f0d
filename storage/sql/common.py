"""What every SQL query module stands on: the backend's hooks (connection, transactions),
one-statement helpers, and the conversions between rows and the store's types."""

from __future__ import annotations

import asyncio
import enum
import types
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import fields
from datetime import UTC, datetime
from functools import cache
from typing import Any, ClassVar, Self, TypeVar, get_type_hints

from storage.base import VILLAGE_PLAN, InboxEvent, Kind, PollOption, Village

_R = TypeVar("_R")

PAGE = 1000  # submissions per query when reading them all
# Where a submission came from, in SQL over ``submissions s`` (``Submission.origin`` in Python).
ORIGIN_SQL = (
    f"CASE WHEN s.channel = '{VILLAGE_PLAN}' THEN '{VILLAGE_PLAN}'"
    " WHEN s.relayed <> 0 THEN 'relay' ELSE 'chat' END"
)
_KINDS = {kind.value: kind for kind in Kind}

_MEMBER_FIELDS = frozenset(
    {
        "role",
        "village_moo",
        "locale",
        "consent_at",
        "tambon_id",
        "unreachable_at",
        "removed_at",
        "quiet_at",
        "menu",
    }
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _at(moment: datetime) -> str:
    """A moment for the delivery tables' ``next_at`` and leases: to the microsecond."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_row(record: type[_R], row: Any, **given: Any) -> _R:
    """One of the store's types from a row whose columns carry its fields' names: timestamps
    and enums are read as their field types say; ``given`` supplies the fields whose columns
    are named or stored otherwise. A field with neither a column nor a value keeps its
    default."""
    columns = set(row.keys())  # asyncpg gives an iterator, sqlite3 a list
    return record(
        **{
            name: given[name] if name in given else read(row[name])
            for name, read in _readers(record)  # type: ignore[arg-type]
            if name in given or name in columns
        }
    )


@cache
def _readers(record: type) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """How to read each field of a store type from its column (worked out once per type)."""
    hints = get_type_hints(record)
    readers: list[tuple[str, Callable[[Any], Any]]] = []
    for field in fields(record):
        hint = hints[field.name]
        optional = isinstance(hint, types.UnionType) and type(None) in hint.__args__
        kind = next((a for a in hint.__args__ if a is not type(None)), hint) if optional else hint
        read: Callable[[Any], Any] = _same
        if kind is datetime:
            read = _ts if optional else _ts_required
        elif kind is bool:
            read = bool
        elif isinstance(kind, type) and issubclass(kind, enum.Enum):
            read = kind if not optional else _or_none(kind)
        readers.append((field.name, read))
    return tuple(readers)


def _same(value: Any) -> Any:
    return value


def _or_none(read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else read(value)


def _inbox_event(row: Any) -> InboxEvent:
    return from_row(InboxEvent, row, key=row["event_key"])


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _ts_required(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _db_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return value


Row = Any  # a result row: read by column name or position (Row, asyncpg.Record)


class SQLBase:
    """A connection's worth of SQL: what a backend provides, and the helpers every query uses."""

    # Dialect fragments: a submission with its categories ("a|b", in order) and attachments (a
    # JSON list), and a problem group with its reporters and villages ("1|3").
    _SUBMISSION_SQL: ClassVar[str]
    _GROUP_SQL: ClassVar[str]

    def __init__(self) -> None:
        self._savepoints = 0  # names them
        self._villages: dict[int, tuple[Village, ...]] = {}
        self._poll_options: dict[int, tuple[PollOption, ...]] = {}

    # -- what a backend provides ----------------------------------------------------------

    async def open(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    one_writer = False

    def transaction(self) -> AbstractAsyncContextManager[None]:
        """All the statements inside commit together, or none; nested calls join the outer."""
        raise NotImplementedError

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Inside a transaction: the block's writes are undone alone if it raises (SQL
        savepoints, on both backends), and the transaction goes on."""
        if not self._in_transaction():
            raise RuntimeError("a savepoint needs a transaction")
        self._savepoints += 1
        name = f"sp{self._savepoints}"
        await self._all(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            await self._all(f"ROLLBACK TO SAVEPOINT {name}")
            await self._all(f"RELEASE SAVEPOINT {name}")
            raise
        await self._all(f"RELEASE SAVEPOINT {name}")

    async def _all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """Run one statement (``?`` placeholders) and return its rows."""
        raise NotImplementedError

    async def _many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Run one statement for each parameter tuple."""
        raise NotImplementedError

    async def _lock_key(self, key: str, *, shared: bool = False) -> None:
        """Hold a lock named ``key`` until the transaction ends; ``shared`` ones only exclude
        the others (a backend with one writer at a time has nothing to do)."""

    def _in_transaction(self) -> bool:
        raise NotImplementedError

    async def _retitle_group(self, group_id: int) -> None:
        """Give a problem group a title from its remaining submissions, after some of its
        words were taken back (storage/sql/submissions.py; forgetting a member needs it)."""
        raise NotImplementedError

    async def _blank_delivered(self, before: str | None) -> int:
        """Take the words out of handled updates and settled replies (all, or those settled
        before ``before``); storage/sql/delivery.py, forgetting a member needs it."""
        raise NotImplementedError

    async def _blank_dead_letters_quoting(self, texts: Iterable[str]) -> int:
        """Take the words out of dead letters that quote any of ``texts``
        (storage/sql/delivery.py; forgetting a member needs it)."""
        raise NotImplementedError

    def _overlapping_reads(self) -> bool:
        """Whether a query may run while another's rows are being used (page prefetch)."""
        return True

    async def _read_many(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        """Several independent reads, at once where the backend can (a pool's connections);
        one after the other inside a transaction."""
        if self._in_transaction() or not self._overlapping_reads():
            return [await self._all(sql, params) for sql, params in queries]
        return list(await asyncio.gather(*(self._all(sql, params) for sql, params in queries)))

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
