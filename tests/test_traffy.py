"""Real-data scoring: Traffy's labels mapped onto our taxonomy, and the fixed held-out fifth.

The texts here are made up in Traffy's format (the real file is not republished in the project).
"""

from __future__ import annotations

import csv
import gzip
from collections import Counter
from pathlib import Path

import pytest

from bot.nlp import traffy
from tests.conftest import run_cli

ROWS = [
    ("ถนนหน้าซอยเป็นหลุมลึก", "ถนน|ร้องเรียน"),
    ("น้ำท่วมขังหน้าบ้านทุกครั้งที่ฝนตก", "น้ำท่วม"),
    ("หมาจรจัดกัดเด็กในซอย", "สัตว์จรจัด"),
    ("มีคนเร่ร่อนนอนใต้สะพาน", "คนจรจัด|สะพาน"),
    ("อยากสอบถามเรื่องการต่อใบอนุญาต", "สอบถาม"),  # intent only: no topic
    ("เสียงดังจากร้านอาหารตอนดึก", "เสียงรบกวน"),
    ("ขยะล้นถังไม่มีคนเก็บ", "ขยะ|ความสะอาด"),
]


def write_traffy(path: Path, copies: int) -> None:
    with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["ticket_id", "month", "text", "categories"])
        for n in range(copies):
            for i, (text, labels) in enumerate(ROWS):
                writer.writerow([f"2022-{i:02d}{n:05d}", "2022-06", f"{text} {n}", labels])


def test_labels_are_mapped_and_reports_without_a_topic_left_out(tmp_path: Path) -> None:
    path = tmp_path / "traffy.csv.gz"
    write_traffy(path, 1)
    assert traffy.is_traffy(path)
    tickets = {t.text.rsplit(" ", 1)[0]: t.categories for t in traffy.load(path)}
    assert tickets["ถนนหน้าซอยเป็นหลุมลึก"] == {"infrastructure"}  # the intent label adds nothing
    assert tickets["หมาจรจัดกัดเด็กในซอย"] == {"health"}
    assert tickets["มีคนเร่ร่อนนอนใต้สะพาน"] == {"social", "infrastructure"}
    assert tickets["ขยะล้นถังไม่มีคนเก็บ"] == {"environment"}
    assert "อยากสอบถามเรื่องการต่อใบอนุญาต" not in tickets
    assert set(traffy.MAPPED) == {
        "infrastructure",
        "water",
        "environment",
        "safety",
        "social",
        "health",
    }


def test_the_held_out_fifth_is_fixed_stratified_and_apart(tmp_path: Path) -> None:
    path = tmp_path / "traffy.csv.gz"
    write_traffy(path, 50)
    tickets = traffy.load(path)
    test = traffy.split(tickets, "test")
    dev = traffy.split(tickets, "dev")
    assert {t.ticket_id for t in test}.isdisjoint(t.ticket_id for t in dev)
    assert len(test) + len(dev) == len(tickets)
    # A fifth of every stratum (a stratum: the set of categories; two kinds of rows share one).
    strata = Counter(t.categories for t in tickets)
    assert sorted(strata.values()) == [50, 50, 50, 50, 100]
    held = Counter(t.categories for t in test)
    assert {s: held[s] for s in strata} == {s: n // 5 for s, n in strata.items()}
    # The same tickets whatever the order of the file.
    again = traffy.split(list(reversed(tickets)), "test")
    assert [t.ticket_id for t in again] == [t.ticket_id for t in test]


def test_tag_eval_scores_the_held_out_part_with_categories_per_message(tmp_path: Path) -> None:
    path = tmp_path / "traffy-dev.csv.gz"
    write_traffy(path, 10)
    env = {"TAMBON_DATABASE_URL": f"sqlite:///{tmp_path}/t.db", "PATH": "/usr/bin:/bin"}
    done = run_cli(env, "tag", "--eval", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "held-out test part" in done.stdout
    assert "categories a message:" in done.stdout
    assert "kind accuracy" not in done.stdout  # Traffy says nothing of kind or village
    scored = [line.split()[0] for line in done.stdout.splitlines()[2:8]]
    assert sorted(scored) == sorted(traffy.MAPPED)
    held_out = len(traffy.split(traffy.load(path), "test"))
    assert f"messages          {held_out}" in done.stdout


def test_a_file_that_names_each_rows_part_is_taken_at_its_word(tmp_path: Path) -> None:
    """The exported test part (every row part=test) is scored whole, and gives training none."""
    path = tmp_path / "traffy_test.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["ticket_id", "month", "text", "categories", "part"])
        for i, (text, labels) in enumerate(ROWS):
            writer.writerow([f"2023-{i:05d}", "2023-01", text, labels, "test"])
    tickets = traffy.load(path)
    assert len(tickets) == len(ROWS) - 1  # the intent-only row has no topic
    assert traffy.split(tickets, "test") == sorted(tickets, key=lambda t: t.ticket_id)
    assert traffy.split(tickets, "dev") == []


def test_a_missing_default_source_stops_training() -> None:
    """Issue 23, item 3: a default source that was not found was left out, and a worse model
    trained on the rest replaced the good one. Now it stops the command before any work; and
    the defaults are found from the project's folder, wherever train is run."""
    from bot.cli.common import CliError
    from bot.cli.nlp import DEFAULT_TEST, PROJECT, _files

    with pytest.raises(CliError):
        _files(None, ("tests/data/not-there.jsonl",))
    assert _files(None, DEFAULT_TEST) == [PROJECT / name for name in DEFAULT_TEST]
