"""Measuring the tagger against labelled messages: per-category precision, recall and F1,
micro and macro F1, kind accuracy and village accuracy."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from handlers.types import Tagger


@dataclass(frozen=True)
class Gold:
    text: str
    categories: frozenset[str]
    kind: str
    village: int | None


def load_gold(path: Path) -> list[Gold]:
    """Labelled messages from JSONL (one object a line) or CSV (categories joined by ``|``)."""
    rows: Iterable[Mapping[str, Any]]
    with path.open(encoding="utf-8-sig") as f:
        if path.suffix.lower() == ".csv":
            rows = list(csv.DictReader(f))
        else:
            rows = [json.loads(line) for line in f if line.strip()]
    gold = []
    for row in rows:
        cats = row["categories"]
        if isinstance(cats, str):
            cats = [c for c in cats.split("|") if c]
        village = row.get("village")
        gold.append(
            Gold(
                text=str(row["text"]),
                categories=frozenset(cats),
                kind=str(row["kind"]),
                village=int(village) if village not in (None, "", "null") else None,
            )
        )
    return gold


@dataclass
class CategoryScore:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Report:
    messages: int
    per_category: dict[str, CategoryScore] = field(default_factory=dict)
    kind_correct: int = 0
    village_correct: int = 0
    # Categories per message, predicted (all of them, scored or not) and gold.
    predicted_categories: int = 0
    gold_categories: int = 0
    # Messages on which the tagger was unsure: it proposed no category and would ask.
    unsure: int = 0
    # Kind and village are scored only where the gold says them (Traffy's reports do not).
    scores_kind_and_village: bool = True

    def per_message(self, count: int) -> float:
        return count / self.messages if self.messages else 0.0

    @property
    def mean_predicted(self) -> float:
        return self.per_message(self.predicted_categories)

    @property
    def mean_gold(self) -> float:
        return self.per_message(self.gold_categories)

    @property
    def unsure_rate(self) -> float:
        return self.per_message(self.unsure)

    @property
    def micro_f1(self) -> float:
        total = CategoryScore(
            sum(s.tp for s in self.per_category.values()),
            sum(s.fp for s in self.per_category.values()),
            sum(s.fn for s in self.per_category.values()),
        )
        return total.f1

    @property
    def macro_f1(self) -> float:
        scores = [s.f1 for s in self.per_category.values()]
        return sum(scores) / len(scores) if scores else 0.0

    @property
    def kind_accuracy(self) -> float:
        return self.per_message(self.kind_correct)

    @property
    def village_accuracy(self) -> float:
        return self.per_message(self.village_correct)

    def as_dict(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "macro_f1": round(self.macro_f1, 4),
            "micro_f1": round(self.micro_f1, 4),
            # null where the gold says nothing of kind and village (Traffy's reports)
            "kind_accuracy": round(self.kind_accuracy, 4)
            if self.scores_kind_and_village
            else None,
            "village_accuracy": (
                round(self.village_accuracy, 4) if self.scores_kind_and_village else None
            ),
            "mean_categories": round(self.mean_predicted, 3),
            "mean_gold_categories": round(self.mean_gold, 3),
            "unsure_rate": round(self.unsure_rate, 4),
            "categories": {
                c: {
                    "precision": round(s.precision, 4),
                    "recall": round(s.recall, 4),
                    "f1": round(s.f1, 4),
                }
                for c, s in self.per_category.items()
            },
        }

    def table(self) -> str:
        lines = [f"{'category':<16}{'precision':>10}{'recall':>10}{'F1':>10}{'support':>10}"]
        for name, s in self.per_category.items():
            lines.append(
                f"{name:<16}{s.precision:>10.3f}{s.recall:>10.3f}{s.f1:>10.3f}{s.tp + s.fn:>10}"
            )
        lines += [
            "",
            f"messages          {self.messages}",
            f"micro F1          {self.micro_f1:.3f}",
            f"macro F1          {self.macro_f1:.3f}",
            f"categories a message: {self.mean_predicted:.2f} predicted,"
            f" {self.mean_gold:.2f} gold",
            f"unsure (no category proposed, the person is asked): {self.unsure}"
            f" ({self.unsure_rate:.1%})",
        ]
        if self.scores_kind_and_village:
            lines += [
                f"kind accuracy     {self.kind_accuracy:.3f}",
                f"village accuracy  {self.village_accuracy:.3f}",
            ]
        return "\n".join(lines)


def evaluate(
    tagger: Tagger,
    gold: Sequence[Gold],
    village_names: Mapping[int, str] | None = None,
    *,
    categories: Sequence[str] | None = None,
    scores_kind_and_village: bool = True,
) -> Report:
    """Score the tagger on labelled messages: ``categories`` (default: all of the tagger's)
    are the ones the gold can speak for."""
    report = Report(
        len(gold),
        {c: CategoryScore() for c in (categories or tagger.categories)},
        scores_kind_and_village=scores_kind_and_village,
    )
    for item in gold:
        tags = tagger.tag(item.text, village_names)
        predicted = set(tags.categories)
        report.predicted_categories += len(predicted)
        report.unsure += not predicted
        report.gold_categories += len(item.categories)
        for category, score in report.per_category.items():
            if category in predicted and category in item.categories:
                score.tp += 1
            elif category in predicted:
                score.fp += 1
            elif category in item.categories:
                score.fn += 1
        report.kind_correct += tags.kind == item.kind
        report.village_correct += tags.village == item.village
    return report
