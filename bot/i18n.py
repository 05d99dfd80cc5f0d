"""Message catalogs (gettext ``.po`` files read with Babel) and locale-aware rendering.

The ``.po`` files in ``locales/`` are the single source of every sentence users see. They are
compiled in memory at start-up, so no build step is needed and a translator's edit shows up on
the next start.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

import locales
from handlers.services.privacy import HIDDEN, redact_numbers
from handlers.types import Lines, Own, T, Text

LOCALES = ("th", "en")
DEFAULT_LOCALE = "th"
BANGKOK = ZoneInfo("Asia/Bangkok")
BUDDHIST_ERA_OFFSET = 543


@cache
def translations(locale: str) -> Translations:
    """The compiled catalog for ``locale`` (``th`` or ``en``)."""
    if locale not in LOCALES:
        raise ValueError(f"unknown locale {locale!r}")
    path = locales.catalog_path(locale)
    with path.open("rb") as po:
        catalog = read_po(po, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def gettext(msgid: str, locale: str) -> str:
    return translations(locale).gettext(msgid)


def format_date(moment: datetime, locale: str, *, with_time: bool = False) -> str:
    """A date as people read it: Asia/Bangkok time; Thai readers get the Buddhist-era year."""
    local = moment.astimezone(BANGKOK)
    pattern = "d MMM" + (" HH:mm" if with_time else "")
    if locale == "th":
        # Babel has no Buddhist calendar; the Thai convention is the Gregorian day and month
        # with the year plus 543 (B.E.).
        day_month = format_datetime(local, "d MMM", locale="th")
        year = local.year + BUDDHIST_ERA_OFFSET
        time = format_datetime(local, " HH:mm", locale="th") if with_time else ""
        return f"{day_month} {year}{time}"
    return format_datetime(local, pattern.replace("d MMM", "d MMM y"), locale=locale)


def era_date(iso: str, locale: str) -> str:
    """An ISO date ("2027-09-30") or moment ("2026-12-07T07:03:00Z") for a spreadsheet cell: still
    year-month-day, so it sorts, but in the reader's era and, for a moment, Bangkok time to the
    minute ("2570-09-30", "2569-12-07 14:03" in Thai). What is not ISO is returned as it is."""
    offset = BUDDHIST_ERA_OFFSET if locale == "th" else 0
    try:
        if "T" not in iso:
            day = date.fromisoformat(iso)
            return f"{day.year + offset:04d}-{day:%m-%d}"
        local = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(BANGKOK)
    except ValueError:
        return iso
    return f"{local.year + offset:04d}-{local:%m-%d %H:%M}"


def iso_from_era(typed: str) -> str:
    """A year-month-day date as a Thai sheet may hold it, in the Buddhist era ("2570-09-30"), as
    ISO ("2027-09-30"); a year before 2400 is taken as Gregorian already."""
    year, dash, rest = typed.strip().partition("-")
    if dash and year.isdigit() and int(year) >= 2400:
        return f"{int(year) - BUDDHIST_ERA_OFFSET:04d}-{rest}"
    return typed


def buddhist_year(moment: datetime) -> int:
    return moment.astimezone(BANGKOK).year + BUDDHIST_ERA_OFFSET


def render(text: Text, locale: str) -> str:
    """Translate ``text`` into ``locale`` and fill in its parameters (rendered recursively),
    as they are: for the operator and for reports that hide numbers themselves."""
    return _render(text, locale, None)


def render_for_person(text: Text, locale: str) -> str:
    """``text`` as a person reads it in chat: every text parameter with phone and ID numbers
    hidden (it may be another person's words), except the reader's own words (:class:`Own`).
    The engine renders every reply this way, so no flow can forget to."""
    return _render(text, locale, render(HIDDEN, locale))


def _render(text: Text, locale: str, hidden: str | None) -> str:
    template = gettext(text.msgid, locale)
    if not text.params:
        return template
    values = {name: _render_value(value, locale, hidden) for name, value in text.params.items()}
    return template.format_map(values)


def _render_value(value: object, locale: str, hidden: str | None) -> object:
    if isinstance(value, str):
        return value if hidden is None else redact_numbers(value, hidden)
    if isinstance(value, Own):
        return value.text
    if isinstance(value, Text):
        return _render(value, locale, hidden)
    if isinstance(value, Lines):
        return value.sep.join(_render(item, locale, hidden) for item in value.items)
    if isinstance(value, datetime):
        return format_date(value, locale)
    if isinstance(value, Sequence):
        return list_separator(locale).join(str(_render_value(v, locale, hidden)) for v in value)
    return value


def hide_numbers(text: str, locale: str) -> str:
    """``text`` with phone and citizen ID numbers hidden, the note in ``locale``."""
    return redact_numbers(text, render(HIDDEN, locale))


LIST_SEPARATOR = T(", ")


def list_separator(locale: str) -> str:
    return gettext(LIST_SEPARATOR.msgid, locale)


def catalog_messages(locale: str) -> Mapping[str, str]:
    """Every msgid of a catalog with its translation (empty when untranslated)."""
    with locales.catalog_path(locale).open("rb") as po:
        catalog = read_po(po, locale=locale)
    return {str(m.id): str(m.string) for m in catalog if m.id}
