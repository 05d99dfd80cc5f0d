"""The plan's second half: problem groups become plan items; the people who reported them are
told, on their own channel and in their language, when an item enters the plan, is funded, is
done or dropped — through the outbox, once each — and asked whether it is really done; enough
"no" answers reopen it and tell the team. /status, /plan and the command line."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from bot import web
from bot.channels import next_push_month, push_month
from bot.channels.line import LineChannel
from bot.channels.telegram import TelegramChannel
from bot.core import Engine
from bot.nlp import KeywordTagger
from handlers.services import plan, tambons
from storage.base import PlanStatus, Role, Store, Submission, Tambon, Verdict
from tests import test_telegram
from tests.conftest import console, onboard, run_cli, run_cli_ok, th
from tests.line_standin import Events, LineStandIn
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
# Calls leave the bot evenly spaced; the stand-in sees them with network jitter of a few
# milliseconds, so a one-second window may hold a few percent more than the pace.
JITTER = 1.05
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
    # (pressed on the "done" message itself, as a villager scrolling back up would)
    asked = [
        c
        for c in standin.sent(USER + 1)
        if c.params.get("text") == th(DONE, title=item.title, ref=item.id)
    ]
    standin.press(USER + 1, f"verdict:{item.id}.{round_}.no", asked[0].result)
    await reply_count(standin, before + 1, USER + 1)
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


async def test_the_report_has_the_plan_table_and_its_follow_through(
    engine: Engine, store: Store, tambon: Tambon, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    from bot import report
    from handlers.services.summary import read_report
    from tests.test_report import _pdf_text

    for user in ("v1", "v2", "v3"):
        await onboard(engine, store, tambon, user)
    await console(engine, "v1", PROBLEMS[0], "1")
    await console(engine, "v2", PROBLEMS[1], "1")
    road, water = sorted(await store.list_submissions(tambon.id), key=lambda s: s.id)
    paved = await plan.add_item(
        store,
        tambon,
        title="ลาดยางถนนหมู่ 3",
        submissions=[road.id],
        actor="joint",
        source="อบต.",
        budget=250_000,
        responsible="กองช่าง อบต.",
        objective="สัญจรสะดวก",
        indicator="ถนน 1.2 กม.",
        result="รถไม่ล้ม",
        by="x",
    )
    await plan.add_item(store, tambon, title="ขุดบ่อบาดาล", submissions=[water.id], by="x")
    paved = await plan.set_status(store, paved, PlanStatus.IN_PLAN, by="x")
    paved = await plan.set_status(store, paved, PlanStatus.DONE, by="x")
    v1 = await store.get_member("console", "v1")
    assert v1 is not None
    await plan.give_verdict(store, paved, v1, paved.done_round, Verdict.PARTLY)
    summary, submissions = await read_report(store, tambon)
    assert summary.plan is not None
    assert summary.plan.by_status == {"done": 1, "proposed": 1}
    assert summary.plan.verdicts == {"yes": 0, "partly": 1, "no": 0}
    assert summary.plan.days_to_done is not None
    html = report.render(summary, submissions, "html", "th")
    assert th("The plan: projects") in html
    assert "ลาดยางถนนหมู่ 3" in html
    assert "250,000" in html
    assert "ถนน 1.2 กม." in html
    assert th("Following the plan through") in html
    assert f"{th('partly')} 1" in html
    markdown = report.render(summary, submissions, "md", "en")
    assert "The plan: projects" in markdown
    book = load_workbook(io.BytesIO(report.xlsx(summary, submissions, "en")))
    rows = list(book["Plan items"].values)
    assert rows[0][:5] == ("No.", "Plan year", "Strategy", "Who acts", "Project")
    assert {r[4] for r in rows[1:]} == {"ลาดยางถนนหมู่ 3", "ขุดบ่อบาดาล"}
    paved_row = next(r for r in rows[1:] if r[4] == "ลาดยางถนนหมู่ 3")
    assert (paved_row[8], paved_row[14], paved_row[17]) == (250_000, "done", 1)
    text, _ = _pdf_text(report.pdf(summary, submissions, "th"), tmp_path)
    flat = text.replace(" ", "").replace("\n", "")
    assert th("The plan: projects").replace(" ", "") in flat
    assert "ลาดยางถนนหมู่3" in flat
    assert "250,000" in flat


@contextlib.asynccontextmanager
async def line_bot(store: Store, tagger: KeywordTagger) -> AsyncIterator[LineBot]:
    """The LINE stand-in, the bot's LINE channel on it and its webhook: a villager on LINE."""
    from tests import test_line
    from tests.line_standin import Events, LineStandIn

    standin = LineStandIn(test_line.TOKEN)
    await standin.start()
    channel = LineChannel(
        Engine(store, tagger), test_line.SECRET, test_line.TOKEN, base_url=standin.base_url
    )
    await channel.start()
    runner = await web.serve(web.build_app(line=channel), "127.0.0.1:0")
    url = f"http://127.0.0.1:{runner.addresses[0][1]}{web.LINE_PATH}"
    events = Events(test_line.SECRET, standin)
    try:
        async with aiohttp.ClientSession() as http:

            async def post(*batch: dict[str, object]) -> int:
                body = events.body(*batch)
                headers = {
                    "Content-Type": "application/json",
                    "X-Line-Signature": events.sign(body),
                }
                async with http.post(url, data=body, headers=headers) as response:
                    return response.status

            yield LineBot(standin, channel, events, post)
    finally:
        await runner.cleanup()
        await channel.stop()
        await standin.stop()


@dataclass
class LineBot:
    standin: LineStandIn
    channel: LineChannel
    events: Events
    post: Callable[..., Awaitable[int]]


async def line_reporter(bot: LineBot, store: Store, tambon: Tambon) -> tuple[int, Submission]:
    """A LINE villager who joined and filed a problem: how many messages they got, and it."""
    from tests import test_line

    sent = await test_line.onboard(bot.post, bot.events, bot.standin, store, tambon)
    assert await bot.post(bot.events.text(test_line.USER, PROBLEMS[0])) == 200
    await test_line.seen(bot.standin, sent + 1)
    assert await bot.post(bot.events.postback(test_line.USER, "ok:")) == 200
    await test_line.seen(bot.standin, sent + 2)
    (road,) = await store.list_submissions(tambon.id)
    return sent + 2, road


async def test_a_line_villager_is_told_by_push_and_answers_with_a_button(
    store: Store, tambon: Tambon, tagger: KeywordTagger
) -> None:
    """LINE, where most villagers are: the notice is pushed (a multicast; no reply token for
    news), in Thai, with the three answers as buttons; the answer comes back as a postback."""
    from tests import test_line

    async with line_bot(store, tagger) as bot:
        sent, road = await line_reporter(bot, store, tambon)
        item = await plan.add_item(store, tambon, title="ลาดยางถนน", submissions=[road.id], by="x")
        item = await plan.set_status(store, item, PlanStatus.DONE, by="x")
        pushes = sum(1 for c in bot.standin.calls if c.kind == "push")
        await bot.channel.pipeline.queue_notices()
        messages = await test_line.seen(bot.standin, sent + 1)
        assert th(DONE, title="ลาดยางถนน", ref=item.id) in bot.standin.texts_to(test_line.USER)[-1]
        # A notice goes by multicast (one request for everyone told the same), counted per person.
        assert bot.standin.calls[-1].kind == "multicast"
        assert bot.standin.multicasts == 1
        pushes += 1
        # The quota's count, kept right after the push returns (the stand-in sees it first).
        for _ in range(200):
            if await store.push_counts(push_month()) == {"line": pushes}:
                break
            await asyncio.sleep(0.01)
        assert await store.push_counts(push_month()) == {"line": pushes}
        answer = f"verdict:{item.id}.{item.done_round}.partly"
        assert answer in test_line.buttons(messages[-1])
        assert await bot.post(bot.events.postback(test_line.USER, answer)) == 200
        await test_line.seen(bot.standin, sent + 2)
        assert await store.plan_verdicts(item.id, item.done_round) == {Verdict.PARTLY: 1}


async def test_line_notices_go_by_multicast_each_person_once_through_failures(
    store: Store, tambon: Tambon, tagger: KeywordTagger
) -> None:
    """Issue 24: the same notice for 1,200 LINE reporters goes in a few multicasts of up to
    500 people, English readers in their own; a multicast answered 5xx or cut off is sent
    again with its retry key, so nobody is told twice; the month's count is per person."""
    async with line_bot(store, tagger) as bot:
        group = await store.create_group(tambon.id, "ถนนพัง", [], ["infrastructure"], 1)
        users = [f"U{i:032x}" for i in range(1200)]
        async with store.transaction():
            for i, user in enumerate(users):
                locale = "en" if i % 10 == 0 else "th"
                member = await store.upsert_member("line", user, tambon.id, Role.VILLAGER, locale)
                await store.update_member(member.id, consent_at=datetime.now(UTC))
                await store.add_group_reporter(group, member.id, 1, False)
        item = await plan.add_item(store, tambon, title="ลาดยางถนน", groups=[group], by="x")
        await plan.set_status(store, item, PlanStatus.DONE, by="x")
        bot.standin.chaos = 0.3  # 5xx, 429 and cut connections on some requests
        await bot.channel.pipeline.queue_notices()
        told: Counter[str] = Counter()
        for _ in range(300):
            told = Counter(c.user or "" for c in bot.standin.calls if c.kind == "multicast")
            if len(told) == len(users):
                break
            await asyncio.sleep(0.1)
        await bot.channel.pipeline.drain(within=10)
        told = Counter(c.user or "" for c in bot.standin.calls if c.kind == "multicast")
        assert set(told) == set(users)
        assert set(told.values()) == {1}  # nobody twice, whatever failed on the way
        # Notices are queued 500 at a time (NOTICE_BATCH), each batch holding Thai and English
        # readers: two requests a batch, six for 1,200 people; none a push of its own.
        assert bot.standin.multicasts == 6
        assert not [c for c in bot.standin.calls if c.kind == "push"]
        english = bot.standin.texts_to(users[0])[-1]
        thai = bot.standin.texts_to(users[1])[-1]
        assert english != thai
        assert th(DONE, title="ลาดยางถนน", ref=item.id) in thai
        assert await store.push_counts(push_month()) == {"line": 1200}


async def test_a_multicast_leaves_out_who_asked_for_quiet_or_to_be_forgotten_meanwhile(
    store: Store, tambon: Tambon, tagger: KeywordTagger
) -> None:
    """A multicast waiting for LINE (every request failing) names three people; meanwhile one
    asks to be forgotten and one for quiet. When LINE answers again only the third is told."""
    from handlers.services import members

    async with line_bot(store, tagger) as bot:
        group = await store.create_group(tambon.id, "ถนนพัง", [], ["infrastructure"], 1)
        users = [f"U{i:032x}" for i in range(3)]
        people = []
        for user in users:
            member = await store.upsert_member("line", user, tambon.id, Role.VILLAGER, "th")
            people.append(await store.update_member(member.id, consent_at=datetime.now(UTC)))
            await store.add_group_reporter(group, member.id, 1, False)
        item = await plan.add_item(store, tambon, title="ลาดยางถนน", groups=[group], by="x")
        await plan.set_status(store, item, PlanStatus.IN_PLAN, by="x")
        bot.standin.chaos = 1.0  # LINE fails every request for now
        await bot.channel.pipeline.queue_notices()
        for _ in range(100):
            if sum(bot.standin.injected.values()):
                break
            await asyncio.sleep(0.05)
        assert sum(bot.standin.injected.values()) >= 1
        await members.forget(store, people[0])
        await store.update_member(people[1].id, quiet_at=datetime.now(UTC))
        bot.standin.chaos = 0.0
        for _ in range(200):
            if bot.standin.multicasts:
                break
            await asyncio.sleep(0.05)
        await bot.channel.pipeline.drain(within=5)
        told = [c.user for c in bot.standin.calls if c.kind == "multicast"]
        assert told == [users[2]]
        assert await store.push_counts(push_month()) == {"line": 1}


async def test_a_notice_waits_for_lines_monthly_allowance_without_silencing_the_villager(
    store: Store, tambon: Tambon, tagger: KeywordTagger, db_path: Path
) -> None:
    """LINE's free messages for the month are spent: the push is refused with 429 "monthly
    limit". The notice is held, not retried all day and given up; the villager's own messages
    are still answered (replies with a reply token are free); when the month renews (or the
    administrator raised the plan and releases them) the notice goes out, once."""
    from tests import test_line

    async with line_bot(store, tagger) as bot:
        sent, road = await line_reporter(bot, store, tambon)
        item = await plan.add_item(store, tambon, title="ลาดยางถนน", submissions=[road.id], by="x")
        await plan.set_status(store, item, PlanStatus.IN_PLAN, by="x")
        bot.standin.pushes_left = 0
        await bot.channel.pipeline.queue_notices()
        await bot.channel.pipeline.drain(within=5)
        refused = [r for r in bot.standin.rejected if r[1] == 429]
        assert refused == [("multicast", 429, "You have reached your monthly limit.")]
        assert (await store.outbox_counts()).get("held") == 1
        assert len(bot.standin.messages_to(test_line.USER)) == sent  # not told yet

        assert await bot.post(bot.events.text(test_line.USER, "/status")) == 200
        await test_line.seen(bot.standin, sent + 1)  # answered at once, by reply
        assert bot.standin.calls[-1].kind == "reply"

        bot.standin.pushes_left = 300  # a new month
        assert await bot.channel.pipeline.release_held() == 0  # not before it has come
        assert await bot.channel.pipeline.release_held(next_push_month()) == 1
        await bot.channel.pipeline.drain(within=5)
        await test_line.seen(bot.standin, sent + 2)
        notice = th(IN_PLAN, title="ลาดยางถนน", ref=item.id)
        assert sum(notice in t for t in bot.standin.texts_to(test_line.USER)) == 1
        assert (await store.outbox_counts()).get("held") is None

        # Spent again; the administrator raises the plan and releases the held notice at once.
        bot.standin.pushes_left = 0
        await plan.set_status(store, item, PlanStatus.FUNDED, by="x")
        await bot.channel.pipeline.queue_notices()
        await bot.channel.pipeline.drain(within=5)
        env = {"TAMBON_DATABASE_URL": f"sqlite:///{db_path}", "PATH": "/usr/bin:/bin"}
        assert "outbox.held\t1" in await run_cli_ok(env, "inbox", "status")
        bot.standin.pushes_left = 1000
        released = await run_cli_ok(env, "inbox", "release")
        assert released.strip() == th(
            "{count} held messages are back in line; the running bot sends them now.", count=1
        )
        await test_line.seen(bot.standin, sent + 3)
        assert (await store.outbox_counts()).get("held") is None


async def test_quiet_people_are_not_told(engine: Engine, store: Store, tambon: Tambon) -> None:
    await onboard(engine, store, tambon, "v1")
    await onboard(engine, store, tambon, "v2")
    await console(engine, "v1", PROBLEMS[0], "1")
    await console(engine, "v2", PROBLEMS[0] + " จริงๆ", "1", "1")  # "the same problem"
    (quiet,) = await console(engine, "v1", "/quiet")
    assert (
        th(
            "I will not send you news of the plan any more. /status still shows where your "
            "submissions stand. Type /quiet again to get news again."
        )
        in quiet
    )
    refs = [s.id for s in await store.list_submissions(tambon.id)]
    item = await plan.add_item(store, tambon, title="ซ่อมถนน", submissions=refs, by="x")
    reporters = {m.pseudonym for m in await store.plan_reporters(item.id)}
    v1, v2 = await store.get_member("console", "v1"), await store.get_member("console", "v2")
    assert v1 is not None
    assert v2 is not None
    assert reporters == {v2.pseudonym}
    (loud,) = await console(engine, "v1", "/quiet")
    assert th("I will tell you again when a problem you reported moves on in the plan.") in loud
    assert len(await store.plan_reporters(item.id)) == 2


async def test_a_villagers_reply_never_waits_behind_their_notice(
    standin: TelegramStandIn, telegram: TelegramChannel, store: Store, tambon: Tambon
) -> None:
    """Issue 24: notices go in a lane of the person's own beside their replies. Telegram holds
    the notice back (429, retry after 3 s); the villager's own message meanwhile is answered
    at once, and the notice still arrives once afterwards."""
    sent = await onboard_telegram(standin, store, tambon, USER)
    standin.text(USER, PROBLEMS[0])
    await reply_count(standin, sent + 1, USER)
    await press(standin, "ok:", sent + 2, USER)
    (road,) = await store.list_submissions(tambon.id)
    item = await plan.add_item(store, tambon, title="ลาดยางถนน", submissions=[road.id], by="x")
    await plan.set_status(store, item, PlanStatus.IN_PLAN, by="x")
    standin.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    before = len(standin.sent(USER))
    await telegram.pipeline.queue_notices()
    await standin.wait_for(lambda: standin.failures_left("sendMessage") == 0, within=10)
    standin.text(USER, "/status")
    notice = th(IN_PLAN, title=item.title, ref=item.id)
    # The stand-in records the refused attempt too: told twice means delivered once.
    await standin.wait_for(
        lambda: told(standin, USER, IN_PLAN, title=item.title, ref=item.id) == 2
    )
    texts = [c.params.get("text") for c in standin.sent(USER)[before:]]
    # Refused, then the answer to /status at once, then the notice when Telegram allows.
    assert texts[0] == notice
    assert texts[-1] == notice
    assert any(t != notice for t in texts[1:-1])


async def test_telegram_sends_at_most_thirty_messages_a_second(
    standin: TelegramStandIn, store: Store, tambon: Tambon, tagger: KeywordTagger
) -> None:
    """Notices to many people go out evenly spaced, within Telegram's limit for a bot."""
    channel = TelegramChannel(
        Engine(store, tagger),
        test_telegram.TOKEN,
        base_url=standin.base_url,
        messages_per_second=30,
    )
    await channel.start()
    try:
        group = await store.create_group(tambon.id, "ถนนพัง", ["ถนน"], ["infrastructure"], 3)
        for n in range(75):
            member = await store.upsert_member(
                "telegram", str(900_000 + n), tambon.id, Role.VILLAGER, "th"
            )
            await store.update_member(member.id, consent_at=datetime.now(UTC), village_moo=3)
            await store.add_group_reporter(group, member.id, 3, False)
        item = await plan.add_item(store, tambon, title="ซ่อมถนน", groups=[group], by="x")
        await plan.set_status(store, item, PlanStatus.IN_PLAN, by="x")
        await channel.pipeline.queue_notices()
        text = th(IN_PLAN, title="ซ่อมถนน", ref=item.id)
        await standin.wait_for(
            lambda: sum(1 for c in standin.calls if c.params.get("text") == text) == 75, 30
        )
    finally:
        standin.release_polls()
        await channel.stop()
    times = sorted(c.at for c in standin.calls if c.params.get("text") == text)
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 30 * JITTER + 1  # evenly spaced; arrival jitter allowed (JITTER)


async def test_a_csv_import_adds_and_updates_many_items_all_or_none(
    engine: Engine, store: Store, tambon: Tambon, db_path: Path, tmp_path: Path
) -> None:
    await onboard(engine, store, tambon, "v1")
    await console(engine, "v1", PROBLEMS[0], "1")
    await console(engine, "v1", PROBLEMS[1], "1")
    road, water = sorted(await store.list_submissions(tambon.id), key=lambda s: s.id)
    first = await plan.add_item(store, tambon, title="ซ่อมถนน", submissions=[road.id], by="x")
    env = {"TAMBON_DATABASE_URL": f"sqlite:///{db_path}", "PATH": "/usr/bin:/bin"}
    sheet = tmp_path / "plan.csv"
    # As Excel saves it: a byte-order mark, Thai, a budget with thousands separators.
    sheet.write_text(
        "id,title,status,progress,note,budget,source,submissions\n"
        f'{first.id},,funded,30,ได้งบ อบต.,"1,200,000",อบต.,\n'
        f",ขุดบ่อบาดาล,in_plan,,,80000,กรมทรัพยากรน้ำ,{water.id}\n",
        encoding="utf-8-sig",
    )
    out = await run_cli_ok(env, "plan", "import", "--tambon", tambon.code, str(sheet))
    assert (
        th(
            "Plan items: {added} added, {updated} updated, {unchanged} unchanged.",
            added=1,
            updated=1,
            unchanged=0,
        )
        in out
    )
    items = {i.title: i for i in await store.list_plan_items(tambon.id)}
    assert (items["ซ่อมถนน"].status, items["ซ่อมถนน"].progress) == (PlanStatus.FUNDED, 30)
    assert (items["ซ่อมถนน"].budget, items["ซ่อมถนน"].source) == (1_200_000, "อบต.")
    assert items["ขุดบ่อบาดาล"].status is PlanStatus.IN_PLAN
    assert items["ขุดบ่อบาดาล"].groups == (water.group_id,)
    assert (await store.plan_updates(items["ซ่อมถนน"].id))[-1]["note"] == "ได้งบ อบต."
    # The same file again changes nothing; a bad row refuses the whole file.
    again = await run_cli_ok(env, "plan", "import", "--tambon", tambon.code, str(sheet))
    assert (
        th(
            "Plan items: {added} added, {updated} updated, {unchanged} unchanged.",
            added=1,
            updated=0,
            unchanged=1,
        )
        in again
    )
    before = {i.id: i for i in await store.list_plan_items(tambon.id)}
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"id,status,progress\n{first.id},done,\n{first.id},finished,\n{first.id},done,มาก\n",
        encoding="utf-8",
    )
    refused = run_cli(env, "plan", "import", "--tambon", tambon.code, str(bad))
    assert refused.returncode == 2
    for row in (3, 4):  # every bad row is named, not only the first
        assert (
            th("Row {row}: a number, a status or a date could not be read.", row=row)
            in refused.stderr
        )
    assert {i.id: i for i in await store.list_plan_items(tambon.id)} == before  # row 2 undone
    for content in ("not,a,plan\n1,2,3\n", "\x00\xff\xfe garbage"):
        junk = tmp_path / "junk.csv"
        junk.write_bytes(content.encode("latin-1"))
        done = run_cli(env, "plan", "import", "--tambon", tambon.code, str(junk))
        assert done.returncode == 2
        assert "Traceback" not in done.stderr


async def test_a_plan_year_its_phases_the_calendar_and_carried_items(
    engine: Engine, store: Store, tambon: Tambon, db_path: Path
) -> None:
    await onboard(engine, store, tambon, "lead", role=Role.TEAM)
    await onboard(engine, store, tambon, "v1")
    await console(engine, "v1", PROBLEMS[0], "1")
    await console(engine, "v1", PROBLEMS[1], "1")
    road, water = sorted(await store.list_submissions(tambon.id), key=lambda s: s.id)
    # Without a plan year nothing is gated (as before); /year says how to start one.
    (none,) = await console(engine, "lead", "/year")
    assert "tambon-bot year start" in none
    env = {"TAMBON_DATABASE_URL": f"sqlite:///{db_path}", "PATH": "/usr/bin:/bin"}
    await run_cli_ok(env, "year", "start", "--tambon", tambon.code, "--year", "2569")
    assert json.loads(await run_cli_ok(env, "year", "show", "--tambon", tambon.code)) == {
        "year": 2569,
        "phase": "collecting",
    }
    # Polls belong to the hearing phase.
    (gated,) = await console(engine, "lead", "/newpoll ลำดับความสำคัญ")
    assert (
        th(
            "Polls are for the hearing phase; the plan year {year} is now in: {phase}. To open "
            "one, set the phase to the hearing first (/year).",
            year=2569,
            phase=th("collecting problems"),
        )
        in gated
    )
    _, moved = await console(engine, "lead", "/year", "1")  # the first other phase: hearing
    assert th("Plan year {year} is now in: {phase}.", year=2569, phase=th("the hearing")) in moved
    (opened,) = await console(engine, "lead", "/newpoll ลำดับความสำคัญ")
    assert "ลำดับความสำคัญ" in opened  # the poll's set-up card
    await console(engine, "lead", "/cancel")
    # Items of the year; a new year carries the unmet ones, marked carried.
    paved = await plan.add_item(store, tambon, title="ลาดยาง", submissions=[road.id], by="x")
    well = await plan.add_item(store, tambon, title="บ่อบาดาล", submissions=[water.id], by="x")
    assert paved.year_be == 2569
    await plan.set_status(store, paved, PlanStatus.DONE, by="x")
    out = await run_cli_ok(env, "year", "start", "--tambon", tambon.code)
    assert "2570" in out
    carried = await store.get_plan_item(well.id)
    done = await store.get_plan_item(paved.id)
    assert carried is not None
    assert done is not None
    assert (carried.year_be, carried.carried) == (2570, 1)
    assert (done.year_be, done.carried) == (2569, 0)
    assert (await store.current_plan_year(tambon.id)) is not None
    for bad in (
        ["year", "start", "--tambon", tambon.code, "--year", "2569"],  # not after the latest
        ["year", "start", "--tambon", tambon.code, "--year", "2026"],  # the common era
        ["year", "phase", "--tambon", "999999", "hearing"],
    ):
        refused = run_cli(env, *bad)
        assert refused.returncode == 2, bad
        assert "Traceback" not in refused.stderr
    actions = [e.action for e in await store.list_audit(tambon.id)]
    assert actions.count("plan.year") == 2
    assert actions.count("plan.phase") == 1


def test_the_calendar_follows_the_month_in_thailand() -> None:
    january = plan.calendar(datetime(2027, 1, 15, tzinfo=UTC)).msgid
    march = plan.calendar(datetime(2027, 3, 1, tzinfo=UTC)).msgid
    june = plan.calendar(datetime(2027, 6, 1, tzinfo=UTC)).msgid
    assert "January" in january
    assert march.startswith("February–March")
    assert june.startswith("The seed's calendar")
    # 31 January 20:00 UTC is already 1 February in Thailand.
    assert plan.calendar(datetime(2027, 1, 31, 20, tzinfo=UTC)).msgid == march


def test_lines_allowance_renews_at_midnight_on_the_first_in_thailand() -> None:
    from bot import i18n

    assert next_push_month(datetime(2026, 12, 15, 9, tzinfo=UTC)) == datetime(
        2027, 1, 1, tzinfo=i18n.BANGKOK
    )
    # 31 December, 18:00 UTC is already 1 January in Thailand: the allowance renewed.
    renewed = next_push_month(datetime(2026, 12, 31, 18, tzinfo=UTC))
    assert renewed == datetime(2027, 2, 1, tzinfo=i18n.BANGKOK)
    assert renewed.astimezone(UTC) == datetime(2027, 1, 31, 17, tzinfo=UTC)


async def test_a_restart_in_the_middle_of_a_batch_neither_doubles_nor_skips(
    standin: TelegramStandIn, store: Store, tambon: Tambon, tagger: KeywordTagger
) -> None:
    """The bot is stopped (as systemd restarts it) while a batch of notices is going out, and
    started again: everyone is told exactly once."""

    def channel() -> TelegramChannel:
        return TelegramChannel(
            Engine(store, tagger),
            test_telegram.TOKEN,
            base_url=standin.base_url,
            messages_per_second=100,
        )

    group = await store.create_group(tambon.id, "ถนนพัง", ["ถนน"], ["infrastructure"], 3)
    for n in range(200):
        member = await store.upsert_member(
            "telegram", str(910_000 + n), tambon.id, Role.VILLAGER, "th"
        )
        await store.update_member(member.id, consent_at=datetime.now(UTC), village_moo=3)
        await store.add_group_reporter(group, member.id, 3, False)
    item = await plan.add_item(store, tambon, title="ซ่อมถนน", groups=[group], by="x")
    first = channel()
    await first.start()
    text = th(IN_PLAN, title="ซ่อมถนน", ref=item.id)

    def told_count() -> int:
        return sum(1 for c in standin.calls if c.params.get("text") == text)

    try:
        await plan.set_status(store, item, PlanStatus.IN_PLAN, by="x")
        await first.pipeline.queue_notices()
        await standin.wait_for(lambda: told_count() >= 60, 30)
    finally:
        standin.release_polls()
        await first.stop()
    assert told_count() < 200  # stopped in the middle
    second = channel()
    await second.start()
    try:
        await standin.wait_for(lambda: told_count() >= 200, 60)
        await asyncio.sleep(0.5)  # time for a doubled one to arrive, were there one
    finally:
        standin.release_polls()
        await second.stop()
    per_chat = Counter(c.params["chat_id"] for c in standin.calls if c.params.get("text") == text)
    assert len(per_chat) == 200
    assert set(per_chat.values()) == {1}


async def test_quick_updates_from_chat(engine: Engine, store: Store, tambon: Tambon) -> None:
    await onboard(engine, store, tambon, "lead", role=Role.TEAM)
    await onboard(engine, store, tambon, "v1")
    await console(engine, "v1", PROBLEMS[0], "1")
    (road,) = await store.list_submissions(tambon.id)
    item = await plan.add_item(store, tambon, title="ลาดยาง", submissions=[road.id], by="x")
    card, moved = await console(
        engine, "lead", f"/item {item.id}", "1"
    )  # first button: in the plan
    assert "ลาดยาง" in card
    assert th("in the tambon plan") in card
    stored = await store.get_plan_item(item.id)
    assert stored is not None
    assert stored.status is PlanStatus.IN_PLAN
    assert (
        th(
            "Plan item {ref} is now: {status} ({progress}%).",
            ref=item.id,
            status=th("in the tambon plan"),
            progress=0,
        )
        in moved
    )
    (halfway,) = await console(engine, "lead", f"/item {item.id} in_progress ๔๐% ลาดยางไปครึ่งทาง")
    assert "40%" in halfway
    stored = await store.get_plan_item(item.id)
    assert stored is not None
    assert (stored.status, stored.progress) == (PlanStatus.IN_PROGRESS, 40)
    assert (await store.plan_updates(item.id))[-1]["note"] == "ลาดยางไปครึ่งทาง"
    (no_reason,) = await console(engine, "lead", f"/item {item.id} dropped")
    assert th("Please give the reason an item is dropped: its reporters are told.") in no_reason
    (dropped,) = await console(engine, "lead", f"/item {item.id} dropped ไม่มีงบประมาณ")
    assert th("dropped") in dropped
    stored = await store.get_plan_item(item.id)
    assert stored is not None
    assert stored.status is PlanStatus.DROPPED
    (nonsense,) = await console(engine, "lead", f"/item {item.id} finished")
    assert th("Please choose one of the buttons.") in nonsense
    other = await tambons.create_tambon(store, "600802", 2)
    await onboard(engine, store, other, "outsider", village=1, role=Role.TEAM)
    (outsider,) = await console(engine, "outsider", f"/item {item.id} done")
    assert "ลาดยาง" not in outsider
    stored = await store.get_plan_item(item.id)
    assert stored is not None
    assert stored.status is PlanStatus.DROPPED
    assert [
        e.who.split()[0] for e in await store.list_audit(tambon.id) if e.action == "plan.status"
    ] == ["team"] * 3


async def test_a_photo_of_how_it_is_now_goes_with_the_answer(
    standin: TelegramStandIn, telegram: TelegramChannel, store: Store, tambon: Tambon
) -> None:
    sent = await onboard_telegram(standin, store, tambon, USER)
    standin.text(USER, PROBLEMS[0])
    await reply_count(standin, sent + 1, USER)
    await press(standin, "ok:", sent + 2, USER)
    (road,) = await store.list_submissions(tambon.id)
    item = await plan.add_item(store, tambon, title="ลาดยาง", submissions=[road.id], by="x")
    item = await plan.set_status(store, item, PlanStatus.DONE, by="x")
    await telegram.pipeline.queue_notices()
    await reply_count(standin, sent + 3, USER)
    answer = f"{item.id}.{item.done_round}"
    await press(standin, f"verdict:{answer}.no", sent + 4, USER)
    await press(standin, f"photo:{answer}", sent + 5, USER)
    assert th("Please send the photo now (or /cancel).") in standin.sent(USER)[-1].params["text"]
    standin.text(USER, "ถ่ายไม่ได้ค่ะ")  # words instead of a photo: asked again, nothing kept
    await reply_count(standin, sent + 6, USER)
    assert th("Please send a photo, or /cancel.") in standin.sent(USER)[-1].params["text"]
    standin.photo(USER, None, file_id="AgACstill-broken")
    await reply_count(standin, sent + 7, USER)
    assert (
        th("Thank you: the photo is kept with your answer, for the tambon team.")
        in (standin.sent(USER)[-1].params["text"])
    )
    assert await store.plan_verdict_photos(item.id, item.done_round) == 1
    assert await store.plan_verdicts(item.id, item.done_round) == {Verdict.NO: 1}
    assert len(await store.list_submissions(tambon.id)) == 1  # the photo filed nothing new


async def test_five_thousand_reporters_told_once_each_at_the_pace(
    standin: TelegramStandIn, store: Store, tambon: Tambon, tagger: KeywordTagger
) -> None:
    """An item linked to 5,000 reporters is done: each is told once, and the stand-in, timing
    every call, never sees more in a second than the pace allows. (The pace is raised to 250 a
    second here to keep the suite quick; bench/notify.py measures the real 30 a second.)"""
    pace = 250
    channel = TelegramChannel(
        Engine(store, tagger),
        test_telegram.TOKEN,
        base_url=standin.base_url,
        messages_per_second=pace,
    )
    group = await store.create_group(tambon.id, "ถนนพัง", ["ถนน"], ["infrastructure"], 3)
    async with store.transaction():
        for n in range(5000):
            member = await store.upsert_member(
                "telegram", str(950_000 + n), tambon.id, Role.VILLAGER, "th"
            )
            await store.update_member(member.id, consent_at=datetime.now(UTC), village_moo=3)
            await store.add_group_reporter(group, member.id, 3, False)
    await channel.start()
    try:
        item = await plan.add_item(store, tambon, title="ซ่อมถนน", groups=[group], by="x")
        item = await plan.set_status(store, item, PlanStatus.DONE, by="x")
        await channel.pipeline.queue_notices()
        text = th(DONE, title="ซ่อมถนน", ref=item.id)
        await standin.wait_for(
            lambda: sum(1 for c in standin.calls if c.params.get("text") == text) >= 5000, 120
        )
        await asyncio.sleep(0.5)  # time for a doubled one to arrive, were there one
    finally:
        standin.release_polls()
        await channel.stop()
    calls = [c for c in standin.calls if c.params.get("text") == text]
    per_chat = Counter(c.params["chat_id"] for c in calls)
    assert len(per_chat) == 5000
    assert set(per_chat.values()) == {1}
    times = sorted(c.at for c in calls)
    start = 0
    busiest = 0
    for end, moment in enumerate(times):  # the most calls in any one second
        while times[start] <= moment - 1.0:
            start += 1
        busiest = max(busiest, end - start + 1)
    # Calls leave evenly spaced; they reach the stand-in with a few milliseconds' jitter.
    assert busiest <= pace * JITTER + 1
    assert await store.plan_notice_counts(item.id) == {"done": 5000}
