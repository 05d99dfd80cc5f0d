"""A spreadsheet's rows imported all or none (the plan table, the villages' files): every row is
tried in one transaction and every bad row named with its reason; a preview tries it the same
way and rolls back. The rows are tried in a savepoint, so a preview or a refused file is undone
even inside another transaction (the store's nested transactions join the outer one)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from handlers.services import Refused
from handlers.types import Lines, T, Text
from storage.base import Store

R = TypeVar("R")


@dataclass
class Counts:
    """What an import did, or would do (a preview): rows added, updated and left as they were,
    and every row that cannot be imported, named with its reason."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[Text] = field(default_factory=list)


class RowsRefused(Refused):
    """A file with bad rows: nothing of it was written; ``problems`` names each bad row."""

    def __init__(self, problems: Sequence[Text]) -> None:
        super().__init__(
            T(
                "Nothing was imported: {count} rows cannot be read.\n{rows}",
                count=len(problems),
                rows=Lines(problems),
            )
        )
        self.problems = list(problems)


class _Preview(Exception):
    """Raised to roll a preview's transaction back."""


async def all_or_none(
    store: Store,
    rows: Sequence[R],
    one: Callable[[R], Awaitable[str]],
    done: Counts,
    *,
    preview: bool,
    refused: type[Refused],
    unreadable: Callable[[int], Text],
    errors: tuple[type[Exception], ...],
    refusal: type[RowsRefused],
) -> None:
    """Run ``one`` on each row (it returns the count it adds to: ``added``, ``updated``,
    ``unchanged``) in one transaction. A row that raises ``refused`` is named with its reason,
    one that raises one of ``errors`` with ``unreadable(row number)``; row 1 is the header.
    With any bad row the whole file is refused (``refusal``, naming them all); a ``preview``
    rolls back and leaves the problems in ``done`` instead."""
    try:
        async with store.transaction(), store.savepoint():
            for number, row in enumerate(rows, start=2):
                try:
                    outcome = await one(row)
                except refused as refusing:
                    done.problems.append(
                        T("Row {row}: {reason}", row=number, reason=refusing.reason)
                    )
                    continue
                except errors:
                    done.problems.append(unreadable(number))
                    continue
                setattr(done, outcome, getattr(done, outcome) + 1)
            if preview:
                raise _Preview
            if done.problems:
                raise refusal(done.problems)
    except _Preview:
        pass
