"""The report laid out like the tambon plan, rendered from a :class:`TambonSummary`.

One Jinja2 environment, autoescaping HTML, with the i18n extension bound to the same catalogs as
the bot; the Markdown report escapes Markdown's own characters in everything people typed.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from html import escape as html_escape
from itertools import groupby
from typing import Any, TypeAlias

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from bot import i18n
from handlers.labels import (
    ACTOR_LABELS,
    AUDIT_LABELS,
    KIND_LABELS,
    ORIGIN_LABELS,
    PLAN_STATUS_LABELS,
    ROLE_LABELS,
    category_label,
    category_labels,
    method_label,
    village_label,
)
from handlers.services.privacy import (
    HIDDEN,
    redact_numbers,
    spreadsheet_safe,
    without_control_characters,
)
from handlers.services.summary import TambonSummary
from handlers.services.villages import RESOURCE_LABELS
from handlers.types import T, Text
from storage.base import PrintedSubmission, Role, Submission

# What a printed report (HTML, PDF, Markdown) reads of each submission: all of it, or only what
# its appendix prints (handlers.services.summary.read_printed_report, cheaper for a big tambon).
Printed: TypeAlias = Sequence[Submission] | Sequence[PrintedSubmission]

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>])")


def escape_markdown(text: object) -> str:
    """Text for a Markdown cell or line: markup characters escaped, and line breaks made
    spaces (a newline in a villager's text would end the table row)."""
    return _MARKDOWN.sub(r"\\\1", " ".join(str(text).split("\n")).replace("\r", " "))


SMALL = 5  # counts below this are shown as "<5" in copies meant for the public
# A printed plan book lists every submission up to this many; beyond, about 15 pages, it points
# to the spreadsheet and the HTML report instead (WeasyPrint lays out ~70 table rows a second).
PDF_APPENDIX_LIMIT = 500


def hidden(count: int, public: bool) -> bool:
    """Whether a public copy shows ``count`` as "<5", so that it cannot point at one household."""
    return public and 0 < count < SMALL


def translated_environment(folder: str, locale: str) -> Environment:
    """A Jinja2 environment for the package's ``folder`` of templates: HTML escaped, and
    ``_()`` bound to the catalogs of ``locale`` (the report's templates, the workbench's)."""
    env = Environment(
        loader=PackageLoader("bot", folder),
        autoescape=select_autoescape(
            enabled_extensions=("html", "html.j2"), default_for_string=False
        ),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)  # type: ignore[attr-defined]
    # What one person typed, shown to others: phone and ID numbers hidden (the one redaction).
    env.filters["private"] = lambda text: i18n.hide_numbers(text, locale)
    return env


@cache
def _environment(locale: str, public: bool = False) -> Environment:
    """One environment per language and audience, kept: its templates are compiled once."""
    env = translated_environment("templates", locale)

    def label(text: Text) -> str:
        return i18n.render(text, locale)

    env.filters["category"] = lambda c: label(category_label(str(c)))
    env.filters["village"] = lambda v: label(village_label(v))
    env.filters["kind"] = lambda k: label(KIND_LABELS[k])
    env.filters["actor"] = lambda a: label(ACTOR_LABELS[a])
    env.filters["method"] = lambda poll: label(method_label(poll))
    env.filters["audit_action"] = lambda a: label(AUDIT_LABELS[a]) if a in AUDIT_LABELS else a
    env.filters["plan_status"] = lambda status: label(PLAN_STATUS_LABELS[str(status)])
    env.filters["baht"] = lambda n: "—" if n is None else f"{n:,}"
    env.filters["days"] = lambda d: "—" if d is None else f"{d:.0f}"
    env.filters["percent"] = lambda x: "—" if x is None else f"{100 * x:.0f}%"
    env.filters["per100"] = lambda x: "—" if x is None else f"{x:.1f}"
    env.filters["resource_kind"] = lambda k: label(RESOURCE_LABELS[k])
    dates = _date_formatter(locale)
    env.filters["date"] = lambda d: dates(d) if d else "—"
    # A due date as stored (YYYY-MM-DD), shown as people read dates (Buddhist era in Thai).
    env.filters["day"] = lambda d: _day(d, locale)
    env.filters["md"] = escape_markdown
    env.filters["who"] = lambda who: _who(str(who), label)
    # A published count of 1 or 2 can point at one household: hide small counts in public copies.
    env.filters["public_count"] = lambda n: f"<{SMALL}" if hidden(n, public) else str(n)
    return env


def render(
    summary: TambonSummary,
    submissions: Printed,
    fmt: str,
    locale: str = "th",
    *,
    public: bool = False,
) -> str:
    """The report as HTML or Markdown (``fmt``); tables for spreadsheets: :func:`table_csv`.

    ``public``: for publication — small counts shown as "<5", no appendix of submissions."""
    return _render_template(summary, submissions, fmt, locale, public=public)


def pdf(
    summary: TambonSummary,
    submissions: Printed,
    locale: str = "th",
    *,
    public: bool = False,
) -> bytes:
    """The HTML report printed to A4 with WeasyPrint, the Thai font embedded."""
    from weasyprint import HTML

    from bot import fonts

    faces = [
        {"family": fonts.PDF_FAMILY, "url": path.as_uri(), "weight": weight}
        for weight, path in fonts.pdf_fonts().items()
    ]
    html = _render_template(
        summary,
        submissions,
        "html",
        locale,
        public=public,
        faces=faces,
        family=fonts.PDF_FAMILY,
        appendix_limit=PDF_APPENDIX_LIMIT,
    )
    document: bytes = HTML(string=html).write_pdf(finisher=fonts.fix_pdf_text)
    return document


def _render_template(
    summary: TambonSummary,
    submissions: Printed,
    fmt: str,
    locale: str,
    *,
    public: bool,
    faces: list[dict[str, Any]] | None = None,
    family: str | None = None,
    appendix_limit: int | None = None,
) -> str:
    from bot import fonts

    template = _environment(locale, public).get_template(f"report.{fmt}.j2")
    context: dict[str, Any] = {
        "s": summary,
        "submissions": submissions,
        "locale": locale,
        "public": public,
        "plan_year": _plan_year(summary, locale),
        "place": _place_names(summary, locale),
        "top_category": max((n for _, n in summary.by_category), default=1),
        # The plan's rows by strategy, then by who acts (the rows come sorted so).
        "plan_groups": [
            (title or strategy, actor, list(rows), title is not None)
            for (title, strategy, actor), rows in groupby(
                summary.plan.rows if summary.plan else [],
                key=lambda r: (r.strategy_title, r.strategy, r.item.actor),
            )
        ],
    }
    if fmt == "html":
        # The font travels inside the file: Thai reads right on any computer, offline.
        context["font_faces"] = faces or [
            {"family": fonts.FAMILY, "url": _embedded_font(), "weight": "100 900"}
        ]
        context["font_family"] = family or fonts.FAMILY
        if not public and (appendix_limit is None or len(submissions) <= appendix_limit):
            context["appendix_rows"] = _appendix_rows(submissions, locale)
        chart = category_chart(summary, locale, "svg", public=public)
        context["category_chart"] = (
            "data:image/svg+xml;base64," + base64.b64encode(chart).decode() if chart else None
        )
        for name, chart in (
            ("data_chart", silent_chart(summary, locale, "svg")),
            ("unbacked_chart", unbacked_chart(summary, locale, "svg", public=public)),
        ):
            context[name] = (
                "data:image/svg+xml;base64," + base64.b64encode(chart).decode() if chart else None
            )
    return template.render(**context)


# Who did it, as the audit records it ("team P-3f2a", "operator somchai"): its first word in the
# reader's language.
WHO_WORDS = {
    "operator": T("Operator (command line)"),
    "team": ROLE_LABELS[Role.TEAM],
    "admin": ROLE_LABELS[Role.ADMIN],
    "member": ROLE_LABELS[Role.MEMBER],
    "system": T("The system"),
}


def _who(who: str, label: Callable[[Text], str]) -> str:
    first, _, rest = who.partition(" ")
    if first not in WHO_WORDS:
        return who
    return f"{label(WHO_WORDS[first])} {rest}".strip()


def _day(iso: str | None, locale: str) -> str:
    if not iso:
        return "—"
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=i18n.BANGKOK)
    return i18n.format_date(noon, locale)


def _plan_year(summary: TambonSummary, locale: str) -> str:
    """The plan year (handlers.services.plan.this_plan_year), numbered as Thai plans are
    (Buddhist era); English adds the common era."""
    year = summary.plan_year or i18n.buddhist_year(summary.generated_at)
    return str(year) if locale == "th" else f"{year} ({year - i18n.BUDDHIST_ERA_OFFSET})"


def _place_names(summary: TambonSummary, locale: str) -> dict[str, str]:
    """The tambon, amphoe and province as the reader's language names them, where known."""
    t = summary.tambon
    english = locale == "en"
    return {
        "tambon": (t.name_en if english and t.name_en else t.name_th),
        "amphoe": (t.amphoe_en if english and t.amphoe_en else t.amphoe_th),
        "province": (t.province_en if english and t.province_en else t.province_th),
    }


def _appendix_rows(submissions: Printed, locale: str) -> Markup:
    """The appendix table's rows, escaped, built in one pass (100,000 rows in well under a
    second, where a template loop with filters takes several)."""
    date = _date_formatter(locale)
    categories: dict[tuple[str, ...], str] = {}
    villages: dict[int | None, str] = {}
    kinds = {k: escape(i18n.render(label, locale)) for k, label in KIND_LABELS.items()}
    hidden = i18n.render(HIDDEN, locale)  # the note that replaces a phone or ID number
    rows = []
    for x in submissions:
        cats = categories.get(x.categories)
        if cats is None:
            labels = (i18n.render(label, locale) for label in category_labels(x.categories))
            cats = categories[x.categories] = escape(i18n.list_separator(locale).join(labels))
        village = villages.get(x.village_moo)
        if village is None:
            village = villages[x.village_moo] = escape(
                i18n.render(village_label(x.village_moo), locale)
            )
        rows.append(
            f'<tr><td class="n">{x.id}</td><td>{date(x.created_at)}</td><td>{village}</td>'
            f"<td>{kinds[x.kind]}</td><td>{cats}</td>"
            f"<td>{html_escape(redact_numbers(x.text, hidden))}</td></tr>"
        )
    return Markup("\n".join(rows))


def _date_formatter(locale: str) -> Callable[[datetime], str]:
    """Dates as people read them (Buddhist era for Thai), formatted once per day."""

    @cache
    def by_day(day: date) -> str:
        noon = datetime.combine(day, time(12), tzinfo=i18n.BANGKOK)
        return i18n.format_date(noon, locale)

    # Thailand keeps UTC+7 all year: adding it is the same as converting, and cheaper.
    offset = timedelta(hours=7)
    return lambda moment: by_day((moment.astimezone(UTC) + offset).date())


def category_chart(
    summary: TambonSummary, locale: str, fmt: str = "png", *, public: bool = False
) -> bytes | None:
    """Reports by people per category as bars; None when nothing has been filed."""
    from bot.charts import bar_chart

    if not summary.reporters_by_category:
        return None
    counts = summary.reporters_by_category
    small = [hidden(n, public) for _, n in counts]
    return bar_chart(
        # A public chart draws a small count as a bar of SMALL written "<5".
        [
            (i18n.render(category_label(c), locale), SMALL if hide else n)
            for (c, n), hide in zip(counts, small, strict=True)
        ],
        i18n.render(T("Reports by people per category"), locale),
        i18n.render(T("People"), locale),
        fmt,
        texts=[
            f"<{SMALL}" if hide else f"{n:,}" for (_, n), hide in zip(counts, small, strict=True)
        ],
    )


def silent_chart(summary: TambonSummary, locale: str, fmt: str = "png") -> bytes | None:
    """The silent needs as bars: the share of households below the standard, per village and
    category; None when there are none."""
    from bot.charts import bar_chart

    if summary.data is None or not summary.data.silent:
        return None
    rows = summary.data.silent
    return bar_chart(
        [(_place(r.moo, r.category, locale), round(100 * (r.below_share or 0))) for r in rows],
        i18n.render(T("Households below the standard where few people reported"), locale),
        i18n.render(T("Percent of households"), locale),
        fmt,
        texts=[f"{100 * (r.below_share or 0):.0f}% · {r.reports}" for r in rows],
    )


def unbacked_chart(
    summary: TambonSummary, locale: str, fmt: str = "png", *, public: bool = False
) -> bytes | None:
    """The voices without data as bars: reports by people, per village and category, where the
    survey shows no wide need; None when there are none."""
    from bot.charts import bar_chart

    if summary.data is None or not summary.data.unbacked:
        return None
    rows = sorted(summary.data.unbacked, key=lambda r: -r.reports)
    return bar_chart(
        [
            (_place(r.moo, r.category, locale), SMALL if hidden(r.reports, public) else r.reports)
            for r in rows
        ],
        i18n.render(T("Reported, where the survey shows no wide need"), locale),
        i18n.render(T("Reports by people"), locale),
        fmt,
        texts=[f"<{SMALL}" if hidden(r.reports, public) else str(r.reports) for r in rows],
    )


def _place(moo: int, category: str, locale: str) -> str:
    """ "Moo 3 · Water sources", a chart's label."""
    return (
        i18n.render(village_label(moo), locale)
        + " · "
        + i18n.render(category_label(category), locale)
    )


@cache
def _embedded_font() -> str:
    from bot import fonts

    return "data:font/ttf;base64," + base64.b64encode(fonts.font_path().read_bytes()).decode()


TABLES = ("submissions", "groups", "poll", "plan", "data")
# The workbook and the CSV tables are read by officers: sheets, columns, categories, kinds,
# statuses and who acts are named in the reader's language, dates in the reader's era
# (`plan import` reads an exported plan table back either way). ``codes=True`` keeps the codes,
# for scripts.
SHEET_NAMES = {
    "submissions": T("Submissions"),
    "groups": T("Problem groups"),
    "poll": T("Poll"),
    "plan": T("Plan items"),
    "data": T("Voices and data"),
}
COLUMN_NAMES = {
    "id": T("No."),
    "created_at": T("Date"),
    "village": T("Village"),
    "kind": T("Type"),
    "categories": T("Categories"),
    "text": T("Text"),
    "channel": T("Channel"),
    "relayed": T("Filed for a villager"),
    "group": T("Problem group"),
    "title": T("Problem"),
    "reporters": T("Reports by people"),
    "villages": T("Villages"),
    "keywords": T("Shared words"),
    "rank": T("Rank"),
    "option": T("Option"),
    "score": T("Score"),
    "votes": T("Votes"),
    "chat_votes": T("Votes by chat"),
    "paper_votes": T("Votes on paper"),
    "item": T("No."),
    "year": T("Plan year"),
    "strategy": T("Strategy"),
    "actor": T("Who acts"),
    "project": T("Project"),
    "objective": T("Objective"),
    "target_villages": T("Target"),
    "budget_baht": T("Budget (baht)"),
    "budget_source": T("Budget source"),
    "indicator": T("Indicator"),
    "expected_result": T("Expected result"),
    "responsible": T("Responsible"),
    "due": T("Due date"),
    "status": T("Status"),
    "progress": T("Progress (%)"),
    "verdict_yes": T("Villagers say done: yes"),
    "verdict_partly": T("Villagers say done: partly"),
    "verdict_no": T("Villagers say done: no"),
    "verdict_photos": T("Photos with the answers"),
    "households": T("Households"),
    "category": T("Category"),
    "per_100_households": T("Per 100 households"),
    "village_plan_rows": T("Village plan rows"),
    "below_share_percent": T("Households below the standard (%)"),
    "survey_year": T("Survey year"),
    "silent_need": T("Silent need"),
    "origin": T("Origin"),
}


def _category_names(cell: object, locale: str) -> object:
    """ "infrastructure|water" as the reader calls them."""
    if not isinstance(cell, str) or not cell:
        return cell
    names = [i18n.render(category_label(code), locale) for code in cell.split("|")]
    return i18n.list_separator(locale).join(names)


def table(
    name: str,
    summary: TambonSummary,
    submissions: list[Submission],
    locale: str,
    *,
    public: bool = False,
) -> list[list[object]]:
    """One of :data:`TABLES` for the officers' spreadsheets, with its header row.

    ``public``: no submissions, and problem groups with fewer than 5 people show "<5"."""
    if name == "submissions":
        from handlers.services.tambons import EXPORT_COLUMNS, submission_row

        rows: list[list[object]] = [list(EXPORT_COLUMNS)]
        for submission in [] if public else submissions:
            values = submission_row(submission)
            values["text"] = i18n.hide_numbers(submission.text, locale)
            rows.append(list(values.values()))
        return rows
    if name == "groups":
        header: list[object] = [
            "group",
            "title",
            "categories",
            "reporters",
            "villages",
            "keywords",
        ]
        return [header] + [
            [
                g.id,
                i18n.hide_numbers(g.title, locale),
                "|".join(g.categories),
                f"<{SMALL}" if hidden(g.reporters, public) else g.reporters,
                "|".join(str(v) for v in g.villages),
                "|".join(g.keywords),
            ]
            for g in summary.all_groups or summary.groups
        ]
    if name == "poll":
        options = summary.poll.options if summary.poll is not None else []
        header = ["rank", "option", "score", "votes", "chat_votes", "paper_votes", "group"]
        return [header] + [
            [o.rank, o.text, o.score, o.votes, o.chat_votes, o.paper_votes, o.group_id]
            for o in options
        ]
    if name == "plan":
        header = [
            "item",
            "year",
            "strategy",
            "actor",
            "project",
            "objective",
            "target_villages",
            "reporters",
            "budget_baht",
            "budget_source",
            "indicator",
            "expected_result",
            "responsible",
            "due",
            "status",
            "progress",
            "verdict_yes",
            "verdict_partly",
            "verdict_no",
            "verdict_photos",
        ]
        rows_out: list[list[object]] = [header]
        for r in summary.plan.rows if summary.plan else []:
            item = r.item
            rows_out.append(
                [
                    item.id,
                    item.year_be,
                    r.strategy_title or r.strategy or "",
                    item.actor or "",
                    item.title,
                    item.objective or "",
                    "|".join(str(v) for v in r.villages),
                    f"<{SMALL}" if hidden(r.reporters, public) else r.reporters,
                    "" if item.budget is None else item.budget,
                    item.source or "",
                    item.indicator or "",
                    item.result or "",
                    item.responsible or "",
                    item.due or "",
                    item.status.value,
                    item.progress,
                    r.verdicts.get("yes", 0),
                    r.verdicts.get("partly", 0),
                    r.verdicts.get("no", 0),
                    r.photos,
                ]
            )
        return rows_out
    if name == "data":
        header = [
            "village",
            "households",
            "category",
            "reporters",
            "per_100_households",
            "village_plan_rows",
            "below_share_percent",
            "indicator",
            "survey_year",
            "silent_need",
        ]
        data = summary.data
        silent = {(r.moo, r.category) for r in data.silent} if data else set()
        return [header] + [
            [
                r.moo,
                "" if r.households is None else r.households,
                r.category,
                f"<{SMALL}" if hidden(r.reports, public) else r.reports,
                "" if r.per_100 is None else round(r.per_100, 1),
                r.plan_rows,
                "" if r.below_share is None else round(100 * r.below_share, 1),
                r.indicator or "",
                r.year or "",
                int((r.moo, r.category) in silent),
            ]
            for r in (data.rows if data else [])
        ]
    raise ValueError(f"no table {name!r}; one of {TABLES}")


def named_table(
    name: str,
    summary: TambonSummary,
    submissions: list[Submission],
    locale: str,
    *,
    public: bool = False,
) -> list[list[object]]:
    """:func:`table` as officers read it: each code by its name in ``locale``, dates in its era."""
    header, *rows = table(name, summary, submissions, locale, public=public)
    codes = [str(h) for h in header]
    named: list[list[object]] = [
        [i18n.render(COLUMN_NAMES[h], locale) if h in COLUMN_NAMES else h for h in codes]
    ]
    for row in rows:
        named.append(
            [_named_cell(code, cell, locale) for code, cell in zip(codes, row, strict=True)]
        )
    return named


_NAMED_VALUES = {
    "kind": KIND_LABELS,
    "status": PLAN_STATUS_LABELS,
    "actor": ACTOR_LABELS,
    "origin": ORIGIN_LABELS,
}


def _named_cell(column: str, cell: object, locale: str) -> object:
    if column in ("categories", "strategy", "category"):
        return _category_names(cell, locale)
    labels = _NAMED_VALUES.get(column)
    if labels is not None and isinstance(cell, str) and cell in labels:
        return i18n.render(labels[cell], locale)
    if column in ("due", "created_at") and isinstance(cell, str) and cell:
        return i18n.era_date(cell, locale)
    return cell


def table_csv(
    summary: TambonSummary,
    submissions: list[Submission],
    name: str,
    locale: str = "th",
    *,
    public: bool = False,
    codes: bool = False,
) -> str:
    """One of :data:`TABLES` as CSV (named for officers, or by its ``codes`` for scripts); text
    that a spreadsheet would run as a formula is quoted."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    make = table if codes else named_table
    for row in make(name, summary, submissions, locale, public=public):
        # "=HYPERLINK(...)" typed by someone stays text when an officer opens it in Excel.
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return out.getvalue()


def xlsx(
    summary: TambonSummary,
    submissions: list[Submission],
    locale: str = "th",
    *,
    public: bool = False,
) -> bytes:
    """A workbook for the officers' spreadsheets: submissions, problem groups, the latest poll."""
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for name in TABLES:
        if (
            (name == "submissions" and public)
            or (name == "poll" and summary.poll is None)
            or (name == "plan" and summary.plan is None)
            or (name == "data" and summary.data is None)
        ):
            continue
        sheet = book.create_sheet(i18n.render(SHEET_NAMES[name], locale)[:31])
        for row in named_table(name, summary, submissions, locale, public=public):
            sheet.append([without_control_characters(c) for c in row])
    return workbook_bytes(book)


def workbook_bytes(book: Any) -> bytes:
    """An openpyxl workbook saved, every string in it a text cell: what a villager typed is
    never a formula ("=HYPERLINK(...)"), kept as typed: a spreadsheet does not run a text cell."""
    for each in book.worksheets:
        for row in each.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
