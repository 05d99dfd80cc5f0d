"""The audit trail: each team action, from chat and from the command line, recorded with who,
when and what, in the action's transaction."""

from __future__ import annotations

import json
from pathlib import Path

from bot.core import Engine
from storage.base import Role, Store, Tambon
from tests.conftest import console, onboard, run_cli_ok, th


async def test_team_actions_in_chat_and_on_the_command_line_are_in_the_audit(
    engine: Engine, store: Store, tambon: Tambon, db_path: Path, tmp_path: Path
) -> None:
    await onboard(engine, store, tambon, "lead", role=Role.TEAM)
    await onboard(engine, store, tambon, "v1", village=2)
    lead = await store.get_member("console", "lead")
    assert lead is not None
    chat = f"team {lead.pseudonym}"
    await console(engine, "v1", "ถนนหมู่ 2 เป็นหลุมลึก", "1")
    (submission,) = await store.list_submissions(tambon.id)
    await console(engine, "v1", "น้ำประปาไม่ไหลสามวันแล้ว", "1")
    # In chat: a join code made and withdrawn, a poll opened and closed, paper ballots, a report.
    await console(engine, "lead", "/invite", "1")
    made = [i for i in await store.list_invites(tambon.id) if i.role is Role.VILLAGER][-1]
    await console(engine, "lead", f"/revoke {made.code}")
    await console(engine, "lead", "/newpoll ถนนหรือน้ำ", "1")  # the first voting method
    await console(engine, "lead", "/paper 3 1")
    await console(engine, "lead", "/closepoll")
    await console(engine, "lead", "/report")
    # On the command line: a code, a role change, a correction, a report file.
    env = {"TAMBON_DATABASE_URL": f"sqlite:///{db_path}", "PATH": "/usr/bin:/bin"}
    await run_cli_ok(env, "invite", "--tambon", tambon.code, "--role", "member")
    villager = await store.get_member("console", "v1")
    assert villager is not None
    await run_cli_ok(env, "member", "role", str(villager.id), "member")
    await run_cli_ok(
        env, "correct", "--id", str(submission.id), "--categories", "water", "--by", "somchai"
    )
    await run_cli_ok(
        env, "report", "--tambon", tambon.code, "--format", "md", "-o", str(tmp_path / "r.md")
    )
    # The report's short section: the latest actions, in the team's copy only.
    report = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert th("Who did what") in report
    assert th("paper ballots entered") in report
    assert lead.pseudonym.split("-")[-1] in report  # (markdown escapes the dash)
    await run_cli_ok(
        env,
        "report",
        "--tambon",
        tambon.code,
        "--format",
        "md",
        "--public",
        "-o",
        str(tmp_path / "public.md"),
    )
    assert th("Who did what") not in (tmp_path / "public.md").read_text(encoding="utf-8")
    lines = await run_cli_ok(env, "audit", "--tambon", tambon.code, "--json")
    entries = [json.loads(line) for line in lines.splitlines()]
    actions = [(e["who"] == chat, e["action"]) for e in entries]
    for expected in [
        (True, "invite.made"),
        (True, "invite.revoked"),
        (True, "poll.created"),
        (True, "poll.paper"),
        (True, "poll.closed"),
        (True, "report.taken"),
        (False, "invite.made"),
        (False, "member.role"),
        (False, "submission.corrected"),
        (False, "report.taken"),
    ]:
        assert expected in actions, (expected, actions)
    role = next(e for e in entries if e["action"] == "member.role")
    assert role["detail"] == {"member": villager.id, "before": "villager", "after": "member"}
    corrected = next(e for e in entries if e["action"] == "submission.corrected")
    assert corrected["who"] == "somchai"
    assert corrected["detail"]["submission"] == submission.id
    assert "ถนน" not in lines  # ids and counts, never a villager's words
    # Another tambon's trail is its own.
    from handlers.services import tambons

    other = await tambons.create_tambon(store, "600802", 2)
    assert await store.list_audit(other.id) == []
