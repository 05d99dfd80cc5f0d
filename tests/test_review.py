"""The team's corrections (/fix in chat, `tambon-bot correct`) and who-can-act suggestions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.core import Engine
from bot.nlp import KeywordTagger
from handlers.services import tambons
from storage.base import Kind, Role, Store, Tambon
from storage.sqlite import SQLiteStore
from tests.conftest import console, onboard, th


@pytest.mark.parametrize(
    ("text", "actor"),
    [
        ("ขอสร้างสะพานข้ามคลองใหม่", "external"),
        ("อยากได้ไฟกิ่งในซอย", "joint"),
        ("เสนอให้ตั้งกลุ่มทำปุ๋ยหมักใช้เอง", "community"),
        ("อยากให้มีการฝึกอาชีพเสริม", "community"),
        ("ขอบ่อบาดาลให้หมู่ 4", "external"),
        ("ถนนพังมาก", None),  # a problem, not a need: no suggestion
    ],
)
def test_who_can_act_is_suggested_for_needs(
    tagger: KeywordTagger, text: str, actor: str | None
) -> None:
    assert tagger.tag(text).actor == actor


async def test_team_member_fixes_tags_in_chat(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    await onboard(engine, store, tambon, "villager", village=2)
    await onboard(engine, store, tambon, "officer", village=1, role=Role.TEAM)
    await console(engine, "villager", "อยากได้ไฟกิ่งในซอย", "1")
    (submission,) = await store.list_submissions(tambon.id)
    assert submission.actor == "joint"
    (denied,) = await console(engine, "villager", f"/fix {submission.id}")
    assert denied.strip() == th("Sorry, this command is only for the tambon team.")
    card, picker, toggled, back, actor_picker, chosen, saved = await console(
        engine, "officer", f"/fix {submission.id}", "2", "9", "11", "5", "3", "1"
    )
    assert th("Together with the local government") in card
    assert "ไฟกิ่ง" in card
    assert "◻️ " + th("Safety") in picker
    assert "✅ " + th("Safety") in toggled
    assert th("Safety") in back
    assert th("Who can act on this?") in actor_picker
    assert th("Support from district, province or agencies") in chosen
    updated = await store.get_submission(submission.id)
    assert updated is not None
    assert updated.actor == "external"
    assert "safety" in updated.categories
    assert updated.text == submission.text  # the words are never changed
    corrections = await store.list_corrections(submission.id)
    assert [c.source for c in corrections] == ["team"]
    assert "safety" in corrections[0].new_categories
    officer = await store.get_member("console", "officer")
    assert officer is not None
    assert corrections[0].corrected_by == f"team {officer.pseudonym}"  # who, by pseudonym
    assert (
        th(
            "Saved the correction to #{ref}. The tagger learns from it the next time it is "
            "retrained (tambon-bot train).",
            ref=submission.id,
        )
        in saved
    )
    (missing,) = await console(engine, "officer", "/fix 999")
    assert (
        th(
            "There is no submission #{ref} in your tambon. Type /fix followed by a reference "
            "number, for example /fix 12.",
            ref="999",
        )
        in missing
    )


async def test_fix_is_limited_to_the_members_own_tambon(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    other = await tambons.create_tambon(store, "600802", 3)
    await onboard(engine, store, tambon, "villager")
    await onboard(engine, store, other, "officer-elsewhere", village=1, role=Role.TEAM)
    await console(engine, "villager", "ยุงลายเยอะมาก", "1")
    (submission,) = await store.list_submissions(tambon.id)
    (reply,) = await console(engine, "officer-elsewhere", f"/fix {submission.id}")
    assert "ยุงลาย" not in reply
    assert await store.list_corrections(submission.id) == []


def test_correct_from_the_command_line(tmp_path: Path) -> None:
    import asyncio

    from storage.base import NewSubmission

    db = tmp_path / "c.db"

    async def seed() -> int:
        async with SQLiteStore(db) as store:
            tambon = await tambons.create_tambon(store, "600801", 3)
            stored, _ = await store.add_submission(
                NewSubmission(
                    tambon.id,
                    "ขอถนนใหม่",
                    Kind.NEED,
                    ["infrastructure"],
                    1,
                    None,
                    False,
                    "console",
                    None,
                )
            )
            return stored.id

    sid = asyncio.run(seed())
    env = {**os.environ, "TAMBON_DATABASE_URL": f"sqlite:///{db}"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "correct",
            "--id",
            str(sid),
            "--categories",
            "infrastructure,safety",
            "--actor",
            "external",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=tmp_path,
    )
    row = json.loads(done.stdout)
    assert row["categories"] == "infrastructure|safety"
    assert row["actor"] == "external"

    def correct(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "correct", "--id", str(sid), *args],
            capture_output=True,
            text=True,
            check=False,
            env=env,
            cwd=tmp_path,
        )

    bad = correct("--categories", "roads")
    assert bad.returncode == 2
    assert "roads" in bad.stderr
    # The village must be one of the tambon's (it has 3): refused, as in chat, nothing changed.
    elsewhere = correct("--village", "9")
    assert elsewhere.returncode == 2
    assert "9" in elsewhere.stderr
    assert "Traceback" not in elsewhere.stderr

    async def stored() -> tuple[Any, list[Any]]:
        async with SQLiteStore(db) as store:
            submission = await store.get_submission(sid)
            return submission, await store.list_corrections()

    submission, corrections = asyncio.run(stored())
    assert submission.village_moo == 1
    # One correction recorded, with the tags before and after, in the same transaction.
    assert [(list(c.old_categories), list(c.new_categories)) for c in corrections] == [
        (["infrastructure"], ["infrastructure", "safety"])
    ]
    # Who corrected: the login name unless told (--by).
    assert corrections[0].corrected_by is not None
    assert corrections[0].corrected_by.startswith("operator")
    assert correct("--kind", "problem", "--by", "ครูสมศรี").returncode == 0
    _, corrections = asyncio.run(stored())
    assert corrections[-1].corrected_by == "ครูสมศรี"
