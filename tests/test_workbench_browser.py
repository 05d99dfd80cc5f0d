"""The workbench in a real browser (Debian's Chromium through Playwright): signed in from chat,
a submission found, corrected and hidden; every page checked with axe-core; the screenshots
in docs/workbench.md made here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page

from bot import web
from bot.core import Engine
from bot.nlp import KeywordTagger
from bot.workbench import Workbench
from handlers.types import Incoming
from storage.base import Role, Store, Tambon
from tests.conftest import console, onboard, th
from tests.test_browser import browser  # noqa: F401  (the fixture)

DOCS = Path(__file__).resolve().parent.parent / "docs"
SERIOUS = ("serious", "critical")


async def accessible(page: Page) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    results = await Axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS
    ]
    assert not bad, bad


async def shot(page: Page, name: str) -> None:
    path = DOCS / f"workbench-{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    assert path.read_bytes().startswith(b"\x89PNG")


async def test_a_team_member_signs_in_from_chat_and_reviews_in_chromium(
    browser: Browser,  # noqa: F811
    store: Store,
    tagger: KeywordTagger,
    tambon: Tambon,
) -> None:
    workbench = Workbench(store)
    runner = await web.serve(web.build_app(store=store, workbench=workbench), "127.0.0.1:0")
    try:
        listener = f"http://127.0.0.1:{runner.addresses[0][1]}"
        engine = Engine(store, tagger, public_url=listener)
        await onboard(engine, store, tambon, "lead", village=1, role=Role.TEAM)
        for user, village, text in (
            ("v1", 3, "น้ำประปาหมู่ 3 ไม่ไหลมา๓วันแล้ว ต้องซื้อน้ำกินทุกวัน 😢"),
            ("v2", 4, "ถนนเข้าหมู่บ้านเป็นหลุมเป็นบ่อ ฝนตกทีไรรถจักรยานยนต์ล้ม"),
            ("v3", 5, "<script>alert(1)</script> ไฟทางดับทั้งซอย มืดมากตอนกลางคืน"),
        ):
            await onboard(engine, store, tambon, user, village=village)
            await console(engine, user, text, "1")
        (reply,) = await engine.handle(Incoming("console", "lead", text="/web"))
        link = re.search(r"http://\S+", reply.text)
        assert link is not None
        page = await browser.new_page(viewport={"width": 1100, "height": 900}, locale="th-TH")
        dialogs: list[Any] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog))
        await page.goto(link[0])
        await page.get_by_role("button", name=th("Sign in")).click()
        await page.wait_for_load_state()
        await page.wait_for_url(f"{listener}/team/")
        heading = await page.text_content("h1")
        assert heading == th("Today in Tambon {name}").format(name=tambon.name_th)
        await page.evaluate("document.fonts.ready")
        assert await page.evaluate("document.fonts.check('16px \"Noto Sans Thai\"', 'น้ำประปา')")
        await accessible(page)
        await shot(page, "today")

        await page.get_by_role("link", name=th("Submissions"), exact=True).first.click()
        await page.get_by_label(th("Words in the text")).fill("ไม่ไหล")
        await page.get_by_role("button", name=th("Show")).click()
        rows = page.locator("tbody tr")
        assert await rows.count() == 1
        assert "น้ำประปาหมู่ 3" in await rows.first.inner_text()
        await page.goto(f"{listener}/team/submissions")
        assert "<script>alert(1)</script>" in await page.inner_text("body")  # as text
        assert dialogs == []  # nothing typed ran
        await accessible(page)
        await shot(page, "submissions")

        await page.get_by_role("link", name=re.compile(r"^#\d+$")).last.click()
        await page.get_by_label(th("Water sources")).check()
        await page.get_by_role("button", name=th("Save the tags")).click()
        await page.wait_for_load_state()
        (first,) = [s for s in await store.list_submissions(tambon.id) if "ประปา" in s.text]
        assert "water" in first.categories
        await accessible(page)
        await shot(page, "submission")

        await page.get_by_label(th("Reason (the author sees it)")).fill("ซ้ำกับเรื่องอื่น")
        await page.get_by_role("button", name=th("Hide"), exact=True).click()
        await page.wait_for_load_state()
        hidden = await store.get_submission(first.id)
        assert hidden is not None
        assert hidden.hidden_reason == "ซ้ำกับเรื่องอื่น"

        # Every other page passes axe too, with something on it.
        from handlers.services import plan
        from storage.base import PollMethod

        await plan.add_item(store, tambon, title="ซ่อมประปาหมู่ 3", budget=250_000, by="x")
        await store.create_poll(
            tambon.id, "จัดลำดับปัญหา", PollMethod.BORDA, 2, [("ประปา", None), ("ถนน", None)]
        )
        for name in ("groups", "plan", "polls", "people", "reports", "audit", "sessions"):
            await page.goto(f"{listener}/team/{name}")
            assert await page.text_content("h1")
            await accessible(page)
        await page.goto(f"{listener}/team/people")
        await shot(page, "people")

        # On a phone-sized screen, in English.
        phone = await browser.new_page(viewport={"width": 360, "height": 740})
        await phone.context.add_cookies(await page.context.cookies())
        await phone.goto(f"{listener}/team/lang/en?back=/team/submissions")
        assert await phone.text_content("h1") == "Submissions"
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 360 + 1  # nothing wider than the screen
        await accessible(phone)
        await shot(phone, "phone")
    finally:
        await runner.cleanup()
