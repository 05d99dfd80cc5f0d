"""Progress bars for long command-line work (big reports and exports), drawn with tqdm.

A bar appears only on a terminal and only for jobs of ``PROGRESS_FROM`` rows or more; piped
output and small tambons stay quiet.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
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
