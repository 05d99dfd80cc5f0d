"""Join codes that end: expiry, a number of uses, revocation; in chat and on the command line.

The clock is the codes' own: a code is made already expired (its expiry in the past) rather
than waited for.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core import Engine
from handlers.services import tambons
from storage.base import Role, Store, Tambon
from tests.conftest import console, run_cli, th

THANKS = (
    "Thank you! You can now tell us about a problem or a need in your village: just type it "
    "in your own words, for example: the road in moo 3 is full of potholes."
)
EXPIRED = (
    "Sorry, the join code {code} has expired. Please ask your tambon team or village head for "
    "a new one."
)
USED_UP = (
    "Sorry, the join code {code} has already been used as many times as it allows. Please ask "
    "your tambon team or village head for a new one."
)
REVOKED = (
    "Sorry, the join code {code} has been withdrawn by the tambon team. Please ask them or your "
    "village head for a new one."
)


async def test_an_expired_code_is_refused_politely_and_stores_nothing(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    past = datetime.now(UTC) - timedelta(minutes=1)
    await store.create_invite(tambon.id, Role.TEAM, "11112222", past)
    (answer,) = await console(engine, "u1", "/start 11112222")
    assert th(EXPIRED, code="11112222") in answer
    assert await store.get_member("console", "u1") is None


async def test_a_revoked_code_is_refused(engine: Engine, store: Store, tambon: Tambon) -> None:
    invite = await tambons.create_invite(store, tambon, Role.VILLAGER)
    assert await tambons.revoke_invite(store, invite.code)
    (answer,) = await console(engine, "u1", f"/start {invite.code}")
    assert th(REVOKED, code=invite.code) in answer
    assert await store.get_member("console", "u1") is None


async def test_uses_are_counted_at_consent_and_the_last_one_goes_to_the_first_to_consent(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    invite = await tambons.create_invite(store, tambon, Role.VILLAGER, uses=1)
    # Two people start with the one-use code; one sends /start twice: nothing is used yet.
    await console(engine, "a", f"/start {invite.code}", f"/start {invite.code}", "2")
    await console(engine, "b", f"/start {invite.code}", "3")
    assert (await store.get_invite(invite.code)).uses == 0  # type: ignore[union-attr]
    (done,) = await console(engine, "a", "1")
    assert th(THANKS) in done
    (refused,) = await console(engine, "b", "1")
    assert th(USED_UP, code=invite.code) in refused
    assert (await store.get_invite(invite.code)).uses == 1  # type: ignore[union-attr]
    a = await store.get_member("console", "a")
    assert a is not None
    assert a.onboarded
    assert await store.get_member("console", "b") is None  # their half-join is undone
    (late,) = await console(engine, "c", f"/start {invite.code}")
    assert th(USED_UP, code=invite.code) in late


async def test_a_code_revoked_during_a_rejoin_changes_nothing(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    first = await tambons.create_invite(store, tambon, Role.VILLAGER)
    await console(engine, "u1", f"/start {first.code}", "2", "1")
    team = await tambons.create_invite(store, tambon, Role.TEAM)
    await console(engine, "u1", f"/start {team.code}", "2")
    assert await tambons.revoke_invite(store, team.code)
    (refused,) = await console(engine, "u1", "1")
    assert th(REVOKED, code=team.code) in refused
    member = await store.get_member("console", "u1")
    assert member is not None
    assert member.onboarded
    assert member.role is Role.VILLAGER


async def test_default_expiry_is_short_for_team_codes(store: Store, tambon: Tambon) -> None:
    villager = await tambons.create_invite(store, tambon, Role.VILLAGER)
    team = await tambons.create_invite(store, tambon, Role.TEAM)
    assert villager.expires_at is not None
    assert team.expires_at is not None
    assert team.expires_at - team.created_at <= timedelta(days=7, seconds=1)
    assert villager.expires_at - villager.created_at >= timedelta(days=60)


def test_invite_cli_days_uses_list_and_revoke(tmp_path: Path) -> None:
    env = {"TAMBON_DATABASE_URL": f"sqlite:///{tmp_path}/t.db", "PATH": "/usr/bin:/bin"}
    assert run_cli(env, "tambon", "create", "--code", "600801", "--villages", "3").returncode == 0
    made = run_cli(
        env, "invite", "--tambon", "600801", "--role", "member", "--days", "3", "--uses", "5"
    )
    assert made.returncode == 0, made.stderr
    code = made.stdout.splitlines()[0]
    assert code.isdigit()  # the code alone on the first line, as scripts read it
    listed = run_cli(env, "invite", "list", "--tambon", "600801", "--json")
    (record,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert record["code"] == code
    assert record["state"] == "usable"
    assert (record["role"], record["uses"], record["max_uses"]) == ("member", 0, 5)
    expires = datetime.fromisoformat(record["expires_at"])
    assert timedelta(days=2) < expires - datetime.now(UTC) <= timedelta(days=3)
    revoked = run_cli(env, "invite", "revoke", code)
    assert revoked.returncode == 0
    assert code in revoked.stdout
    again = run_cli(env, "invite", "revoke", code)
    assert again.returncode == 2
    assert code in again.stderr
    table = run_cli(env, "invite", "list", "--tambon", "600801").stdout
    assert table.split("\t")[:3] == [code, "member", "revoked"]
    for bad in (["--days", "0"], ["--days", "400"], ["--uses", "0"]):
        refused = run_cli(env, "invite", "--tambon", "600801", *bad)
        assert refused.returncode == 2
        assert "Traceback" not in refused.stderr
    assert len(run_cli(env, "invite", "list", "--tambon", "600801").stdout.splitlines()) == 1
    assert run_cli(env, "invite", "revoke", "12345678").returncode == 2


async def test_the_team_makes_and_withdraws_codes_in_chat(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    from tests.conftest import onboard

    await onboard(engine, store, tambon, "lead", role=Role.TEAM)
    await onboard(engine, store, tambon, "villager")
    (asked,) = await console(engine, "lead", "/invite")
    assert th("A join code for whom?") in asked
    assert th("Tambon working team") in asked
    assert th("Administrator") not in asked  # admin codes are made on the server only
    (made,) = await console(engine, "lead", "2")  # the second button: member
    invites = [i for i in await store.list_invites(tambon.id) if i.role is Role.MEMBER]
    (code,) = invites
    assert code.code in made
    assert code.expires_at is not None
    assert code.expires_at - code.created_at >= timedelta(days=29)
    (joined,) = await console(engine, "newcomer", f"/start {code.code}")
    assert "Traceback" not in joined
    assert await store.get_member("console", "newcomer") is not None
    # A villager may do neither; another tambon's code is unknown here.
    (refused,) = await console(engine, "villager", "/invite")
    assert th("A join code for whom?") not in refused
    other = await tambons.create_tambon(store, "600802", 2)
    foreign = await tambons.create_invite(store, other, Role.TEAM)
    (unknown,) = await console(engine, "lead", f"/revoke {foreign.code}")
    assert th("There is no join code {code}.", code=foreign.code) in unknown
    assert not (await store.get_invite(foreign.code)).revoked  # type: ignore[union-attr]
    (withdrawn,) = await console(engine, "lead", f"/revoke {code.code}")
    assert code.code in withdrawn
    assert (await store.get_invite(code.code)).revoked  # type: ignore[union-attr]
    (again,) = await console(engine, "lead", f"/revoke {code.code}")
    assert th("Join code {code} was withdrawn already.", code=code.code) in again
    (late,) = await console(engine, "another", f"/start {code.code}")
    assert th(REVOKED, code=code.code) in late


async def test_member_list_and_role_keep_the_last_administrator(
    engine: Engine, store: Store, tambon: Tambon, db_path: Path
) -> None:
    from tests.conftest import onboard, run_cli_ok

    await onboard(engine, store, tambon, "v1", village=2)
    await onboard(engine, store, tambon, "lead", village=1, role=Role.TEAM)
    env = {"TAMBON_DATABASE_URL": f"sqlite:///{db_path}", "PATH": "/usr/bin:/bin"}
    listed = await run_cli_ok(env, "member", "list", "--tambon", tambon.code, "--json")
    records = [json.loads(line) for line in listed.splitlines()]
    assert [(r["village"], r["role"]) for r in records] == [(1, "team"), (2, "villager")]
    assert all(r["consented"] for r in records)
    assert "lead" not in listed  # no chat account ids (the console user ids here)
    assert "v1" not in listed
    lead, villager = records[0]["id"], records[1]["id"]
    await run_cli_ok(env, "member", "role", str(lead), "admin")
    last = run_cli(env, "member", "role", str(lead), "team")
    assert last.returncode == 2
    assert "Traceback" not in last.stderr
    member = await store.get_member_by_id(lead)
    assert member is not None
    assert member.role is Role.ADMIN  # still the administrator
    await run_cli_ok(env, "member", "role", str(villager), "admin")
    await run_cli_ok(env, "member", "role", str(lead), "team")  # another admin exists now
    member = await store.get_member_by_id(lead)
    assert member is not None
    assert member.role is Role.TEAM
    assert run_cli(env, "member", "role", "999", "team").returncode == 2


async def test_a_removed_member_is_a_stranger_and_what_they_filed_and_voted_stays(
    engine: Engine, store: Store, tambon: Tambon, db_path: Path
) -> None:
    from handlers.services import polls
    from storage.base import PollMethod
    from tests.conftest import onboard, run_cli_ok

    await onboard(engine, store, tambon, "gone", village=2)
    await console(engine, "gone", "ถนนหมู่ 2 เป็นหลุมลึกมาก", "1")
    poll = await polls.create_poll(
        store,
        tambon.id,
        "ทดสอบ",
        PollMethod.APPROVAL,
        1,
        [("ถนน", None), ("น้ำ", None)],
        open_now=True,
    )
    member = await store.get_member("console", "gone")
    assert member is not None
    await polls.cast_ballot(store, poll, member, [1])
    (filed,) = await store.list_submissions(tambon.id)
    env = {"TAMBON_DATABASE_URL": f"sqlite:///{db_path}", "PATH": "/usr/bin:/bin"}
    await run_cli_ok(env, "member", "remove", str(member.id))
    assert await store.list_members(tambon.id) == []
    (kept,) = await store.list_submissions(tambon.id)
    assert kept.id == filed.id
    assert len(await store.list_ballots(poll.id)) == 1  # the count of the poll is unchanged
    (stranger,) = await console(engine, "gone", "/mine")
    assert th("You have not filed anything yet. Just type a problem or need to start.") not in (
        stranger
    )
    assert filed.text not in stranger
    again = run_cli(env, "member", "remove", str(member.id))
    assert again.returncode == 2
    # They may come back with a new code, as anyone may.
    code = (await tambons.create_invite(store, tambon, Role.VILLAGER)).code
    await console(engine, "gone", f"/start {code}", "2", "1")
    back = await store.get_member("console", "gone")
    assert back is not None
    assert back.onboarded
    assert back.removed_at is None


async def test_the_last_administrator_cannot_be_removed(
    engine: Engine, store: Store, tambon: Tambon, db_path: Path
) -> None:
    from tests.conftest import onboard, run_cli_ok

    await onboard(engine, store, tambon, "boss")
    member = await store.get_member("console", "boss")
    assert member is not None
    env = {"TAMBON_DATABASE_URL": f"sqlite:///{db_path}", "PATH": "/usr/bin:/bin"}
    await run_cli_ok(env, "member", "role", str(member.id), "admin")
    refused = run_cli(env, "member", "remove", str(member.id))
    assert refused.returncode == 2
    assert "Traceback" not in refused.stderr
    still = await store.get_member("console", "boss")
    assert still is not None
    assert still.onboarded
