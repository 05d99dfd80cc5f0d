"""The plan's second half: problem groups become plan items; the people who reported them are
told, on their own channel and in their language, when an item enters the plan, is funded, is
done or dropped — through the outbox, once each — and asked whether it is really done; enough
"no" answers reopen it and tell the team. /status, /plan and the command line."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest

from bot.channels.telegram import TelegramChannel
from bot.core import Engine
from handlers.services import plan
from storage.base import PlanStatus, Role, Store, Tambon, Verdict
from tests import test_telegram
from tests.conftest import console, onboard, run_cli, run_cli_ok, th
from tests.telegram_standin import TelegramStandIn
from tests.test_telegram import USER, press, reply_count
from tests.test_telegram import onboard as onboard_telegram

IN_PLAN = (
    "Good news about a problem you reported: it is now in the tambon plan as “{title}” "
    "(item {ref}). Type /status to follow it."
)
DONE = (
    "The tambon team says the plan item “{title}” (item {ref}), made from a problem you "
    "reported, is done. Is the problem really solved?"
)
REOPENED = (
    "Plan item {ref} “{title}” is back in progress: of the reporters who answered, {detail} "
    "say the problem is not solved."
)
# The Telegram stand-in and the channel on it, as in test_telegram.
standin = test_telegram.standin
telegram = test_telegram.telegram
DISTINCT = ["ถนนลูกรังพังหมด", "น้ำประปาไม่ไหล", "ไฟฟ้าดับทุกคืน", "ขยะล้นถังส่งกลิ่น", "หมาจรจัดกัดเด็ก"]
PROBLEMS = ["ถนนหมู่3เป็นหลุมลึกมาก", "น้ำประปาไม่ไหลสามวันแล้ว", "ไฟทางดับทั้งซอยหมู่๓ 😭"]


def told(standin: TelegramStandIn, chat: int, msgid: str, **params: object) -> int:
    text = th(msgid, **params)
    return sum(1 for c in standin.sent(chat) if c.params.get("text") == text)


async def test_a_plan_item_from_report_to_done_and_back_on_telegram(
    standin: TelegramStandIn, telegram: TelegramChannel, store: Store, tambon: Tambon
) -> None:
    villagers = [USER, USER + 1, USER + 2]
    lead = USER + 10
    for index, user in enumerate(villagers):
        sent = await onboard_telegram(standin, store, tambon, user)
        standin.text(user, PROBLEMS[index])
        await reply_count(standin, sent + 1, user)
        await press(standin, "ok:", sent + 2, user)
    await onboard_telegram(standin, store, tambon, lead, role=Role.TEAM)
    refs = [s.id for s in await store.list_submissions(tambon.id)]
    item = await plan.add_item(
        store, tambon, title="ซ่อมถนนและไฟทางหมู่ 3", submissions=refs, by="somchai"
    )
    assert len(await store.plan_reporters(item.id)) == 3
    # Proposed: nobody is told yet. In the plan: each reporter, once, even if written twice.
    item = await plan.set_status(store, item, PlanStatus.IN_PLAN, by="somchai")
    await plan.set_status(store, item, PlanStatus.IN_PLAN, by="somchai")
    await telegram.pipeline.queue_notices()
    for user in villagers:
        await standin.wait_for(
            lambda u=user: told(standin, u, IN_PLAN, title=item.title, ref=item.id) == 1
        )
    assert await telegram.pipeline.queue_notices() == 0  # nothing left to queue
    item = await plan.set_status(store, item, PlanStatus.FUNDED, by="somchai")
    item = await plan.set_status(store, item, PlanStatus.DONE, by="somchai", note="ลาดยางเสร็จ")
    await telegram.pipeline.queue_notices()
    for user in villagers:
        await standin.wait_for(
            lambda u=user: told(standin, u, DONE, title=item.title, ref=item.id) == 1
        )
    # Two of three say it is not solved: the item reopens and the team is told.
    round_ = item.done_round
    for user, answer in zip(villagers, ("no", "yes", "no"), strict=True):
        before = len(standin.sent(user))
        await press(standin, f"verdict:{item.id}.{round_}.{answer}", before + 1, user)
    reopened = await store.get_plan_item(item.id)
    assert reopened is not None
    assert reopened.status is PlanStatus.IN_PROGRESS
    await telegram.pipeline.queue_notices()
    await standin.wait_for(
        lambda: told(standin, lead, REOPENED, ref=item.id, title=item.title, detail="2/3") == 1
    )
    # A late answer to the old question is closed politely; done again is a new question.
    before = len(standin.sent(USER + 1))
    await press(standin, f"verdict:{item.id}.{round_}.no", before + 1, USER + 1)
    assert (
        th("Thank you. This question is closed: the item has changed since. Type /status.")
        in (standin.sent(USER + 1)[-1].params["text"])
    )
    await plan.set_status(store, reopened, PlanStatus.DONE, by="somchai")
    await telegram.pipeline.queue_notices()
    for user in villagers:
        await standin.wait_for(
            lambda u=user: told(standin, u, DONE, title=item.title, ref=item.id) == 2
        )
        assert told(standin, user, IN_PLAN, title=item.title, ref=item.id) == 1
    counts = await store.plan_notice_counts(item.id)
    assert counts == {"in_plan": 3, "funded": 3, "done": 6, "reopened": 1}


async def test_notices_are_queued_once_by_concurrent_queuers(
    standin: TelegramStandIn, telegram: TelegramChannel, store: Store, tambon: Tambon
) -> None:
    for offset in range(5):
        user = USER + offset
        sent = await onboard_telegram(standin, store, tambon, user)
        standin.text(user, DISTINCT[offset])
        await reply_count(standin, sent + 1, user)
        await press(standin, "ok:", sent + 2, user)
    refs = [s.id for s in await store.list_submissions(tambon.id)]
    item = await plan.add_item(store, tambon, title="ซ่อมถนน", submissions=refs, by="somchai")
    await plan.set_status(store, item, PlanStatus.IN_PLAN, by="somchai")
    reporters = await store.plan_reporters(item.id)
    assert len(reporters) == 5
    # Four queuers at once beside the channel's own loop: each notice is queued by one of them.
    queued = await asyncio.gather(*(telegram.pipeline.queue_notices(limit=2) for _ in range(4)))
    assert sum(queued) <= 5
    text = th(IN_PLAN, title="ซ่อมถนน", ref=item.id)
    for offset in range(5):
        await standin.wait_for(
            lambda u=USER + offset: told(standin, u, IN_PLAN, title="ซ่อมถนน", ref=item.id) >= 1
        )
    await asyncio.sleep(0.5)  # time for a doubled one to arrive, were there one
    totals = Counter(c.params["chat_id"] for c in standin.calls if c.params.get("text") == text)
    assert sorted(totals.values()) == [1] * 5
    assert await store.plan_notice_counts(item.id) == {"in_plan": 5}


async def test_status_and_plan_in_chat(engine: Engine, store: Store, tambon: Tambon) -> None:
    await onboard(engine, store, tambon, "v1")
    await onboard(engine, store, tambon, "v2")
    await console(engine, "v1", PROBLEMS[0], "1")
    await console(engine, "v1", PROBLEMS[1], "1")
    (empty,) = await console(engine, "v2", "/plan")
    assert (
        th("The tambon has no plan items yet. Problems are heard first at the hearing.") in empty
    )
    road = next(s for s in await store.list_submissions(tambon.id) if s.text == PROBLEMS[0])
    item = await plan.add_item(store, tambon, title="ซ่อมถนนหมู่ 3", submissions=[road.id], by="x")
    await plan.set_status(store, item, PlanStatus.FUNDED, by="x", progress=20)
    (status,) = await console(engine, "v1", "/status")
    assert "ซ่อมถนนหมู่ 3" in status
    assert th("has a budget") in status
    assert "20%" in status
    assert th("heard; not in a plan item yet") in status  # the water problem
    (tambon_plan,) = await console(engine, "v2", "/plan")
    assert "ซ่อมถนนหมู่ 3" in tambon_plan
    assert th("has a budget") in tambon_plan
    (nothing,) = await console(engine, "v2", "/status")
    assert th("You have not filed anything yet. Just type a problem or need to start.") in nothing


async def test_the_plan_on_the_command_line(
    engine: Engine, store: Store, tambon: Tambon, db_path: Path
) -> None:
    await onboard(engine, store, tambon, "v1")
    await console(engine, "v1", PROBLEMS[0], "1")
    (road,) = await store.list_submissions(tambon.id)
    env = {"TAMBON_DATABASE_URL": f"sqlite:///{db_path}", "PATH": "/usr/bin:/bin"}
    out = await run_cli_ok(
        env,
        "plan",
        "add",
        "--tambon",
        tambon.code,
        "--title",
        "ซ่อมถนน",
        "--submission",
        str(road.id),
        "--actor",
        "joint",
        "--source",
        "อบต.",
        "--budget",
        "250000",
        "--responsible",
        "กองช่าง",
        "--due",
        "2027-03-31",
    )
    ref = int(out.strip())
    await run_cli_ok(env, "plan", "status", str(ref), "in_plan", "--note", "ผ่านประชาคม")
    listed = await run_cli_ok(env, "plan", "list", "--tambon", tambon.code, "--json")
    (record,) = [json.loads(line) for line in listed.splitlines()]
    assert record["id"] == ref
    assert record["status"] == "in_plan"
    assert record["submissions"] == [road.id]
    assert record["reporters"] == 1
    assert record["budget"] == 250000
    assert record["verdicts"] == {"yes": 0, "partly": 0, "no": 0}
    for bad in (
        ["plan", "status", "999", "done"],
        ["plan", "status", str(ref), "dropped"],  # no reason
        ["plan", "status", str(ref), "in_progress", "--progress", "150"],
        ["plan", "add", "--tambon", tambon.code, "--title", "x", "--due", "31/03/2570"],
        ["plan", "add", "--tambon", tambon.code, "--title", "x", "--submission", "999"],
        ["plan", "add", "--tambon", tambon.code, "--title", "   "],
    ):
        done = run_cli(env, *bad)
        assert done.returncode == 2, bad
        assert "Traceback" not in done.stderr
    assert len(await store.list_plan_items(tambon.id)) == 1
    entries = [e.action for e in await store.list_audit(tambon.id)]
    assert entries.count("plan.added") == 1
    assert entries.count("plan.status") == 1


async def test_only_reporters_answer(engine: Engine, store: Store, tambon: Tambon) -> None:
    await onboard(engine, store, tambon, "v1")
    await onboard(engine, store, tambon, "v2")
    await console(engine, "v1", PROBLEMS[0], "1")
    (road,) = await store.list_submissions(tambon.id)
    item = await plan.add_item(store, tambon, title="ซ่อมถนน", submissions=[road.id], by="x")
    item = await plan.set_status(store, item, PlanStatus.DONE, by="x")
    stranger = await store.get_member("console", "v2")
    assert stranger is not None
    with pytest.raises(plan.PlanRefused):
        await plan.give_verdict(store, item, stranger, item.done_round, Verdict.NO)
    reporter = await store.get_member("console", "v1")
    assert reporter is not None
    with pytest.raises(plan.PlanRefused):  # not the item's latest "done"
        await plan.give_verdict(store, item, reporter, item.done_round + 1, Verdict.NO)
    assert await store.plan_verdicts(item.id, item.done_round) == {}
    assert not await plan.give_verdict(store, item, reporter, item.done_round, Verdict.NO)
    assert await store.plan_verdicts(item.id, item.done_round) == {Verdict.NO: 1}
