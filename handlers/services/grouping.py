"""Grouping near-duplicate submissions into problems, incrementally and explainably.

A new report is compared with the tambon's existing groups by the lexicon keywords the tagger
found: two keywords match when one contains the other ("prapa" and "nam prapa"). The score is
the share of the smaller keyword set that matches (the overlap coefficient). A report joins the
best group that shares a category, lies in the same village (or either has none) and scores at
least ``THRESHOLD``; otherwise it starts a group of its own. Nothing is recomputed for earlier
reports, and the shared keywords are kept to explain each match.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from storage.base import ProblemGroup

THRESHOLD = 0.5


@dataclass(frozen=True)
class Match:
    group: ProblemGroup
    shared: tuple[str, ...]
    score: float


def shared_keywords(a: Sequence[str], b: Sequence[str]) -> tuple[str, ...]:
    """Keywords of ``a`` that match one of ``b`` (equal, or one inside the other)."""
    return tuple(x for x in a if any(x in y or y in x for y in b))


def similarity(a: Sequence[str], b: Sequence[str]) -> tuple[float, tuple[str, ...]]:
    if not a or not b:
        return 0.0, ()
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    shared = shared_keywords(small, large)
    return len(shared) / len(small), shared


def best_match(
    keywords: Sequence[str],
    categories: Iterable[str],
    village: int | None,
    groups: Iterable[ProblemGroup],
) -> Match | None:
    """The group this report most likely repeats, or None."""
    wanted = set(categories)
    best: Match | None = None
    for group in groups:
        if not wanted & set(group.categories):
            continue
        if village is not None and group.village_moo is not None and village != group.village_moo:
            continue  # the same kind of problem in another village is another problem
        score, shared = similarity(keywords, group.keywords)
        if score >= THRESHOLD and (
            best is None or (score, group.reporters) > (best.score, best.group.reporters)
        ):
            best = Match(group, shared, score)
    return best
