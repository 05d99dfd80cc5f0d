"""Report links end when their maker leaves the team, and on demand (issue "Nobody sees what
is not theirs", findings 4 and 11): a removed or demoted team member's link opens nothing; the
team lists and ends live links from chat and the command line; fetching a link over and over
(a HEAD, a reload) records one opening a minute and makes nothing for a HEAD."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot import web
from bot.core import Engine
from handlers.services import audit, reportlinks, tambons
from handlers.types import Incoming
from storage.base import Role, Store, Tambon
from tests.conftest import console, onboard, run_cli, run_cli_ok, th


@pytest.fixture
async def site(store: Store) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    runner = await web.serve(web.build_app(store=store), "127.0.0.1:0")
    base = f"http://127.0.0.1:{runner.addresses[0][1]}{reportlinks.PATH}"
    async with aiohttp.ClientSession() as http:
        yield http, base
    await runner.cleanup()


async def status(site: tuple[aiohttp.ClientSession, str], token: str, method: str = "GET") -> int:
    http, base = site
    async with http.request(method, f"{base}/{token}") as response:
        await response.read()
        return response.status


async def link_of(store: Store, tambon: Tambon, user: str) -> str:
    member = await store.get_member("console", user)
    assert member is not None
    token, _ = await reportlinks.create_link(store, tambon.id, member.id, "th")
    return token


async def test_a_link_ends_when_its_maker_leaves_the_team(
    engine: Engine, store: Store, tambon: Tambon, site: tuple[aiohttp.ClientSession, str]
) -> None:
    for user in ("lead", "gone", "demoted"):
        await onboard(engine, store, tambon, user, role=Role.TEAM)
    gone_link = await link_of(store, tambon, "gone")
    demoted_link = await link_of(store, tambon, "demoted")
    lead_link = await link_of(store, tambon, "lead")
    assert await status(site, gone_link) == 200
    gone = await store.get_member("console", "gone")
    demoted = await store.get_member("console", "demoted")
    assert gone is not None
    assert demoted is not None
    await console(engine, "lead", f"/remove {gone.id}", "1")
    await console(engine, "lead", f"/role {demoted.id}", "1")  # the first role: villager
    assert (await store.get_member("console", "demoted")).role is Role.VILLAGER  # type: ignore[union-attr]
    assert await status(site, gone_link) == 404
    assert await status(site, demoted_link) == 404
    assert await status(site, lead_link) == 200  # the others' links still open
    ended = [e for e in await store.list_audit(tambon.id) if e.action == audit.REPORT_REVOKED]
    assert len(ended) == 2


async def test_the_team_ends_a_link_from_chat_and_the_command_line(
    engine: Engine,
    store: Store,
    tambon: Tambon,
    db_path: Path,
    site: tuple[aiohttp.ClientSession, str],
) -> None:
    await onboard(engine, store, tambon, "lead", role=Role.TEAM)
    first, second = await link_of(store, tambon, "lead"), await link_of(store, tambon, "lead")
    env = {"TAMBON_DATABASE_URL": f"sqlite:///{db_path}", "PATH": "/usr/bin:/bin"}
    listed = (await run_cli_ok(env, "report", "links", "--tambon", tambon.code)).splitlines()
    ids = [int(line.split("\t")[0]) for line in listed]
    assert len(ids) == 2
    # Chat: /links shows both, newest first; a tap ends one.
    (shown,) = await console(engine, "lead", "/links")
    assert th("End link {ref}", ref=ids[0]) in shown
    (done,) = await console(engine, "lead", "1")
    assert th("Report link {ref} ended: it opens nothing any more.", ref=ids[0]) in done
    assert await status(site, second) == 404
    assert await status(site, first) == 200
    # The command line ends the other; ending it again, or one that never was, is refused.
    await run_cli_ok(env, "report", "revoke", str(ids[1]))
    assert await status(site, first) == 404
    for bad in (str(ids[1]), "999", "99999999999999999999999"):
        refused = run_cli(env, "report", "revoke", bad)
        assert refused.returncode == 2, bad
        assert "Traceback" not in refused.stderr
    assert (await run_cli_ok(env, "report", "links", "--tambon", tambon.code)).strip() == ""
    (none,) = await console(engine, "lead", "/links")
    assert th("No report link of your tambon is open now.") in none
    # A forged button for another tambon's link ends nothing.
    other = await tambons.create_tambon(store, "600802", ["บ้านหนึ่ง"])
    theirs, _ = await reportlinks.create_link(store, other.id, None, "th")
    (their_id,) = [link.id for link in await reportlinks.live_links(store, other.id)]
    (refused,) = await engine.handle(Incoming("console", "lead", choice=f"links:{their_id}"))
    assert refused.text == th("That link is not open any more (ended, or expired).")
    assert await status(site, theirs) == 200


async def test_fetching_a_link_again_and_again_records_one_opening_a_minute(
    engine: Engine, store: Store, tambon: Tambon, site: tuple[aiohttp.ClientSession, str]
) -> None:
    await onboard(engine, store, tambon, "lead", role=Role.TEAM)
    token = await link_of(store, tambon, "lead")
    for _ in range(5):
        assert await status(site, token, "HEAD") == 200
    for _ in range(3):
        assert await status(site, token) == 200
    opened = [e for e in await store.list_audit(tambon.id) if e.action == audit.REPORT_OPENED]
    assert len(opened) == 1
