"""Catalogs stay complete and the code holds no user-facing Thai."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from bot import i18n
from handlers.payloads import MAX_PAYLOAD_BYTES, Pick
from handlers.types import T

ROOT = Path(__file__).resolve().parent.parent
THAI = re.compile("[\u0e00-\u0e7f]")


def code_msgids() -> set[str]:
    found: set[str] = set()
    for package in ("bot", "handlers"):
        for _, _, message, _, _ in extract_from_dir(
            ROOT / package, method_map=[("**.py", "python")], keywords={"T": None}
        ):
            found.add(message if isinstance(message, str) else message[0])
    for _, _, message, _, _ in extract_from_dir(
        ROOT / "bot" / "templates", method_map=[("**.j2", "jinja2")], keywords={"_": None}
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_sentence_in_code_has_a_thai_and_an_english_entry() -> None:
    msgids = code_msgids()
    assert len(msgids) > 50
    for locale in i18n.LOCALES:
        catalog = i18n.catalog_messages(locale)
        missing = sorted(m for m in msgids if not catalog.get(m))
        assert not missing, f"{locale}: untranslated {missing[:5]}"


def test_catalogs_have_no_stale_entries() -> None:
    msgids = code_msgids()
    for locale in i18n.LOCALES:
        stale = sorted(set(i18n.catalog_messages(locale)) - msgids)
        assert not stale, f"{locale}: not used in code {stale[:5]}"


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_translations_keep_the_placeholders(locale: str) -> None:
    for msgid, translated in i18n.catalog_messages(locale).items():
        assert placeholders(msgid) == placeholders(translated), msgid


def test_thai_translations_are_thai() -> None:
    for msgid, translated in i18n.catalog_messages("th").items():
        words = re.sub(r"\{\w+\}", "", msgid)
        if any(c.isalpha() for c in words):
            assert THAI.search(translated), f"not translated to Thai: {msgid!r}"


def test_no_thai_script_in_python_outside_tests() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("bot", "handlers", "storage", "locales", "bench")
        if (ROOT / folder).exists()
        for path in (ROOT / folder).rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if THAI.search(line)
    ]
    assert not offenders, offenders


def test_buddhist_era_dates_for_thai_readers() -> None:
    moment = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)  # already 1 January 2027 in Bangkok
    assert i18n.format_date(moment, "th") == "1 ม.ค. 2570"
    assert i18n.format_date(moment, "th", with_time=True) == "1 ม.ค. 2570 03:00"
    assert i18n.format_date(moment, "en") == "1 Jan 2027"
    assert i18n.buddhist_year(moment) == 2570


def test_render_nests_texts_and_lists() -> None:
    text = T("• Category: {categories}", categories=[T("Water sources"), T("Agriculture")])
    # unknown msgids fall back to the English msgid; nested labels are translated
    assert i18n.render(text, "th") == "• Category: แหล่งน้ำ, การเกษตร"


def test_payloads_are_short_ascii_and_round_trip() -> None:
    pick = Pick("cat", "environment")
    assert Pick.unpack(pick.pack()) == pick
    assert len(pick.pack().encode()) <= MAX_PAYLOAD_BYTES
    with pytest.raises(ValueError, match="ASCII"):
        Pick("cat", "\u0e19\u0e49\u0e33").pack()
    assert Pick.unpack("garbage") is None
    assert Pick.unpack(None) is None
