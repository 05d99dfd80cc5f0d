"""Build the labelled tagging set (tests/data/tagging_*.jsonl) from its hand-written TSV source.

    python scripts/build_tagging_data.py

The source, ``tests/data/tagging_source.tsv``, has one message a line: text, categories (short
codes joined by commas), kind (p/n/i) and village (number or -). Messages are shuffled with a
fixed seed and split 60/40 into a development part (for tuning and training) and a test part
that tuning never looks at.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
CODES = {
    "inf": "infrastructure",
    "wat": "water",
    "agr": "agriculture",
    "eco": "economy",
    "hea": "health",
    "soc": "social",
    "edu": "education",
    "env": "environment",
    "saf": "safety",
    "gov": "governance",
}
KINDS = {"p": "problem", "n": "need", "i": "idea"}
SEED = 2567
DEV_SHARE = 0.6


def main() -> None:
    records = []
    for number, line in enumerate(
        (DATA / "tagging_source.tsv").read_text("utf-8").splitlines(), 1
    ):
        if not line.strip() or line.startswith("#"):
            continue
        text, cats, kind, village = line.split("\t")
        records.append(
            {
                "text": text,
                "categories": [CODES[c] for c in cats.split(",")],
                "kind": KINDS[kind],
                "village": None if village == "-" else int(village),
                "line": number,
            }
        )
    texts = [r["text"] for r in records]
    if len(set(texts)) != len(texts):
        raise SystemExit("the source holds a message twice")
    random.Random(SEED).shuffle(records)
    cut = int(len(records) * DEV_SHARE)
    for name, part in (("dev", records[:cut]), ("test", records[cut:])):
        with (DATA / f"tagging_{name}.jsonl").open("w", encoding="utf-8") as out:
            for record in sorted(part, key=lambda r: r["line"]):
                del record["line"]
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(f"{name}: {len(part)} messages")


if __name__ == "__main__":
    main()
