"""Phone and ID numbers out of reports: villagers sometimes leave one in a message ("call me on
...", a citizen ID for a welfare request).

Reports (HTML, PDF, Markdown, spreadsheets, chat summaries) show ``[number hidden]`` in its place,
in the reader's language (the caller renders :data:`HIDDEN`); the operator's raw export
(``tambon-bot export``) keeps the text as typed.
"""

from __future__ import annotations

import re

from handlers.types import T

# A Thai number: 0 then 8–9 more digits (mobile 08x/09x/06x, landline 02–07x), or +66 / 66
# without the 0; Arabic or Thai digits, with spaces, dots or dashes between groups.
_DIGIT = "[0-9\u0e50-\u0e59]"
_SEP = r"[\s.\-]?"
PHONE = re.compile(
    rf"(?<![0-9\u0e50-\u0e59])(?:(?:\+|00)?66{_SEP}|[0\u0e50]){_DIGIT}(?:{_SEP}{_DIGIT}){{7,8}}"
    rf"(?![0-9\u0e50-\u0e59])"
)
# A 13-digit citizen ID, grouped 1-2345-67890-12-3 or not.
CITIZEN_ID = re.compile(
    rf"(?<![0-9\u0e50-\u0e59]){_DIGIT}(?:{_SEP}{_DIGIT}){{12}}(?![0-9\u0e50-\u0e59])"
)
HIDDEN = T("[number hidden]")
# Nine digits in a row (spaces, dots or dashes between): most messages have none, and one quick
# search spares them the two patterns above (a 100,000-row report calls this for every row).
_MAYBE = re.compile(rf"{_DIGIT}(?:{_SEP}{_DIGIT}){{8}}")


# A link's path may hold digits that look like a number (a report link's token): left alone.
_LINK = re.compile(r"https?://\S+")


def redact_numbers(text: str, hidden: str) -> str:
    """``text`` with phone and citizen ID numbers replaced by ``hidden`` (:data:`HIDDEN`,
    rendered in the reader's language)."""
    if not _MAYBE.search(text):
        return text
    if "://" in text:
        parts = _LINK.split(text)
        links = _LINK.findall(text)
        out = [_redact(parts[0], hidden)]
        for link, part in zip(links, parts[1:], strict=True):
            out += [link, _redact(part, hidden)]
        return "".join(out)
    return _redact(text, hidden)


def _redact(text: str, hidden: str) -> str:
    return PHONE.sub(hidden, CITIZEN_ID.sub(hidden, text))


# A cell that starts with one of these is run as a formula by Excel or LibreOffice (OWASP's
# "CSV injection"): "=HYPERLINK(...)", "+cmd|...", "-2+3+cmd|...", "@SUM(...)", tab, return.
# Their full-width forms (＝＋－＠) too: spreadsheets in Thai and East Asian locales read them as
# the ASCII ones when a formula is typed.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
# What a spreadsheet file cannot hold (XML 1.0 forbids these control characters).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def spreadsheet_safe(cell: object) -> object:
    """A cell for a CSV or XLSX file: text never starts a formula and holds no control
    character; numbers stay numbers."""
    if not isinstance(cell, str):
        return cell
    cell = _ILLEGAL.sub("", cell)
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def without_control_characters(cell: object) -> object:
    """A cell for an XLSX file, which cannot hold control characters."""
    return _ILLEGAL.sub("", cell) if isinstance(cell, str) else cell


def drop_control_characters(text: str) -> str:
    """Text as typed, without control characters (NUL, ESC ...); line breaks stay."""
    cleaned = _ILLEGAL.sub("", text.replace("\r\n", "\n").replace("\t", " "))
    return cleaned.replace("\r", "\n")
