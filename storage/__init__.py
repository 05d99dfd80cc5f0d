"""Storage: one async :class:`~storage.base.Store` interface and its backends."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from storage.base import Store


class UnsupportedDatabase(ValueError):
    """The database URL names a backend this build does not have."""


def is_sqlite(url: str) -> bool:
    """Whether ``url`` names an SQLite store (``sqlite:///...``)."""
    return urlparse(url).scheme == "sqlite"


def sqlite_path(url: str) -> Path | str:
    """The file a ``sqlite:///relative`` or ``sqlite:////absolute`` URL points at."""
    rest = url.removeprefix("sqlite://")
    if rest in ("", "/", "/:memory:"):
        return ":memory:"
    return Path(rest[1:] if rest.startswith("/") else rest)


def open_store(url: str) -> Store:
    """A store for ``url``; call ``await store.open()`` before use."""
    if is_sqlite(url):
        from storage.sqlite import SQLiteStore

        return SQLiteStore(sqlite_path(url))
    if urlparse(url).scheme in ("postgresql", "postgres"):
        from storage.postgres import PostgresStore

        return PostgresStore(url)
    raise UnsupportedDatabase(url)
