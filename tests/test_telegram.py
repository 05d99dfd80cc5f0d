"""The Telegram channel end to end: the real python-telegram-bot client against the stand-in."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot import web
from bot.channels import GROUP_NOTICE, split_text
from bot.channels.telegram import CHOSEN_MARK, TelegramChannel
from bot.core import Engine, Outgoing
from bot.nlp import KeywordTagger
from storage.base import Role, Store, Tambon
from tests.conftest import BAD_MESSAGES, join_code, run_cli_ok, th
from tests.telegram_standin import BOT_USERNAME, TelegramStandIn

ROAD = "ถนนหมู่ 3 เป็นหลุมเป็นบ่อ รถสัญจรลำบาก"
TOKEN = "123:abc"
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
    channel = TelegramChannel(Engine(store, tagger), TOKEN, base_url=standin.base_url)
    await channel.start()
    yield channel
    standin.release_polls()
    await channel.stop()


def texts(standin: TelegramStandIn, chat_id: int = USER) -> list[str]:
    return [c.params["text"] for c in standin.sent(chat_id)]


async def reply_count(standin: TelegramStandIn, count: int, chat_id: int = USER) -> list[str]:
    await standin.wait_for(lambda: len(standin.sent(chat_id)) >= count)
    return texts(standin, chat_id)


async def press(standin: TelegramStandIn, payload: str, expect: int, chat_id: int = USER) -> None:
    """Press the button ``payload`` on the last keyboard sent, then wait for ``expect`` sends."""
    message = standin.last_keyboard_message(chat_id)
    buttons = [
        b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row
    ]
    assert payload in buttons, buttons
    standin.press(chat_id, payload, message)
    await reply_count(standin, expect, chat_id)


async def onboard(
    standin: TelegramStandIn,
    store: Store,
    tambon: Tambon,
    user: int = USER,
    role: Role = Role.VILLAGER,
) -> int:
    code = await join_code(store, tambon, role)
    base = len(standin.sent(user))
    standin.text(user, f"/start {code}")
    await reply_count(standin, base + 2, user)  # welcome + village question
    await press(standin, "vil:3", base + 3, user)
    await press(standin, "consent:yes", base + 4, user)
    return len(standin.sent(user))


async def test_onboarding_by_deep_link(
    telegram: TelegramChannel, standin: TelegramStandIn, store: Store, tambon: Tambon
) -> None:
    await onboard(standin, store, tambon)
    sent = texts(standin)
    assert th("Which village (moo) do you live in?") in sent[1]
    village_keyboard = standin.sent(USER)[1].params["reply_markup"]["inline_keyboard"]
    assert len(village_keyboard[0]) == 2  # two villages a row
    assert sent[-1] == th(
        "Thank you! You can now tell us about a problem or a need in your village: just type it "
        "in your own words, for example: the road in moo 3 is full of potholes."
    )
    member = await store.get_member("telegram", str(USER))
    assert member is not None
    assert member.onboarded
    assert member.village_moo == 3
    answered = [c for c in standin.calls if c.method == "answerCallbackQuery"]
    assert len(answered) == 2
    edits = standin.sent(USER, "editMessageText")
    assert (
        edits[0]
        .params["text"]
        .endswith(CHOSEN_MARK + th("Moo {moo} {name}", moo=3, name="บ้านเขาน้อย"))
    )
    assert "reply_markup" not in edits[0].params  # the old buttons are gone


async def test_submission_confirmed_with_a_button(
    telegram: TelegramChannel, standin: TelegramStandIn, store: Store, tambon: Tambon
) -> None:
    n = await onboard(standin, store, tambon)
    update = standin.text(USER, ROAD)
    await reply_count(standin, n + 1)
    assert th("Infrastructure") in texts(standin)[-1]
    await press(standin, "ok:", n + 2)
    (submission,) = await store.list_submissions(tambon.id)
    assert submission.channel == "telegram"
    assert submission.source_id == f"{USER}:{update['message']['message_id']}"
    assert f"#{submission.id}" in texts(standin)[-1]
    assert "infrastructure" in submission.categories


async def test_correction_edits_the_picker_in_place(
    telegram: TelegramChannel, standin: TelegramStandIn, store: Store, tambon: Tambon
) -> None:
    n = await onboard(standin, store, tambon)
    standin.text(USER, ROAD)
    await reply_count(standin, n + 1)
    await press(standin, "edit:cat", n + 2)
    picker = standin.last_keyboard_message(USER)
    edits = len(standin.sent(USER, "editMessageText"))
    standin.press(USER, "cat:water", picker)
    await standin.wait_for(lambda: len(standin.sent(USER, "editMessageText")) > edits)
    toggled = standin.sent(USER, "editMessageText")[-1].params
    labels = [b["text"] for row in toggled["reply_markup"]["inline_keyboard"] for b in row]
    assert "✅ " + th("Water sources") in labels
    assert len(standin.sent(USER)) == n + 2  # toggling sent no new message
    standin.press(USER, "cat:done", picker)
    await reply_count(standin, n + 3)
    await press(standin, "ok:", n + 4)
    (submission,) = await store.list_submissions(tambon.id)
    assert set(submission.categories) == {"infrastructure", "water"}
    (correction,) = await store.list_corrections(submission.id)
    assert "water" in correction.new_categories


async def test_photo_with_caption_and_location(
    telegram: TelegramChannel, standin: TelegramStandIn, store: Store, tambon: Tambon
) -> None:
    n = await onboard(standin, store, tambon)
    standin.location(USER, 15.6315, 100.4812)
    await reply_count(standin, n + 1)
    assert texts(standin)[-1] == th(
        "Thank you, I have the location. Now please describe the problem in words, and I will "
        "attach the location to it."
    )
    standin.photo(USER, "สะพานไม้ผุพัง อันตรายมาก", file_id="AgAC-bridge")
    await reply_count(standin, n + 2)
    assert "📎" in texts(standin)[-1]
    await press(standin, "ok:", n + 3)
    (submission,) = await store.list_submissions(tambon.id)
    assert submission.text == "สะพานไม้ผุพัง อันตรายมาก"
    found = {(a.media, a.file_id, a.latitude) for a in submission.attachments}
    assert found == {("photo", "AgAC-bridge", None), ("location", None, 15.6315)}


async def test_group_chat_gets_only_an_invitation(
    telegram: TelegramChannel, standin: TelegramStandIn, store: Store, tambon: Tambon
) -> None:
    group = -100123
    standin.text(USER, "ถนนพังมาก", chat_id=group, chat_type="supergroup")
    standin.text(USER, f"/mine@{BOT_USERNAME}", chat_id=group, chat_type="supergroup")
    standin.text(USER, f"@{BOT_USERNAME} ช่วยด้วย", chat_id=group, chat_type="group")
    await reply_count(standin, 2, chat_id=group)
    await asyncio.sleep(0.2)
    notice = th(GROUP_NOTICE.msgid, link=f"https://t.me/{BOT_USERNAME}")
    assert texts(standin, group) == [notice, notice]
    assert await store.get_member("telegram", str(USER)) is None
    assert await store.count_submissions(tambon.id) == 0


async def test_edited_message_updates_the_draft(
    telegram: TelegramChannel, standin: TelegramStandIn, store: Store, tambon: Tambon
) -> None:
    n = await onboard(standin, store, tambon)
    original = standin.text(USER, "ไฟดับ")
    await reply_count(standin, n + 1)
    standin.edit(original, "น้ำท่วมนาข้าวหมู่ 2")
    await reply_count(standin, n + 3)
    assert texts(standin)[-2] == th("I have updated the draft with your edit.")
    await press(standin, "ok:", n + 4)
    (submission,) = await store.list_submissions(tambon.id)
    assert submission.text == "น้ำท่วมนาข้าวหมู่ 2"
    assert submission.village_moo == 2


async def test_redelivered_updates_are_handled_once(
    telegram: TelegramChannel, standin: TelegramStandIn, store: Store, tambon: Tambon
) -> None:
    n = await onboard(standin, store, tambon)
    text_update = standin.text(USER, ROAD)
    await reply_count(standin, n + 1)
    message = standin.last_keyboard_message(USER)
    confirm = standin.press(USER, "ok:", message)
    await reply_count(standin, n + 2)
    standin.redeliver(confirm)
    standin.redeliver(text_update)
    standin.text(USER, "/mine")  # a fresh update after the redelivered ones
    await reply_count(standin, n + 3)
    assert texts(standin)[-1].startswith(
        th("Your latest {count} submissions, newest first:", count=1)
    )
    assert await store.count_submissions(tambon.id) == 1
    assert len(standin.sent(USER)) == n + 3  # the redelivered updates got no second reply


async def test_429_is_retried_after_retry_after(
    telegram: TelegramChannel, standin: TelegramStandIn, store: Store, tambon: Tambon
) -> None:
    standin.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    standin.text(USER, "/help")
    await standin.wait_for(lambda: len(standin.sent(USER)) >= 2)
    failed, delivered = standin.sent(USER)
    assert failed.params["text"] == delivered.params["text"]
    assert delivered.at - failed.at >= 0.95
    assert "/mine" in delivered.params["text"]


async def test_403_marks_the_member_unreachable(
    telegram: TelegramChannel, standin: TelegramStandIn, store: Store, tambon: Tambon
) -> None:
    n = await onboard(standin, store, tambon)
    standin.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    standin.text(USER, "/mine")
    await reply_count(standin, n + 1)
    await asyncio.sleep(0.1)
    member = await store.get_member("telegram", str(USER))
    assert member is not None
    assert member.unreachable_at is not None
    assert len(standin.sent(USER)) == n + 1  # not retried
    standin.text(USER, "/help")  # they unblocked the bot and wrote again
    await reply_count(standin, n + 2)
    member = await store.get_member("telegram", str(USER))
    assert member is not None
    assert member.unreachable_at is None


@pytest.mark.parametrize(
    ("send", "msgid", "params"),
    [
        *BAD_MESSAGES,
        (
            "/start 00000000",
            "Sorry, the join code {code} was not found. Please check it with your tambon team or "
            "village head and try again.",
            {"code": "00000000"},
        ),
    ],
)
async def test_bad_input_on_telegram(
    telegram: TelegramChannel,
    standin: TelegramStandIn,
    store: Store,
    tambon: Tambon,
    send: str,
    msgid: str,
    params: dict[str, Any],
) -> None:
    if not send.startswith("/start"):
        await onboard(standin, store, tambon)
    before = len(standin.sent(USER))
    standin.text(USER, send)
    await reply_count(standin, before + 1)
    assert texts(standin)[-1] == th(msgid, **params)
    assert await store.count_submissions(tambon.id) == 0


async def test_sticker_before_joining_and_stray_text_at_confirmation(
    telegram: TelegramChannel, standin: TelegramStandIn, store: Store, tambon: Tambon
) -> None:
    standin.sticker(USER)
    await reply_count(standin, 1)
    assert "12345678" in texts(standin)[-1]
    assert await store.get_member("telegram", str(USER)) is None
    n = await onboard(standin, store, tambon)
    standin.sticker(USER)
    await reply_count(standin, n + 1)
    assert texts(standin)[-1] == th(
        "I can only read words, not emoji or stickers. Please describe the problem in a few "
        "words, in Thai."
    )
    standin.text(USER, ROAD)
    await reply_count(standin, n + 2)
    standin.text(USER, "โอเค")
    await reply_count(standin, n + 4)
    assert texts(standin)[-2] == th(
        "Please choose one of the options below, or type /cancel to start over."
    )
    assert await store.count_submissions(tambon.id) == 0


async def test_long_replies_are_split_with_buttons_on_the_last_piece(
    telegram: TelegramChannel, standin: TelegramStandIn
) -> None:
    line = "ข้อความยาว" * 40
    long_text = "\n".join([line] * 20)  # 8,000+ characters
    await telegram.send(USER, str(USER), [Outgoing(long_text, (("ตกลง", "ok:"),))])
    sent = standin.sent(USER)
    assert len(sent) == 2
    assert all(len(c.params["text"]) <= 4096 for c in sent)
    assert "".join(c.params["text"] for c in sent).replace("\n", "") == long_text.replace("\n", "")
    assert "reply_markup" not in sent[0].params
    assert sent[1].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ok:"


def test_split_text_without_spaces() -> None:
    thai = "ก" * 9000
    assert [len(p) for p in split_text(thai, 4096)] == [4096, 4096, 808]
    assert split_text("สั้น", 4096) == ["สั้น"]


async def test_webhook_refuses_a_wrong_secret_and_accepts_the_right_one(
    standin: TelegramStandIn, store: Store, tagger: KeywordTagger, tambon: Tambon
) -> None:
    channel = TelegramChannel(
        Engine(store, tagger), TOKEN, base_url=standin.base_url, webhook=True
    )
    app = web.build_app(telegram=channel, telegram_secret="s3cret-token")
    runner = await web.serve(app, "127.0.0.1:0")
    port = runner.addresses[0][1]
    url = f"http://127.0.0.1:{port}{web.TELEGRAM_PATH}"
    code = await join_code(store, tambon)
    update = standin.text(USER, f"/start {code}", queue=False)
    await channel.start(webhook_url=url, secret="s3cret-token")
    try:
        assert standin.calls[-1].method == "setWebhook"
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(url, json=update, headers=headers) as response:
                    assert response.status == 403
            assert await store.get_member("telegram", str(USER)) is None
            assert standin.sent(USER) == []
            headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
            async with http.post(url, data=b"{not json", headers=headers) as response:
                assert response.status == 400
            async with http.post(url, json=update, headers=headers) as response:
                assert response.status == 200
            async with http.post(url, json=update, headers=headers) as response:
                assert response.status == 200  # a redelivery is acknowledged and ignored
            async with http.get(f"http://127.0.0.1:{port}{web.HEALTH_PATH}") as response:
                assert (await response.json()) == {"status": "ok"}
        await channel.pipeline.drain()
        member = await store.get_member("telegram", str(USER))
        assert member is not None
        assert member.role is Role.VILLAGER
        assert len(standin.sent(USER)) == 2  # welcome + village question, once
    finally:
        await channel.stop()
        await runner.cleanup()


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
async def test_tambon_bot_run_against_the_standin(
    standin: TelegramStandIn, tmp_path: Path, database: str, request: pytest.FixtureRequest
) -> None:
    """The issue's acceptance path: `tambon-bot run` with a token, onboarding, export; on the
    embedded SQLite store and on PostgreSQL."""
    url = (
        f"sqlite:///{tmp_path}/run.db"
        if database == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    env = {
        **os.environ,
        "TAMBON_DATABASE_URL": url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": standin.base_url,
        "TAMBON_LISTEN": "127.0.0.1:0",
    }
    env.pop("TELEGRAM_WEBHOOK_URL", None)

    async def cli(*args: str) -> str:
        return await run_cli_ok(env, *args, cwd=tmp_path)

    await cli("tambon", "create", "--code", "600801", "--villages", "5")
    code = (await cli("invite", "--tambon", "600801", "--role", "villager")).splitlines()[0]
    bot = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        standin.text(USER, f"/start {code}")
        await standin.wait_for(lambda: len(standin.sent(USER)) >= 2, within=60)
        await press(standin, "vil:4", 3)
        await press(standin, "consent:yes", 4)
        standin.text(USER, "น้ำประปาไม่ไหลสามวันแล้ว บ้านหนองแก")
        await reply_count(standin, 5)
        await press(standin, "ok:", 6)
    finally:
        standin.release_polls()
        bot.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(bot.communicate(), 30)
    assert bot.returncode == 0, err.decode()[-2000:]
    rows = (await cli("export", "--tambon", "600801", "--format", "jsonl")).splitlines()
    (row,) = [json.loads(r) for r in rows]
    assert row["channel"] == "telegram"
    assert row["village"] == 4
    assert "water" in row["categories"].split("|")
    assert str(USER) not in json.dumps(row)


async def test_a_hearing_vote_with_inline_buttons(
    telegram: TelegramChannel, standin: TelegramStandIn, store: Store, tambon: Tambon
) -> None:
    from handlers.services.polls import tally
    from storage.base import PollMethod

    n = await onboard(standin, store, tambon)
    poll = await store.create_poll(
        tambon.id,
        "จัดลำดับปัญหา",
        PollMethod.BORDA,
        2,
        [("ถนน", None), ("ประปา", None), ("ขยะ", None)],
    )
    await store.set_poll_status(poll.id, "open")
    standin.text(USER, "/vote")
    await reply_count(standin, n + 1)
    card = standin.last_keyboard_message(USER)
    edits = len(standin.sent(USER, "editMessageText"))
    standin.press(USER, "bal:3", card)
    await standin.wait_for(lambda: len(standin.sent(USER, "editMessageText")) > edits)
    standin.press(USER, "bal:1", card)
    await standin.wait_for(lambda: len(standin.sent(USER, "editMessageText")) > edits + 1)
    assert len(standin.sent(USER)) == n + 1  # ticking edits the ballot in place
    standin.press(USER, "bal:submit", card)
    await reply_count(standin, n + 2)
    assert texts(standin)[-1].startswith(
        th(
            "Thank you, your ballot is counted:\n{listing}\nYou can change it with /vote until "
            "the poll closes.",
            listing="1. ขยะ\n2. ถนน",
        )[:30]
    )
    standin.text(USER, "/vote")  # to change the ballot: the card shows it as it stands
    await reply_count(standin, n + 4)
    assert "ขยะ" in texts(standin)[-2]
    second_card = standin.last_keyboard_message(USER)
    await store.set_poll_status(poll.id, "closed")  # the team closes the poll meanwhile
    standin.press(USER, "bal:submit", second_card)
    await reply_count(standin, n + 5)
    assert texts(standin)[-1] == th(
        "Sorry, this poll has closed, so your ballot could not be counted. Thank you for taking "
        "part."
    )
    counted = tally(poll, await store.list_ballots(poll.id))
    assert [(o.text, o.score) for o in counted.options] == [("ขยะ", 2), ("ถนน", 1), ("ประปา", 0)]


async def test_a_whole_hearing_run_from_telegram(
    telegram: TelegramChannel, standin: TelegramStandIn, store: Store, tambon: Tambon
) -> None:
    """Create, open, vote, change, paper, close, late vote, results: all in Telegram chats."""
    officer, voter = 5150, USER
    await onboard(standin, store, tambon, officer, role=Role.TEAM)
    n = await onboard(standin, store, tambon, voter)
    m = len(standin.sent(officer))
    standin.text(officer, "/newpoll ปัญหาสำคัญที่สุด")
    await reply_count(standin, m + 1, officer)
    standin.text(officer, "ถนนพัง\nน้ำประปาไม่ไหล\nยาเสพติด")
    await reply_count(standin, m + 2, officer)
    await press(standin, "setup:one", m + 3, officer)
    (poll,) = await store.list_polls(tambon.id)
    assert poll.choose == 1
    standin.text(voter, "/vote")
    await reply_count(standin, n + 1)
    card = standin.sent(voter)[n].result  # the poll card stays usable: change the ballot

    def answers() -> list[dict[str, Any]]:
        return [c.params for c in standin.calls if c.method == "answerCallbackQuery"]

    def edits() -> list[dict[str, Any]]:
        return [c.params for c in standin.sent(voter, "editMessageText")]

    # Issue 24: a tap is answered by the tap itself (a toast) and the card edited in place to
    # show the choice; no new message.
    before, edited = len(answers()), len(edits())
    standin.press(voter, f"vote:{poll.id}.2", card)
    await standin.wait_for(lambda: len(edits()) > edited)
    assert answers()[before]["text"] == th(
        "✅ Counted: {choice}. Tap another to change it.", choice="น้ำประปาไม่ไหล"
    )
    labels = [b["text"] for row in edits()[-1]["reply_markup"]["inline_keyboard"] for b in row]
    assert "✅ น้ำประปาไม่ไหล" in labels
    assert "◻️ ถนนพัง" in labels  # the others stay pressable: a tap changes the ballot
    standin.press(voter, f"vote:{poll.id}.3", card)
    await standin.wait_for(lambda: len(edits()) > edited + 1)
    assert answers()[-1]["text"] == th(
        "✅ Changed to: {choice}. Tap another to change it again.", choice="ยาเสพติด"
    )
    assert len(standin.sent(voter)) == n + 1  # no message per tap
    (ballot,) = await store.list_ballots(poll.id)
    assert ballot.choices == (3,)
    standin.text(officer, "/paper 4 1")
    await reply_count(standin, m + 4, officer)
    standin.text(officer, "/closepoll")
    await reply_count(standin, m + 5, officer)
    standin.press(voter, f"vote:{poll.id}.1", card)  # too late
    await reply_count(standin, n + 2)
    assert texts(standin)[-1] == th(
        "Sorry, this poll has closed, so your ballot could not be counted. Thank you for taking "
        "part."
    )
    standin.text(officer, "/results")
    await reply_count(standin, m + 7, officer)
    summary = "\n".join(texts(standin, officer)[-3:])
    assert (
        th(
            "{rank}. {text} — {votes} votes ({paper} on paper)",
            rank=1,
            text="ถนนพัง",
            votes=4,
            paper=4,
        )
        in summary
    )
    assert (
        th(
            "{rank}. {text} — {votes} votes ({paper} on paper)",
            rank=2,
            text="ยาเสพติด",
            votes=1,
            paper=0,
        )
        in summary
    )


async def test_results_message_is_a_live_tally(
    standin: TelegramStandIn, store: Store, tagger: KeywordTagger, tambon: Tambon
) -> None:
    """A team member's /results message is edited in place as ballots arrive, throttled."""
    from storage.base import PollMethod

    channel = TelegramChannel(
        Engine(store, tagger), TOKEN, base_url=standin.base_url, live_interval=0.3
    )
    await channel.start()
    try:
        officer = 5150
        await onboard(standin, store, tambon, officer, role=Role.TEAM)
        n = await onboard(standin, store, tambon)
        poll = await store.create_poll(
            tambon.id, "สด", PollMethod.APPROVAL, 1, [("ถนน", None), ("ประปา", None)]
        )
        await store.set_poll_status(poll.id, "open")
        m = len(standin.sent(officer))
        standin.text(officer, "/results")
        await reply_count(standin, m + 1, officer)
        live_id = standin.sent(officer)[m].result["message_id"]
        standin.text(USER, "/vote")
        await reply_count(standin, n + 1)
        card = standin.last_keyboard_message(USER)
        standin.press(USER, f"vote:{poll.id}.2", card)
        standin.press(USER, f"vote:{poll.id}.1", card)  # a quick change: one edit shows both

        def live_edits() -> list[str]:
            return [
                c.params["text"]
                for c in standin.sent(officer, "editMessageText")
                if int(c.params["message_id"]) == live_id
            ]

        await standin.wait_for(lambda: any("ถนน" in t and "1 " in t for t in live_edits()))
        await asyncio.sleep(0.5)
        final = live_edits()[-1]
        assert (
            th(
                "{rank}. {text} — {votes} votes ({paper} on paper)",
                rank=1,
                text="ถนน",
                votes=1,
                paper=0,
            )
            in final
        )
        assert len(live_edits()) <= 2  # throttled, not one edit per ballot
        assert len(standin.sent(officer)) == m + 1  # no new messages for the team member
    finally:
        standin.release_polls()
        await channel.stop()


async def test_presence_qr_photo_and_deep_link(
    telegram: TelegramChannel, standin: TelegramStandIn, store: Store, tambon: Tambon
) -> None:
    from storage.base import PollMethod

    officer = 5150
    await onboard(standin, store, tambon, officer, role=Role.TEAM)
    n = await onboard(standin, store, tambon)
    poll = await store.create_poll(
        tambon.id, "ห้อง", PollMethod.APPROVAL, 1, [("ก", None), ("ข", None)]
    )
    await store.set_poll_status(poll.id, "open")
    standin.text(officer, "/presence")
    await standin.wait_for(lambda: bool(standin.sent(officer, "sendPhoto")))
    (photo,) = standin.sent(officer, "sendPhoto")
    poll = await store.get_poll(poll.id) or poll
    assert f"/here {poll.presence_code}" in photo.params["caption"]
    standin.text(USER, f"/start here-{poll.presence_code}")  # what scanning the QR sends
    await reply_count(standin, n + 1)
    assert texts(standin)[-1] == th(
        "Thank you, you are counted as present at the hearing. Type /vote to vote."
    )
    assert await store.is_present(poll.id, (await store.get_member("telegram", str(USER))).id)  # type: ignore[union-attr]


async def test_editing_a_photo_caption_keeps_one_copy_of_the_photo(
    telegram: TelegramChannel, standin: TelegramStandIn, store: Store, tambon: Tambon
) -> None:
    n = await onboard(standin, store, tambon)
    original = standin.photo(USER, "สะพานผุ", file_id="AgAC-once")
    await reply_count(standin, n + 1)
    standin.edit(original, "สะพานไม้ผุพัง อันตรายมาก")
    standin.edit(original, "สะพานไม้ผุพัง อันตรายมากค่ะ")
    await reply_count(standin, n + 5)
    await press(standin, "ok:", n + 6)
    (submission,) = await store.list_submissions(tambon.id)
    assert submission.text == "สะพานไม้ผุพัง อันตรายมากค่ะ"
    assert [a.file_id for a in submission.attachments] == ["AgAC-once"]


async def test_forget_leaves_none_of_the_words_in_the_store(
    telegram: TelegramChannel,
    standin: TelegramStandIn,
    store: Store,
    tambon: Tambon,
    db_path: Path,
) -> None:
    """DESIGN §6: after /forget none of the person's words are anywhere in the store — not in
    the updates the inbox keeps for recognising redeliveries, not in the replies that quoted
    them, not in a dead letter. The updates' keys stay, so a redelivery is still stored once."""
    words = "ซอยกุหลาบเจ็ดสีน้ำท่วมขังหน้าบ้านเลขที่๙๙"
    n = await onboard(standin, store, tambon)
    update = standin.text(USER, words)
    await reply_count(standin, n + 1)
    await press(standin, "ok:", n + 2)
    standin.text(USER, "/forget")
    await reply_count(standin, n + 3)
    await press(standin, "forget:yes", n + 4)
    await telegram.pipeline.drain()
    assert await store.get_member("telegram", str(USER)) is None

    def rows_holding(needle: str) -> list[tuple[str, tuple[object, ...]]]:
        found = []
        with sqlite3.connect(db_path) as db:
            tables = [
                r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for table in tables:
                for row in db.execute(f'SELECT * FROM "{table}"'):
                    if any(isinstance(v, str) and needle in v for v in row):
                        found.append((table, row))
        return found

    assert rows_holding(words) == []
    assert rows_holding(words[:12]) == []  # nor a piece of them (a reply's preview)
    # The key of the update that carried them is kept: sent again, it is not taken as new.
    handled = len(standin.sent(USER))
    standin.redeliver(update)
    await telegram.pipeline.drain()
    assert len(standin.sent(USER)) == handled
    assert await store.get_member("telegram", str(USER)) is None


async def test_command_lists_in_thai_and_english_and_the_teams_in_its_chats(
    telegram: TelegramChannel, standin: TelegramStandIn, store: Store, tambon: Tambon
) -> None:
    """Issue 28: the command list set with setMyCommands per language (Thai for everyone
    else), the menu button opening it, and the team's list in a team member's own chat only:
    set when the role is given (at their next message), deleted when it is taken."""
    from handlers.services import members

    default = {"type": "default"}
    thai = standin.commands_for(default)
    assert [c["command"] for c in thai][:6] == [
        "problem",
        "mine",
        "vote",
        "plan",
        "mydata",
        "help",
    ]
    assert "summary" not in {c["command"] for c in thai}
    assert thai == standin.commands_for(default, "th")
    described = {c["command"]: c["description"] for c in thai}
    assert described["mine"] == th("What you reported and where it stands")
    english = {c["command"]: c["description"] for c in standin.commands_for(default, "en")}
    assert english["mine"] == "What you reported and where it stands"
    assert standin.menu_button == {"type": "commands"}

    n = await onboard(standin, store, tambon)
    chat = {"chat_id": USER, "type": "chat"}
    assert standin.commands_for(chat) == []  # a villager: the default list
    member = await store.get_member("telegram", str(USER))
    assert member is not None
    await members.change_role(store, member, Role.TEAM)  # given elsewhere (the CLI)
    standin.text(USER, "เมนู")
    await reply_count(standin, n + 1)
    await standin.wait_for(lambda: bool(standin.commands_for(chat, "en")))
    team = {c["command"] for c in standin.commands_for(chat)}
    assert {"summary", "report", "results", "mine"} <= team
    assert standin.commands_for(chat, "en")[0]["description"] == "Tell the team a problem or need"
    assert th("Summary") in str(standin.last_keyboard_message(USER)["reply_markup"])
    # Asked once: another message sets nothing again.
    calls = len([c for c in standin.calls if c.method == "setMyCommands"])
    standin.text(USER, "ช่วยเหลือ")
    await reply_count(standin, n + 2)
    assert len([c for c in standin.calls if c.method == "setMyCommands"]) == calls
    member = await store.get_member("telegram", str(USER))
    assert member is not None
    await members.change_role(store, member, Role.VILLAGER)
    standin.text(USER, "เมนู")
    await reply_count(standin, n + 3)
    await standin.wait_for(lambda: not standin.commands_for(chat, "en"))
    assert standin.commands_for(chat) == []
    assert th("Summary") not in str(standin.last_keyboard_message(USER)["reply_markup"])


async def test_words_instead_of_commands_on_telegram(
    telegram: TelegramChannel, standin: TelegramStandIn, store: Store, tambon: Tambon
) -> None:
    """Issue 28 on Telegram: cancel in Thai at the draft; a menu button runs its command."""
    n = await onboard(standin, store, tambon)
    standin.text(USER, ROAD)
    await reply_count(standin, n + 1)
    standin.text(USER, "ยกเลิกครับ")
    await reply_count(standin, n + 2)
    assert texts(standin)[-1] == th("Cancelled. You can type a new problem or need at any time.")
    standin.text(USER, "เมนู")
    await reply_count(standin, n + 3)
    await press(standin, "cmd:mine", n + 4)
    assert texts(standin)[-1] == th(
        "You have not filed anything yet. Just type a problem or need to start."
    )
    assert await store.count_submissions(tambon.id) == 0
