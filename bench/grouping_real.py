"""How often the "is this the same as #12?" question would be wrong on real reports.

Pairs of real Traffy Fondue reports (`bench/data/traffy_pairs.csv`: ticket ids and a label, no
texts) are compared the way intake compares a new report with an existing problem group: the
group is the second report (its keywords, categories, no village), the new report the first;
the bot asks "same problem?" when ``grouping.best_match`` finds it. Labels, by a developer
reading both texts: 1 when a tambon team would merge the two (the same spot and the same
problem), else 0. The first 150 pairs share a numbered soi and a category (where duplicates
are); the rest join reports from two different soi that share a category (different problems
by construction). All pairs come from the development part of the Traffy file.

    python bench/grouping_real.py [../shared/data/traffy-dev.csv.gz]
"""

from __future__ import annotations

import csv
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.nlp import traffy  # noqa: E402
from bot.nlp.tagger import KeywordTagger, packaged_model  # noqa: E402
from handlers.services.grouping import best_match  # noqa: E402
from storage.base import ProblemGroup  # noqa: E402

PAIRS = ROOT / "bench" / "data" / "traffy_pairs.csv"
SOURCE = ROOT.parent / "shared" / "data" / "traffy-dev.csv.gz"


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    texts = {row["ticket_id"]: row["text"] for row in traffy.read_rows(source)}
    tagger = KeywordTagger(model=packaged_model())
    with PAIRS.open(encoding="utf-8", newline="") as f:
        pairs = list(csv.DictReader(f))
    counts = {"same_asked": 0, "same_missed": 0, "different_asked": 0, "different_quiet": 0}
    for pair in pairs:
        new, old = tagger.tag(texts[pair["ticket_a"]]), tagger.tag(texts[pair["ticket_b"]])
        group = ProblemGroup(
            1, 1, "", old.keywords, old.categories, None, 1, (), datetime.now(UTC)
        )
        asked = best_match(new.keywords, new.categories, None, [group]) is not None
        if pair["same"] == "1":
            counts["same_asked" if asked else "same_missed"] += 1
        else:
            counts["different_asked" if asked else "different_quiet"] += 1
    same = counts["same_asked"] + counts["same_missed"]
    different = counts["different_asked"] + counts["different_quiet"]
    print(f"pairs: {len(pairs)} ({same} the same problem, {different} different)")
    print(
        f"missed duplicates: {counts['same_missed']} of {same}"
        f" ({counts['same_missed'] / same:.0%}): the bot would not ask"
    )
    print(
        f"wrong questions:   {counts['different_asked']} of {different}"
        f" ({counts['different_asked'] / different:.0%}): the bot would ask about a different"
        " problem"
    )
    asked = counts["same_asked"] + counts["different_asked"]
    if asked:
        print(f"of the questions asked, right: {counts['same_asked'] / asked:.0%}")


if __name__ == "__main__":
    main()
