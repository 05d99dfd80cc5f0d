"""The durable path's promises, one by one, with the real clients against the stand-ins:
poison updates go to the dead letters, failed sends are retried until they arrive, the
listener waits for the channels, old redelivery keys are forgotten."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot import web
from bot.channels.telegram import TelegramChannel
from bot.core import Engine
from bot.nlp import KeywordTagger
from bot.pipeline import Pipeline
from storage.base import Store, Tambon
from tests.conftest import run_cli_ok
from tests.telegram_standin import BOT_ID, Call, TelegramStandIn
from tests.test_telegram import onboard, reply_count, texts

TOKEN = f"{BOT_ID}:delivery"
USER = 424242


@pytest.fixture
async def standin() -> AsyncIterator[TelegramStandIn]:
    server = TelegramStandIn(TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def telegram(
    standin: TelegramStandIn, store: Store, tagger: KeywordTagger
) -> AsyncIterator[TelegramChannel]:
    engine = Engine(store, tagger)
    pipeline = Pipeline(engine, max_attempts=3, poll_interval=0.1)
    channel = TelegramChannel(
        engine, TOKEN, base_url=standin.base_url, pipeline=pipeline, poll_timeout=1
    )
    await channel.start()
    yield channel
    standin.release_polls()
    await channel.stop()


async def test_a_poison_update_goes_to_the_dead_letters_and_stops_blocking(
    telegram: TelegramChannel,
    standin: TelegramStandIn,
    store: Store,
    tambon: Tambon,
    db_path: Path,
) -> None:
    n = await onboard(standin, store, tambon)
    # The database refuses to save this one message (a disk fault, a bug): every attempt fails.
    with sqlite3.connect(db_path) as db:
        db.execute(
            "CREATE TRIGGER poison BEFORE INSERT ON conversations WHEN NEW.data LIKE '%POISON%'"
            " BEGIN SELECT RAISE(ABORT, 'the disk said no'); END"
        )
        db.execute(
            "CREATE TRIGGER poison_update BEFORE UPDATE ON conversations"
            " WHEN NEW.data LIKE '%POISON%' BEGIN SELECT RAISE(ABORT, 'the disk said no'); END"
        )
    poison = standin.text(USER, "POISON ถนนพังมาก")
    standin.text(USER, "/mine")  # the same person's next message
    await reply_count(standin, n + 1)
    await telegram.pipeline.drain()
    (letter,) = await store.dead_letters()
    assert letter.key == f"{BOT_ID}:{poison['update_id']}"
    assert letter.attempts == 3
    assert "the disk said no" in (letter.last_error or "")
    assert await store.inbox_pending("telegram") == []
    # A redelivery of the dead update is not handled again.
    standin.redeliver(poison)
    standin.text(USER, "/mine")  # answered after the redelivery was seen
    await reply_count(standin, n + 2)
    await telegram.pipeline.drain()
    assert len(await store.dead_letters()) == 1
    assert await store.inbox_pending("telegram") == []
    env = {**os.environ, "TAMBON_DATABASE_URL": f"sqlite:///{db_path}"}
    listed = await run_cli_ok(env, "inbox", "dead")
    assert letter.key in listed
    assert "the disk said no" in listed
    status = await run_cli_ok(env, "inbox", "status")
    assert "dead_letters\t1" in status.splitlines()


@pytest.mark.parametrize(
    ("status", "description"),
    [(502, "Bad Gateway"), (500, "Internal Server Error"), (429, "Too Many Requests")],
)
async def test_a_reply_that_fails_is_sent_again(
    telegram: TelegramChannel,
    standin: TelegramStandIn,
    store: Store,
    tambon: Tambon,
    status: int,
    description: str,
) -> None:
    n = await onboard(standin, store, tambon)
    extra = {"retry_after": 1} if status == 429 else {}
    standin.fail_next("sendMessage", status, description, **extra)
    standin.fail_next("sendMessage", status, description, **extra)
    standin.text(USER, "/help")

    def delivered() -> list[Call]:
        return [c for c in standin.sent(USER) if c.result is not None]

    await standin.wait_for(lambda: len(delivered()) > n)
    await telegram.pipeline.drain()
    assert len(delivered()) == n + 1  # delivered once, after the failures
    assert len(standin.sent(USER)) == n + 3  # the two failed attempts
    assert (await store.outbox_counts()).get("pending", 0) == 0


async def test_report_document_arrives_after_a_failed_upload(
    telegram: TelegramChannel, standin: TelegramStandIn, store: Store, tambon: Tambon
) -> None:
    from storage.base import Role

    n = await onboard(standin, store, tambon, role=Role.TEAM)
    standin.fail_next("sendDocument", 502, "Bad Gateway")
    standin.text(USER, "/report")
    await standin.wait_for(lambda: len(standin.sent(USER, "sendDocument")) >= 1, within=30)
    (document,) = standin.sent(USER, "sendDocument")
    assert document.params["document"]["data"]
    assert len(standin.sent(USER)) >= n


async def test_a_blocked_person_is_marked_and_their_replies_dropped(
    telegram: TelegramChannel, standin: TelegramStandIn, store: Store, tambon: Tambon
) -> None:
    n = await onboard(standin, store, tambon)
    standin.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    standin.text(USER, "/help")
    await standin.wait_for(lambda: len(standin.sent(USER)) > n)  # the refused send
    await telegram.pipeline.drain()
    member = await store.get_member("telegram", str(USER))
    assert member is not None
    assert member.unreachable_at is not None
    counts = await store.outbox_counts()
    assert counts.get("pending", 0) == 0
    assert counts.get("dropped", 0) >= 1


async def test_the_listener_says_503_until_the_channels_are_ready(
    standin: TelegramStandIn, store: Store, tagger: KeywordTagger
) -> None:
    channel = TelegramChannel(
        Engine(store, tagger), TOKEN, base_url=standin.base_url, webhook=True
    )
    runner = await web.serve(
        web.build_app(telegram=channel, telegram_secret="s", store=store), "127.0.0.1:0"
    )
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    update = standin.text(USER, "/help", queue=False)
    headers = {"X-Telegram-Bot-Api-Secret-Token": "s"}
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(base + web.HEALTH_PATH) as response:
                assert response.status == 503
            async with http.post(base + web.TELEGRAM_PATH, json=update, headers=headers) as r:
                assert r.status == 503  # Telegram will send it again
            assert await store.inbox_pending("telegram") == []
            await channel.start()
            async with http.get(base + web.HEALTH_PATH) as response:
                assert response.status == 200
            async with http.post(base + web.TELEGRAM_PATH, json=update, headers=headers) as r:
                assert r.status == 200
        await channel.pipeline.drain()
        assert len(standin.sent(USER)) == 1
    finally:
        await channel.stop()
        await runner.cleanup()


async def test_old_redelivery_keys_are_pruned_so_renumbered_updates_are_handled(
    telegram: TelegramChannel, standin: TelegramStandIn, store: Store, tambon: Tambon
) -> None:
    n = await onboard(standin, store, tambon)
    update = standin.text(USER, "/help")
    await reply_count(standin, n + 1)
    # A week later Telegram numbers updates afresh: the same update_id, a new message.
    assert await store.prune_delivery(datetime.now(UTC) + timedelta(days=1)) > 0
    again = standin.text(USER, "/help")
    again["update_id"] = update["update_id"]
    standin.redeliver(again)
    await reply_count(standin, n + 2)  # answered: not taken for the old update
    assert texts(standin)[-1] == texts(standin)[-2]  # /help both times


async def test_keys_carry_the_bot_identity(
    standin: TelegramStandIn, store: Store, tagger: KeywordTagger, tambon: Tambon
) -> None:
    """A new bot (token) on the same store: its update 1 is not the old bot's update 1."""
    await store.claim_update("telegram", "1")  # an old-style key, and another bot's:
    await store.claim_update("telegram", "9999:1")
    channel = TelegramChannel(Engine(store, tagger), TOKEN, base_url=standin.base_url)
    await channel.start()
    try:
        update = standin.text(USER, "/help")
        update["update_id"] = 1
        await reply_count(standin, 1)
    finally:
        standin.release_polls()
        await channel.stop()


async def test_a_webhook_that_cannot_be_kept_gets_503_and_is_taken_when_sent_again(
    standin: TelegramStandIn, store: Store, tagger: KeywordTagger, db_path: Path
) -> None:
    """'database is locked' (another program holds the file): not 200, so Telegram retries."""
    channel = TelegramChannel(
        Engine(store, tagger), TOKEN, base_url=standin.base_url, webhook=True
    )
    await channel.start()
    runner = await web.serve(
        web.build_app(telegram=channel, telegram_secret="s", store=store), "127.0.0.1:0"
    )
    url = f"http://127.0.0.1:{runner.addresses[0][1]}{web.TELEGRAM_PATH}"
    update = standin.text(USER, "/help", queue=False)
    headers = {"X-Telegram-Bot-Api-Secret-Token": "s"}
    blocker = sqlite3.connect(db_path, timeout=0)
    try:
        blocker.execute("BEGIN EXCLUSIVE")  # held past the store's 5-second busy timeout
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=update, headers=headers) as response:
                assert response.status == 503
            blocker.rollback()
            async with http.post(url, json=update, headers=headers) as response:
                assert response.status == 200  # Telegram's retry
        await channel.pipeline.drain()
        assert len(standin.sent(USER)) == 1
    finally:
        blocker.close()
        await channel.stop()
        await runner.cleanup()


def test_a_rendered_reply_keeps_its_hints_through_the_outbox() -> None:
    """An Outgoing carries the Reply it renders: every presentation hint of Reply survives the
    outbox's JSON, and replies queued by the previous version (hints beside the text) still
    read right after an upgrade."""
    from bot.core import HINTS, Outgoing
    from handlers.types import FileRef, Reply, T

    reply = Reply(
        T("x"),
        columns=2,
        edit_previous=True,
        card=True,
        keep_buttons=True,
        live_tally=7,
        qr="/here 123456",
        file=FileRef("pdf", "tok"),
        menu="team",
        toast=True,
        in_place_only=True,
    )
    out = Outgoing("ข้อความ", (("ตกลง", "ok:"),), reply, file_url="https://x/r", no_file="n")
    again = Outgoing.from_dict(json.loads(json.dumps(out.to_dict(), ensure_ascii=False)))
    assert again.text == out.text
    assert again.choices == out.choices
    assert (again.file_url, again.no_file) == ("https://x/r", "n")
    assert {h: getattr(again.reply, h) for h in HINTS} == {h: getattr(reply, h) for h in HINTS}
    assert set(HINTS) == {
        "columns",
        "edit_previous",
        "card",
        "keep_buttons",
        "live_tally",
        "qr",
        "file",
        "menu",
        "toast",
        "in_place_only",
    }
    legacy = {"text": "เก่า", "choices": [["ก", "a:"]], "columns": 3, "qr": "/here 1", "file": None}
    old = Outgoing.from_dict(legacy)
    assert (old.text, old.choices, old.reply.columns, old.reply.qr) == (
        "เก่า",
        (("ก", "a:"),),
        3,
        "/here 1",
    )
    assert old.but(columns=1, text="ใหม่").reply.columns == 1
