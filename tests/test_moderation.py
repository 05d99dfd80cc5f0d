"""Moderation: the team hides a submission with a reason and shows it again. A hidden one stays
stored, its sender sees it marked in /mine, and summaries, reports, exports, problem groups and
polls leave it out; each hide and unhide is in the audit trail."""

from __future__ import annotations

import json
from pathlib import Path

from bot.core import Engine
from handlers.services import tambons
from storage.base import Role, Store, Tambon
from tests.conftest import console, onboard, run_cli, run_cli_ok, th

ABUSE = "ผู้ใหญ่บ้านมันโกงกินงบถนนหมู่3ไอ้ชั่ว"
ROAD = "ถนนหมู่ 3 เป็นหลุมลึก รถล้มบ่อย"
HIDDEN = (
    "#{ref} is hidden: it is kept, its sender still sees it (marked), and summaries, reports, "
    "groups and polls leave it out. To show it again: /unhide {ref}"
)


async def _two_reports_of_one_road(
    engine: Engine, store: Store, tambon: Tambon
) -> tuple[int, int]:
    """v1 files an abusive message about the moo 3 road, v2 a plain one the bot groups with it."""
    await onboard(engine, store, tambon, "lead", role=Role.TEAM)
    await onboard(engine, store, tambon, "v1")
    await onboard(engine, store, tambon, "v2")
    await console(engine, "v1", ABUSE, "1")
    await console(engine, "v2", ROAD, "1")
    by_text = {s.text: s for s in await store.list_submissions(tambon.id)}
    abusive, plain = by_text[ABUSE], by_text[ROAD]
    return abusive.id, plain.id


async def test_a_hidden_submission_is_kept_marked_for_its_sender_and_left_out_of_the_rest(
    engine: Engine, store: Store, tambon: Tambon, db_path: Path, tmp_path: Path
) -> None:
    abusive, plain = await _two_reports_of_one_road(engine, store, tambon)
    (summary_before,) = await console(engine, "lead", "/summary")
    (answer,) = await console(engine, "lead", f"/hide {abusive} คำหยาบ ระบุชื่อบุคคล")
    assert th(HIDDEN, ref=abusive) in answer
    kept = await store.get_submission(abusive)
    assert kept is not None
    assert kept.text == ABUSE
    assert kept.hidden_reason == "คำหยาบ ระบุชื่อบุคคล"
    # Its sender still sees it, marked with the reason.
    (mine,) = await console(engine, "v1", "/mine")
    assert ABUSE in mine
    assert "คำหยาบ ระบุชื่อบุคคล" in mine
    # Left out of what the team reads and of the problem groups (their titles included).
    assert [s.id for s in await store.all_submissions(tambon.id)] == [plain]
    assert await store.count_submissions(tambon.id) == 1
    for group in await store.list_groups(tambon.id):
        assert group.title != ABUSE
    assert sum(g.reporters for g in await store.list_groups(tambon.id)) == 1
    (summary,) = await console(engine, "lead", "/summary")
    assert summary != summary_before
    assert ABUSE not in summary
    env = {"TAMBON_DATABASE_URL": f"sqlite:///{db_path}", "PATH": "/usr/bin:/bin"}
    await run_cli_ok(
        env, "report", "--tambon", tambon.code, "--format", "md", "-o", str(tmp_path / "r.md")
    )
    report = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "หลุมลึก" in report
    assert "โกงกิน" not in report
    exported = await run_cli_ok(env, "export", "--tambon", tambon.code, "--format", "jsonl")
    assert [json.loads(line)["id"] for line in exported.splitlines()] == [plain]
    # Polls: proposed from the groups, so from what is not hidden.
    (proposal,) = await console(engine, "lead", "/newpoll")
    await console(engine, "lead", "/cancel")
    assert "โกงกิน" not in proposal
    # Shown again: back everywhere.
    (again,) = await console(engine, "lead", f"/unhide {abusive}")
    assert (
        th("#{ref} is shown again in summaries, reports, groups and polls.", ref=abusive) in again
    )
    assert [s.id for s in await store.all_submissions(tambon.id)] == sorted([abusive, plain])
    assert sum(g.reporters for g in await store.list_groups(tambon.id)) == 2
    (mine,) = await console(engine, "v1", "/mine")
    assert "คำหยาบ" not in mine
    moderation = [
        e for e in await store.list_audit(tambon.id) if e.action.startswith("submission.")
    ]
    assert [e.action for e in moderation] == ["submission.hidden", "submission.unhidden"]
    assert all(e.detail["submission"] == abusive for e in moderation)
    assert moderation[0].who.startswith("team ")


async def test_hiding_the_only_report_of_a_group_keeps_the_group_for_unhiding(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    await onboard(engine, store, tambon, "lead", role=Role.TEAM)
    await onboard(engine, store, tambon, "v1")
    await console(engine, "v1", "น้ำประปาไม่ไหลสามวันแล้ว", "1")
    (submission,) = await store.list_submissions(tambon.id)
    assert submission.group_id is not None
    await console(engine, "lead", f"/hide {submission.id} ส่งผิด")
    assert await store.list_groups(tambon.id) == []
    await console(engine, "lead", f"/unhide {submission.id}")
    (group,) = await store.list_groups(tambon.id)
    assert group.id == submission.group_id
    assert group.title == submission.text


async def test_hide_answers_politely_when_it_cannot(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    abusive, _ = await _two_reports_of_one_road(engine, store, tambon)
    (no_reason,) = await console(engine, "lead", f"/hide {abusive}")
    assert th("Please give a reason for hiding it, for example: /hide 12 rude words.") in no_reason
    (no_number,) = await console(engine, "lead", "/hide เมื่อกี้ หยาบ")
    assert "Traceback" not in no_number
    assert (
        th(
            "There is no submission #{ref} in your tambon. Type /hide, the reference number and "
            "the reason, for example: /hide 12 rude words.",
            ref="เมื่อกี้",
        )
        in no_number
    )
    in_thai_digits = str(abusive).translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))
    (thai_digits,) = await console(engine, "lead", f"/hide #{in_thai_digits} หยาบ")
    assert th(HIDDEN, ref=abusive) in thai_digits
    (twice,) = await console(engine, "lead", f"/hide {abusive} หยาบ")
    assert th("#{ref} was hidden already. To show it again: /unhide {ref}", ref=abusive) in twice
    _, not_hidden = await console(engine, "lead", f"/unhide {abusive}", f"/unhide {abusive}")
    assert th("#{ref} is not hidden.", ref=abusive) in not_hidden
    # A villager may not hide; another tambon's team finds no such submission.
    (villager,) = await console(engine, "v2", f"/hide {abusive} ไม่ชอบ")
    assert th("Sorry, this command is only for the tambon team.") in villager
    other = await tambons.create_tambon(store, "600802", 2)
    await onboard(engine, store, other, "outsider", village=1, role=Role.TEAM)
    (outsider,) = await console(engine, "outsider", f"/hide {abusive} หยาบ")
    assert ABUSE not in outsider
    stored = await store.get_submission(abusive)
    assert stored is not None
    assert stored.hidden_at is None


async def test_hide_and_unhide_on_the_command_line(
    engine: Engine, store: Store, tambon: Tambon, db_path: Path
) -> None:
    abusive, _ = await _two_reports_of_one_road(engine, store, tambon)
    env = {"TAMBON_DATABASE_URL": f"sqlite:///{db_path}", "PATH": "/usr/bin:/bin"}
    out = await run_cli_ok(
        env, "hide", "--id", str(abusive), "--reason", "rude", "--by", "somchai"
    )
    assert json.loads(out) == {"id": abusive, "hidden": True, "changed": True}
    again = await run_cli_ok(env, "hide", "--id", str(abusive), "--reason", "rude")
    assert json.loads(again)["changed"] is False
    blank = run_cli(env, "hide", "--id", str(abusive), "--reason", "  ")
    assert blank.returncode != 0
    assert "Traceback" not in blank.stderr
    missing = run_cli(env, "hide", "--id", "999999", "--reason", "x")
    assert missing.returncode != 0
    assert "Traceback" not in missing.stderr
    shown = await run_cli_ok(env, "unhide", "--id", str(abusive), "--by", "somchai")
    assert json.loads(shown) == {"id": abusive, "hidden": False, "changed": True}
    trail = await run_cli_ok(env, "audit", "--tambon", tambon.code, "--json")
    entries = [json.loads(line) for line in trail.splitlines()]
    assert [(e["who"], e["action"]) for e in entries][-2:] == [
        ("somchai", "submission.hidden"),
        ("somchai", "submission.unhidden"),
    ]
