"""One test per hole found by probing the bot from outside (issue "Nobody sees what is not
theirs"); each failed before its fix. Finding 1, the structural redaction, is in
test_privacy.py; the listener's timeouts in test_listener_limits.py; the dispatch fuzzing in
test_dispatch_fuzz.py."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot import web
from bot.channels.telegram import TelegramChannel
from bot.core import Engine
from bot.nlp import KeywordTagger
from bot.pipeline import Pipeline
from handlers.services import limits
from handlers.services.limits import Limits
from handlers.types import Attachment, Incoming, Media, Tags
from storage.base import Attempts, Role, Store, Tambon
from storage.sqlite import SQLiteStore
from tests import test_telegram, test_webhook_input
from tests.conftest import console, join_code, onboard, run_cli_ok, th
from tests.line_standin import Events
from tests.telegram_standin import TelegramStandIn
from tests.test_privacy import PHONE
from tests.test_telegram import USER, press, reply_count, texts
from tests.test_telegram import onboard as tg_onboard
from tests.test_webhook_input import Site

standin = test_telegram.standin
telegram = test_telegram.telegram
site = test_webhook_input.site

PAUSED = "That was several wrong join codes in a row"
WRONG = "/start 11111111"


async def test_the_right_code_does_not_buy_more_guesses(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    """Finding 2: four wrong guesses, the poster's code, again and again: the fifth wrong
    guess is paused all the same, for a member for whom the code changes nothing."""
    await onboard(engine, store, tambon, "a")
    poster = await join_code(store, tambon, Role.VILLAGER)
    answers = await console(engine, "a", *[WRONG] * 4, f"/start {poster}", WRONG)
    assert not any(PAUSED in a for a in answers[:5])
    assert "ท่าตะโก" in answers[4]  # "already a member"
    assert (
        th(
            "That was several wrong join codes in a row, so joining is paused for you for "
            "{minutes} minutes. Please check the code with your tambon team or village head, "
            "then try again.",
            minutes=15,
        )
        in answers[5]
    )
    # A join that changes something (a new person's first join) does clear the count.
    first = await console(engine, "b", *[WRONG] * 4, f"/start {poster}", "3", "1", WRONG)
    assert PAUSED not in first[-1]


P_TEXT = "หน้าบ้านลุงสมหมาย ถนนหมู่3เป็นหลุมเป็นบ่อ รถสัญจรลำบาก โทร 081-234-5678"
P_OWN = "หน้าบ้านลุงสมหมาย"  # words only P wrote
Q_TEXT = "ถนนหมู่3เป็นหลุมเป็นบ่อ รถสัญจรลำบากมาก"


def every_value(path: Path) -> str:
    """Every row of every table, as SQL text, with JSON's \\u escapes undone too."""
    with sqlite3.connect(path) as db:
        dump = "\n".join(db.iterdump())
    return dump + "\n" + dump.encode().decode("unicode_escape", errors="ignore")


async def test_forget_leaves_no_words_in_other_peoples_rows(
    telegram: TelegramChannel,
    standin: TelegramStandIn,
    store: Store,
    tambon: Tambon,
    db_path: Path,
) -> None:
    """Finding 3: after P's /forget, P's words and number are nowhere in the store: not in
    Q's "same problem?" question or Q's button press (Telegram echoes the message), not in the
    team's /summary reply, and no count of use is kept under P's platform id."""
    p_user, q_user, lead = USER, USER + 1, USER + 2
    n = await tg_onboard(standin, store, tambon, p_user)
    standin.text(p_user, P_TEXT)
    await reply_count(standin, n + 1, p_user)
    await press(standin, "ok:", n + 2, p_user)
    n = await tg_onboard(standin, store, tambon, q_user)
    standin.text(q_user, Q_TEXT)
    await reply_count(standin, n + 1, q_user)
    await press(standin, "ok:", n + 2, q_user)  # the "same problem?" question
    await press(standin, "dup:same", n + 3, q_user)
    await tg_onboard(standin, store, tambon, lead, role=Role.TEAM)
    standin.text(lead, "/summary")
    # P's words were shown to the team.
    await standin.wait_for(lambda: any(P_OWN in text for text in texts(standin, lead)))
    assert P_OWN in every_value(db_path)
    n = len(standin.sent(p_user))
    standin.text(p_user, "/forget")
    await reply_count(standin, n + 1, p_user)
    await press(standin, "forget:yes", n + 2, p_user)
    await telegram.pipeline.settle_sent()
    stored = every_value(db_path)
    assert P_OWN not in stored
    assert "081-234-5678" not in stored
    assert f"telegram:{p_user}" not in stored  # no count of use kept
    assert await store.get_member("telegram", str(q_user)) is not None  # Q is untouched


async def test_counts_that_ran_out_are_pruned(store: Store) -> None:
    """Finding 3: the attempts table is pruned (it kept every telegram:<id> for ever)."""
    now = datetime.now(UTC)
    await store.save_attempts(Attempts("messages", "telegram:1", 3, now - timedelta(hours=3)))
    await store.save_attempts(Attempts("messages", "telegram:2", 3, now - timedelta(seconds=5)))
    await store.save_attempts(
        Attempts("join", "telegram:3", 5, now - timedelta(hours=3), now + timedelta(minutes=5))
    )
    assert await limits.prune(store, Limits(), now) == 1
    assert await store.get_attempts("messages", "telegram:1") is None
    assert await store.get_attempts("messages", "telegram:2") is not None
    assert await store.get_attempts("join", "telegram:3") is not None  # paused still


class DownTagger(KeywordTagger):
    """A tagger that fails on every text: input the bot cannot handle, whatever it is."""

    def tag(self, text: str, village_names: Mapping[int, str] | None = None) -> Tags:
        raise RuntimeError("the tagger is down")


async def test_messages_that_crash_handling_are_still_limited(
    standin: TelegramStandIn, store: Store, tambon: Tambon
) -> None:
    """Finding 6: a message whose handling fails rolled its count back, so such messages were
    never limited. Counted outside the failed transaction, the sender is paused like anyone who
    sends too fast, and told so, instead of queueing endless retries."""
    engine = Engine(store, DownTagger(), limits=Limits.allowing(messages=6))
    channel = TelegramChannel(
        engine,
        test_telegram.TOKEN,
        base_url=standin.base_url,
        pipeline=Pipeline(engine, max_attempts=2),
    )
    await channel.start()
    try:
        n = await tg_onboard(standin, store, tambon)
        for index in range(6):
            standin.text(USER, f"ถนนพังครั้งที่ {index}")
        slow = th(
            "You are sending messages faster than I can read them. Please wait {seconds} "
            "seconds, then send your last message again.",
            seconds=60,
        ).split("60")[0]
        await standin.wait_for(lambda: any(slow in t for t in texts(standin)[n:]), within=30)
        assert len(await store.dead_letters()) < 6  # some were answered "too fast" instead
    finally:
        standin.release_polls()
        await channel.stop()


async def test_the_database_and_its_backups_are_private(tmp_path: Path) -> None:
    """Finding 7: under the usual umask (022) the live database and its backups were made
    world-readable, and a backup kept the report-link tokens of delivered replies."""
    old = os.umask(0o022)
    try:
        live = tmp_path / "live.db"
        store = SQLiteStore(live)
        await store.open()
        token = "Zm9yZ2V0LW1lLXRva2VuLTE5Mi1iaXRz"
        sent = await store.outbox_add(
            [("telegram", "1", json.dumps({"text": f"https://example.org/reports/{token}"}))],
            lease_until=datetime.now(UTC) + timedelta(minutes=1),
        )
        await store.outbox_settle([m.id for m in sent], "sent")
        backup = tmp_path / "backup.db"
        env = {"TAMBON_DATABASE_URL": f"sqlite:///{live}", "PATH": "/usr/bin:/bin"}
        await run_cli_ok(env, "backup", "-o", str(backup))
        await store.close()
    finally:
        os.umask(old)
    for path in (live, backup):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert token.encode() not in backup.read_bytes()


def unreadable_updates(standin: TelegramStandIn, user: int) -> list[dict[str, Any]]:
    """Updates python-telegram-bot cannot read, from a real-looking client: a text holding an
    unpaired UTF-16 surrogate, and a button press without chat_instance (not queued yet)."""
    surrogate = standin.text(user, "ถนนพัง \ud83d", queue=False)
    press = standin._update(callback_query={"id": "77", "from": standin.user(user), "data": "ok:"})
    return [surrogate, press]


async def test_one_unreadable_update_holds_up_nobody_when_polling(
    telegram: TelegramChannel, standin: TelegramStandIn, store: Store, tambon: Tambon
) -> None:
    """Finding 9: one update the bot cannot read made the whole getUpdates batch fail, again
    and again; another person's /start waited 40 s and more. Read one by one, the unreadable
    one goes to the dead letters and the batch is confirmed."""
    for update in unreadable_updates(standin, USER + 5):
        standin.push(update)
    code = await join_code(store, tambon)
    standin.text(USER, f"/start {code}")
    await standin.wait_for(lambda: len(standin.sent(USER)) >= 2, within=3)
    letters = await store.dead_letters("telegram")
    assert len(letters) == 1  # the press; the text is kept with U+FFFD and answered
    assert "chat_instance" not in letters[0].payload
    await standin.wait_for(lambda: len(standin.sent(USER + 5)) >= 1, within=3)


async def test_unreadable_and_unasked_updates_are_confirmed_on_the_webhook(
    site: tuple[Site, Events], store: Store
) -> None:
    """Finding 9 on the webhook: an update the bot cannot read got 503 for ever, and a valid
    one of a kind it did not subscribe to got 400; both are confirmed now (the first kept as a
    dead letter). Finding 11: a text that is a number or an object is refused with 400."""
    server, _ = site
    headers = {"X-Telegram-Bot-Api-Secret-Token": test_webhook_input.SECRET}
    standin = TelegramStandIn()
    for update in unreadable_updates(standin, USER):
        assert await server.post(web.TELEGRAM_PATH, json.dumps(update).encode(), headers) == 200
    assert len(await store.dead_letters("telegram")) == 1
    reaction = {
        "update_id": 900,
        "message_reaction": {
            "chat": {"id": USER, "type": "private"},
            "message_id": 3,
            "date": 0,
            "old_reaction": [],
            "new_reaction": [],
        },
    }
    assert await server.post(web.TELEGRAM_PATH, json.dumps(reaction).encode(), headers) == 200
    for text in (5, {"a": 1}, ["x"]):
        forged = standin.text(USER, "x")
        forged["message"]["text"] = text
        assert await server.post(web.TELEGRAM_PATH, json.dumps(forged).encode(), headers) == 400
    assert len(await store.dead_letters("telegram")) == 1
    assert await test_webhook_input.kept(store) <= 1  # the surrogate text, handled or waiting


async def test_mydata_shows_what_is_kept_as_a_message_and_a_file(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    """Finding 10: /mydata showed counts only. Now the person sees their words (numbers and
    all: they are theirs), their photos' file references, their locations, their ballots and
    the problems they said were the same — in the chat and as a JSON file."""
    await onboard(engine, store, tambon, "lead", role=Role.TEAM)
    await onboard(engine, store, tambon, "p")
    await onboard(engine, store, tambon, "q")
    await console(engine, "q", "น้ำประปาไม่ไหลมาสามวันแล้ว หมู่3", "1")
    place = Attachment(Media.LOCATION, latitude=15.63512, longitude=100.49471)
    await engine.handle(Incoming("console", "p", attachment=place))
    await console(engine, "p", f"ไฟทางดับทั้งซอยหมู่3 โทร {PHONE}", "1")
    await console(engine, "p", "น้ำประปาไม่ไหลมาสามวัน หมู่3", "1", "1")  # the same as q's
    await console(engine, "lead", "/newpoll ลำดับความสำคัญ", "1")
    await console(engine, "p", "/vote", "1")
    replies = await engine.handle(Incoming("console", "p", text="/mydata"))
    shown = "\n".join(out.text for out in replies)
    assert PHONE in shown  # their own words, as typed
    assert "15.63512, 100.49471" in shown
    (poll,) = await store.list_polls(tambon.id)
    assert f"#{poll.id}" in shown
    (group,) = [s.group_id for s in await store.list_submissions(tambon.id) if "ประปา" in s.text]
    assert th("Problems you said were the same as yours: {refs}", refs=f"#{group}") in shown
    (with_file,) = [out for out in replies if out.reply.file is not None]
    made = await engine.file(with_file.reply.file)  # type: ignore[arg-type]
    assert made is not None
    assert made.filename == "mydata.json"
    data = json.loads(made.data)
    (mine,) = data["submissions"]
    assert mine["text"] == f"ไฟทางดับทั้งซอยหมู่3 โทร {PHONE}"
    assert mine["locations"] == [{"latitude": 15.63512, "longitude": 100.49471}]
    assert data["same_problem_as"][0]["problem"] == group
    assert len(data["ballots"]) == 1
    assert data["ballots"][0]["choices"]
    # Someone else's submission is not theirs to see (a ballot option is, as on the ballot).
    assert all("แล้ว" not in s["text"] for s in data["submissions"])


async def test_a_location_that_is_no_place_gets_an_answer_not_a_stuck_draft(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    """Finding 11: latitude 999 was accepted into a draft and then failed the store's CHECK
    on confirm, every time. Now it is refused at once, politely, and the draft goes on."""
    await onboard(engine, store, tambon, "p")
    bad = Attachment(Media.LOCATION, latitude=999.0, longitude=100.5)
    no_place = th(
        "I could not read that location (its coordinates are not a place). Please share it "
        "again, or describe the place in words."
    )
    (answer,) = await engine.handle(Incoming("console", "p", attachment=bad))
    assert answer.text == no_place
    await console(engine, "p", "ถนนหมู่3เป็นหลุมเป็นบ่อ")
    answers = await engine.handle(Incoming("console", "p", attachment=bad))
    assert answers[0].text == no_place
    (filed,) = await console(engine, "p", "1")
    assert "#" in filed
    (kept,) = await store.list_submissions(tambon.id)
    assert kept.attachments == ()


def test_a_newline_cannot_end_a_markdown_row_and_full_width_formulas_are_inert() -> None:
    """Finding 11: a newline in a villager's text ended the Markdown table; a CSV cell that
    started with a full-width ＝ got no guard."""
    from bot.report import escape_markdown
    from handlers.services.privacy import spreadsheet_safe

    assert "\n" not in escape_markdown("ถนนพัง\n| x | y |\nน้ำท่วม\r\n")
    for formula in ("＝HYPERLINK(1)", "＋1", "－1", "＠SUM(1)"):
        assert spreadsheet_safe(formula) == "'" + formula
    assert spreadsheet_safe("ถนน＝พัง") == "ถนน＝พัง"
