"""The plan table a team keeps in a spreadsheet, read back (``tambon-bot plan import`` and the
workbench's import): a CSV file in UTF-8 as Excel saves it, or an XLSX workbook — the report's
own workbook included, whose plan sheet is found by its name or its headers.

Headers may be the columns' own names (``plan.IMPORT_COLUMNS``), the export's names, or either
in Thai or English as the report writes them; a status or who acts by its name in either
language; a due date in the Buddhist era. What the export computes (verdicts, reporters) is
read and left out. The rows come back keyed by the columns' own names, as
:func:`handlers.services.plan.import_rows` reads them.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from typing import Any

from bot import i18n
from bot.report import COLUMN_NAMES, SHEET_NAMES
from handlers.labels import ACTOR_LABELS, PLAN_STATUS_LABELS, STATUS_WORDS, code_named, plain
from handlers.services import Refused, plan
from handlers.types import T

# A plan has tens of items; a file of more rows than this is not a plan table.
MAX_ROWS = 5000


class TableRefused(Refused):
    """A file that is not a plan table; ``reason`` says why, in the reader's language."""


def read_plan_table(data: bytes, name: str, locale: str) -> list[dict[str, str]]:
    """The rows of a plan table in ``data`` (a file called ``name``)."""
    if name.lower().endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        header, rows = _workbook_rows(data, name, locale)
    else:
        header, rows = csv_table(data, name)
    names = column_names(locale)
    unknown = [c for c in header if plain(c) not in names]
    if unknown or not header:
        raise TableRefused(
            T(
                "Unknown columns: {names}. The columns are: {columns}.",
                names=", ".join(unknown) or "-",
                columns=", ".join(plan.IMPORT_COLUMNS),
            )
        )
    if len(rows) > MAX_ROWS:
        raise TableRefused(T("A plan table has at most {limit} rows.", limit=MAX_ROWS))
    columns = [names[plain(c)] for c in header]
    return [
        sheet_values(
            {
                column: value
                for column, value in zip(columns, row, strict=False)
                if column is not None
            }
        )
        for row in rows
        if any(cell.strip() for cell in row)
    ]


def csv_table(data: bytes, name: str) -> tuple[list[str], list[list[str]]]:
    """A CSV file's header and rows (at most ``MAX_ROWS`` and one more, to tell it is too
    long); TableRefused when it is not CSV in UTF-8."""
    try:
        reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
        table = [row for _, row in zip(range(MAX_ROWS + 2), reader, strict=False)]
    except (UnicodeDecodeError, csv.Error):
        raise TableRefused(T("Cannot read {file} as a CSV file in UTF-8.", file=name)) from None
    return (_trimmed(table[0]), table[1:]) if table else ([], [])


def workbook_tables(data: bytes, name: str) -> list[tuple[str, list[str], list[list[str]]]]:
    """Each sheet of an XLSX workbook: its title, header and rows as text (cells as the CSV
    file would hold them); TableRefused when it is not a workbook."""
    # defusedxml, when installed (it is a dependency), keeps openpyxl's XML parser safe.
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
        raise TableRefused(T("Cannot read {file} as an XLSX workbook.", file=name)) from None
    try:
        tables = []
        for sheet in book.worksheets:
            rows = [
                [_cell(value) for value in row]
                for _, row in zip(
                    range(MAX_ROWS + 2), sheet.iter_rows(values_only=True), strict=False
                )
            ]
            header = _trimmed(rows[0]) if rows else []
            tables.append((sheet.title, header, [row[: len(header)] for row in rows[1:]]))
        return tables
    finally:
        book.close()


def _workbook_rows(data: bytes, name: str, locale: str) -> tuple[list[str], list[list[str]]]:
    names = column_names(locale)
    plan_sheets = {i18n.render(SHEET_NAMES["plan"], lang)[:31] for lang in ("th", "en", locale)}
    tables = workbook_tables(data, name)
    found: tuple[list[str], list[list[str]]] | None = None
    for title, header, rows in tables:
        if not header:
            continue
        known = all(plain(c) in names for c in header)
        if title in plan_sheets or (known and found is None):
            found = header, rows
            if title in plan_sheets:
                break
    if found is None:  # no plan sheet: the first sheet's headers are named as unknown
        return (tables[0][1] if tables else []), []
    return found


def _trimmed(header: list[str]) -> list[str]:
    while header and not header[-1].strip():
        header = header[:-1]
    return header


def _cell(value: Any) -> str:
    """A workbook cell as the CSV file would hold it."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def column_names(locale: str) -> dict[str, str | None]:
    """Every header an import reads, to the column it stands for: the column's own name,
    the export's name for it, its name in Thai and in English; the export's computed columns
    map to None (read, then left out)."""
    names: dict[str, str | None] = {c: c for c in plan.IMPORT_COLUMNS}
    names.update(plan.EXPORT_NAMES)
    names.update({c: None for c in plan.EXPORT_ONLY})
    languages = dict.fromkeys((locale, "th", "en"))
    for code in plan.EXPORT_ONLY:  # the export's own headers, as officers read them
        for language in languages:
            names[plain(i18n.render(COLUMN_NAMES[code], language))] = None
    for column, label in plan.COLUMN_LABELS.items():
        for language in languages:
            names[plain(i18n.render(label, language))] = column
    return names


def status_word(text: str) -> str:
    """A status as typed: its name, or one of its words in Thai (the catalog's, as /item
    takes them)."""
    return code_named(text, STATUS_WORDS, i18n.render, ("th",)) or plain(text)


def sheet_values(row: dict[str, str]) -> dict[str, str]:
    """A row's values as the services read them: a status or who acts by its name in Thai or
    English (as the report's tables write them) to its code, a Buddhist-era date to ISO."""
    languages = ("th", "en")
    values = dict(row)
    if values.get("status"):
        typed = values["status"]
        values["status"] = code_named(
            typed, PLAN_STATUS_LABELS, i18n.render, languages
        ) or status_word(typed)
    if values.get("actor"):
        values["actor"] = code_named(
            values["actor"], ACTOR_LABELS, i18n.render, languages
        ) or plain(values["actor"])
    if values.get("due"):
        values["due"] = i18n.iso_from_era(values["due"])
    return values
