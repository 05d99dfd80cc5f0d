"""Limits per person: a few wrong join codes or hall codes, then a pause; so many messages a
minute and problems an hour, then a pause.

Each kind has its :class:`Limit`: so many failures (or uses) within a window pause the person
for a while. The count lives in the store (the ``attempts`` table), in the same transaction
as the answer, so a lockout holds across restarts and across the processes that share a store.
A right guess clears the count. ``now`` comes from the caller (the engine's clock), so tests
move time instead of sleeping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from storage.base import Attempts, Store


@dataclass(frozen=True)
class Limit:
    kind: str
    failures: int  # this many wrong guesses ...
    window: timedelta  # ... within this long ...
    lockout: timedelta  # ... and the person waits this long


# A join code has 10^8 values and a person mistypes one now and then: five tries in a quarter of
# an hour, then a quarter of an hour's pause (at most 480 guesses a day against 10^8).
JOIN_CODES = Limit("join", 5, timedelta(minutes=15), timedelta(minutes=15))
# A hall code has 10^6 values and lives for one hearing: five tries, then an hour's pause, so
# that guessing one from outside the hall takes years rather than hours.
HALL_CODES = Limit("hall", 5, timedelta(hours=1), timedelta(hours=1))


# The kinds that count guesses: they outlive a /forget until they run out, so that joining and
# declining cannot wipe them.
GUESSES = (JOIN_CODES.kind, HALL_CODES.kind)


# Ordinary use, not guessing: more than this many in the window is refused with a pause. A
# villager at a hearing presses a few buttons a minute; thirty messages a minute is a script or
# a stuck phone. Twenty problems an hour from one villager is more than a hearing's worth; the
# relays of community organisation members and the team's own filing are not limited.
MESSAGES = Limit("messages", 30, timedelta(minutes=1), timedelta(minutes=1))
SUBMISSIONS = Limit("submissions", 20, timedelta(hours=1), timedelta(minutes=30))


UNLIMITED = 10**9


@dataclass(frozen=True)
class Limits:
    """The limits in force: the defaults above, or how many the settings allow
    (``TAMBON_LIMIT_*``; the windows and pauses stay as above)."""

    join_codes: Limit = JOIN_CODES
    hall_codes: Limit = HALL_CODES
    messages: Limit = MESSAGES
    submissions: Limit = SUBMISSIONS

    def without_use_limits(self) -> Limits:
        """These limits without a pace of messages or of problems: for the operator's own
        terminal (the console), where scripts type fast and nobody else is to be kept out."""
        return replace(
            self,
            messages=replace(self.messages, failures=UNLIMITED),
            submissions=replace(self.submissions, failures=UNLIMITED),
        )

    @classmethod
    def allowing(
        cls,
        *,
        join_codes: int | None = None,
        hall_codes: int | None = None,
        messages: int | None = None,
        submissions: int | None = None,
    ) -> Limits:
        """The defaults with other counts where given."""

        def counted(limit: Limit, count: int | None) -> Limit:
            return limit if count is None else replace(limit, failures=count)

        return cls(
            counted(JOIN_CODES, join_codes),
            counted(HALL_CODES, hall_codes),
            counted(MESSAGES, messages),
            counted(SUBMISSIONS, submissions),
        )


def person(channel: str, user_id: str) -> str:
    """The person limits count: channel and platform id."""
    return f"{channel}:{user_id}"


def minutes_left(until: datetime, now: datetime) -> int:
    """Whole minutes until ``until``, at least one, for an answer that says how long to wait."""
    return max(1, math.ceil((until - now).total_seconds() / 60))


def seconds_left(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


def _paused(found: Attempts | None, now: datetime) -> datetime | None:
    if found is not None and found.locked_until is not None and found.locked_until > now:
        return found.locked_until
    return None


def _window(found: Attempts | None, limit: Limit, who: str, now: datetime) -> Attempts:
    """The count in force: the stored one, or a fresh one when its window or pause is over."""
    if found is None or now - found.first_at > limit.window or found.locked_until is not None:
        return Attempts(limit.kind, who, 0, now)
    return found


async def over(store: Store, limit: Limit, who: str, now: datetime) -> datetime | None:
    """Count one more use; when it goes over the limit (or the person is paused), when they
    may go on. A refused use is not counted."""
    found = await store.get_attempts(limit.kind, who)
    paused = _paused(found, now)
    if paused is not None:
        return paused
    count = _window(found, limit, who, now)
    if count.failures >= limit.failures:
        until = now + limit.lockout
        await store.save_attempts(Attempts(limit.kind, who, count.failures, count.first_at, until))
        return until
    await store.save_attempts(Attempts(limit.kind, who, count.failures + 1, count.first_at))
    return None


async def locked_until(store: Store, limit: Limit, who: str, now: datetime) -> datetime | None:
    """When the person may guess again, if they are locked out now."""
    return _paused(await store.get_attempts(limit.kind, who), now)


async def failed(store: Store, limit: Limit, who: str, now: datetime) -> datetime | None:
    """Count a wrong guess; returns when they may guess again if this one locks them out."""
    count = _window(await store.get_attempts(limit.kind, who), limit, who, now)
    failures = count.failures + 1
    until = now + limit.lockout if failures >= limit.failures else None
    await store.save_attempts(Attempts(limit.kind, who, failures, count.first_at, until))
    return until


async def succeeded(store: Store, limit: Limit, who: str) -> None:
    """A right guess: the count starts again."""
    await store.clear_attempts(limit.kind, who)


async def prune(store: Store, limits: Limits, now: datetime) -> int:
    """Forget the counts that no longer count: their window and their pause are over (so
    nobody's platform id stays in the ``attempts`` table for longer than the longest of them).
    How many went."""
    longest = max(
        max(limit.window, limit.lockout)
        for limit in (limits.join_codes, limits.hall_codes, limits.messages, limits.submissions)
    )
    return await store.prune_attempts(now - longest)
