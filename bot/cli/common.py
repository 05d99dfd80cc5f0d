"""Shared by the command modules: the store, a tambon or poll by its number, the tagger, errors,
a listing's lines."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.settings import Settings
from handlers.types import T, Text
from storage import open_store
from storage.base import Store, Tambon

EXIT_USAGE = 2


def operator_name() -> str:
    """Who runs the command, as records name them when not told: the login name."""
    import getpass

    try:
        return f"operator {getpass.getuser()}"
    except (KeyError, OSError):  # no login name (a container's bare user id)
        return "operator"


def say(settings: Settings, text: Text, *, error: bool = False) -> None:
    """Print a catalog sentence in the operator's language (to stderr with ``error``)."""
    from bot import i18n

    print(i18n.render(text, settings.locale), file=sys.stderr if error else sys.stdout)


class CliError(Exception):
    """A problem to report to the operator in their language, then exit with status 2."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.msgid)
        self.text = text


@asynccontextmanager
async def open_db(settings: Settings) -> AsyncIterator[Store]:
    store = open_store(settings.database_url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def find_tambon(store: Store, code: str) -> Tambon:
    tambon = await store.get_tambon_by_code(code)
    if tambon is None:
        raise CliError(
            T(
                "No tambon with code {code} is registered here. Register it with: "
                "tambon-bot tambon create --code {code} --villages N",
                code=code,
            )
        )
    return tambon


def tagger_for(settings: Settings | None = None) -> Any:
    """The tagger with the retrained model if there is one, else the packaged model."""
    from bot.nlp.classifier import LinearModel
    from bot.nlp.tagger import KeywordTagger, packaged_model

    path = Path(settings.get("TAMBON_MODEL_PATH") or "") if settings else None
    model = LinearModel.load(path) if path and path.is_file() else packaged_model()
    return KeywordTagger(model=model)


async def find_poll(store: Store, poll_id: int) -> Any:
    poll = await store.get_poll(poll_id)
    if poll is None:
        raise CliError(T("There is no poll {ref}.", ref=poll_id))
    return poll


def print_record(record: Mapping[str, Any], as_json: bool, columns: Iterable[object]) -> None:
    """One line of a listing: the record as JSON (``--json``), or ``columns`` tab-separated."""
    print(json.dumps(record, ensure_ascii=False) if as_json else "\t".join(map(str, columns)))


def listener_url(settings: Settings) -> str:
    """Where a browser reaches the listener: TAMBON_PUBLIC_URL, else TAMBON_LISTEN itself."""
    if settings.public_url:
        return settings.public_url
    listen = settings.get("TAMBON_LISTEN") or "127.0.0.1:8080"
    host, _, port = listen.rpartition(":")
    host = "127.0.0.1" if host in ("", "0.0.0.0", "::", "[::]") else host
    return f"http://{host}:{port}"
