"""Build the labelled tagging set (tests/data/tagging_*.jsonl) from its hand-written TSV source.

    python scripts/build_tagging_data.py

The source, ``tests/data/tagging_source.tsv``, has one message a line: text, categories (short
codes joined by commas), kind (p/n/i) and village (number or -). Messages are shuffled with a
fixed seed and split 60/40 into a development part (for tuning and training) and a test part
that tuning never looks at.

``tests/data/tagging_more.tsv`` (same format) holds messages written after the test part was fixed;
they all go to the development part, so the test part stays what it was. A message there that looks
like a test message (character 3-grams, Jaccard >= 0.45) is refused: near copies would let the test
part leak into training. Such messages were removed unread when the file was written.
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
TOO_CLOSE = 0.45


def read_source(name: str, first_line: int = 0) -> list[dict]:
    records = []
    for number, line in enumerate((DATA / name).read_text("utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        text, cats, kind, village = line.split("\t")
        records.append(
            {
                "text": text,
                "categories": [CODES[c] for c in cats.split(",")],
                "kind": KINDS[kind],
                "village": None if village == "-" else int(village),
                "line": first_line + number,
            }
        )
    return records


def trigrams(text: str) -> set[str]:
    text = text.replace(" ", "")
    return {text[i : i + 3] for i in range(len(text) - 2)}


def too_close(text: str, others: list[dict]) -> bool:
    mine = trigrams(text)
    for other in others:
        theirs = trigrams(other["text"])
        if len(mine & theirs) >= TOO_CLOSE * max(1, len(mine | theirs)):
            return True
    return False


def main() -> None:
    records = read_source("tagging_source.tsv")
    random.Random(SEED).shuffle(records)
    cut = int(len(records) * DEV_SHARE)
    dev, test = records[:cut], records[cut:]
    more = read_source("tagging_more.tsv", first_line=1_000_000)
    for record in more:
        if too_close(record["text"], test):
            raise SystemExit(f"too close to a test message: {record['text']}")
    dev += more
    texts = [r["text"] for r in records + more]
    if len(set(texts)) != len(texts):
        raise SystemExit("the sources hold a message twice")
    for name, part in (("dev", dev), ("test", test)):
        with (DATA / f"tagging_{name}.jsonl").open("w", encoding="utf-8") as out:
            for record in sorted(part, key=lambda r: r["line"]):
                del record["line"]
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(f"{name}: {len(part)} messages")


if __name__ == "__main__":
    main()
