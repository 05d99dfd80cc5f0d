"""Nobody sees what is not theirs (issue "Nobody sees what is not theirs", finding 1): a phone
number and a citizen ID number one villager typed never reach another person, whatever path
shows that villager's words — the "same problem?" question, the poll's options and ballot, the
team's summary and results, /plan, /status, /fix, the plan's notices — while the villager who
typed them still sees their own words as typed."""

from __future__ import annotations

import pytest

from bot.core import Engine
from handlers.plan import notice
from handlers.services import plan
from handlers.services.plan import notice_detail
from handlers.types import Choice, Lines, Own, Reply, T
from storage.base import PlanStatus, Role, Store, Tambon
from tests.conftest import console, onboard, th

PHONE = "081-234-5678"
CITIZEN_ID = "1-2345-67890-12-3"
# The forms the numbers could leak in: as typed, and with the separators dropped.
LEAKS = (PHONE, "0812345678", CITIZEN_ID, "1234567890123", "๐๘๑๒๓๔๕๖๗๘")
ROAD = f"ถนนหมู่3เป็นหลุมเป็นบ่อ รถสัญจรลำบากมาก ติดต่อ {PHONE} บัตร {CITIZEN_ID}"
SIMILAR = "ถนนหมู่3เป็นหลุมเป็นบ่อ รถสัญจรลำบาก ช่วยซ่อมด้วยค่ะ"
WATER = "น้ำประปาไม่ไหลมาสามวันแล้ว โทร ๐๘๑๒๓๔๕๖๗๘"


def leaked(text: str) -> list[str]:
    return [form for form in LEAKS if form in text]


async def test_another_persons_numbers_reach_nobody_else(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    await onboard(engine, store, tambon, "lead", role=Role.TEAM)
    for person in ("p", "q", "r"):
        await onboard(engine, store, tambon, person)
    (own_draft, _) = await console(engine, "p", ROAD, "1")
    # The villager who typed them sees their own words as typed.
    assert PHONE in own_draft
    assert CITIZEN_ID in own_draft
    await console(engine, "r", WATER, "1")
    (road,) = [s for s in await store.list_submissions(tambon.id) if s.text == ROAD]
    assert road.group_id is not None

    seen: list[str] = []  # everything shown to anybody but p
    seen += await console(engine, "q", SIMILAR)
    (question,) = await console(engine, "q", "1")
    seen.append(question)
    assert th("Yes, the same problem") in question  # the "same problem?" question was asked
    seen += await console(engine, "q", "1")
    seen += await console(engine, "lead", "/summary", "/newpoll ลำดับความสำคัญ", "1")
    assert (await store.list_polls(tambon.id))[0].options  # the poll was made from the groups
    seen += await console(engine, "q", "/vote")
    seen += await console(engine, "lead", "/results", f"/fix {road.id}", "/cancel")
    # The team copies a villager's sentence into a plan item's title.
    item = await plan.add_item(store, tambon, title=ROAD, groups=[road.group_id], by="lead")
    item = await plan.set_status(store, item, PlanStatus.IN_PLAN, by="lead")
    for event in ("in_plan", "done"):
        detail = await notice_detail(store, item, event)
        for locale in ("th", "en"):
            seen.append(engine.render(notice(item, event, detail), locale).text)
    seen += await console(engine, "q", "/plan", "/status", "/mine")
    seen += await console(engine, "r", "/plan")
    assert any(ROAD[:20] in text for text in seen)  # p's words were shown, numbers hidden
    assert all(not leaked(text) for text in seen), [t for t in seen if leaked(t)]
    # And p still sees their own, in /mine and /status.
    for text in await console(engine, "p", "/mine", "/status"):
        assert PHONE in text


@pytest.mark.parametrize("locale", ["th", "en"])
def test_every_text_in_a_reply_is_shown_with_numbers_hidden_but_the_readers_own(
    engine: Engine, locale: str
) -> None:
    """The engine hides numbers in every text parameter, however deep (a sentence in a
    sentence, lines, a list), and in the buttons: a flow cannot forget to."""
    nested = T(
        "{heading}\n\n{items}",
        heading=T("Your latest {count} submissions, newest first:", count=1),
        items=Lines([T("{n}. {text}", n=1, text=ROAD), T("{n}. {text}", n=2, text=[WATER])]),
    )
    out = engine.render(
        Reply(nested, [Choice(T("{mark} {text}", mark="◻️", text=ROAD), "x")]), locale
    )
    assert not leaked(out.text)
    assert not leaked(out.choices[0][0])
    assert "ถนนหมู่3" in out.text
    own = engine.render(Reply(T("{n}. {text}", n=1, text=Own(ROAD))), locale)
    assert PHONE in own.text
    # A link's digits are not a phone number: a report link still works.
    link = "https://example.org/r/Ab0812345678901Cd/report.html"
    assert link in engine.render(Reply(T("{n}. {text}", n=1, text=f"{link} {PHONE}")), locale).text
