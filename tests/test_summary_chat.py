"""The summary and report in chat: changes since last time, the chart, the report document,
report links served by the listener, access across tambons, and platform length limits."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot import i18n, web
from bot.channels.line import LineChannel
from bot.channels.telegram import TelegramChannel
from bot.core import Engine
from bot.nlp import KeywordTagger
from handlers.services import reportlinks, tambons
from handlers.services.summary import build_summary
from handlers.types import Incoming
from storage.base import Kind, NewSubmission, ReportLink, Role, Store, Tambon
from tests.conftest import FILES_DIR, console, onboard, th
from tests.line_standin import Events, LineStandIn
from tests.telegram_standin import TelegramStandIn

ROAD = "ถนนลูกรังหมู่ 3 พังเป็นหลุมเป็นบ่อ หน้าฝนรถติดหล่มทุกปี 😭"
WATER = "น้ำประปาหมู่ 4 ไม่ไหลมา ๓ วันแล้วค่ะ"
TELEGRAM_TEXT = 4096
LINK = re.compile(r"https?://\S+/reports/([A-Za-z0-9_-]{20,})")


async def _team(engine: Engine, store: Store, tambon: Tambon, user: str = "officer") -> None:
    await onboard(engine, store, tambon, user, role=Role.TEAM)


async def test_summary_says_what_changed_since_the_last_one(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    await onboard(engine, store, tambon, "villager", village=3)
    await _team(engine, store, tambon)
    await console(engine, "villager", ROAD, "1")
    (first,) = await console(engine, "officer", "/summary")
    assert (
        th("🆕 Since your last summary ({date}):\n{changes}", date="", changes="")[:8] not in first
    )
    (second,) = await console(engine, "officer", "/summary")
    assert th("No change since your last summary ({date}).", date="").split("(")[0] in second
    await onboard(engine, store, tambon, "villager2", village=4)
    await console(engine, "villager2", WATER, "1")
    (third,) = await console(engine, "officer", "/summary")
    assert th("{count} new submissions, {people} more reporters", count=1, people=1) in third
    assert th("Newly heard from: {villages}", villages=["หมู่ 4"]).split(":")[0] in third
    assert "หมู่ 4" in third


async def test_summary_chart_and_report_are_saved_by_the_console(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    await onboard(engine, store, tambon, "villager", village=3)
    await _team(engine, store, tambon)
    await console(engine, "villager", ROAD, "1")
    (printed,) = await console(engine, "officer", "/summary")
    chart = FILES_DIR / f"{tambon.code}-chart.png"
    assert f"[{chart}]" in printed
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert th("📄 Full report") in printed
    (printed,) = await console(engine, "officer", "1")  # the button, typed as its number
    pdf = FILES_DIR / f"{tambon.code}-report.pdf"
    assert f"[{pdf}]" in printed
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert "http" not in printed  # no public address: no link


async def test_only_the_team_of_the_same_tambon_gets_summaries_and_reports(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    other = await tambons.create_tambon(store, "600802", ["บ้านดอนคา"])
    await onboard(engine, store, tambon, "villager", village=3)
    await onboard(engine, store, other, "other-officer", village=1, role=Role.TEAM)
    await console(engine, "villager", ROAD, "1")
    for command in ("/summary", "/report"):
        (refused,) = await console(engine, "villager", command)
        assert FILES_DIR.name not in refused
        assert "ถนนลูกรัง" not in refused
    # The summary's "Full report" button, pressed by someone outside the team: the same refusal.
    (pressed,) = await engine.handle(Incoming("console", "villager", choice="report:"))
    assert pressed.text == th("Sorry, this command is only for the tambon team.")
    assert pressed.reply.file is None
    # A team member of another tambon sees their own (empty) tambon, never this one.
    (theirs,) = await console(engine, "other-officer", "/summary")
    assert th("Nothing has been filed in Tambon {tambon} yet.", tambon=other.name_th) in theirs
    (report,) = await console(engine, "other-officer", "/report")
    assert (
        th("📄 The report of Tambon {tambon}, as it stands now.", tambon=other.name_th) in report
    )


@pytest.fixture
async def listener(store: Store) -> AsyncIterator[str]:
    runner = await web.serve(web.build_app(store=store), "127.0.0.1:0")
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_report_links_serve_the_live_report_until_they_expire(
    engine: Engine, store: Store, tambon: Tambon, listener: str
) -> None:
    await onboard(engine, store, tambon, "villager", village=3)
    await console(engine, "villager", "<script>alert(1)</script> " + ROAD, "1")
    token, expires = await reportlinks.create_link(store, tambon.id, None, "th")
    assert expires - datetime.now(UTC) > timedelta(hours=23)
    async with aiohttp.ClientSession() as http:
        async with http.get(reportlinks.url(listener, token, "html")) as response:
            assert response.status == 200
            assert response.headers["Cache-Control"] == "private, no-store"
            assert "default-src 'none'" in response.headers["Content-Security-Policy"]
            html = await response.text()
        assert "ท่าตะโก" in html
        assert "&lt;script&gt;" in html
        assert "<script>alert" not in html
        # Live: a submission filed after the link was made is in the next page load.
        await console(engine, "villager", WATER, "1")
        async with http.get(reportlinks.url(listener, token, "html")) as response:
            assert "ไม่ไหลมา ๓ วัน" in await response.text()
        async with http.get(reportlinks.url(listener, token, "pdf")) as response:
            assert response.content_type == "application/pdf"
            assert (await response.read()).startswith(b"%PDF-")
        async with http.get(reportlinks.url(listener, token, "chart")) as response:
            assert (await response.read()).startswith(b"\x89PNG")
        # An opening is in the audit trail (the file and the link, not who opened it), once a
        # minute a link however many files and reloads it served.
        opened = [e for e in await store.list_audit(tambon.id) if e.action == "report.opened"]
        assert [e.detail["file"] for e in opened] == ["html"]
        assert {e.who for e in opened} == {"report link"}
        assert all(e.detail["made_by"] is None for e in opened)
        # ... and not among the team's latest actions at the end of the report.
        async with http.get(reportlinks.url(listener, token, "html")) as response:
            assert "report.opened" not in await response.text()
        # Wrong tokens, other files and expired links get a polite page and no data.
        expired = "expired-token-expired-token"
        past = datetime.now(UTC) - timedelta(hours=1)
        await store.create_report_link(
            reportlinks.token_hash(expired),
            ReportLink(tambon.id, None, "th", past - timedelta(days=1), past),
        )
        for path in (f"/reports/{expired}", "/reports/no-such-token", f"/reports/{token}/x.zip"):
            async with http.get(listener + path) as response:
                assert response.status == 404
                page = await response.text()
            assert "ท่าตะโก" not in page
            assert (
                th(
                    "This report link does not exist or has expired. Please send /report in the "
                    "chat for a new one."
                )
                in page
            )


async def test_stored_links_are_hashes(store: Store, tambon: Tambon) -> None:
    token, _ = await reportlinks.create_link(store, tambon.id, None, "th")
    assert await store.get_report_link(token) is None  # the token itself is not a key
    assert await store.get_report_link(reportlinks.token_hash(token)) is not None


async def test_chat_summary_fits_the_platform_limits(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    """Many long problems, every category, silent villages: each message stays readable."""
    many = await tambons.create_tambon(store, "600803", [f"บ้านหมู่{i}" for i in range(1, 41)])
    await onboard(engine, store, many, "officer", village=1, role=Role.TEAM)
    member = await store.get_member("console", "officer")
    assert member is not None
    long_text = "ถนนพังเป็นหลุมใหญ่มาก " * 40
    for i in range(60):
        await store.add_submission(
            NewSubmission(
                tambon_id=many.id,
                text=f"{i} {long_text}",
                kind=Kind.PROBLEM,
                categories=("infrastructure", "water", "health", "social", "economy"),
                village_moo=1 + i % 3,
                author_id=member.id,
                relayed=False,
                channel="console",
                source_id=None,
            )
        )
    replies = await engine.handle(Incoming("console", "officer", text="/summary"))
    assert len(replies) >= 3
    assert all(len(out.text) <= TELEGRAM_TEXT for out in replies)
    assert sum(len(out.text) for out in replies) < 2 * TELEGRAM_TEXT  # a phone screen or two
    summary = await build_summary(store, many)
    assert summary.submissions == 60
    assert len(summary.villages_silent) == 37
    silent = next(out.text for out in replies if "หมู่ 40" in out.text)
    assert "หมู่ 4," in silent  # every silent village named, none cut off


# -- Telegram ---------------------------------------------------------------------------


@pytest.fixture
async def telegram_standin() -> AsyncIterator[TelegramStandIn]:
    server = TelegramStandIn("123:abc")
    await server.start()
    yield server
    await server.stop()


async def test_telegram_sends_the_chart_as_a_photo_and_the_report_as_a_document(
    telegram_standin: TelegramStandIn,
    store: Store,
    tagger: KeywordTagger,
    tambon: Tambon,
    listener: str,
) -> None:
    engine = Engine(store, tagger, public_url=listener)
    channel = TelegramChannel(engine, "123:abc", base_url=telegram_standin.base_url)
    await channel.start()
    try:
        console_engine = Engine(store, tagger)
        await onboard(console_engine, store, tambon, "villager", village=3)
        await console(console_engine, "villager", ROAD, "1")
        officer = 5150
        code = (await tambons.create_invite(store, tambon, Role.TEAM)).code
        telegram_standin.text(officer, f"/start {code}")
        await telegram_standin.wait_for(lambda: len(telegram_standin.sent(officer)) >= 2)
        telegram_standin.press(officer, "vil:3", telegram_standin.last_keyboard_message(officer))
        await telegram_standin.wait_for(lambda: len(telegram_standin.sent(officer)) >= 3)
        telegram_standin.press(
            officer, "consent:yes", telegram_standin.last_keyboard_message(officer)
        )
        await telegram_standin.wait_for(lambda: len(telegram_standin.sent(officer)) >= 4)
        telegram_standin.text(officer, "/summary")
        await telegram_standin.wait_for(
            lambda: len(telegram_standin.sent(officer, "sendPhoto")) >= 1
        )
        (photo,) = telegram_standin.sent(officer, "sendPhoto")
        assert photo.params["photo"]["data"].startswith(b"\x89PNG")
        assert photo.params["caption"] == th("Reports by people per category")
        assert photo.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "report:"
        telegram_standin.press(officer, "report:", dict(photo.result))
        await telegram_standin.wait_for(
            lambda: len(telegram_standin.sent(officer, "sendDocument")) >= 1, within=30
        )
        (document,) = telegram_standin.sent(officer, "sendDocument")
        upload = document.params["document"]
        assert upload["filename"] == f"{tambon.code}-report.pdf"
        assert upload["data"].startswith(b"%PDF-")
        link = LINK.search(document.params["caption"])
        assert link is not None
        async with aiohttp.ClientSession() as http, http.get(link[0]) as response:
            assert response.status == 200
            assert "ถนนลูกรัง" in await response.text()
    finally:
        telegram_standin.release_polls()
        await channel.stop()


# -- LINE --------------------------------------------------------------------------------


async def test_line_gets_the_chart_and_report_as_https_links(
    store: Store, tagger: KeywordTagger, tambon: Tambon, listener: str
) -> None:
    standin = LineStandIn("line-token")
    await standin.start()
    public = "https://tambon.example.org"
    channel = LineChannel(
        Engine(store, tagger, public_url=public), "secret", "line-token", base_url=standin.base_url
    )
    await channel.start()
    events = Events("secret", standin)
    try:
        console_engine = Engine(store, tagger)
        await onboard(console_engine, store, tambon, "villager", village=3)
        await console(console_engine, "villager", WATER, "1")
        user = "U0fficer0000000000000000000000001"
        code = (await tambons.create_invite(store, tambon, Role.TEAM)).code
        for event in (
            events.text(user, f"/start {code}"),
            events.postback(user, "vil:3"),
            events.postback(user, "consent:yes"),
            events.text(user, "/summary"),
        ):
            body = events.body(event)
            await channel.accept(body.decode(), events.sign(body))
            await channel.drain()
        images = [m for m in standin.messages_to(user) if m["type"] == "image"]
        assert len(images) == 1
        chart_url = images[0]["originalContentUrl"]
        assert chart_url.startswith(public + "/reports/")
        assert chart_url.endswith("/chart.png")
        # The proxy at the public address forwards to our listener: the same path serves it.
        async with aiohttp.ClientSession() as http:
            async with http.get(listener + chart_url.removeprefix(public)) as response:
                assert (await response.read()).startswith(b"\x89PNG")
            body = events.body(events.postback(user, "report:"))
            await channel.accept(body.decode(), events.sign(body))
            await channel.drain()
            last = standin.messages_to(user)[-1]
            assert last["type"] == "text"
            pdf_url = re.search(r"PDF: (\S+)", last["text"])
            assert pdf_url is not None
            async with http.get(listener + pdf_url[1].removeprefix(public)) as response:
                assert (await response.read()).startswith(b"%PDF-")
        assert not standin.rejected
    finally:
        await channel.stop()
        await standin.stop()
    await asyncio.sleep(0)


async def test_a_report_that_cannot_be_made_gets_a_polite_answer(
    engine: Engine,
    store: Store,
    tambon: Tambon,
    listener: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The PDF font cannot be prepared anywhere (no writable cache, no writable temp folder):
    the officer is told so in chat, the web link answers 503, and nothing stored changes."""
    import tempfile

    from bot import fonts

    await onboard(engine, store, tambon, "villager", village=3)
    await _team(engine, store, tambon)
    await console(engine, "villager", ROAD, "1")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    monkeypatch.setattr(tempfile, "tempdir", str(blocker))
    fonts.pdf_fonts.cache_clear()
    try:
        (printed,) = await console(engine, "officer", "/report")
        from bot.core import FILE_FAILED

        assert i18n.render(FILE_FAILED, "th") in printed
        token, _ = await reportlinks.create_link(store, tambon.id, None, "th")
        async with (
            aiohttp.ClientSession() as http,
            http.get(reportlinks.url(listener, token, "pdf")) as response,
        ):
            assert response.status == 503
            assert (
                th("Sorry, this report could not be made just now. Please try again in a while.")
                in await response.text()
            )
        assert await store.count_submissions(tambon.id) == 1
    finally:
        fonts.pdf_fonts.cache_clear()
