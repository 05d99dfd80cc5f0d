"""Data beside voices: the villages' own plans, their facts and the household survey's
indicators come in from spreadsheets (Thai or English headers, Thai digits, all or none), sit in
one analysis with the chat's reports, and name the needs nobody reported."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from bot import i18n, report
from bot.core import Engine
from bot.datatables import read_tables
from bot.plantable import TableRefused
from handlers.services import plan, tambons, villages
from handlers.services.summary import build_summary, read_report
from handlers.types import T
from storage.base import VILLAGE_PLAN, InboxItem, Role, Store, Tambon
from tests.conftest import console, onboard, run_cli, th
from tests.test_report import _pdf_text

WATER_9 = "ครัวเรือนมีน้ำสะอาดสำหรับดื่มและบริโภคเพียงพอตลอดปี"


def _row(number: int) -> str:
    """How a bad row is named, before its reason."""
    return th("Row {row}: {reason}", row=number, reason="-").split(":")[0]


def _label(column: str) -> str:
    return i18n.render(villages.COLUMN_LABELS[column], "th")


def _xlsx(header: list[str], rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")  # as Excel saves it


# Thai headers as officers write them (the catalog's words, not the template's labels).
PLAN_HEADER = [
    "หมู่ที่",
    "ปัญหา/โครงการ",
    "รายละเอียด",
    "หมวด",
    "ลำดับความสำคัญ",
    "งบประมาณ",
    "แหล่งงบประมาณ",
]
GOOD_PLAN_ROWS: list[list[object]] = [
    ["หมู่ ๒", "ขุดลอกสระน้ำประจำหมู่บ้าน", "สระตื้นเขิน หน้าแล้งไม่มีน้ำ", "", "๑", "๒๕๐,๐๐๐", "อบต."],
    ["3", "ซ่อมถนนลูกรังเป็นหลุมเป็นบ่อ", "", "โครงสร้างพื้นฐาน", 2, "1,200,000.00", ""],
    ["", "อบรมอาชีพเสริมให้ผู้สูงอายุ 👵", "", "", "", "", "พัฒนาชุมชนอำเภอ"],
]


async def test_village_plans_come_in_all_or_none_and_once(
    store: Store, tambon: Tambon, tagger: object
) -> None:
    bad = _xlsx(
        PLAN_HEADER,
        [
            *GOOD_PLAN_ROWS,
            ["หมู่ 9", "ไฟฟ้าส่องสว่าง", "", "", "", "", ""],  # row 5: no such village
            ["1", "", "ไม่มีชื่อโครงการ", "", "", "", ""],  # row 6: no title
            ["1", "ถนนคอนกรีต", "", "", "", "สองแสน", ""],  # row 7: budget in words
            ["1", "วงดนตรีพื้นบ้าน", "", "ดนตรี", "", "", ""],  # row 8: no such category
        ],
    )
    (table,) = read_tables(bad, "plans.xlsx", ("plans",))
    with pytest.raises(villages.DataImportRefused) as refused:
        await villages.import_village_plans(
            store, tambon, table.rows, tagger=tagger, by="operator test"
        )
    named = [i18n.render(p, "th") for p in refused.value.problems]
    assert [p.split(":")[0] for p in named] == [_row(n) for n in (5, 6, 7, 8)]
    assert th("Unknown categories: {names}.", names="ดนตรี") in named[3]
    assert await store.count_submissions(tambon.id) == 0  # nothing of the bad file stayed
    assert await store.list_groups(tambon.id) == []

    good = read_tables(_xlsx(PLAN_HEADER, GOOD_PLAN_ROWS), "plans.xlsx", ("plans",))[0]
    done = await villages.import_village_plans(
        store, tambon, good.rows, tagger=tagger, by="operator test"
    )
    assert (done.added, done.unchanged) == (3, 0)
    rows = await store.all_submissions(tambon.id)
    assert [r.village_moo for r in rows] == [2, 3, None]  # no village: the whole tambon
    assert {r.origin for r in rows} == {VILLAGE_PLAN}
    assert all(r.relayed and r.author_id is None for r in rows)
    assert "water" in rows[0].categories  # tagged from its words
    assert rows[1].categories == ("infrastructure",)  # the file's category wins
    details = await store.list_village_plan_rows(tambon.id)
    assert (details[rows[0].id].priority, details[rows[0].id].budget) == (1, 250000)
    assert details[rows[1].id].budget == 1200000
    assert details[rows[2].id].source == "พัฒนาชุมชนอำเภอ"

    again = await villages.import_village_plans(
        store, tambon, good.rows, tagger=tagger, by="operator test"
    )
    assert (again.added, again.unchanged) == (0, 3)
    assert await store.count_submissions(tambon.id) == 3


async def test_village_plan_rows_and_chat_reports_end_in_one_group(
    engine: Engine, store: Store, tambon: Tambon, tagger: object
) -> None:
    """A villager's report and the village plan's row of the same problem: one group, both
    origins counted, whichever came first; the report says what the group drew on."""
    await onboard(engine, store, tambon, "u1", village=2)
    await console(engine, "u1", "สระน้ำประจำหมู่บ้านตื้นเขิน หน้าแล้งไม่มีน้ำใช้ หมู่ 2", "1")
    (chat,) = await store.all_submissions(tambon.id)
    table = read_tables(_xlsx(PLAN_HEADER, GOOD_PLAN_ROWS[:1]), "p.xlsx", ("plans",))[0]
    await villages.import_village_plans(store, tambon, table.rows, tagger=tagger, by="op")
    rows = await store.all_submissions(tambon.id)
    assert [r.group_id for r in rows] == [chat.group_id, chat.group_id]
    counted = await store.origin_counts(tambon.id)
    assert counted.groups[chat.group_id] == {"chat": 1, VILLAGE_PLAN: 1}

    # The other way round: the row first, then a villager who says it is the same problem.
    await onboard(engine, store, tambon, "u2", village=2)
    replies = await console(engine, "u2", "สระน้ำหมู่บ้านตื้นเขินมาก หน้าแล้งไม่มีน้ำใช้ หมู่ 2", "1")
    assert th("Yes, the same problem") in replies[-1]
    await console(engine, "u2", "1")
    counted = await store.origin_counts(tambon.id)
    assert counted.groups[chat.group_id] == {"chat": 2, VILLAGE_PLAN: 1}
    summary, submissions = await read_report(store, tambon)
    html = report.render(summary, submissions, "html", "th")
    assert f"{th('chat')} 2 · {th('relayed')} 0 · {th('village plans')} 1" in html


FACT_HEADER = ["หมู่", "ครัวเรือน", "ประชากร", "หญิง", "ชาย"]
INDICATOR_HEADER = ["หมู่บ้าน", "ปี", "ตัวชี้วัด", "ครัวเรือนที่สำรวจ", "ไม่ผ่านเกณฑ์", "หมวด"]


async def test_village_facts_and_indicators_come_in(store: Store, tambon: Tambon) -> None:
    facts = read_tables(
        _csv(
            FACT_HEADER,
            [["1", "๑๒๐", "๔๑๐", "๒๐๐", "๒๑๐"], ["หมู่ 2 บ้านหนองหลวง", "1,250", "4,100", "", ""]],
        ),
        "facts.csv",
        ("indicators", "facts"),
    )[0]
    assert facts.kind == "facts"
    done = await villages.import_village_data(store, tambon, facts.rows, facts.columns, by="op")
    assert (done.added, done.updated) == (2, 0)
    stored = {f.moo: f for f in await store.list_village_facts(tambon.id)}
    assert (stored[1].households, stored[1].women, stored[1].men) == (120, 200, 210)
    assert (stored[2].households, stored[2].population, stored[2].women) == (1250, 4100, None)
    again = await villages.import_village_data(store, tambon, facts.rows, facts.columns, by="op")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)

    bad = read_tables(
        _csv(
            FACT_HEADER,
            [
                ["1", "130", "410", "", ""],  # row 2: fine (would update)
                ["", "10", "30", "", ""],  # row 3: an empty village
                ["3", "50", "100", "60", "60"],  # row 4: 60 + 60 is not 100
                ["หนองไผ่", "5", "10", "", ""],  # row 5: no village of that name
                ["4", "-5", "10", "", ""],  # row 6: a negative count
            ],
        ),
        "facts.csv",
        ("facts",),
    )[0]
    with pytest.raises(villages.DataImportRefused) as refused:
        await villages.import_village_data(store, tambon, bad.rows, bad.columns, by="op")
    assert [i18n.render(p, "th").split(":")[0] for p in refused.value.problems] == [
        _row(n) for n in (3, 4, 5, 6)
    ]
    assert (await store.list_village_facts(tambon.id))[0].households == 120  # unchanged

    indicators = read_tables(
        _xlsx(
            INDICATOR_HEADER,
            [
                ["2", "๒๕๖๙", f"{WATER_9} อย่างน้อยคนละ 5 ลิตรต่อวัน", "1,250", "563", ""],
                ["2", 2026, "ตัวชี้วัดที่ 22 : รายได้เฉลี่ยของคนในครัวเรือนต่อปี", 1250, 100, ""],
                ["2", 2569, "ครัวเรือนมีหนี้นอกระบบ", 1250, 300, "เศรษฐกิจและอาชีพ"],
                ["2", 2569, "ครัวเรือนใช้อินเทอร์เน็ตได้", 1250, 900, ""],
            ],
        ),
        "jpt.xlsx",
        ("indicators", "facts"),
    )[0]
    assert indicators.kind == "indicators"
    done = await villages.import_village_data(
        store, tambon, indicators.rows, indicators.columns, by="op"
    )
    assert done.added == 4
    results = {r.indicator: r for r in await store.list_indicator_results(tambon.id)}
    assert (results["jpt-9"].category, results["jpt-9"].year_be) == ("water", 2569)
    assert results["jpt-22"].category == "economy"  # the Common Era year read as 2569
    assert results["ครัวเรือนมีหนี้นอกระบบ"].category == "economy"  # unknown, kept by name
    assert results["ครัวเรือนใช้อินเทอร์เน็ตได้"].category is None  # unknown, no category
    again = await villages.import_village_data(
        store, tambon, indicators.rows, indicators.columns, by="op"
    )
    assert (again.added, again.unchanged) == (0, 4)
    with pytest.raises(villages.DataImportRefused) as refused:
        await villages.import_village_data(
            store,
            tambon,
            [
                {
                    "village": "2",
                    "year": "2569",
                    "indicator": WATER_9,
                    "surveyed": "10",
                    "below": "11",
                }
            ],
            indicators.columns,
            by="op",
        )
    assert th("more households below the standard than were surveyed.") in i18n.render(
        refused.value.problems[0], "th"
    )


def test_indicators_found_by_name_or_by_number_in_their_own_period() -> None:
    known = villages.indicator_list()
    assert len(known.indicators) == 31
    assert not known.confirmed  # the current period's list could not be checked: said so
    assert villages.find_indicator("9", 2563) is not None
    assert villages.find_indicator("๙", 2563).code == "jpt-9"  # type: ignore[union-attr]
    assert villages.find_indicator("9", 2569) is None  # another period numbers them otherwise
    found = villages.find_indicator(f"ข้อ 9. {WATER_9}", 2569)
    assert found is not None
    assert found.category == "water"
    assert villages.find_indicator("jpt-12", 2569).category == "environment"  # type: ignore[union-attr]
    assert {i.category for i in known.indicators} <= set(villages.CATEGORIES)


async def _data_for_village_2(store: Store, tambon: Tambon) -> None:
    rows = [{"village": "2", "households": "200", "population": "700"}]
    await villages.import_village_data(store, tambon, rows, villages.FACT_COLUMNS, by="op")
    rows = [
        {"village": "2", "year": "2569", "indicator": WATER_9, "surveyed": "200", "below": "90"},
        {"village": "2", "year": "2569", "indicator": "jpt-6", "surveyed": "200", "below": "10"},
    ]
    await villages.import_village_data(store, tambon, rows, villages.INDICATOR_COLUMNS, by="op")


async def test_a_silent_need_is_named_until_people_report_it(
    engine: Engine, store: Store, tambon: Tambon, tmp_path: Path
) -> None:
    """Village 2's survey shows 45% of households short of drinking water and nobody said so:
    the report, the chat summary and the analysis name it; after two water reports it moves
    to the normal table."""
    await _data_for_village_2(store, tambon)
    await onboard(engine, store, tambon, "team", village=1, role=Role.TEAM)
    await onboard(engine, store, tambon, "a", village=2)
    await console(engine, "a", "ยุงลายเยอะมาก ไข้เลือดออกระบาด หมู่ 2", "1")  # health, not water
    summary = await build_summary(store, tambon)
    assert summary.data is not None
    assert [(r.moo, r.category, r.reports) for r in summary.data.silent] == [(2, "water", 0)]
    assert summary.data.silent[0].below_share == pytest.approx(0.45)
    (health,) = [r for r in summary.data.rows if r.category == "health"]
    assert (health.reports, health.per_100, health.below_share) == (1, 0.5, 0.05)
    submissions = await store.all_submissions(tambon.id)
    html = report.render(summary, submissions, "html", "th")
    silent_part = html.split(
        th("Silent needs: the data shows a wide need, few people reported it")
    )[1]
    silent_part = silent_part.split("</table>")[0]
    assert th("Water sources") in silent_part
    assert "45%" in silent_part
    assert "data:image/svg+xml;base64," in html.split(th("Per village and category"))[0]
    # The workbook's data sheet flags it; the PDF prints the section (text checked).
    book = load_workbook(io.BytesIO(report.xlsx(summary, submissions, "th")))
    sheet = book[th("Voices and data")[:31]]
    header = [c.value for c in sheet[1]]
    flagged = [
        (row[header.index(th("Village"))], row[header.index(th("Category"))])
        for row in sheet.iter_rows(min_row=2, values_only=True)
        if row[header.index(th("Silent need"))] == 1
    ]
    assert flagged == [(2, th("Water sources"))]
    pdf = await asyncio.to_thread(report.pdf, summary, submissions, "th")
    text, _pages = await asyncio.to_thread(_pdf_text, pdf, tmp_path)
    assert th("Voices beside the villages' data") in text
    summary_chat = "\n".join(await console(engine, "team", "/summary"))
    assert "🔎" in summary_chat
    assert th("Water sources") in summary_chat.split("🔎")[1]

    await onboard(engine, store, tambon, "b", village=2)
    await onboard(engine, store, tambon, "c", village=2)
    await console(engine, "b", "น้ำดื่มไม่พอ ต้องซื้อน้ำกินทุกวัน หมู่ 2", "1")
    replies = await console(engine, "c", "น้ำประปาไม่ไหลมา 3 วันแล้ว หมู่ 2", "1")
    if th("Yes, the same problem") in replies[-1]:  # grouped or not, a water report each
        await console(engine, "c", "2")
    summary = await build_summary(store, tambon)
    assert summary.data is not None
    assert summary.data.silent == []
    (water,) = [r for r in summary.data.rows if r.category == "water"]
    assert (water.reports, water.per_100) == (2, 1.0)
    html = report.render(summary, await store.all_submissions(tambon.id), "html", "th")
    assert th("None: every wide need in the data was also reported.") in html
    assert "🔎" not in "\n".join(await console(engine, "team", "/summary"))


async def test_no_village_data_no_section(engine: Engine, store: Store, tambon: Tambon) -> None:
    await onboard(engine, store, tambon, "a", village=2)
    await console(engine, "a", "น้ำประปาไม่ไหลมา 3 วันแล้ว หมู่ 2", "1")
    summary = await build_summary(store, tambon)
    assert summary.data is None
    html = report.render(summary, await store.all_submissions(tambon.id), "html", "th")
    assert th("Voices beside the villages' data") not in html


async def test_resources_kept_by_role_never_a_phone(store: Store, tambon: Tambon) -> None:
    header = ["หมู่", "ประเภท", "ชื่อ", "ผู้ติดต่อ", "รายละเอียด"]
    rows = [
        ["1", "กองทุน", "กองทุนหมู่บ้านท่าตะโก", "ประธานกองทุน", "ทุนหมุนเวียน 1 ล้านบาท"],
        ["", "expert", "ปราชญ์ด้านสมุนไพร", "ผู้ใหญ่บ้านหมู่ 1", ""],
        ["2", "กลุ่ม/เครือข่าย", "กลุ่มออมทรัพย์", "โทร 081-234-5678", ""],  # row 4: a phone
        ["2", "รถแทรกเตอร์", "รถไถ", "", ""],  # row 5: no such kind
    ]
    (table,) = read_tables(_csv(header, rows), "r.csv", ("resources",))
    with pytest.raises(villages.DataImportRefused) as refused:
        await villages.import_resources(store, tambon, table.rows, by="op")
    problems = [i18n.render(p, "th") for p in refused.value.problems]
    assert [p.split(":")[0] for p in problems] == [_row(n) for n in (4, 5)]
    assert (
        th("A contact is a role (such as chair of the savings group), not a phone number.")
        in problems[0]
    )
    assert await store.list_resources(tambon.id) == []
    (table,) = read_tables(_csv(header, rows[:2]), "r.csv", ("resources",))
    done = await villages.import_resources(store, tambon, table.rows, by="op")
    assert done.added == 2
    again = await villages.import_resources(store, tambon, table.rows, by="op")
    assert (again.added, again.unchanged) == (0, 2)
    found = await store.list_resources(tambon.id)
    assert [(r.moo, r.kind.value) for r in found] == [(0, "expert"), (1, "fund")]
    item = await plan.add_item(
        store, tambon, title="ขยายกองทุนอาชีพ", by="op", resource=found[1].id, budget=50000
    )
    assert item.resource_id == found[1].id
    other = await tambons.create_tambon(store, "610101", 2)
    with pytest.raises(plan.PlanRefused):  # another tambon's resource is not this one's
        await plan.add_item(store, other, title="x", by="op", resource=found[1].id)
    summary, submissions = await read_report(store, tambon)
    html = report.render(summary, submissions, "html", "th")
    assert "ประธานกองทุน" in html
    assert th("The whole tambon") in html
    plan_table = html.split('class="plan"')[-1].split("</table>")[0]
    assert "กองทุนหมู่บ้านท่าตะโก" in plan_table  # the item names what it draws on


def test_a_file_that_is_not_village_data_is_refused_politely() -> None:
    with pytest.raises(TableRefused) as refused:
        read_tables(_csv(["ชื่อเล่น", "เบอร์"], [["ก", "1"]]), "x.csv", ("plans",))
    assert "ชื่อเล่น" in i18n.render(refused.value.reason, "th")
    with pytest.raises(TableRefused):
        read_tables(b"PK\x03\x04 not a workbook", "x.xlsx", ("plans",))
    with pytest.raises(TableRefused):
        read_tables(bytes(range(256)) * 4, "x.csv", ("facts",))


def test_the_command_line_from_template_to_silent_needs(tmp_path: Path) -> None:
    """The contract scripts use: templates, imports that print what they added, the silent
    needs as JSON lines, the export's origin column; all in Thai by default."""
    env = {
        **os.environ,
        "TAMBON_DATABASE_URL": f"sqlite:///{tmp_path}/v.db",
        "PYTHONIOENCODING": "utf-8",
    }
    env.pop("TAMBON_LOCALE", None)

    def ok(*args: str) -> str:
        done = run_cli(env, *args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return done.stdout

    ok("tambon", "create", "--code", "600801", "--villages", "5")
    ok("villages", "plans", "template", "-o", "plans.xlsx")
    book = load_workbook(tmp_path / "plans.xlsx")
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header == [_label(c) for c in villages.PLAN_COLUMNS]  # Thai headers
    sheet.append(["๒", "ขุดลอกสระน้ำประจำหมู่บ้าน", "", "", 1, "250,000", "อบต."])
    sheet.append(["3", "ซ่อมถนนลูกรัง", "", "infrastructure", 2, "", ""])
    book.save(tmp_path / "plans.xlsx")
    said = th(
        "{what}: {added} added, {updated} updated, {unchanged} already there.",
        what=T("Village plan rows"),
        added=2,
        updated=0,
        unchanged=0,
    )
    assert ok("villages", "plans", "import", "--tambon", "600801", "plans.xlsx").strip() == said
    again = ok("villages", "plans", "import", "--tambon", "600801", "plans.xlsx")
    assert (
        th(
            "{what}: {added} added, {updated} updated, {unchanged} already there.",
            what=T("Village plan rows"),
            added=0,
            updated=0,
            unchanged=2,
        )
        in again
    )

    ok("villages", "data", "template", "-o", "data.xlsx")
    book = load_workbook(tmp_path / "data.xlsx")
    facts, indicators = book.worksheets[0], book.worksheets[1]
    assert [c.value for c in facts[1]] == [_label(c) for c in villages.FACT_COLUMNS]
    facts.append(["4", "1,000", "3,200", "", ""])
    indicators.append(["4", "2569", WATER_9, "1,000", "420", ""])
    book.save(tmp_path / "data.xlsx")
    out = ok("villages", "data", "import", "--tambon", "600801", "data.xlsx")
    assert len(out.strip().splitlines()) == 2  # the facts and the indicator results

    lines = ok("villages", "needs", "--tambon", "600801", "--json").strip().splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "village": 4,
            "category": "water",
            "below_share": 0.42,
            "reports": 0,
            "indicator": WATER_9,
            "year": 2569,
            "households": 1000,
        }
    ]
    exported = ok("export", "--tambon", "600801", "--what", "submissions", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["origin"] for r in rows] == [VILLAGE_PLAN, VILLAGE_PLAN]

    refused = run_cli(
        env,
        "villages", "resources", "add", "--tambon", "600801", "--kind", "group",
        "--name", "กลุ่มออมทรัพย์", "--contact", "๐๘๑๒๓๔๕๖๗๘",
        cwd=tmp_path,
    )  # fmt: skip
    assert refused.returncode == 2
    assert (
        th("A contact is a role (such as chair of the savings group), not a phone number.")
        in refused.stderr
    )
    first = ok(
        "villages", "resources", "add", "--tambon", "600801", "--kind", "group",
        "--name", "กลุ่มออมทรัพย์", "--village", "2", "--contact", "ประธานกลุ่ม",
    )  # fmt: skip
    listed = ok("villages", "resources", "list", "--tambon", "600801", "--json")
    assert json.loads(listed)["id"] == int(first)
    assert json.loads(listed)["contact_role"] == "ประธานกลุ่ม"


async def test_voices_without_data_are_named_with_their_chart(
    store: Store, tambon: Tambon
) -> None:
    """Two road reports from a surveyed village: the survey has no indicator for roads, so
    they are voices without data, listed and drawn; a public copy draws them as "<5"."""
    from storage.base import Kind, NewSubmission

    await _data_for_village_2(store, tambon)
    for n in range(2):
        await store.add_submission(
            NewSubmission(
                tambon_id=tambon.id,
                text=f"ถนนเป็นหลุมเป็นบ่อ หมู่ 2 ({n})",
                kind=Kind.PROBLEM,
                categories=["infrastructure"],
                village_moo=2,
                author_id=None,
                relayed=True,
                channel="console",
                source_id=None,
            )
        )
    summary, submissions = await read_report(store, tambon)
    assert summary.data is not None
    assert [(r.moo, r.category, r.reports) for r in summary.data.unbacked] == [
        (2, "infrastructure", 2)
    ]
    html = report.render(summary, submissions, "html", "th")
    part = html.split(th("Voices without data: reported, but the survey shows no wide need"))[1]
    part = part.split("<h3>")[0]
    assert th("no indicator of this category") in part
    assert "data:image/svg+xml;base64," in part
    assert report.unbacked_chart(summary, "th", "svg", public=True) != report.unbacked_chart(
        summary, "th", "svg"
    )


async def test_a_preview_inside_a_transaction_keeps_nothing(store: Store, tambon: Tambon) -> None:
    """A preview tries every row and undoes them with a savepoint, so that it keeps nothing even
    when it runs inside a transaction of the caller's (the workbench previews several files in
    one), while what the caller wrote in that transaction stays."""
    header = ["หมู่", "ประเภท", "ชื่อ", "ผู้ติดต่อ", "รายละเอียด"]
    rows = [["1", "กองทุน", "กองทุนหมู่บ้านท่าตะโก", "ประธานกองทุน", "ทุนหมุนเวียน ๑ ล้านบาท"]]
    (table,) = read_tables(_csv(header, rows), "r.csv", ("resources",))
    async with store.transaction():
        await store.inbox_add("test", [InboxItem("kept by the caller", "U1", "{}")])
        done = await villages.import_resources(store, tambon, table.rows, by="op", preview=True)
        assert done.added == 1  # it would add the fund
    assert await store.list_resources(tambon.id) == []
    assert [k for k, _ in await store.inbox_pending("test")] == ["kept by the caller"]
