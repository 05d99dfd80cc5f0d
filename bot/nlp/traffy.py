"""Real citizens' complaints for measuring the tagger: Traffy Fondue reports (Bangkok, 2022–23).

The file (``traffy-dev.csv.gz``: ``ticket_id``, ``month``, ``text``, ``categories`` joined by
``|``) is not part of the project; its provenance and the label mapping are in the data's
README. Its labels are mapped onto our taxonomy (:data:`MAPPING`); a report whose labels all
map to nothing (intent labels, ambiguous ones, "other") has no gold topic and is left out.

**The held-out test part** is a fixed, stratified fifth by ticket: within each stratum (the set of
mapped categories a report has), the tickets are ordered by a hash of their id and every fifth is
held out. It depends on nothing but the ticket ids, so it is the same on every machine and for
every version of the file that keeps those tickets, and no list of texts needs to be kept. Nothing
that trains the classifier, edits the lexicon or picks a threshold may read the test part:
:func:`split` is the only way in, and training code asks for ``dev`` only.

The test part travels with the project (``tests/data/traffy_test.csv.gz``, written by
``scripts/export_traffy_test.py``) so that CI can score it: there every row says ``part=test``,
and :func:`split` takes a file's own ``part`` column over the hash.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal, TextIO

from bot.nlp.evaluate import Gold


def _mapping() -> dict[str, str | None]:
    """Traffy's labels onto the project's categories (``traffy_labels.toml``); None: no topic."""
    table = tomllib.loads(
        resources.files("bot.nlp").joinpath("traffy_labels.toml").read_text(encoding="utf-8")
    )
    return {
        label: None if category == "none" else category
        for category, labels in table.items()
        for label in labels
    }


MAPPING = _mapping()
# The categories Traffy's labels can speak for: only these are scored on its reports.
MAPPED = tuple(sorted({c for c in MAPPING.values() if c is not None}))
HELD_OUT = 5  # one ticket in five


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    text: str
    categories: frozenset[str]  # mapped onto our taxonomy
    part: str | None = None  # "dev" or "test" when the file says (an exported part)

    def gold(self) -> Gold:
        # Traffy says nothing of kind or village: those are not scored on its reports.
        return Gold(self.text, self.categories, kind="", village=None)


def map_labels(labels: Iterable[str]) -> frozenset[str]:
    """Our categories for Traffy's labels (unknown labels, like intent ones, map to none)."""
    return frozenset(c for label in labels if (c := MAPPING.get(label.strip())) is not None)


def _open(path: Path) -> TextIO:
    """A ``.csv`` or ``.csv.gz`` file, as text."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def read_rows(path: Path) -> list[dict[str, str]]:
    """The file's rows as they are (``.csv`` or ``.csv.gz``)."""
    with _open(path) as f:
        return list(csv.DictReader(f))


def load(path: Path) -> list[Ticket]:
    """The reports that have a gold topic after the mapping."""
    rows = read_rows(path)
    tickets = []
    for row in rows:
        categories = map_labels((row.get("categories") or "").split("|"))
        if categories and (row.get("text") or "").strip():
            tickets.append(
                Ticket(row["ticket_id"], row["text"], categories, row.get("part") or None)
            )
    return tickets


def is_traffy(path: Path) -> bool:
    """Whether a labelled file is in Traffy's format (it has a ``ticket_id`` column)."""
    with _open(path) as f:
        header = f.readline()
    return "ticket_id" in header.split(",")


def _order(ticket_id: str) -> str:
    return hashlib.sha256(ticket_id.encode()).hexdigest()


def split(tickets: Sequence[Ticket], part: Literal["dev", "test"]) -> list[Ticket]:
    """The development part (four fifths) or the held-out test part (one fifth), stratified by
    each report's set of categories. A file that names each row's part is taken at its word."""
    if tickets and all(t.part is not None for t in tickets):
        return [t for t in tickets if t.part == part]
    strata: dict[frozenset[str], list[Ticket]] = defaultdict(list)
    for ticket in tickets:
        strata[ticket.categories].append(ticket)
    chosen = []
    for members in strata.values():
        for index, ticket in enumerate(sorted(members, key=lambda t: _order(t.ticket_id))):
            if (index % HELD_OUT == 0) == (part == "test"):
                chosen.append(ticket)
    return sorted(chosen, key=lambda t: t.ticket_id)
