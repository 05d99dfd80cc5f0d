"""The ``tambon-bot`` command line, run as a real subprocess where stdin/stdout matter."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import run_cli, th

ROAD = "ถนนหมู่ 3 เป็นหลุมเป็นบ่อ รถสัญจรลำบาก"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("TAMBON_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)  # no stray .env from the checkout
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "LINE_CHANNEL_SECRET",
        "LINE_CHANNEL_ACCESS_TOKEN",
        "TAMBON_LOCALE",
    ):
        monkeypatch.delenv(name, raising=False)
    return {**os.environ, "TAMBON_DATABASE_URL": url, "PYTHONIOENCODING": "utf-8"}


def cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run_cli(env, *args, stdin=stdin)


def test_tambon_create_fills_names_from_the_gazetteer(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tambon", "create", "--code", "600801", "--villages", "12"]) == 0
    assert capsys.readouterr().out.split("\t") == [
        "600801",
        "ท่าตะโก",
        "ท่าตะโก",
        "นครสวรรค์",
        "12\n",
    ]
    assert (
        main(["tambon", "create", "--code", "100101", "--villages", "3", "--name", "ทดสอบ"]) == 0
    )
    assert capsys.readouterr().out.startswith("100101\tทดสอบ\t")
    assert main(["tambon", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["100101", "600801"]


def test_tambon_create_errors(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tambon", "create", "--code", "999999", "--villages", "3"]) == 2
    assert (
        th(
            "{code} is not a tambon code in the official list. A tambon code has six digits, for "
            "example 600801; or give --name, --amphoe and --province.",
            code="999999",
        )
        in capsys.readouterr().err
    )
    assert (
        main(
            [
                "tambon",
                "create",
                "--code",
                "999999",
                "--villages",
                "3",
                "--name",
                "ก",
                "--amphoe",
                "ข",
                "--province",
                "ค",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["tambon", "create", "--code", "999999", "--villages", "3"]) == 2
    assert th("Tambon {code} is already registered.", code="999999") in capsys.readouterr().err
    assert main(["tambon", "create", "--code", "600801", "--villages", "0"]) == 2
    assert main(["invite", "--tambon", "123456", "--role", "team"]) == 2
    assert "tambon-bot tambon create --code 123456" in capsys.readouterr().err


def test_invite_prints_the_code_first_and_links_when_configured(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    main(["tambon", "create", "--code", "600801", "--villages", "3"])
    capsys.readouterr()
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "@tatako_bot")
    monkeypatch.setenv("LINE_BOT_BASIC_ID", "@123abcd")
    assert main(["invite", "--tambon", "600801", "--role", "member"]) == 0
    code, telegram, line = capsys.readouterr().out.splitlines()
    assert code.isdigit()
    assert len(code) == 8
    assert telegram == f"https://t.me/tatako_bot?start={code}"
    assert line == f"https://line.me/R/oaMessage/%40123abcd/?%2Fstart%20{code}"


def test_tag_json_for_text_and_stdin(env: dict[str, str]) -> None:
    done = cli(env, "tag", "--json", ROAD)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record == {
        "text": ROAD,
        "categories": record["categories"],
        "kind": "problem",
        "village": 3,
        "actor": None,
        "guesses": [],  # only when it is unsure and proposes no category
    }
    assert "infrastructure" in record["categories"]
    lines = cli(env, "tag", "--json", stdin="น้ำประปาไม่ไหล ม.๕\n\nอยากได้กล้องวงจรปิด\n")
    records = [json.loads(line) for line in lines.stdout.splitlines()]
    assert [r["village"] for r in records] == [5, None]
    assert "safety" in records[1]["categories"]
    assert records[1]["kind"] == "need"
    plain = cli(env, "tag", ROAD)
    assert plain.stdout.rstrip("\n").split("\t")[1:] == ["problem", "3", ROAD]


def test_piped_console_session_then_csv_export(env: dict[str, str], tmp_path: Path) -> None:
    """The issue's acceptance path: onboard, file, confirm, export."""
    first = cli(env, "console", "--user", "u1", stdin="")
    assert (
        th(
            "This store was empty, so I created a sample tambon to try the bot with: Tambon "
            "{tambon}, "
            "Amphoe {amphoe}, {province} province (code {code}).",
            tambon="ท่าตะโก",
            amphoe="ท่าตะโก",
            province="นครสวรรค์",
            code="600801",
        )
        in first.stdout
    )
    code = first.stdout.split("/start ")[-1].split()[0]
    assert code.isdigit()
    again = cli(env, "console", "--user", "u1", stdin="")
    assert "created a sample" not in again.stdout
    assert code in again.stdout
    session = cli(env, "console", "--user", "u1", stdin=f"/start {code}\n2\n1\n{ROAD}\n1\n")
    assert session.returncode == 0, session.stderr
    assert "#1" in session.stdout
    out = tmp_path / "out" / "subs.csv"
    export = cli(
        env,
        "export",
        "--tambon",
        "600801",
        "--what",
        "submissions",
        "--format",
        "csv",
        "-o",
        str(out),
    )
    assert export.returncode == 0, export.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert list(rows[0]) == [
        "id",
        "created_at",
        "village",
        "kind",
        "categories",
        "text",
        "channel",
        "relayed",
        "origin",  # added by "Data beside voices": chat, relay or village_plan
    ]
    assert rows[0]["village"] == "3"
    assert rows[0]["origin"] == "chat"
    assert "infrastructure" in rows[0]["categories"].split("|")
    assert rows[0]["text"] == ROAD
    assert rows[0]["relayed"] == "0"
    assert rows[0]["created_at"].endswith("Z")
    assert "u1" not in out.read_text(encoding="utf-8-sig")
    jsonl = cli(env, "export", "--tambon", "600801", "--format", "jsonl")
    assert json.loads(jsonl.stdout.splitlines()[0])["text"] == ROAD


def test_run_without_tokens_falls_back_to_the_console(env: dict[str, str]) -> None:
    done = cli(env, "run", stdin="/help\n")
    assert done.returncode == 0, done.stderr
    assert "/start" in done.stdout
    assert "/mine" in done.stdout


def test_console_does_not_create_a_sample_when_tambons_exist(env: dict[str, str]) -> None:
    assert cli(env, "tambon", "create", "--code", "100101", "--villages", "2").returncode == 0
    done = cli(env, "console", stdin="")
    assert "600801" not in done.stdout
    assert th("Console chat. Type /start followed by your join code.") in done.stdout
    assert cli(env, "tambon", "list").stdout.count("\n") == 1


def test_a_script_driving_the_console_loses_no_line(env: dict[str, str]) -> None:
    """Issue 23, item 12: the 31st line within a minute was dropped with "please wait". The
    console is the operator's own terminal: no per-person pace there."""
    code = cli(env, "console", "--user", "u1", stdin="").stdout.split("/start ")[-1].split()[0]
    problems = [f"ไฟทางดับซอย {n} หมู่2 มืดมาก" for n in range(1, 24)]
    lines = [f"/start {code}", "2", "1", *[line for p in problems for line in (p, "1", "2")]]
    session = cli(env, "console", "--user", "u1", stdin="\n".join(lines) + "\n")
    assert session.returncode == 0, session.stderr
    slow = th(
        "You are sending messages faster than I can read them. Please wait {seconds} seconds, "
        "then send your last message again.",
        seconds=60,
    ).split("60")[0]
    assert slow not in session.stdout
    assert f"#{len(problems)}" in session.stdout  # every problem filed (more than 20 an hour)


def test_report_without_o_writes_a_named_file_and_says_where(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Issue 23, item 8: the docs' `report --tambon 600801 --format pdf` failed with
    "-o/--output required"; it writes report-600801.pdf here now, and prints the name."""
    cli(env, "tambon", "create", "--code", "600801", "--villages", "3")
    for fmt in ("md", "xlsx"):
        done = run_cli(env, "report", "--tambon", "600801", "--format", fmt, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"report-600801.{fmt}"
        assert (tmp_path / f"report-600801.{fmt}").stat().st_size > 0
    nowhere = run_cli(env, "report", "--format", "md", cwd=tmp_path)
    assert nowhere.returncode == 2
    assert "Traceback" not in nowhere.stderr


def test_a_new_tambon_gets_its_first_administrator_from_the_server(env: dict[str, str]) -> None:
    """Issue 23, item 14: a new tambon had no administrator and `invite --role admin` was an
    "invalid choice". It makes a one-use code now, and whoever joins with it administers."""
    cli(env, "tambon", "create", "--code", "600802", "--villages", "2")
    made = cli(env, "invite", "--tambon", "600802", "--role", "admin")
    assert made.returncode == 0, made.stderr
    code = made.stdout.splitlines()[0]
    cli(env, "console", "--user", "chief", stdin=f"/start {code}\n1\n1\n")
    listed = cli(env, "member", "list", "--tambon", "600802", "--json")
    (chief,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert chief["role"] == "admin"
    again = cli(env, "console", "--user", "other", stdin=f"/start {code}\n")
    used_up = th(
        "Sorry, the join code {code} has already been used as many times as it allows. "
        "Please ask your tambon team or village head for a new one.",
        code=code,
    )
    assert used_up in again.stdout
