"""Issue 28: no slash needed. Words for every command, in Thai and English, at any moment; a way
out of every question; a greeting with the menu. On the console here; LINE's rich menu and
Telegram's command lists are tested with their stand-ins (test_line.py, test_telegram.py)."""

from __future__ import annotations

import pytest

from bot.core import Engine
from handlers import menu
from handlers.types import Incoming
from storage.base import PollMethod, Role, Store, Tambon
from tests.conftest import console, en, onboard, th

ROAD = "ถนนหมู่3เป็นหลุมเป็นบ่อ รถสัญจรลำบาก"
UNSURE = "ช่วยดูเรื่องนี้ให้หน่อย"  # no category the tagger is sure of: the category question


# (typed, the command it stands for): real-looking typing, with endings, emoji, slips.
WORDS = [
    ("เมนู", "menu"),
    ("เมนูค่ะ", "menu"),
    ("เมนุ", "menu"),  # a slip of the vowel
    ("menu", "menu"),
    ("ช่วยเหลือ", "help"),
    ("ช่วยเหลือหน่อยครับ 🙏", "help"),
    ("Help!", "help"),
    ("เรื่องของฉัน", "mine"),
    ("เรื่อง ของ ผม", "mine"),
    ("my reports", "mine"),
    ("สถานะ", "status"),
    ("สถานนะ", "status"),  # one letter too many
    ("โหวต", "vote"),
    ("โหวด", "vote"),
    ("แผน", "plan"),
    ("แผนตำบลค่ะ", "plan"),
    ("ข้อมูลของฉัน", "mydata"),
    ("แจ้งปัญหา", "problem"),
]


async def test_each_word_does_what_its_command_does_and_nothing_is_filed(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    for index, (typed, command) in enumerate(WORDS):
        user = f"u{index // 4}"  # a few words each: within a person's messages a minute
        if index % 4 == 0:
            await onboard(engine, store, tambon, user)
        (by_word,) = await console(engine, user, typed)
        (by_slash,) = await console(engine, user, f"/{command}")
        assert by_word == by_slash, typed
    assert await store.count_submissions(tambon.id) == 0
    (shown,) = await console(engine, "u0", "เมนู")
    for entry in menu.entries(team=False):
        assert th(entry.label.msgid) in shown
    assert th("Summary") not in shown  # the team's tiles are the team's


async def test_words_that_are_not_commands_are_still_problems(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    """A message that holds a command word among others is a message: "แผน" alone is the plan,
    "แผนที่หมู่ 3 ไม่มีถนน" (a map…) and a long sentence are reports."""
    await onboard(engine, store, tambon, "u1")
    for text in ("ถนนไม่มีไฟ ช่วยเหลือด้วย", "น้ำท่วมแผนที่หมู่3ไม่ตรง", "ขอแผนงานซ่อมถนนหมู่3"):
        (draft,) = await console(engine, "u1", text)
        assert th("✅ Confirm") in draft or th("Done") in draft, text
        await console(engine, "u1", "ยกเลิก")


async def test_words_in_the_middle_of_intake(engine: Engine, store: Store, tambon: Tambon) -> None:
    await onboard(engine, store, tambon, "u1")
    (asked,) = await console(engine, "u1", UNSURE)
    assert th("Done") in asked  # the category question
    # Help answers and leaves the question where it was.
    helped, picked = await console(engine, "u1", "ช่วยเหลือ", "1")
    assert th("What the bot can do") not in helped  # the help text, not the menu's line
    assert "/mine" in helped
    assert th("Done") in picked  # still choosing categories
    # The menu closes the question; nothing is filed.
    (shown,) = await console(engine, "u1", "เมนู")
    assert (
        th(
            "I closed the question you were answering; nothing was filed from it.\n{heading}",
            heading=th("What would you like to do? Tap a button below, or just type the words."),
        )
        in shown
    )
    member = await store.get_member("console", "u1")
    assert member is not None
    assert (await store.get_conversation(member.id)).step == ""
    # Cancel, in Thai, at the confirmation.
    _, cancelled = await console(engine, "u1", ROAD, "ยกเลิกค่ะ")
    assert th("Cancelled. You can type a new problem or need at any time.") in cancelled
    # And in English, at the category question.
    _, cancelled = await console(engine, "u1", UNSURE, "cancel")
    assert en("Cancelled. You can type a new problem or need at any time.") in cancelled or (
        th("Cancelled. You can type a new problem or need at any time.") in cancelled
    )
    assert await store.count_submissions(tambon.id) == 0


async def test_the_loop_ends_on_the_second_miss(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    """The issue's table: at the category question, text that is no category got the same
    hint again and again. Now the second miss offers a way out; "file it as a new problem"
    files the words typed."""
    await onboard(engine, store, tambon, "u1")
    _, first, second = await console(engine, "u1", UNSURE, "ไม่รู้", "ไฟฟ้าดับบ่อยหมู่3ตอนกลางคืน")
    assert th("Please tap a category, or Done when finished.") in first
    assert th("Please tap a category, or Done when finished.") not in second
    assert th("That is not one of the answers I am waiting for. What would you like?") in second
    assert "1. " + th("File it as a new problem") in second
    (draft,) = await console(engine, "u1", "1")
    assert "ไฟฟ้าดับบ่อยหมู่3ตอนกลางคืน" in draft  # the new draft holds the last words typed
    (filed,) = await console(engine, "u1", "1")
    assert "#" in filed
    (submission,) = await store.list_submissions(tambon.id)
    assert submission.text == "ไฟฟ้าดับบ่อยหมู่3ตอนกลางคืน"


async def test_way_out_cancel_and_back(engine: Engine, store: Store, tambon: Tambon) -> None:
    await onboard(engine, store, tambon, "u1")
    *_, offered, back = await console(engine, "u1", ROAD, "อะไรนะ", "ไม่เข้าใจ", "2")
    assert "3. " + th("Cancel the question") in offered
    assert th("✅ Confirm") in back  # the question again
    # A miss after "back" starts counting afresh: the hint first.
    (hint,) = await console(engine, "u1", "หืม")
    assert th("Please choose one of the options below, or type /cancel to start over.") in hint
    (offered,) = await console(engine, "u1", "หืมม")
    (cancelled,) = await console(engine, "u1", "3")
    assert th("Cancelled. You can type a new problem or need at any time.") in cancelled
    assert await store.count_submissions(tambon.id) == 0


async def test_words_while_voting(engine: Engine, store: Store, tambon: Tambon) -> None:
    await onboard(engine, store, tambon, "a")
    poll = await store.create_poll(
        tambon.id, "จัดลำดับปัญหา", PollMethod.BORDA, 2, [("ถนน", None), ("น้ำ", None)]
    )
    await store.set_poll_status(poll.id, "open")
    card, picked, helped, cancelled = await console(engine, "a", "โหวต", "2", "ช่วยเหลือ", "ยกเลิก")
    assert "น้ำ" in card
    assert "➊ น้ำ" in picked
    assert "/vote" in helped
    assert th("Cancelled. You can type a new problem or need at any time.") in cancelled
    assert await store.list_ballots(poll.id) == []  # the ballot was not sent
    # The menu in the middle of a ballot closes it too.
    _, _, shown = await console(engine, "a", "/vote", "1", "เมนู")
    assert th("What would you like to do? Tap a button below, or just type the words.") in shown
    assert await store.list_ballots(poll.id) == []


async def test_greetings_show_the_menu_and_how_to_join(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    (hello,) = await console(engine, "new", "/start")
    assert "12345678" in hello
    assert th("Report a problem") in hello
    # Someone who has not joined: the menu's words answer, the rest says how to join.
    shown, mine = await console(engine, "new", "เมนู", "เรื่องของฉัน")
    assert th("Report a problem") in shown
    assert "12345678" in mine
    assert await store.get_member("console", "new") is None  # nothing kept about them


async def test_a_menu_button_runs_its_command(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    """A rich-menu tile or a /menu button posts cmd:NAME: the same as typing /NAME; a team tile
    pressed by a villager is refused as the command would be."""
    await onboard(engine, store, tambon, "u1")
    await onboard(engine, store, tambon, "lead", role=Role.TEAM)
    (by_button,) = await engine.handle(Incoming("console", "u1", choice="cmd:mine"))
    (by_slash,) = await console(engine, "u1", "/mine")
    assert by_button.text in by_slash
    (refused,) = await engine.handle(Incoming("console", "u1", choice="cmd:summary"))
    assert refused.text == th("Sorry, this command is only for the tambon team.")
    (shown,) = await console(engine, "lead", "เมนู")
    assert th("Summary") in shown
    assert th("Report") in shown
    (summary,) = await engine.handle(Incoming("console", "lead", choice="cmd:summary"))
    assert summary.text != refused.text


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("เมนู", "menu"),
        ("เมนูนะคะ", "menu"),
        ("ยกเลิค", "cancel"),
        ("ยกเลืก", "cancel"),
        ("ลบข้อมูลของฉัน", "forget"),
        ("ภาษา", "language"),
        ("Main Menu", "menu"),
        ("ถนนพัง", None),
        ("แผนที่", None),
        ("ครับ", None),
        ("", None),
    ],
)
def test_command_named(typed: str, expected: str | None) -> None:
    from bot import i18n
    from handlers.router import _plain

    assert menu.command_named(typed, i18n.render, _plain) == expected


async def test_words_at_the_plan_question(engine: Engine, store: Store, tambon: Tambon) -> None:
    """The plan's question (a photo with a villager's answer on a finished item): the words get
    out of it too, and two texts in a row are not met with the same request twice."""
    await onboard(engine, store, tambon, "u1")
    (asked,) = await engine.handle(Incoming("console", "u1", choice="photo:1.1"))
    assert asked.text == th("Please send the photo now (or /cancel).")
    (cancelled,) = await console(engine, "u1", "ยกเลิก")
    assert th("Cancelled. You can type a new problem or need at any time.") in cancelled
    await engine.handle(Incoming("console", "u1", choice="photo:1.1"))
    first, second = await console(engine, "u1", "ถ่ายไม่ได้", "มืดแล้ว")
    assert th("Please send a photo, or /cancel.") in first
    assert th("Back to the question") in second
    (shown,) = await console(engine, "u1", "เมนู")
    assert th("Report a problem") in shown
    member = await store.get_member("console", "u1")
    assert member is not None
    assert (await store.get_conversation(member.id)).step == ""


async def test_the_join_code_alone_joins(engine: Engine, store: Store, tambon: Tambon) -> None:
    """Joining without a slash: the code from the poster, in Thai digits and spaced as it is
    read out, or after a word for joining."""
    from tests.conftest import join_code

    code = await join_code(store, tambon)
    thai = code.translate({ord(d): chr(0x0E50 + int(d)) for d in "0123456789"})
    (welcome,) = await console(engine, "new", f"{thai[:4]} {thai[4:]}")
    assert th("Which village (moo) do you live in?") in welcome
    other = await join_code(store, tambon)
    (welcome,) = await console(engine, "other", f"เข้าร่วม {other}")
    assert th("Which village (moo) do you live in?") in welcome
    # Not a code: seven digits, or a word that is not for joining, is not taken for one.
    for text in ("1234567", f"ถนน {code}"):
        (answer,) = await console(engine, "third", text)
        assert th("Which village (moo) do you live in?") not in answer
    assert await store.get_member("console", "third") is None
