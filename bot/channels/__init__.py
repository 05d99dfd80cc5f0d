"""Channel adapters: translate between a platform and Incoming / Outgoing, nothing more."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot import i18n
from handlers.types import T

# What a bot says when addressed in a group chat: it never discusses anyone's data there.
# The largest photo the team's workbench fetches from a platform to show (Telegram's own photos
# are well under this; a file past it is not shown).
MAX_PHOTO_BYTES = 10 * 1024 * 1024

GROUP_NOTICE = T(
    "Hello! To keep everyone's information private, I only talk with people one to one. "
    "Please open a private chat with me: {link}"
)


def split_text(text: str, limit: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` characters, at line breaks where possible.

    Thai has no spaces between words, so a long line is cut at a space if it has one, and
    otherwise at the limit itself.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = window.rfind("\n")
        if cut <= 0:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip("\n"))
        rest = rest[cut:].lstrip("\n")
    pieces.append(rest)
    return [p for p in pieces if p] or [""]


class Pace:
    """At most ``per_second`` calls a second, evenly spaced, across every task of a process
    (Telegram allows a bot about 30 messages a second in all). A caller waits its turn.

    Two lanes share the rate: interactive calls (answers to what a person just did) go first;
    bulk calls (plan notices) go one at a time, each only while no interactive call waits, so a
    thousand notices never stand between a villager and the answer to their tap.

    The spacing is measured from when the previous caller actually went, not from a schedule:
    a process that falls behind (a busy moment) goes on at the pace, never in a burst to catch
    up."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1 / per_second
        self._last = float("-inf")
        self._lock = asyncio.Lock()  # callers queue in order
        self._bulk = asyncio.Lock()
        self._interactive = 0  # interactive callers waiting for their turn
        self._no_interactive = asyncio.Event()
        self._no_interactive.set()

    async def wait(self, *, bulk: bool = False) -> None:
        if bulk:
            async with self._bulk:
                await self._no_interactive.wait()
                await self._turn()
            return
        self._interactive += 1
        self._no_interactive.clear()
        try:
            await self._turn()
        finally:
            self._interactive -= 1
            if not self._interactive:
                self._no_interactive.set()

    async def _turn(self) -> None:
        loop = asyncio.get_running_loop()
        async with self._lock:
            wait = self._last + self.interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last = loop.time()


def push_month(now: datetime | None = None) -> str:
    """The month a push counts in (YYYY-MM, Thailand's time, as LINE's quota counts)."""
    return (now or datetime.now(UTC)).astimezone(i18n.BANGKOK).strftime("%Y-%m")


def next_push_month(now: datetime | None = None) -> datetime:
    """When the next month's pushes start to count (midnight of the 1st, Thailand's time)."""
    here = (now or datetime.now(UTC)).astimezone(i18n.BANGKOK)
    year, month = (here.year + 1, 1) if here.month == 12 else (here.year, here.month + 1)
    return datetime(year, month, 1, tzinfo=i18n.BANGKOK)
