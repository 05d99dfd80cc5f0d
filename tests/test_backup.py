"""``tambon-bot backup`` and ``restore``, round trip on both stores, taken while the store is
open (the bot running)."""

from __future__ import annotations

import uuid
from pathlib import Path

from handlers.services import tambons
from storage import open_store
from storage.base import Kind, NewSubmission, Store
from tests.conftest import run_cli
from tests.postgres_server import PostgresServer


async def _fill(store: Store) -> list[str]:
    tambon = await tambons.create_tambon(store, "600801", 3)
    texts = [f"ถนนหมู่ {i % 3 + 1} เป็นหลุม ครั้งที่ {i}" for i in range(25)]
    for text in texts:
        await store.add_submission(
            NewSubmission(
                tambon.id, text, Kind.PROBLEM, ["infrastructure"], 1, None, False, "console", None
            )
        )
    return texts


async def _texts(url: str) -> list[str]:
    store = open_store(url)
    await store.open()
    try:
        tambon = await store.get_tambon_by_code("600801")
        assert tambon is not None
        return sorted(s.text for s in await store.list_submissions(tambon.id))
    finally:
        await store.close()


async def test_sqlite_backup_while_open_and_restore(tmp_path: Path) -> None:
    live = f"sqlite:///{tmp_path}/live.db"
    store = open_store(live)
    await store.open()
    texts = await _fill(store)
    backup = tmp_path / "backup.db"
    env = {"TAMBON_DATABASE_URL": live, "PATH": "/usr/bin:/bin"}
    done = run_cli(env, "backup", "-o", str(backup))  # the store is open: the bot runs
    await store.close()
    assert done.returncode == 0, done.stderr
    assert str(backup) in done.stdout
    again = run_cli(env, "backup", "-o", str(backup))
    assert again.returncode == 2  # an existing file is not replaced unless told
    assert "Traceback" not in again.stderr
    fresh = f"sqlite:///{tmp_path}/restored.db"
    restored = run_cli({**env, "TAMBON_DATABASE_URL": fresh}, "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert await _texts(fresh) == sorted(texts)
    # Restoring over data needs --force; a file that is not a backup is refused politely.
    over = run_cli({**env, "TAMBON_DATABASE_URL": fresh}, "restore", str(backup))
    assert over.returncode == 2
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 100)
    bad = run_cli(
        {**env, "TAMBON_DATABASE_URL": f"sqlite:///{tmp_path}/other.db"}, "restore", str(junk)
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert not (tmp_path / "other.db").exists() or (tmp_path / "other.db").stat().st_size == 0


async def test_postgres_backup_and_restore_into_another_database(
    postgres_server: PostgresServer, postgres_url: str, tmp_path: Path
) -> None:
    store = open_store(postgres_url)
    await store.open()
    texts = await _fill(store)
    archive = tmp_path / "tambon.dump"
    env = {"TAMBON_DATABASE_URL": postgres_url, "PATH": "/usr/bin:/bin"}
    done = run_cli(env, "backup", "-o", str(archive))
    await store.close()
    assert done.returncode == 0, done.stderr
    name = f"t_{uuid.uuid4().hex[:12]}"
    target = postgres_server.create_database(name)
    try:
        restored = run_cli({**env, "TAMBON_DATABASE_URL": target}, "restore", str(archive))
        assert restored.returncode == 0, restored.stderr
        assert await _texts(target) == sorted(texts)
    finally:
        postgres_server.drop_database(name)
