"""Shared fixtures: a temporary SQLite store, the tagger, and a console-chat driver."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

import pytest

from bot import i18n
from bot.channels.console import run_console
from bot.core import Engine
from bot.nlp import KeywordTagger
from handlers.router import MAX_TEXT_CHARS
from handlers.services import tambons
from handlers.types import T
from storage.base import Role, Store, Tambon
from storage.sqlite import SQLiteStore
from tests.postgres_server import PostgresServer


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests never reach the internet: only loopback connections are allowed."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (
            host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")
        ):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)
    return


@pytest.fixture(scope="session")
def tagger() -> KeywordTagger:
    return KeywordTagger()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "tambon.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[Store]:
    store = SQLiteStore(db_path)
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def engine(store: Store, tagger: KeywordTagger) -> Engine:
    return Engine(store, tagger)


@pytest.fixture
async def tambon(store: Store) -> Tambon:
    return await tambons.create_tambon(
        store, "600801", ["บ้านท่าตะโก", "บ้านหนองหลวง", "บ้านเขาน้อย", "บ้านหนองแก", "บ้านวังใหญ่"]
    )


async def join_code(store: Store, tambon: Tambon, role: Role = Role.VILLAGER) -> str:
    return (await tambons.create_invite(store, tambon, role)).code


def run_cli(
    env: Mapping[str, str], *args: str, stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``tambon-bot ARGS`` in a process of its own, as an operator would."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=dict(env),
        cwd=cwd,
        timeout=300,
        check=False,
    )


async def run_cli_ok(env: Mapping[str, str], *args: str, cwd: Path | None = None) -> str:
    """``run_cli`` from async tests, off the event loop (stand-ins keep serving); its stdout."""
    import asyncio

    done = await asyncio.to_thread(run_cli, env, *args, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout


# Messages an onboarded villager might send that must get a catalog answer and store nothing,
# on every channel: (what they send, the answer's msgid, its parameters).
BAD_MESSAGES: list[tuple[str, str, dict[str, object]]] = [
    (
        "😭😭🙏",
        "I can only read words, not emoji or stickers. Please describe the problem in a few "
        "words, in Thai.",
        {},
    ),
    (
        "the road is broken",
        "Please write in Thai, so that the tambon team and the hearing can read it. A short "
        "sentence is enough.",
        {},
    ),
    (
        "road broken pls fix",
        "Please write in Thai, so that the tambon team and the hearing can read it. A short "
        "sentence is enough.",
        {},
    ),
    (
        "ถนนพัง" * 400,
        "Your message is {length} characters long; the limit is {limit}. Please shorten it, "
        "or send it as several messages, one problem each.",
        {"length": 2400, "limit": MAX_TEXT_CHARS},
    ),
    (
        "/frobnicate",
        "Sorry, I don't know the command /{name}. Type /help to see what I can do.",
        {"name": "frobnicate"},
    ),
]


def th(msgid: str, **params: object) -> str:
    """A sentence as the Thai catalog renders it: tests compare with the catalog, not copies."""
    return i18n.render(T(msgid, **params), "th")


def en(msgid: str, **params: object) -> str:
    return i18n.render(T(msgid, **params), "en")


FILES_DIR = Path(tempfile.mkdtemp(prefix="tambon-bot-tests-"))  # what the console saves


async def console(engine: Engine, user: str, *lines: str) -> list[str]:
    """Type ``lines`` into the console adapter; returns what it printed for each line.

    Each line goes through a fresh run of the adapter, which also shows that the conversation
    lives in the store and not in the adapter.
    """
    printed = []
    for line in lines:
        stdout = io.StringIO()
        await run_console(engine, user, io.StringIO(line + "\n"), stdout, files_dir=FILES_DIR)
        printed.append(stdout.getvalue())
    return printed


async def onboard(
    engine: Engine,
    store: Store,
    tambon: Tambon,
    user: str,
    village: int = 3,
    role: Role = Role.VILLAGER,
) -> None:
    """Join ``tambon`` through the console: code, village, consent."""
    code = await join_code(store, tambon, role)
    replies = await console(engine, user, f"/start {code}", str(village), "1")
    assert (
        th(
            "Thank you! You can now tell us about a problem or a need in your village: just type "
            "it in your own words, for example: the road in moo 3 is full of potholes."
        )
        in replies[-1]
    )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One private PostgreSQL server for the whole run, started on first use."""
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the test server, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield postgres_server.create_database(name)
    postgres_server.drop_database(name)
