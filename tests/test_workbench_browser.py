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

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SERIOUS = ("serious", "critical")


async def accessible(page: Page, *, real_time: bool = False) -> None:
    """No serious or critical axe-core violation on the page as it is now. ``real_time``: the
    hall's screen reloads itself — WCAG 2.2.1's real-time exception (a live count of a live
    hearing, shown on a projector nobody types into), so axe's meta-refresh rule is left out
    there and only there."""
    options = {"rules": {"meta-refresh": {"enabled": False}}} if real_time else None
    results = await Axe().run(page, options=options) if options else await Axe().run(page)
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
        # A plan table's preview, with a bad row named, passes axe too.
        await page.goto(f"{listener}/team/plan")
        sheet = "title,status,budget\nขุดลอกคลองหมู่ 2,in_plan,120000\nสร้างศาลา,finished,\n"
        await page.get_by_label(th("File")).set_input_files(
            {"name": "plan.csv", "mimeType": "text/csv", "buffer": sheet.encode("utf-8-sig")}
        )
        await page.get_by_role("button", name=th("Preview")).click()
        await page.wait_for_load_state()
        assert th("Row {row}: a number, a status or a date could not be read.", row=3) in (
            await page.inner_text("main")
        )
        await accessible(page)
        await shot(page, "plan-import")
        # The villages' data: their plans previewed (a bad row named) and imported, the survey's
        # figures beside the voices, the silent need shown; both pages pass axe.
        await page.goto(f"{listener}/team/data")
        await accessible(page)
        plans = (ROOT / "tests" / "data" / "villages-plans.csv").read_bytes()
        await page.get_by_label(th("Village plans")).check()
        await page.get_by_label(th("File")).set_input_files(
            {"name": "แผนหมู่บ้าน.csv", "mimeType": "text/csv", "buffer": plans + b"9,x,,,,,\n"}
        )
        await page.get_by_role("button", name=th("Preview")).click()
        await page.wait_for_load_state()
        assert th("Row {row}: a village or a number could not be read.", row=6) in (
            await page.inner_text("main")
        )
        await accessible(page)
        await page.goto(f"{listener}/team/data")
        await page.get_by_label(th("Village plans")).check()
        await page.get_by_label(th("File")).set_input_files(
            {"name": "แผนหมู่บ้าน.csv", "mimeType": "text/csv", "buffer": plans}
        )
        await page.get_by_role("button", name=th("Preview")).click()
        await page.wait_for_load_state()
        await accessible(page)
        await shot(page, "data-import")
        await page.get_by_role("button", name=th("Import"), exact=True).click()
        await page.wait_for_load_state()
        assert len(await store.list_village_plan_rows(tambon.id)) == 4
        survey = (
            "หมู่,ปี,ตัวชี้วัด,ครัวเรือนที่สำรวจ,ไม่ผ่านเกณฑ์\n"
            "5,2569,ครัวเรือนมีน้ำใช้เพียงพอตลอดปี,143,51\n"
            "3,2569,ครัวเรือนมีน้ำสะอาดสำหรับดื่มและบริโภคเพียงพอตลอดปี,156,12\n"
        )
        for sheet_text in ("หมู่,ครัวเรือน,ประชากร\n3,156,530\n4,210,702\n5,143,488\n", survey):
            await page.get_by_label(th("Village facts") + " / " + th("Survey indicators")).check()
            await page.get_by_label(th("File")).set_input_files(
                {"name": "data.csv", "mimeType": "text/csv", "buffer": sheet_text.encode()}
            )
            await page.get_by_role("button", name=th("Preview")).click()
            await page.wait_for_load_state()
            await page.get_by_role("button", name=th("Import"), exact=True).click()
            await page.wait_for_load_state()
        silent = await page.locator("#silent + p + div table").inner_text()
        assert th("Water sources") in silent
        assert "36%" in silent
        await accessible(page)
        await shot(page, "data")
        # The plan book's page: the direction set, the draft opened for comment; axe passes.
        from handlers.services import book

        await book.set_direction(
            store, tambon, by="x", vision="ท่าตะโกน่าอยู่", strategies=["พัฒนาแหล่งน้ำ", "อาชีพ"]
        )
        await page.goto(f"{listener}/team/book")
        await page.get_by_label(th("Days open")).fill("3")
        await page.get_by_role(
            "button", name=th("Open the draft for comment and tell everyone")
        ).click()
        await page.wait_for_load_state()
        assert th("The draft is open for comment; everyone is being told.") in (
            await page.inner_text("main")
        )
        await accessible(page)
        await shot(page, "book")
        await page.goto(f"{listener}/team/people")
        await shot(page, "people")
        # The hall's screen, for the projector: its code and QR code, reloading by itself.
        (poll,) = await store.list_polls(tambon.id)
        await store.set_presence_code(poll.id, "424242")
        await page.set_viewport_size({"width": 1280, "height": 720})
        await page.goto(f"{listener}/team/polls/{poll.id}/hall")
        assert "/here 424242" in await page.inner_text("body")
        assert await page.evaluate("document.querySelector('.join img').naturalWidth") > 100
        assert await page.locator("meta[http-equiv=refresh]").count() == 1
        await accessible(page, real_time=True)
        await shot(page, "hall")
        await page.set_viewport_size({"width": 1100, "height": 900})

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


async def test_the_season_from_the_workbench_with_telegram(
    browser: Browser,  # noqa: F811
    store: Store,
    tagger: KeywordTagger,
    tambon: Tambon,
    tmp_path: Path,
) -> None:
    """Issue 25's season, end to end: a team member asks for /web on the Telegram stand-in,
    follows the link in Chromium, corrects a submission, merges two groups, makes a poll from
    the groups, enters paper ballots, closes it, makes two plan items from the result, marks one
    done — and the villager who reported it is told on Telegram; the PDF report downloads."""
    from bot.channels.telegram import TelegramChannel
    from tests.telegram_standin import TelegramStandIn
    from tests.test_telegram import TOKEN
    from tests.test_telegram import onboard as onboard_telegram

    standin = TelegramStandIn(TOKEN)
    await standin.start()
    runner = await web.serve(web.build_app(store=store, workbench=Workbench(store)), "127.0.0.1:0")
    listener = f"http://127.0.0.1:{runner.addresses[0][1]}"
    channel = TelegramChannel(
        Engine(store, tagger, public_url=listener), TOKEN, base_url=standin.base_url
    )
    await channel.start()
    lead, villager, neighbour = 7001, 7002, 7003
    try:
        await onboard_telegram(standin, store, tambon, lead, role=Role.TEAM)
        for user, text in (
            (villager, "ถนนหมู่3เป็นหลุมเป็นบ่อ รถล้มบ่อย"),
            (neighbour, "ซ่อมถนนลูกรังหมู่3 ฝนตกเป็นโคลน"),
        ):
            sent = await onboard_telegram(standin, store, tambon, user)
            standin.text(user, text)
            await standin.wait_for(lambda u=user, n=sent: len(standin.sent(u)) > n)
            message = standin.last_keyboard_message(user)
            standin.press(user, "ok:", message)
            await standin.wait_for(lambda u=user, n=sent: len(standin.sent(u)) > n + 1)
        groups = await store.list_groups(tambon.id)
        n = len(standin.sent(lead))
        standin.text(lead, "/web")
        await standin.wait_for(lambda: len(standin.sent(lead)) > n)
        found = re.search(r"http://\S+", standin.sent(lead)[-1].params["text"])
        assert found is not None
        page = await browser.new_page(viewport={"width": 1100, "height": 900})
        await page.goto(found[0])
        await page.get_by_role("button", name=th("Sign in")).click()
        await page.wait_for_url(f"{listener}/team/")

        # Correct a submission's categories.
        submissions = await store.list_submissions(tambon.id)
        await page.goto(f"{listener}/team/submissions/{submissions[0].id}")
        await page.get_by_label(th("Safety")).check()
        await page.get_by_role("button", name=th("Save the tags")).click()
        await page.wait_for_load_state()
        corrected = await store.get_submission(submissions[0].id)
        assert corrected is not None
        assert "safety" in corrected.categories

        # Two groups of one problem become one: the road's, and one filed apart from it.
        (road_group,) = [g for g in groups if "ถนน" in g.title][:1]
        apart = await store.create_group(tambon.id, "ถนนลูกรังหมู่3", ["ถนน"], [], 3)
        await store.add_group_reporter(apart, None, 3, True)
        before = len(await store.list_groups(tambon.id))
        await page.goto(f"{listener}/team/groups")
        form = page.locator(f'form[action="/team/groups/{road_group.id}/merge"]')
        await form.get_by_label(th("Fold group number … into this one")).fill(str(apart))
        await form.get_by_role("button", name=th("Merge")).click()
        await page.wait_for_load_state()
        assert len(await store.list_groups(tambon.id)) == before - 1
        assert await store.get_group(apart) is None
        # A third problem, so that the poll has two options.
        third = await store.create_group(tambon.id, "ไฟทางดับหมู่5", ["ไฟทาง"], ["safety"], 5)
        await store.add_group_reporter(third, None, 5, True)

        # A poll from the groups, paper ballots, closed, plan items from the top two.
        await page.goto(f"{listener}/team/polls")
        await page.get_by_label(th("Question")).fill("ปัญหาที่ควรแก้ก่อน")
        await page.get_by_label(th("Options: the top … groups")).fill("2")
        await page.get_by_label(th("Each person chooses")).fill("1")
        await page.get_by_role("button", name=th("Make the poll")).click()
        await page.wait_for_load_state()
        await page.get_by_role("button", name=th("Open the poll")).click()
        await page.wait_for_load_state()
        await page.get_by_label(th("Options on the paper ballot (e.g. 2,1)")).fill("1")
        await page.get_by_label(th("How many such ballots")).fill("12")
        await page.get_by_role("button", name=th("Add paper ballots")).click()
        await page.wait_for_load_state()
        await page.get_by_role("button", name=th("Close the poll")).click()
        await page.wait_for_load_state()
        await page.get_by_label(th("Plan items from the top")).fill("2")
        await page.get_by_role("button", name=th("Make plan items")).click()
        await page.wait_for_url(f"{listener}/team/plan")
        items = await store.list_plan_items(tambon.id)
        assert len(items) == 2
        road = next(i for i in items if "ถนน" in i.title)

        # The road's plan-form fields, edited where its row stands.
        edit = page.locator(f"#item-{road.id} + tr summary")
        await edit.click()
        details = page.locator(f'form[action="/team/plan/{road.id}/details"]')
        await details.get_by_label(th("Budget (baht)")).fill("350,000")
        await details.get_by_label(th("Responsible")).fill("กองช่าง อบต.")
        await details.get_by_role("button", name=th("Save the details")).click()
        await page.wait_for_load_state()
        edited = await store.get_plan_item(road.id)
        assert edited is not None
        assert (edited.budget, edited.responsible) == (350_000, "กองช่าง อบต.")
        assert "350,000" in await page.inner_text(f"#item-{road.id}")
        await accessible(page)
        await shot(page, "plan")

        # The road is done: its reporters are told on Telegram.
        told = len(standin.sent(villager))
        await edit.click()
        form = page.locator(f'form[action="/team/plan/{road.id}/status"]')
        await form.get_by_label(th("Status")).select_option("done")
        await form.get_by_role("button", name=th("Save")).click()
        await page.wait_for_load_state()
        await standin.wait_for(lambda: len(standin.sent(villager)) > told, within=20)
        assert "ถนน" in standin.sent(villager)[-1].params["text"]

        # The report, downloaded.
        await page.goto(f"{listener}/team/reports")
        async with page.expect_download() as download:
            await page.get_by_role("link", name=th("The report, printed (PDF, A4)")).click()
        saved = tmp_path / "report.pdf"
        await (await download.value).save_as(saved)
        assert saved.read_bytes().startswith(b"%PDF")
    finally:
        await channel.stop()
        await runner.cleanup()
        await standin.stop()
