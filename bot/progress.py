"""Progress bars for long command-line work (big reports and exports), drawn with tqdm.

Two shapes: :func:`counted` advances with the rows of a stream (an export); :class:`Steps` with the
named steps of a job whose rows are read at once (a report: read and count, then write).

A bar appears only on a terminal and only for jobs of ``PROGRESS_FROM`` rows or more; piped
output and small tambons stay quiet.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Sequence
from typing import TextIO, TypeVar

Item = TypeVar("Item")

PROGRESS_FROM = 5000


async def counted(
    items: AsyncIterator[Item], total: int, label: str, stream: TextIO | None = None
) -> AsyncIterator[Item]:
    """Pass ``items`` through, advancing a bar of ``total`` on ``stream`` (stderr, if a tty)."""
    if total < PROGRESS_FROM:
        async for item in items:
            yield item
        return
    from tqdm import tqdm

    bar = tqdm(
        total=total,
        desc=label,
        unit=" rows",
        unit_scale=True,
        file=stream or sys.stderr,
        disable=None if stream is None else False,  # None: only on a terminal
        mininterval=0.5,
    )
    try:
        step = 0
        async for item in items:
            yield item
            step += 1
            if step == 1000:  # tqdm per item would cost more than reading the row
                bar.update(step)
                step = 0
        bar.update(step)
    finally:
        bar.close()


class Steps:
    """A bar over the named steps of one job about ``rows`` rows; :meth:`next` ends a step."""

    def __init__(self, rows: int, labels: Sequence[str], stream: TextIO | None = None) -> None:
        from tqdm import tqdm

        self._labels = list(labels)
        self._done = 0
        self._bar = (
            tqdm(
                total=len(self._labels),
                desc=self._labels[0],
                file=stream or sys.stderr,
                disable=None if stream is None else False,  # None: only on a terminal
                bar_format="{desc} {bar} {n_fmt}/{total_fmt} [{elapsed}]",
            )
            if rows >= PROGRESS_FROM
            else None
        )

    def next(self) -> None:
        if self._bar is None:
            return
        self._done += 1
        self._bar.update(1)
        if self._done < len(self._labels):
            self._bar.set_description(self._labels[self._done])

    def close(self) -> None:
        if self._bar is not None:
            self._bar.update(len(self._labels) - self._done)
            self._bar.close()
