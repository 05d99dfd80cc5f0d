"""The embedded SQLite backend: aiosqlite, WAL, foreign keys, numbered migrations.

One connection carries every query, so all writes go through one path. An asyncio lock
serialises transactions between tasks; a context variable lets the calls made inside a
transaction join it instead of waiting for the lock they already hold.

A round trip to aiosqlite's thread costs more than a short statement on a busy machine (a
quarter of a millisecond here, two hand-overs of the GIL and a wake-up of the event loop), and
transactions are serialised, so round trips inside one are what limits how many updates a second
the bot takes. Only what may wait goes to the thread: a transaction opens there with its first
statement (``BEGIN IMMEDIATE``, which may wait for another process's write, and that statement
in one trip) and commits there (a commit may checkpoint the write-ahead log and wait for the
disk). In between, the transaction holds SQLite's write lock, and in WAL mode readers never
block, so its short statements run at once on the event loop's thread: no statement there can
wait for a lock. Statements that may take long inside a transaction (bulk writes, a summary's
aggregates) still go to the thread. A transaction that ran no statement costs nothing.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, closing, contextmanager
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.base import ConstraintError, PrintedSubmission, StoredAttachment, Submission
from storage.migrations import load_migrations
from storage.sql import SQLStore
from storage.sql.common import _KINDS, _now
from storage.sql.submissions import printed, printed_queries


def private_file(path: Path) -> None:
    """Make ``path`` readable by its owner only (0600), creating it empty if it is not there:
    villagers' words, whatever the umask. SQLite gives its -wal and -shm files the database
    file's permissions."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        os.chmod(path, 0o600)


# Statements run on the event loop's thread for at most this long (seconds) before the other tasks
# get a turn.
YIELD_EVERY = 0.005


class SQLiteStore(SQLStore):
    """:class:`storage.base.Store` on one SQLite file."""

    one_writer = True  # one transaction at a time (the lock below)

    _SUBMISSION_SQL = (
        "SELECT s.*, (SELECT group_concat(category, '|') FROM"
        " (SELECT category FROM submission_categories c WHERE c.submission_id = s.id"
        " ORDER BY position)) AS categories,"
        " (SELECT json_group_array(json_array(media, file_id, latitude, longitude)) FROM"
        " submission_attachments a WHERE a.submission_id = s.id) AS attachments"
        " FROM submissions s"
    )
    _GROUP_SQL = """
        SELECT g.*,
          (SELECT count(*) FROM submissions s WHERE s.group_id = g.id AND s.hidden_at IS NULL)
          + (SELECT count(*) FROM group_reporters r WHERE r.group_id = g.id) AS reporters,
          (SELECT group_concat(v, '|') FROM (
              SELECT village_moo AS v FROM submissions WHERE group_id = g.id
                AND village_moo IS NOT NULL AND hidden_at IS NULL
              UNION SELECT village_moo FROM group_reporters WHERE group_id = g.id
                AND village_moo IS NOT NULL
              ORDER BY 1)) AS villages
        FROM problem_groups g
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = str(path)
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        # The task whose transaction is under way, as that task's context sees it: a task it
        # starts copies the context, but is another task, so it waits for the lock like any
        # other instead of writing into a transaction that is not its own.
        self._in_tx: ContextVar[asyncio.Task[Any] | None] = ContextVar(
            f"sqlite_tx_{id(self)}", default=None
        )
        # Whether the transaction under way has sent its BEGIN yet (there is one at a time).
        self._begun = False
        self._ran_since = 0.0  # when statements on the loop's thread last let others run

    # -- life cycle ---------------------------------------------------------------------

    async def open(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            private_file(Path(self.path))
        # The connection is used from two threads, never at once: every use holds self._lock
        # (outside a transaction the statement itself takes it).
        self._db = await aiosqlite.connect(
            self.path, isolation_level=None, check_same_thread=False
        )
        self._db.row_factory = sqlite3.Row
        await self._db.execute("PRAGMA journal_mode=WAL")
        await self._db.execute("PRAGMA synchronous=NORMAL")
        await self._db.execute("PRAGMA foreign_keys=ON")
        await self._db.execute("PRAGMA busy_timeout=5000")
        await self._migrate()

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("store is not open")
        return self._db

    async def _migrate(self) -> None:
        await self.db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        async with self.db.execute("SELECT version FROM schema_migrations") as cur:
            done = {row[0] for row in await cur.fetchall()}
        for migration in load_migrations():
            if migration.version in done:
                continue
            # executescript commits any open transaction first, so the migration brings its own.
            name = migration.name.replace("'", "''")
            async with self._lock:
                await self.db.executescript(
                    f"BEGIN IMMEDIATE;\n{migration.sql}\n"
                    f"INSERT INTO schema_migrations VALUES ({migration.version}, '{name}',"
                    f" '{_now()}');\nCOMMIT;"
                )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        if self._in_transaction():
            yield
            return
        async with self._lock:
            token = self._in_tx.set(asyncio.current_task())
            self._begun = False  # BEGIN goes with the first statement
            self._ran_since = time.monotonic()
            try:
                try:
                    yield
                except BaseException:
                    if self._begun:
                        await self.db.execute("ROLLBACK")
                    raise
                if self._begun:
                    try:
                        await self.db.execute("COMMIT")
                    except asyncio.CancelledError:
                        raise  # the COMMIT is queued on aiosqlite's thread: it still runs
                    except Exception:
                        # A failed COMMIT (a deferred constraint, a full disk) leaves the
                        # transaction open: undo it, so that the next one can begin.
                        if self.db._conn.in_transaction:
                            await self.db.execute("ROLLBACK")
                        raise
            finally:
                self._begun = False
                self._in_tx.reset(token)

    def _in_transaction(self) -> bool:
        owner = self._in_tx.get()
        return owner is not None and owner is asyncio.current_task()

    async def _let_others_run(self) -> None:
        """A long transaction (a file of thousands of rows) runs its statements on the event
        loop's thread one after another: every few milliseconds it lets the other tasks run
        (answering webhooks, sending replies), so that the loop never stalls for long."""
        now = time.monotonic()
        if now - self._ran_since > YIELD_EVERY:
            await asyncio.sleep(0)
            self._ran_since = time.monotonic()

    # Each statement is one round trip to aiosqlite's thread.

    async def _all(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        try:
            if self._in_transaction():
                if self._begun:  # the write lock is ours: nothing here can wait
                    await self._let_others_run()
                    return self.db._conn.execute(sql, tuple(params)).fetchall()
                return await self._in_thread(_fetch_all, sql, tuple(params))
            # One statement is atomic by itself; the lock keeps it out of another task's
            # transaction.
            async with self._lock:
                return list(await self.db.execute_fetchall(sql, tuple(params)))
        except sqlite3.IntegrityError as error:
            raise ConstraintError(str(error)) from error

    async def _many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            try:
                await self._in_thread(_execute_many, sql, rows)
            except sqlite3.IntegrityError as error:
                raise ConstraintError(str(error)) from error

    async def _in_thread(self, work: Callable[..., _T], *args: Any) -> _T:
        """Run ``work(connection, begin, *args)`` on aiosqlite's thread in one round trip;
        ``begin`` sends the BEGIN the transaction under way still owes."""
        begin = _Begin(self._in_transaction() and not self._begun)
        try:
            # aiosqlite queues any function for its thread with _execute (its own execute and
            # executemany are built on it); pyproject.toml pins the range that has it.
            result: _T = await self.db._execute(  # type: ignore[no-untyped-call]
                work, self.db._conn, begin, *args
            )
            return result
        finally:
            if begin.done:
                self._begun = True

    # -- bulk reads -----------------------------------------------------------------------

    async def all_submissions(self, tambon_id: int) -> list[Submission]:
        """Every submission of a tambon, read in a worker thread on a read-only connection of
        its own: a big report does not hold up the chat (nor fight it for the GIL page by page).
        Sees committed data only."""
        if self.path == ":memory:":
            return await super().all_submissions(tambon_id)
        return await asyncio.to_thread(self._read_all_submissions, tambon_id)

    async def _read_many(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Any]]:
        """Independent reads at once, each in a worker thread on a read-only connection of its
        own (SQLite runs them side by side; committed data only); inside a transaction, or in
        memory, one after the other on the store's connection."""
        if self._in_transaction():
            # Aggregates over a whole tambon may take a while: on aiosqlite's thread, so that
            # the event loop goes on meanwhile.
            return [await self._in_thread(_fetch_all, sql, tuple(p)) for sql, p in queries]
        if self.path == ":memory:":
            return await super()._read_many(queries)
        return list(
            await asyncio.gather(
                *(asyncio.to_thread(self._read_only, sql, params) for sql, params in queries)
            )
        )

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection of its own to the store's file, for a worker thread (committed
        data only), closed after."""
        uri = Path(self.path).resolve().as_uri() + "?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as db:
            db.execute("PRAGMA busy_timeout=5000")
            yield db

    async def printed_submissions(self, tambon_id: int) -> list[PrintedSubmission]:
        """What a report prints of every submission, in a worker thread on a read-only
        connection of its own, as :meth:`all_submissions`."""
        if self.path == ":memory:":
            return await super().printed_submissions(tambon_id)
        return await asyncio.to_thread(self._read_printed, tambon_id)

    def _read_printed(self, tambon_id: int) -> list[PrintedSubmission]:
        with self._reader() as db:
            db.execute("BEGIN")  # one snapshot for the two reads
            (categories_sql, by_category), (rows_sql, by_row) = printed_queries(tambon_id)
            return printed(db.execute(categories_sql, by_category), db.execute(rows_sql, by_row))

    def _read_only(self, sql: str, params: Sequence[Any]) -> list[Any]:
        with self._reader() as db:
            db.row_factory = sqlite3.Row
            return db.execute(sql, tuple(params)).fetchall()

    def _read_all_submissions(self, tambon_id: int) -> list[Submission]:
        # Three plain scans joined in Python: for a whole tambon this is about twice as fast as
        # the per-row subqueries of _SUBMISSION_SQL (100,000 rows: 0.5 s against 1 s).
        with self._reader() as db:
            db.execute("BEGIN")  # one snapshot for the three reads
            categories: dict[int, list[str]] = {}
            for submission_id, category in db.execute(
                "SELECT c.submission_id, c.category FROM submission_categories c"
                " JOIN submissions s ON s.id = c.submission_id WHERE s.tambon_id = ?"
                " ORDER BY c.submission_id, c.position",
                (tambon_id,),
            ):
                categories.setdefault(submission_id, []).append(category)
            attachments: dict[int, list[StoredAttachment]] = {}
            for submission_id, media, file_id, lat, lon in db.execute(
                "SELECT a.submission_id, a.media, a.file_id, a.latitude, a.longitude"
                " FROM submission_attachments a JOIN submissions s ON s.id = a.submission_id"
                " WHERE s.tambon_id = ? ORDER BY a.id",
                (tambon_id,),
            ):
                attachments.setdefault(submission_id, []).append(
                    StoredAttachment(media, file_id, lat, lon)
                )
            rows = db.execute(
                "SELECT id, text, kind, village_moo, author_id, relayed, channel, source_id,"
                " created_at, group_id, actor FROM submissions WHERE tambon_id = ?"
                " AND hidden_at IS NULL ORDER BY id",
                (tambon_id,),
            )
            return [
                Submission(
                    sid,
                    tambon_id,
                    text,
                    _KINDS[kind],
                    tuple(categories.get(sid, ())),
                    village,
                    author,
                    bool(relayed),
                    channel,
                    source,
                    datetime.fromisoformat(created),
                    tuple(attachments.get(sid, ())),
                    group,
                    actor,
                )
                for (
                    sid,
                    text,
                    kind,
                    village,
                    author,
                    relayed,
                    channel,
                    source,
                    created,
                    group,
                    actor,
                ) in rows
            ]


_T = TypeVar("_T")


class _Begin:
    """A BEGIN owed by the transaction under way, sent with its first statement."""

    def __init__(self, wanted: bool) -> None:
        self.wanted = wanted
        self.done = False

    def __call__(self, connection: sqlite3.Connection) -> None:
        if self.wanted:
            connection.execute("BEGIN IMMEDIATE")
            self.done = True


def _fetch_all(
    connection: sqlite3.Connection, begin: _Begin, sql: str, params: tuple[Any, ...]
) -> list[sqlite3.Row]:
    begin(connection)
    return connection.execute(sql, params).fetchall()


def _execute_many(
    connection: sqlite3.Connection, begin: _Begin, sql: str, rows: list[tuple[Any, ...]]
) -> None:
    begin(connection)
    connection.executemany(sql, rows)
