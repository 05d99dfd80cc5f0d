"""Grouping near-duplicates: the matching rule, and the question asked before filing."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core import Engine
from bot.nlp import KeywordTagger
from handlers.services.grouping import THRESHOLD, best_match, similarity
from storage.base import ProblemGroup, Role, Store, Tambon
from tests.conftest import console, onboard, th


def group(
    gid: int,
    keywords: tuple[str, ...],
    categories: tuple[str, ...],
    village: int | None,
    reporters: int = 1,
) -> ProblemGroup:
    return ProblemGroup(
        gid, 1, "t", keywords, categories, village, reporters, (), datetime.now(UTC)
    )


def test_similarity_explains_with_shared_keywords(tagger: KeywordTagger) -> None:
    a = tagger.tag("ถนนเป็นหลุม หมู่ 3")
    b = tagger.tag("ถนนหมู่สามพังมาก")
    assert a.village == b.village == 3
    score, shared = similarity(a.keywords, b.keywords)
    assert shared == ("ถนน",)
    assert score >= THRESHOLD
    water_a = tagger.tag("น้ำประปาไม่ไหล")
    water_b = tagger.tag("ประปาบ่ไหลสามมื้อแล้ว")
    assert similarity(water_a.keywords, water_b.keywords)[0] == 1.0  # "prapa" inside "nam prapa"


def test_best_match_respects_category_village_and_threshold() -> None:
    road3 = group(1, ("ถนน", "หลุม"), ("infrastructure",), 3, reporters=7)
    road5 = group(2, ("ถนน", "หลุม"), ("infrastructure",), 5)
    drugs = group(3, ("ยาบ้า",), ("social",), 3)
    match = best_match(("ถนน", "พัง"), ["infrastructure"], 3, [road3, road5, drugs])
    assert match is not None
    assert match.group.id == 1
    assert match.shared == ("ถนน",)
    assert best_match(("ถนน", "พัง"), ["infrastructure"], 4, [road3, road5]) is None
    assert best_match(("ยาบ้า",), ["infrastructure"], 3, [drugs]) is None  # no shared category
    assert best_match(("สะพาน", "ผุ", "คลอง"), ["infrastructure"], 3, [road3]) is None
    unplaced = best_match(("ถนน",), ["infrastructure"], None, [road5, road3])
    assert unplaced is not None
    assert unplaced.group.id == 1  # equal scores: the group with more reporters


async def test_second_report_joins_the_group_instead_of_a_new_row(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    await onboard(engine, store, tambon, "u1", village=3)
    await onboard(engine, store, tambon, "u2", village=3)
    await onboard(engine, store, tambon, "u3", village=2)
    await console(engine, "u1", "ถนนเป็นหลุม หมู่ 3", "1")
    (first,) = await store.list_submissions(tambon.id)
    assert first.group_id is not None
    _, question, joined = await console(engine, "u2", "ถนนหมู่สามพังมาก", "1", "1")
    assert th("Yes, the same problem") in question
    assert f"#{first.group_id}" in question
    assert "ถนน" in question  # the shared word explains the match
    assert await store.count_submissions(tambon.id) == 1
    (road,) = await store.list_groups(tambon.id)
    assert road.reporters == 2
    assert road.villages == (3,)
    assert (
        th(
            "Thank you! You are now counted among the people reporting problem #{ref}: {count} "
            "people in {villages} villages. The tambon team sees it as one problem with all its "
            "reporters.",
            ref=road.id,
            count=2,
            villages=1,
        )
        in joined
    )
    # the same person saying "same problem" again is counted once
    _, _, again = await console(engine, "u2", "ถนนหมู่ 3 พังอีกแล้ว", "1", "1")
    assert (
        th(
            "You had already reported problem #{ref}; it is counted once for you. It now has "
            "{count} reporters.",
            ref=road.id,
            count=2,
        )
        in again
    )
    # a road problem in another village is another problem: no question, its own group
    _, filed = await console(engine, "u3", "ถนนหมู่ 2 เป็นหลุม", "1")
    assert "#" in filed
    assert len(await store.list_groups(tambon.id)) == 2


async def test_a_different_problem_gets_its_own_group(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    await onboard(engine, store, tambon, "u1", village=4)
    await onboard(engine, store, tambon, "m1", village=1, role=Role.MEMBER)
    await console(engine, "u1", "น้ำประปาไม่ไหล หมู่ 4", "1")
    _, question, stray = await console(engine, "u1", "ประปาบ่ไหลสามมื้อแล้ว หมู่ 4", "1", "ไม่รู้")
    assert th("Yes, the same problem") in question
    assert th("Please answer with one of the choices below.") in stray
    (done,) = await console(engine, "u1", "2")
    assert "#" in done
    assert await store.count_submissions(tambon.id) == 2
    assert len(await store.list_groups(tambon.id)) == 2
    # a relayed report may join a group too, counted as relayed
    await console(engine, "m1", "/relay", "4", "ประปาไม่ไหลเลย", "1", "1")
    groups = await store.list_groups(tambon.id)
    assert sorted(g.reporters for g in groups) == [1, 2]


async def test_team_summary_in_chat(engine: Engine, store: Store, tambon: Tambon) -> None:
    """/summary counts submissions, reporters, groups, categories and villages for the team."""
    from storage.base import PollMethod

    await onboard(engine, store, tambon, "officer", village=1, role=Role.TEAM)
    (empty,) = await console(engine, "officer", "/summary")
    assert th("Nothing has been filed in Tambon {tambon} yet.", tambon=tambon.name_th) in empty
    await onboard(engine, store, tambon, "u1", village=3)
    await onboard(engine, store, tambon, "u2", village=3)
    await console(engine, "u1", "ถนนเป็นหลุม หมู่ 3", "1")
    await console(engine, "u2", "ถนนหมู่สามพังมาก", "1", "1")  # joins the road group
    await console(engine, "u2", "ยุงลายเยอะ ไข้เลือดออก", "1")
    poll = await store.create_poll(
        tambon.id, "ลำดับ", PollMethod.APPROVAL, 1, [("ถนน", None), ("ยุง", None)]
    )
    await store.set_poll_status(poll.id, "open")
    await console(engine, "u1", "/vote", "1")
    (totals,) = await console(engine, "officer", "/summary")
    silent = latest = totals
    assert (
        th(
            "📊 Tambon {tambon}: {submissions} submissions from {reporters} reporters; villages "
            "heard "
            "from: {heard} of {villages}.\n\nTop problems:\n{groups}\n\nBy "
            "category:\n{categories}",
            tambon=tambon.name_th,
            submissions=2,
            reporters=3,
            heard=1,
            villages=5,
            groups="",
            categories="",
        ).split("\n")[0]
        in totals
    )
    assert (
        th(
            "{n}. {title} — {count} people, {villages} villages",
            n=1,
            title="ถนนเป็นหลุม หมู่ 3",
            count=2,
            villages=1,
        )
        in totals
    )
    assert th("Public health") + ": 1" in totals
    assert th("Moo {moo}", moo=1) in silent
    assert "ลำดับ" in latest
    (denied,) = await console(engine, "u1", "/summary")
    assert th("Sorry, this command is only for the tambon team.") in denied
