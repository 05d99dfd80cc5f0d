"""The live report in a real browser: Debian's Chromium, headless, driven by Playwright."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from bot import web
from bot.core import Engine
from bot.nlp import KeywordTagger
from handlers.types import Incoming
from storage.base import Role, Store, Tambon
from tests.conftest import console, onboard, th

# As the machine's notes advise: no sandbox (root in CI), and no calls to Google's services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: run scripts/system-packages"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def test_live_report_renders_thai_and_its_chart_in_chromium(
    browser: Browser, store: Store, tagger: KeywordTagger, tambon: Tambon, tmp_path: Path
) -> None:
    runner = await web.serve(web.build_app(store=store), "127.0.0.1:0")
    try:
        listener = f"http://127.0.0.1:{runner.addresses[0][1]}"
        engine = Engine(store, tagger, public_url=listener)
        await onboard(engine, store, tambon, "villager", village=3)
        await onboard(engine, store, tambon, "officer", village=1, role=Role.TEAM)
        await console(engine, "villager", "น้ำประปาหมู่ 3 ไม่ไหล ต้องซื้อน้ำกินทุกวัน 😢", "1")
        (reply,) = await engine.handle(Incoming("console", "officer", text="/report"))
        link = re.search(r"http://\S+", reply.text)
        assert link is not None
        page = await browser.new_page(viewport={"width": 1000, "height": 1400})
        response = await page.goto(link[0])
        assert response is not None
        assert response.status == 200
        await page.evaluate("document.fonts.ready")
        # The embedded Noto Sans Thai is loaded and covers the Thai on the page: no tofu boxes.
        assert await page.evaluate(
            "[...document.fonts].some(f => f.family.includes('Noto Sans Thai')"
            " && f.status === 'loaded')"
        )
        assert await page.evaluate("document.fonts.check('16px \"Noto Sans Thai\"', 'น้ำประปา')")
        heading = await page.text_content("h1")
        assert heading == th("Tambon community plan: what the tambon said")
        assert "น้ำประปาหมู่ 3 ไม่ไหล" in await page.inner_text("body")
        # The chart is there, decoded, and drawn at a readable size.
        width = await page.evaluate("document.querySelector('figure.chart img').naturalWidth")
        assert width > 400
        shown = await page.evaluate(
            "document.querySelector('figure.chart img').getBoundingClientRect().height"
        )
        assert shown > 100
        shot = tmp_path / "report.png"
        await page.screenshot(path=str(shot))
        assert shot.read_bytes().startswith(b"\x89PNG")
    finally:
        await runner.cleanup()
