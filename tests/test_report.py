"""The tambon report: content from a fixed store, escaping, formats that open."""

from __future__ import annotations

import base64
import csv
import io
import re
import subprocess
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot import i18n, report
from bot.core import Engine
from handlers.services.summary import build_summary
from storage.base import Store, Tambon
from tests.conftest import console, onboard, run_cli, th

EVIL = "<script>alert('x')</script> ถนน **พัง** [ลิงก์](http://x) | หมู่ 3"


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.scripts += tag == "script"


async def _sample(engine: Engine, store: Store, tambon: Tambon) -> None:
    await onboard(engine, store, tambon, "u1", village=3)
    await onboard(engine, store, tambon, "u2", village=4)
    await console(engine, "u1", EVIL, "1")
    await console(engine, "u2", "ยุงลายเยอะ ไข้เลือดออก หมู่ 4", "1")
    await console(engine, "u2", "อยากได้ไฟกิ่งในซอย หมู่ 4", "1")


async def test_html_report_content_and_escaping(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    await _sample(engine, store, tambon)
    summary = await build_summary(store, tambon)
    assert summary.submissions == 3
    assert summary.villages_heard == [3, 4]
    assert summary.villages_silent == [1, 2, 5]
    submissions = [s async for s in store.iter_submissions(tambon.id)]
    html = report.render(summary, submissions, "html", "th")
    parsed = _Collector()
    parsed.feed(html)
    assert parsed.scripts == 0  # the villager's <script> is text, not markup
    assert "&lt;script&gt;" in html
    assert "table" in parsed.tags
    assert th("Tambon community plan: what the tambon said") in html
    assert th("Public health") in html
    assert "ท่าตะโก" in html
    assert str(i18n.buddhist_year(summary.generated_at)) in html  # the plan year, Buddhist era
    # Numbers and order: 3 submissions from 2 people; infrastructure (2) before health (1).
    assert summary.reporters == 2
    assert summary.by_category[:2] == [("infrastructure", 2), ("health", 1)]
    overview = html[html.index(th("Overview")) :]
    assert re.search(rf"{th('Submissions')}</th><td class=\"n\">3<", overview)
    assert re.search(rf"{th('Reports by people')}</th><td class=\"n\">2<", overview)
    categories = html[html.index(th("Problems by category")) :]
    assert categories.index(th("Infrastructure")) < categories.index(th("Public health"))


async def test_markdown_and_csv_reports(engine: Engine, store: Store, tambon: Tambon) -> None:
    await _sample(engine, store, tambon)
    summary = await build_summary(store, tambon)
    submissions = [s async for s in store.iter_submissions(tambon.id)]
    md = report.render(summary, submissions, "md", "th")
    assert "\\*\\*พัง\\*\\*" in md  # Markdown characters typed by people are escaped
    assert "\\|" in md
    rows = list(
        csv.DictReader(
            io.StringIO(report.table_csv(summary, submissions, "groups", "th", codes=True))
        )
    )
    assert len(rows) == 3
    assert {r["reporters"] for r in rows} == {"1"}
    assert report.escape_markdown("a_b") == "a\\_b"


def test_report_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os

    env = {**os.environ, "TAMBON_DATABASE_URL": f"sqlite:///{tmp_path}/r.db"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(env, *args, cwd=tmp_path)

    assert cli("tambon", "create", "--code", "600801", "--villages", "3").returncode == 0
    out = tmp_path / "r" / "report.html"
    done = cli("report", "--tambon", "600801", "--format", "html", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "ท่าตะโก" in out.read_text(encoding="utf-8")
    pdf = tmp_path / "r" / "report.pdf"
    done = cli("report", "--tambon", "600801", "--format", "pdf", "-o", str(pdf))
    assert done.returncode == 0, done.stderr
    assert pdf.read_bytes().startswith(b"%PDF-")
    refused = cli("report", "--tambon", "600899", "--format", "pdf", "-o", str(tmp_path / "x.pdf"))
    assert refused.returncode == 2
    assert not (tmp_path / "x.pdf").exists()


def test_demo_writes_a_report(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os

    env = {**os.environ, "TAMBON_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db"}
    out = tmp_path / "demo.html"
    done = run_cli(env, "demo", "-o", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    code, submissions, _ = done.stdout.strip().split("\t")
    assert code == "600801"
    assert 5 < int(submissions) < 18  # duplicates joined their groups instead of new rows
    html = out.read_text(encoding="utf-8")
    assert th("Priorities from the hearing") in html
    # The demo's poll is a Borda count of 3: the report says how it was counted.
    method = th(
        "Method: ranking (Borda count). Each person ranked up to {k} problems; the first got "
        "{k} points, the next one point less, and so on.",
        k=3,
    )
    assert method in html
    assert "ถนนหมู่ 1" in html


async def test_xlsx_opens_with_openpyxl(engine: Engine, store: Store, tambon: Tambon) -> None:
    from openpyxl import load_workbook

    await _sample(engine, store, tambon)
    summary = await build_summary(store, tambon)
    submissions = [s async for s in store.iter_submissions(tambon.id)]
    book = load_workbook(io.BytesIO(report.xlsx(summary, submissions)))
    # Officers read it: sheets, columns and categories in their language (issue 23, item 13).
    assert book.sheetnames[:2] == [th("Submissions"), th("Problem groups")]
    rows = list(book[th("Submissions")].values)
    assert rows[0][:3] == (th("No."), th("Date"), th("Village"))
    assert len(rows) == 4
    assert any(row[5] == EVIL for row in rows[1:])  # kept as text, not as a formula
    assert any(th("Public health") in str(row[4]) for row in rows[1:])
    assert "health" not in {str(row[4]) for row in rows[1:]}
    english = load_workbook(io.BytesIO(report.xlsx(summary, submissions, "en")))
    assert english.sheetnames[:2] == ["Submissions", "Problem groups"]


async def test_xlsx_keeps_formula_like_text_as_text(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    from openpyxl import load_workbook

    await onboard(engine, store, tambon, "u1", village=2)
    await console(engine, "u1", '=HYPERLINK("http://x","ถนนพัง")', "1")
    summary = await build_summary(store, tambon)
    submissions = [s async for s in store.iter_submissions(tambon.id)]
    cell = load_workbook(io.BytesIO(report.xlsx(summary, submissions)))[th("Submissions")]["F2"]
    assert cell.data_type == "s"
    assert str(cell.value).startswith("=HYPERLINK")


async def test_public_copy_hides_small_counts_and_the_appendix(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    await _sample(engine, store, tambon)
    summary = await build_summary(store, tambon)
    submissions = [s async for s in store.iter_submissions(tambon.id)]
    internal = report.render(summary, submissions, "html", "th")
    public = report.render(summary, submissions, "html", "th", public=True)
    assert th("Appendix: every submission") in internal
    assert th("Appendix: every submission") not in public
    assert "ยุงลาย" not in public.split(th("The problems most reported"))[0]
    assert '<td class="n">3</td>' in internal  # three submissions
    assert '<td class="n">&lt;5</td>' in public
    md = report.render(summary, submissions, "md", "th", public=True)
    assert "<5" in md


WATER = "น้ำประปาไม่ไหลมา๓วันแล้ว ทำนาก็ไม่ได้ กำนันช่วยด้วย 🙏 หมู่ 3"


def _pdf_text(data: bytes, tmp_path: Path, *, raw: bool = True) -> tuple[str, int]:
    """The PDF's text as poppler's pdftotext reads it (in drawing order, or with ``raw=False`` in
    its reading-order layout, which people get when they copy or convert), and its page count."""
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    text = subprocess.run(
        ["pdftotext", *(["-raw"] if raw else []), "-enc", "UTF-8", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True)
    pages = int(
        next(line for line in info.stdout.splitlines() if line.startswith("Pages:")).split()[1]
    )
    return text, pages


async def test_pdf_report_has_pages_and_thai_text_that_copies_back(
    engine: Engine, store: Store, tambon: Tambon, tmp_path: Path
) -> None:
    await _sample(engine, store, tambon)
    await console(engine, "u1", WATER, "1")
    summary = await build_summary(store, tambon)
    submissions = [s async for s in store.iter_submissions(tambon.id)]
    text, pages = _pdf_text(report.pdf(summary, submissions, "th"), tmp_path)
    assert pages >= 2  # the cover has a page of its own
    assert th("Tambon community plan: what the tambon said") in text
    # SARA AM and the tone marks come back as typed, not as NIKHAHIT + SARA AA.
    assert "น้ำประปาไม่ไหลมา๓วันแล้ว" in text
    assert "ทำนาก็ไม่ได้ กำนันช่วยด้วย" in text
    assert "\u0e4d" not in text
    assert "ไข้เลือดออก" in text
    assert "ท่าตะโก" in text
    assert "นครสวรรค์" in text
    assert "<script>alert('x')</script>" in text  # shown as the text it is


async def test_pdf_text_reads_back_in_reading_order_with_marks_in_place(
    engine: Engine, store: Store, tambon: Tambon, tmp_path: Path
) -> None:
    """Issue 23, item 16: pdftotext's layout moved stacked Thai marks off their letters
    ("หมูบ ่ า้ น"); each run of text now carries its words (ActualText)."""
    await _sample(engine, store, tambon)
    await console(engine, "u1", WATER, "1")
    summary = await build_summary(store, tambon)
    submissions = [s async for s in store.iter_submissions(tambon.id)]
    text, _ = _pdf_text(report.pdf(summary, submissions, "th"), tmp_path, raw=False)
    assert th("Villages heard from") in text
    assert "น้ำประปาไม่ไหลมา๓วันแล้ว" in text
    assert "ตั้งแต่" in text


async def test_public_pdf_has_no_appendix(
    engine: Engine, store: Store, tambon: Tambon, tmp_path: Path
) -> None:
    await _sample(engine, store, tambon)
    summary = await build_summary(store, tambon)
    submissions = [s async for s in store.iter_submissions(tambon.id)]
    text, _ = _pdf_text(report.pdf(summary, submissions, "th", public=True), tmp_path)
    assert th("Appendix: every submission") not in text
    assert "<5" in text


async def test_report_chart_counts_people_per_category(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    await _sample(engine, store, tambon)
    summary = await build_summary(store, tambon)
    per_category = dict(summary.reporters_by_category)
    assert per_category["infrastructure"] == 2  # u1's road and u2's street light
    assert per_category["health"] == 1
    html = report.render(summary, [], "html", "th")
    source = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert source is not None
    svg = base64.b64decode(source[1]).decode()
    assert svg.count("<path") > 20  # bars and Thai labels drawn as outlines
    png = report.category_chart(summary, "th")
    assert png is not None
    assert png.startswith(b"\x89PNG")


async def test_big_jobs_show_a_progress_bar_small_ones_do_not() -> None:
    from bot import progress

    async def numbers(n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i

    stream = io.StringIO()
    seen = [i async for i in progress.counted(numbers(6000), 6000, "Reading", stream)]
    assert seen == list(range(6000))  # every item passes through, in order
    assert "Reading" in stream.getvalue()
    assert "100%" in stream.getvalue()
    quiet = io.StringIO()
    assert len([i async for i in progress.counted(numbers(10), 10, "Reading", quiet)]) == 10
    assert quiet.getvalue() == ""


PHONE_MESSAGE = "ไฟฟ้าดับบ่อยมากหมู่ 3 ติดต่อผมได้ที่ 081-234-5678 หรือ ๐๘๙ ๑๒๓ ๔๕๖๗ ขอบคุณครับ"
CITIZEN_ID = "ขอเบี้ยผู้พิการให้แม่ เลขบัตร 3-1012-00456-78-9 หมู่ 4"


async def test_reports_hide_phone_and_id_numbers(
    engine: Engine, store: Store, tambon: Tambon, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    from handlers.services.privacy import redact_numbers

    await onboard(engine, store, tambon, "u1", village=3)
    await console(engine, "u1", PHONE_MESSAGE, "1")
    await console(engine, "u1", CITIZEN_ID, "1")
    summary = await build_summary(store, tambon)
    submissions = [s async for s in store.iter_submissions(tambon.id)]
    hidden = th("[number hidden]")
    pdf_text, _ = _pdf_text(report.pdf(summary, submissions, "th"), tmp_path)
    book = load_workbook(io.BytesIO(report.xlsx(summary, submissions)))
    sheet_text = " ".join(str(c) for row in book[th("Submissions")].values for c in row)
    outputs = {
        "html": report.render(summary, submissions, "html", "th"),
        "md": report.render(summary, submissions, "md", "th"),
        "csv": report.table_csv(summary, submissions, "groups", "th"),
        "pdf": pdf_text,
        "xlsx": sheet_text,
    }
    for name, text in outputs.items():
        for number in ("234-5678", "๑๒๓ ๔๕๖๗", "00456-78"):
            assert number not in text, name
    assert hidden in outputs["html"]
    assert "ติดต่อผมได้ที่" in outputs["html"]  # the rest of the message stays
    # Numbers that are not phones or IDs stay as typed.
    assert (
        redact_numbers("ถนน 12 กม. งบ 1500000 บาท ปี ๒๕๖๗", hidden)
        == "ถนน 12 กม. งบ 1500000 บาท ปี ๒๕๖๗"
    )
    # The operator's raw export keeps the text as typed.
    stored = await store.get_submission(submissions[0].id)
    assert stored is not None
    assert "081-234-5678" in stored.text


async def test_csv_tables_for_the_officers_spreadsheets(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    await _sample(engine, store, tambon)
    await console(engine, "u2", '=HYPERLINK("http://x") ขอไฟทางหมู่ 4', "1")
    summary = await build_summary(store, tambon)
    submissions = [s async for s in store.iter_submissions(tambon.id)]
    rows = list(
        csv.DictReader(
            io.StringIO(report.table_csv(summary, submissions, "submissions", codes=True))
        )
    )
    assert [int(r["id"]) for r in rows] == [s.id for s in submissions]
    assert any(r["text"].startswith("'=HYPERLINK") for r in rows)  # inert in Excel
    groups = list(csv.DictReader(io.StringIO(report.table_csv(summary, [], "groups", codes=True))))
    # Most people first; a public copy writes small groups as "<5".
    assert [int(g["reporters"]) for g in groups] == sorted(
        (int(g["reporters"]) for g in groups), reverse=True
    )
    public = list(
        csv.DictReader(
            io.StringIO(report.table_csv(summary, [], "groups", public=True, codes=True))
        )
    )
    assert {g["reporters"] for g in public} == {"<5"}
    assert report.table_csv(summary, submissions, "submissions", public=True).count("\n") == 1
    poll = report.table_csv(summary, [], "poll", codes=True)
    # No poll yet: the header alone.
    assert poll.splitlines() == ["rank,option,score,votes,chat_votes,paper_votes,group"]


def test_pdf_fonts_fall_back_to_the_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache folder that cannot be written (a locked-down service) must not stop PDFs."""
    import tempfile

    from bot import fonts

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")  # the cache "folder" is a file: no one, root included, can use it
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    fonts.pdf_fonts.cache_clear()
    try:
        paths = fonts.pdf_fonts()
        assert all(p.is_relative_to(tmp_path / "tmp") for p in paths.values())
        assert all(p.stat().st_size > 10_000 for p in paths.values())
        assert "\u0e33" in fonts.glyph_text(paths[400]).values()  # SARA AM's twin glyph
    finally:
        fonts.pdf_fonts.cache_clear()


def test_appendix_dates_are_bangkok_days_in_the_buddhist_era() -> None:
    from datetime import UTC, datetime

    from bot import i18n

    late = datetime(2026, 11, 25, 20, 30, tzinfo=UTC)  # already the 26th in Bangkok
    shown = report._date_formatter("th")(late)
    assert shown == i18n.format_date(late, "th")
    assert shown.startswith("26 ")
    assert shown.endswith("2569")


async def test_english_report_names_places_in_english_and_gives_both_years(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    await _sample(engine, store, tambon)
    summary = await build_summary(store, tambon)
    html = report.render(summary, [], "html", "en")
    be = i18n.buddhist_year(summary.generated_at)
    assert f"{be} ({be - 543})" in html
    assert "Tha Tako" in html
    assert "Nakhon Sawan" in html
    thai = report.render(summary, [], "html", "th")
    assert f"{be} (" not in thai
    assert "นครสวรรค์" in thai


def test_a_big_report_shows_its_steps_a_small_one_does_not() -> None:
    from bot import progress

    stream = io.StringIO()
    steps = progress.Steps(6000, ["Reading", "Writing"], stream)
    steps.next()
    assert "Writing" in stream.getvalue()
    steps.close()
    assert "2/2" in stream.getvalue()
    quiet = io.StringIO()
    small = progress.Steps(10, ["Reading", "Writing"], quiet)
    small.next()
    small.close()
    assert quiet.getvalue() == ""


async def test_csv_tables_are_named_for_officers_unless_codes_are_asked_for(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    """Issue 23, item 13: the CSV tables had English headers and codes on a Thai screen."""
    await _sample(engine, store, tambon)
    summary = await build_summary(store, tambon)
    submissions = [s async for s in store.iter_submissions(tambon.id)]
    rows = list(csv.DictReader(io.StringIO(report.table_csv(summary, submissions, "submissions"))))
    assert set(rows[0]) >= {th("Date"), th("Type"), th("Categories"), th("Village")}
    kinds = {r[th("Type")] for r in rows}
    assert kinds <= {th("Problem"), th("Need"), th("Idea")}
    assert kinds
    year = submissions[0].created_at.year + 543
    assert all(r[th("Date")].startswith(f"{year}-") for r in rows)  # Buddhist era, sortable
    assert not any("infrastructure" in r[th("Categories")] for r in rows)
    groups = report.table_csv(summary, submissions, "groups")
    assert th("Infrastructure") in groups
    assert "reporters" not in groups.splitlines()[0]
