"""The villages' files, read and written: the village plans, the village data (facts or survey
indicators) and the resources, as CSV (UTF-8, as Excel saves it) or XLSX — and the templates
the team fills in (``tambon-bot villages plans template``, ``villages data template``).

Headers may be the columns' own English names (``villages.COLUMNS``), their labels in Thai or
English as the templates write them, or the words officers commonly use ("moo", "households",
in Thai: the catalog's "header words for: ..."); a category or a kind of resource by its code
or its name in either language. Rows come back keyed by the columns' own names, as the service
reads them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from bot import i18n
from bot.plantable import TableRefused, csv_table, workbook_tables
from handlers.labels import CATEGORY_LABELS, code_named, plain
from handlers.services import villages
from handlers.services.privacy import spreadsheet_safe
from handlers.types import T, Text

# Words officers write for each column, in the catalogs ("|" between words).
HEADER_WORDS: dict[str, Text] = {
    "village": T("header words for: village"),
    "title": T("header words for: title"),
    "details": T("header words for: details"),
    "category": T("header words for: category"),
    "priority": T("header words for: priority"),
    "budget": T("header words for: budget"),
    "source": T("header words for: source"),
    "households": T("header words for: households"),
    "population": T("header words for: population"),
    "women": T("header words for: women"),
    "men": T("header words for: men"),
    "year": T("header words for: year"),
    "indicator": T("header words for: indicator"),
    "surveyed": T("header words for: surveyed"),
    "below": T("header words for: below"),
    "kind": T("header words for: kind"),
    "name": T("header words for: name"),
    "contact_role": T("header words for: contact_role"),
}
LANGUAGES = ("th", "en")


@dataclass(frozen=True)
class DataTable:
    """One table of a file: which kind (``plans``, ``facts``, ``indicators``, ``resources``),
    its columns (own names) and its rows."""

    kind: str
    columns: tuple[str, ...]
    rows: list[dict[str, str]]
    sheet: str | None = None


def header_names(kinds: Sequence[str]) -> dict[str, str]:
    """Every header that names a column of ``kinds``, to the column's own name."""
    columns = dict.fromkeys(c for kind in kinds for c in villages.COLUMNS[kind])
    names: dict[str, str] = {}
    for column in columns:
        names[column] = column
        for language in LANGUAGES:
            names[plain(i18n.render(villages.COLUMN_LABELS[column], language))] = column
            for word in i18n.render(HEADER_WORDS[column], language).split("|"):
                if word.strip() and not word.startswith("header words for:"):
                    names.setdefault(plain(word), column)
    return names


def read_tables(data: bytes, name: str, kinds: Sequence[str]) -> list[DataTable]:
    """The tables of one of ``kinds`` in a file: a CSV file's one table, or each sheet of a
    workbook whose headers are all known (others, such as a template's help, are left out).
    TableRefused names the headers it does not know when no table is found."""
    names = header_names(kinds)
    found: list[tuple[str | None, list[str], list[list[str]]]]
    if name.lower().endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        found = list(workbook_tables(data, name))
    else:
        found = [(None, *csv_table(data, name))]
    tables: list[DataTable] = []
    first_unknown: list[str] | None = None
    for sheet, header, rows in found:
        unknown = [c for c in header if plain(c) not in names]
        if unknown or not header:
            first_unknown = first_unknown if first_unknown is not None else unknown
            continue
        columns = tuple(names[plain(c)] for c in header)
        kind = _kind(columns, kinds)
        if kind is None:
            first_unknown = first_unknown if first_unknown is not None else []
            continue
        if len(rows) > villages.MAX_ROWS:
            raise TableRefused(
                T("A file of village data has at most {limit} rows.", limit=villages.MAX_ROWS)
            )
        tables.append(
            DataTable(
                kind,
                columns,
                [
                    _values(dict(zip(columns, row, strict=False)))
                    for row in rows
                    if any(cell.strip() for cell in row)
                ],
                sheet,
            )
        )
    if not tables:
        wanted = [c for kind in kinds for c in villages.REQUIRED[kind]]
        raise TableRefused(
            T(
                "Unknown columns: {names}. The columns are: {columns}.",
                names=", ".join(first_unknown or []) or "-",
                columns=", ".join(dict.fromkeys(wanted)),
            )
        )
    return tables


def _kind(columns: Sequence[str], kinds: Sequence[str]) -> str | None:
    """Which of ``kinds`` a table with these columns holds: the first whose required columns
    are all there and which has no column of its own missing (indicator results before facts:
    both have a village)."""
    ordered = sorted(kinds, key=lambda k: -len(villages.REQUIRED[k]))
    for kind in ordered:
        if set(villages.REQUIRED[kind]) <= set(columns) and set(columns) <= set(
            villages.COLUMNS[kind]
        ):
            return kind
    return None


def _values(row: dict[str, str]) -> dict[str, str]:
    """Names as codes: categories (one or several, "|" or "," between) and kinds of resource."""
    values = dict(row)
    if values.get("category"):
        parts = [p for p in values["category"].replace(",", "|").split("|") if p.strip()]
        values["category"] = "|".join(
            code_named(p, CATEGORY_LABELS, i18n.render, LANGUAGES) or p.strip() for p in parts
        )
    if values.get("kind"):
        values["kind"] = code_named(
            values["kind"], villages.RESOURCE_LABELS, i18n.render, LANGUAGES
        ) or plain(values["kind"])
    return values


# -- templates --------------------------------------------------------------------------------

TEMPLATE_SHEETS: dict[str, Text] = {
    "plans": T("Village plans"),
    "facts": T("Village facts"),
    "indicators": T("Survey indicators"),
    "resources": T("Resources"),
    "help": T("How to fill it in"),
    "list": T("Indicator list"),
}
COLUMN_HELP: dict[str, Text] = {
    "village": T("The village number (3, or moo 3) or its name."),
    "title": T("The problem or project, in a line."),
    "details": T("More about it (optional)."),
    "category": T("One of the categories by name or code (optional: the bot tags it)."),
    "priority": T("The village's own order: 1 first (optional)."),
    "budget": T("The budget the village estimated, in baht (optional)."),
    "source": T("Who could fund it: the village itself, the TAO, an agency (optional)."),
    "households": T("How many households the village has."),
    "population": T("How many people live there."),
    "women": T("Of them women (optional)."),
    "men": T("Of them men (optional)."),
    "year": T("The survey year, Buddhist era (2569) or Common Era (2026)."),
    "indicator": T("The indicator's name as the survey report writes it, or its number."),
    "surveyed": T("Households (or people) the survey counted for the indicator."),
    "below": T("Of them, how many were below the standard."),
    "kind": T("fund, group, expert, product or facility (or their Thai names)."),
    "name": T("The resource's name."),
    "contact_role": T("Who to ask, by role (chair of the savings group); never a phone number."),
}


def template(kinds: Sequence[str], locale: str) -> bytes:
    """A workbook to fill in: a sheet for each of ``kinds`` with its headers in ``locale``'s
    words, a sheet saying what each column takes, and (for indicators) the shipped indicator
    list with the category each maps to. The import reads the headers back in either
    language."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    bold = Font(bold=True)
    for kind in kinds:
        sheet = book.create_sheet(i18n.render(TEMPLATE_SHEETS[kind], locale)[:31])
        sheet.append(
            [i18n.render(villages.COLUMN_LABELS[c], locale) for c in villages.COLUMNS[kind]]
        )
        for cell in sheet[1]:
            cell.font = bold
        for index, _ in enumerate(villages.COLUMNS[kind]):
            sheet.column_dimensions[chr(ord("A") + index)].width = 24
        sheet.freeze_panes = "A2"
    helper = book.create_sheet(i18n.render(TEMPLATE_SHEETS["help"], locale)[:31])
    helper.append(
        [
            i18n.render(T("Sheet"), locale),
            i18n.render(T("Column"), locale),
            "column",
            i18n.render(T("What it takes"), locale),
            "",
        ]
    )
    for kind in kinds:
        required = villages.REQUIRED[kind]
        for column in villages.COLUMNS[kind]:
            helper.append(
                [
                    i18n.render(TEMPLATE_SHEETS[kind], locale),
                    i18n.render(villages.COLUMN_LABELS[column], locale),
                    column,
                    i18n.render(COLUMN_HELP[column], locale),
                    i18n.render(T("required") if column in required else T("optional"), locale),
                ]
            )
    if "indicators" in kinds:
        known = villages.indicator_list()
        listed = book.create_sheet(i18n.render(TEMPLATE_SHEETS["list"], locale)[:31])
        listed.append(
            [
                i18n.render(T("No."), locale),
                i18n.render(T("Survey indicator"), locale),
                i18n.render(T("Survey group"), locale),
                i18n.render(T("Standard"), locale),
                i18n.render(T("Category"), locale),
            ]
        )
        for indicator in known.indicators:
            listed.append(
                [
                    indicator.number,
                    indicator.name,
                    indicator.group,
                    indicator.standard or "",
                    i18n.render(CATEGORY_LABELS[indicator.category], locale),
                ]
            )
        listed.append([])
        listed.append([i18n.render(indicator_note(), locale)])
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                cell.value = spreadsheet_safe(cell.value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def indicator_note() -> Text:
    """Which indicator list ships, and what could not be confirmed (docs/data.md)."""
    known = villages.indicator_list()
    return T(
        "Indicators of the household survey of basic needs (JPT) of {period}, from: {source}. "
        "The list of the current period ({current}) could not be confirmed when this was "
        "written: check your survey's indicators; an indicator not in this list is kept with "
        "the name your file gives, in the category your file's category column says.",
        period=known.period,
        source=known.source,
        current=known.current_period,
    )
