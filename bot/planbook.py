"""The plan book the office files (the seed's step 4): ``tambon-bot report --book`` prints it to
PDF — cover, contents, the tambon's profile, the analysis, the direction, the projects in the
plan form's table by strategy, the public comment, the forum's approval, and every submission
— and writes the plan form's table to XLSX.
"""

from __future__ import annotations

from typing import Any

from bot import i18n
from bot.report import _environment, _place_names, workbook_bytes
from handlers.labels import APPROVAL_LABELS
from handlers.services import plan
from handlers.services.book import PlanBook
from handlers.services.privacy import spreadsheet_safe, without_control_characters
from handlers.types import T

# The plan form's (form 02) project table, as the book prints it and the workbook writes it.
FORM_COLUMNS = {
    "number": T("No."),
    "project": T("Project"),
    "objective": T("Objective"),
    "target": T("Target (the project's output)"),
    "budget": T("Budget (baht)"),
    "indicator": T("Indicator (KPI)"),
    "result": T("Expected result"),
    "responsible": T("Main responsible agency"),
}
APPENDIX_LIMIT = 5000  # submissions printed in the book's appendix; all are in the workbook


def pdf(book: PlanBook, locale: str = "th") -> bytes:
    """The plan book printed to A4 with WeasyPrint, the Thai font embedded."""
    from weasyprint import HTML

    from bot import fonts

    faces = [
        {"family": fonts.PDF_FAMILY, "url": path.as_uri(), "weight": weight}
        for weight, path in fonts.pdf_fonts().items()
    ]
    html = render(book, locale, faces=faces, family=fonts.PDF_FAMILY)
    document: bytes = HTML(string=html).write_pdf(finisher=fonts.fix_pdf_text)
    return document


def render(
    book: PlanBook,
    locale: str = "th",
    *,
    faces: list[dict[str, Any]] | None = None,
    family: str | None = None,
) -> str:
    """The plan book as HTML (what :func:`pdf` prints)."""
    from bot import fonts
    from bot.report import _appendix_rows, _embedded_font

    env = _environment(locale)
    shown = book.submissions[:APPENDIX_LIMIT]
    return env.get_template("book.html.j2").render(
        b=book,
        s=book.summary,
        locale=locale,
        place=_place_names(book.summary, locale),
        year=book.year,
        approval=(
            i18n.render(APPROVAL_LABELS[book.approval.result], locale) if book.approval else None
        ),
        form_columns=[i18n.render(label, locale) for label in FORM_COLUMNS.values()],
        amendment=lambda reason: _amendment(reason, locale),
        appendix_rows=_appendix_rows(shown, locale),
        appendix_more=max(0, len(book.submissions) - len(shown)),
        font_faces=faces
        or [{"family": fonts.FAMILY, "url": _embedded_font(), "weight": "100 900"}],
        font_family=family or fonts.FAMILY,
    )


def _amendment(reason: str, locale: str) -> str:
    """An amendment's reason as people read it: the team's words, or what changed."""
    if reason == plan.ADDED:
        return i18n.render(T("added to the approved plan"), locale)
    if reason.startswith(plan.CHANGED):
        labels = {**plan.COLUMN_LABELS, "resource": T("Resource")}
        fields = [
            i18n.render(labels[f], locale) if f in labels else f
            for f in reason.removeprefix(plan.CHANGED).split(",")
        ]
        return i18n.render(T("changed: {fields}", fields=", ".join(fields)), locale)
    return i18n.hide_numbers(reason, locale)


def form_table(book: PlanBook, locale: str) -> list[list[object]]:
    """The plan form's project table by strategy, with its header row (the workbook's)."""
    header: list[object] = [i18n.render(T("Strategy"), locale)]
    header += [i18n.render(label, locale) for label in FORM_COLUMNS.values()]
    rows: list[list[object]] = [header]
    for strategy, plan_rows in book.sections:
        title = strategy.title if strategy else i18n.render(T("Other"), locale)
        for number, row in enumerate(plan_rows, start=1):
            item = row.item
            villages = ", ".join(str(v) for v in row.villages)
            rows.append(
                [
                    title,
                    number,
                    item.title,
                    item.objective or "",
                    villages,
                    "" if item.budget is None else item.budget,
                    item.indicator or "",
                    item.result or "",
                    item.responsible or "",
                ]
            )
    return rows


def xlsx(book: PlanBook, locale: str = "th") -> bytes:
    """The plan form's project table by strategy, as a workbook."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = i18n.render(T("Plan projects (form 02)"), locale)[:31]
    for row in form_table(book, locale):
        sheet.append([spreadsheet_safe(without_control_characters(c)) for c in row])
    return workbook_bytes(workbook)
