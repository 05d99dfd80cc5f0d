"""Write the held-out test fifth of the Traffy file into the project, for CI to score:
``python scripts/export_traffy_test.py [../shared/data/traffy-dev.csv.gz]``.

Only the test part is copied (the data's README asks that the texts not be republished beyond
what tests need), with its original columns and ``part=test``; the development part stays
outside the project and is read from the shared data when training.
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.nlp import traffy  # noqa: E402

SOURCE = ROOT.parent / "shared" / "data" / "traffy-dev.csv.gz"
TARGET = ROOT / "tests" / "data" / "traffy_test.csv.gz"


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    held_out = {t.ticket_id for t in traffy.split(traffy.load(source), "test")}
    rows = [row for row in traffy.read_rows(source) if row["ticket_id"] in held_out]
    rows.sort(key=lambda row: row["ticket_id"])
    # mtime=0: the same rows give the same bytes, so a re-export shows no change in git.
    with (
        TARGET.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as packed,
        io.TextIOWrapper(packed, encoding="utf-8", newline="") as f,
    ):
        writer = csv.DictWriter(f, fieldnames=[*rows[0].keys(), "part"], lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "part": "test"})
    print(f"{len(rows)} held-out reports written to {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
