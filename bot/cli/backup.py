"""``tambon-bot backup`` and ``restore``: a copy of the whole store, taken while the bot runs.

SQLite: the library's online backup (``sqlite3.Connection.backup``), which copies a consistent
snapshot page by page while other connections keep reading and writing. PostgreSQL: ``pg_dump``
in its custom format, restored with ``pg_restore``. docs/deploying.md says how to schedule it.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from bot.cli.common import CliError, say
from bot.settings import Settings
from handlers.types import T
from storage import is_sqlite, sqlite_path
from storage.sqlite import private_file


def _postgres_tool(name: str) -> str:
    """``pg_dump`` or ``pg_restore``: on the PATH, else the newest Debian server's."""
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise CliError(
            T(
                "{tool} was not found. Install the PostgreSQL client tools "
                "(Debian: postgresql-client).",
                tool=name,
            )
        )
    return found


def _copy_sqlite(source: Path, target: Path, *, for_backup: bool = False) -> None:
    private_file(target)
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
        if for_backup:
            # What was delivered needs no words in a copy that lives for months (a reply may
            # hold a report link's token, or another person's words): only the keys stay, and
            # VACUUM leaves no old page behind.
            dst.execute("UPDATE inbox SET payload = '' WHERE done_at IS NOT NULL")
            dst.execute("UPDATE outbox SET payload = '' WHERE state NOT IN ('pending', 'held')")
            dst.commit()
            dst.execute("VACUUM")


async def cmd_backup(args: argparse.Namespace, settings: Settings) -> None:
    output = Path(args.output)
    await asyncio.to_thread(backup, settings.database_url, output, force=args.force)
    say(settings, T("Backup written to {file}.", file=str(output)))


async def cmd_restore(args: argparse.Namespace, settings: Settings) -> None:
    source = Path(args.file)
    await asyncio.to_thread(restore, settings.database_url, source, force=args.force)
    say(settings, T("Restored from {file}.", file=str(source)))


def backup(url: str, output: Path, *, force: bool = False) -> None:
    """Copy the store at ``url`` to ``output`` (a SQLite file, or a pg_dump archive)."""
    if output.exists() and not force:
        raise CliError(T("{file} exists already; add --force to replace it.", file=str(output)))
    if is_sqlite(url):
        database = sqlite_path(url)
        if not isinstance(database, Path) or not database.exists():
            raise CliError(T("There is no database file to back up: {file}.", file=str(database)))
        output.unlink(missing_ok=True)
        _copy_sqlite(database, output, for_backup=True)
    else:
        output.unlink(missing_ok=True)
        private_file(output)  # pg_dump writes into it and keeps its permissions
        done = subprocess.run(
            [_postgres_tool("pg_dump"), "--format=custom", "--file", str(output), "--dbname", url],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise CliError(T("The backup failed: {error}", error=done.stderr.strip()[-500:]))


def restore(url: str, source: Path, *, force: bool = False) -> None:
    """Put the backup ``source`` back into the store at ``url``."""
    if not source.exists():
        raise CliError(T("There is no backup file {file}.", file=str(source)))
    if is_sqlite(url):
        database = sqlite_path(url)
        if not isinstance(database, Path):
            raise CliError(T("There is no database file to restore into."))
        if database.exists() and not force:
            raise CliError(
                T(
                    "{file} holds data already; add --force to replace it with the backup "
                    "(stop the bot first).",
                    file=str(database),
                )
            )
        try:
            with closing(sqlite3.connect(source)) as check:
                check.execute("PRAGMA schema_version").fetchone()
        except sqlite3.DatabaseError:
            raise CliError(T("{file} is not a backup of this bot.", file=str(source))) from None
        database.parent.mkdir(parents=True, exist_ok=True)
        from bot.cli.run import only_runner

        # A running bot holds the store: restoring under it would mix two stores' states. The
        # run lock also keeps a bot from starting while the copy is made.
        running = T(
            "A tambon-bot run is serving {file}; stop it first (systemctl stop tambon-bot), then "
            "restore.",
            file=str(database),
        )
        with only_runner(str(database), running):
            _copy_sqlite(source, database)
    else:
        done = subprocess.run(
            [
                _postgres_tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--dbname",
                url,
                str(source),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise CliError(T("The restore failed: {error}", error=done.stderr.strip()[-500:]))
