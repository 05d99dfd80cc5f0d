"""The durable path every platform channel shares: inbox → engine → outbox → platform.

A platform update is written to the store's **inbox** before the platform is told it arrived
(the next ``getUpdates`` offset, a webhook's 200), so a crash at any moment loses nothing: the
update is either still at the platform, which sends it again, or in the inbox, where it is
handled after the restart. Handling an update is one transaction: its effects, the person's
conversation, the replies it produced (written to the **outbox**) and the removal of the update
from the inbox commit together or not at all. A redelivered update finds its key in the ledger
(``processed_updates``) and is stored once.

Order: each person's updates are handled one at a time, oldest first, and different people's
side by side (``concurrency`` at once). The store locks the person for the length of the
transaction (an advisory lock on PostgreSQL), so this holds across processes too. Each
recipient's replies are delivered one at a time, oldest first: a reply waits until the one
before it was accepted by the platform, refused for good, or given up on.

Delivery: a reply is marked sent once the platform accepted it (the marks of replies sent within
a few milliseconds of each other are written together). A timeout, a 5xx or a refused
connection is retried with backoff (a 429 after its ``retry_after``); a permanent refusal of the
person (blocked, unfollowed) marks them unreachable and drops what was waiting for them. A push
refused because the month's allowance is spent is held, out of the person's line, until the
allowance renews, and then sent before their newer messages. If the
process dies after the platform accepted a reply and before it was marked, the reply is sent
again after the restart: at least once, never lost.

Group commit: on a store that commits one transaction at a time (SQLite), the updates of
several people that are ready at once are handled in one transaction, each in a savepoint of its
own, and the updates kept in the inbox by several webhook calls (or one ``getUpdates`` batch) are
written together likewise (:class:`GroupCommit`). Each person's order is kept (a person's next
update is taken only after the last one committed); an update that fails is undone alone and the
others commit; if the commit itself fails, each is tried again in a transaction of its own.

Poison: an update whose handling fails is retried a few times, then moved to the dead letters
(``tambon-bot inbox dead``), so that it no longer holds up that person's later messages.

A channel plugs in with an :class:`Adapter`: it decodes the JSON it stored into an
:class:`Incoming` (and whatever its replies need), plans the platform calls for the engine's
replies, and makes one such call.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from bot.core import Engine, Outgoing
from handlers.services import book, limits
from handlers.types import Incoming
from storage.base import InboxItem, OutboxMessage, PlanItem, Store

log = logging.getLogger(__name__)

# How long a redelivery key and a settled reply are kept. Telegram keeps an update for 24 hours
# and LINE redelivers within a day as well; Telegram numbers updates afresh only after a week
# without any, by which time the old keys are gone.
KEEP_DELIVERY = timedelta(days=3)
# How long a handled update and a settled reply keep their words: they may quote another
# person's (a button press echoes the message it was under), and nothing reads them once the
# work is done; the keys stay for KEEP_DELIVERY. Pruned every PRUNE_EVERY.
KEEP_WORDS = timedelta(minutes=10)
PRUNE_EVERY = 600.0
MAX_ATTEMPTS = 5  # an update that fails this often goes to the dead letters
GIVE_UP_AFTER = timedelta(hours=24)  # a reply not delivered by then is marked failed
LEASE = timedelta(seconds=60)  # how long a process may take over sending one reply
MAX_BACKOFF = 60.0
CLAIM_BATCH = 20  # replies claimed for one recipient at a time
NOTICE_BATCH = (
    500  # plan notices rendered and queued in one transaction (a LINE multicast's worth)
)
STOP_GRACE = 10.0  # seconds stop() lets the platform calls under way finish
SETTLE_DELAY = 0.02  # seconds a "sent" mark waits to be written with others
UNHOLD_EVERY = 60.0  # seconds between looks for held messages whose allowance has renewed
# What became of one reply.
SENT, SKIPPED, STOP = object(), object(), object()


class Transient(Exception):
    """The platform could not take the call now (timeout, 5xx, no connection, 429)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class OutOfAllowance(Exception):
    """The platform's allowance of messages for the month is spent (LINE's free pushes): the
    message is held until ``until``, when the allowance renews, and the person's later
    messages (replies with a reply token cost nothing) no longer wait for it."""

    def __init__(self, reason: str, until: datetime) -> None:
        super().__init__(reason)
        self.until = until


class Unreachable(Exception):
    """The person cannot be messaged (blocked the bot, unfollowed)."""


class Refused(Exception):
    """The platform refused this one message for good (a bad request); later ones go on."""


@dataclass
class Decoded:
    """What a stored update means: a message for the engine, and where the replies go."""

    recipient: str
    incoming: Incoming | None = None
    # What the adapter's plan needs from the update (a reply token, the pressed message).
    context: dict[str, Any] = field(default_factory=dict)
    # Platform calls to make whatever the engine says (answer a button press, a group notice).
    calls: list[dict[str, Any]] = field(default_factory=list)
    # The person blocked the bot or unfollowed it.
    unreachable: bool = False


@dataclass
class _Handled:
    """What handling one update made, carried out of its transaction."""

    recipient: str | None = None
    events: list[tuple[str, int]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    leased: list[OutboxMessage] = field(default_factory=list)


class _HandlingFailed(Exception):
    """Handling a taken update failed (its writes are undone): retried later, or dead."""

    def __init__(self, key: str, attempts: int, error: Exception) -> None:
        super().__init__(str(error))
        self.key, self.attempts, self.error = key, attempts, error


# The outbox lane of a person's bulk messages (plan notices), beside the lane of their replies.
BULK_LANE = "bulk:"


def person_of(recipient: str) -> str:
    """The person an outbox lane delivers to (a bulk lane is named after them)."""
    return recipient.removeprefix(BULK_LANE)


class Adapter(Protocol):
    """A platform, as the pipeline sees it."""

    name: str

    def decode(self, key: str, payload: str) -> Decoded | None:
        """A stored update (its key and JSON); None when there is nothing to do with it."""
        ...

    def plan(self, decoded: Decoded, replies: Sequence[Outgoing]) -> list[dict[str, Any]]:
        """The platform calls that deliver the replies, in order (JSON-ready, no I/O)."""
        ...

    async def deliver(self, recipient: str, call: dict[str, Any]) -> None:
        """Make one planned call; raise Transient, Unreachable or Refused when it fails."""
        ...


K = TypeVar("K", bound=Hashable)
R = TypeVar("R")
GROUP_LIMIT = 64  # units of work in one shared transaction at most


class GroupCommit:
    """Units of work from many tasks run in shared transactions (group commit).

    ``run(work)`` returns when the transaction that ran ``work`` has committed (or raises what
    ``work`` raised, its writes undone). While a transaction is under way, the units that arrive
    wait and go together in the next one; each runs in a savepoint, so one that fails is undone
    alone. On a store that can commit several transactions at once (PostgreSQL's pool), each
    unit simply gets a transaction of its own."""

    def __init__(self, store: Store, limit: int = GROUP_LIMIT) -> None:
        self.store = store
        self.limit = limit
        self._waiting: list[tuple[Callable[[], Awaitable[Any]], asyncio.Future[Any]]] = []
        self._runner: asyncio.Task[None] | None = None
        self.transactions = 0  # committed so far (for benchmarks and tests)
        self.units = 0

    async def run(self, work: Callable[[], Awaitable[R]]) -> R:
        if not self.store.one_writer:
            async with self.store.transaction():
                result = await work()
            self.transactions += 1
            self.units += 1
            return result
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((work, future))
        if self._runner is None or self._runner.done():
            # A context of its own: the runner opens its own transactions, even when the first
            # unit came from code inside one (the store keeps "in a transaction" per context).
            self._runner = asyncio.create_task(self._drain(), context=contextvars.Context())
        return await future

    async def close(self) -> None:
        """Cut short the transaction under way (it rolls back) and fail what waits."""
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
        for _, future in self._waiting:
            future.cancel()
        self._waiting = []

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self.limit], self._waiting[self.limit :]
            try:
                await self._together(batch)
            except asyncio.CancelledError:
                for _, future in batch:
                    future.cancel()
                raise

    async def _together(
        self, batch: list[tuple[Callable[[], Awaitable[Any]], asyncio.Future[Any]]]
    ) -> None:
        outcomes: list[tuple[asyncio.Future[Any], BaseException | None, Any]] = []
        try:
            async with self.store.transaction():
                for work, future in batch:
                    try:
                        async with self.store.savepoint():
                            outcomes.append((future, None, await work()))
                    except Exception as error:
                        outcomes.append((future, error, None))
        except Exception:
            # The commit failed (or a savepoint could not be undone): each alone, so that one
            # unit cannot take the others down.
            log.warning(
                "a shared transaction of %d updates failed; each alone", len(batch), exc_info=True
            )
            for work, future in batch:
                try:
                    async with self.store.transaction():
                        result = await work()
                except Exception as alone:
                    _settle(future, alone, None)
                else:
                    _settle(future, None, result)
            self.transactions += len(batch)
            self.units += len(batch)
            return
        self.transactions += 1
        self.units += len(batch)
        for future, failure, result in outcomes:
            _settle(future, failure, result)


def _settle(future: asyncio.Future[Any], error: BaseException | None, result: Any) -> None:
    if future.done():  # the task waiting for it was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class Lanes(Generic[K]):
    """At most one task per key; a key kicked while its task runs makes it go round again.

    At most ``limit`` run at once in each ``group`` of keys (all keys are one group unless
    told): the outbox counts each channel apart, so that a channel waiting for its platform's
    pace (Telegram's 30 a second) does not hold up another's."""

    def __init__(
        self,
        work: Callable[[K], Awaitable[None]],
        limit: int,
        group: Callable[[K], Hashable] = lambda key: None,
    ) -> None:
        self._work = work
        self._limit = limit
        self._group = group
        self._limits: dict[Hashable, asyncio.Semaphore] = {}
        self._running: dict[K, asyncio.Task[None]] = {}
        self._again: set[K] = set()

    def kick(self, key: K) -> None:
        if key in self._running:
            self._again.add(key)
            return
        self._running[key] = asyncio.create_task(self._run(key))

    async def _run(self, key: K) -> None:
        try:
            while True:
                self._again.discard(key)
                group = self._group(key)
                if group not in self._limits:
                    self._limits[group] = asyncio.Semaphore(self._limit)
                async with self._limits[group]:
                    try:
                        await self._work(key)
                    except Exception:
                        log.exception("delivery lane %s failed", key)
                if key not in self._again:
                    return
        finally:
            self._running.pop(key, None)

    async def idle(self) -> None:
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def close(self) -> None:
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _now() -> datetime:
    return datetime.now(UTC)


def backoff(attempts: int) -> float:
    """Seconds before trying again after ``attempts`` failures: doubling, with jitter."""
    return float(min(MAX_BACKOFF, 0.25 * 2 ** max(0, attempts - 1)) * random.uniform(0.8, 1.2))


class Pipeline:
    """Handles every platform channel's updates from the inbox and delivers the outbox."""

    def __init__(
        self,
        engine: Engine,
        *,
        concurrency: int = 32,
        senders: int = 32,
        poll_interval: float = 1.0,
        max_attempts: int = MAX_ATTEMPTS,
        lease: timedelta = LEASE,
        keep: timedelta = KEEP_DELIVERY,
        exclusive_store: bool = False,
    ) -> None:
        self.engine = engine
        self.store = engine.store
        self.adapters: dict[str, Adapter] = {}
        self.poll_interval = poll_interval
        self.max_attempts = max_attempts
        self.lease = lease
        self.keep = keep
        # Only this process uses the store (SQLite): leases left by a crash can go at once.
        self.exclusive_store = exclusive_store
        self.commits = GroupCommit(self.store)
        self.inbox: Lanes[tuple[str, str]] = Lanes(self._handle_sender, concurrency)
        self.outbox: Lanes[tuple[str, str]] = Lanes(
            self._deliver_recipient, senders, group=lambda key: key[0]
        )
        self._wake = asyncio.Event()
        # Updates accepted by this process and not handled yet, per sender.
        self._accepted: Counter[tuple[str, str]] = Counter()
        self._loop: asyncio.Task[None] | None = None
        self._users = 0
        # Replies accepted by the platform, not yet marked sent in the store; one write marks
        # every reply sent meanwhile (they stay leased to this process until then).
        # A recipient's next reply waits for these marks: see _settle_for.
        self._sent: dict[tuple[str, str], list[int]] = {}
        self._stopping = False  # stop() under way: claim no more replies
        self._settling: asyncio.Task[None] | None = None

    def register(self, adapter: Adapter) -> None:
        self.adapters[adapter.name] = adapter

    # -- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start (or join, for a second channel) the loop that resumes waiting work."""
        self._users += 1
        if self._loop is not None:
            return
        self._stopping = False
        if self.exclusive_store:
            await self.store.outbox_release_leases()
        await self.prune()
        self._loop = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._users -= 1
        if self._users > 0 or self._loop is None:
            return
        self._loop.cancel()
        await asyncio.gather(self._loop, return_exceptions=True)
        self._loop = None
        # Replies: no new ones are taken; each call under way may finish (a few seconds at
        # most), and what was claimed and not sent is handed back at once, so that the next
        # process sends it without waiting for the lease to run out, and nothing is sent twice.
        self._stopping = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.outbox.idle(), STOP_GRACE)
        # What is still under way is cut short: its transaction rolls back and it is done again
        # after the restart; a reply being sent may be sent once more.
        await self.inbox.close()
        await self.commits.close()
        await self.outbox.close()
        if self._settling is not None:
            self._settling.cancel()
        await self.settle_sent()

    async def prune(self) -> None:
        now = _now()
        pruned = await self.store.prune_delivery(now - self.keep, now - KEEP_WORDS)
        pruned += await limits.prune(self.store, self.engine.limits, now)
        if pruned:
            log.info("pruned %d old redelivery keys, delivered replies and counts", pruned)

    async def release_held(self, now: datetime | None = None) -> int:
        """Put back in line the messages held for an allowance that has renewed by ``now``."""
        released = await self.store.outbox_unhold(now or _now())
        if released:
            log.info("%d held messages back in line: the allowance renewed", released)
        return released

    async def _run(self) -> None:
        last_prune = last_unhold = asyncio.get_running_loop().time()
        while True:
            try:
                self.kick_due(await self.store.inbox_senders(_now()))
                await self.queue_notices()
                if asyncio.get_running_loop().time() - last_unhold > UNHOLD_EVERY:
                    last_unhold = asyncio.get_running_loop().time()
                    await self.release_held()
                    # Comments on a draft plan whose days are over: closed, the team told.
                    await book.close_due(self.store)
                await self._kick_outbox()
                if asyncio.get_running_loop().time() - last_prune > PRUNE_EVERY:
                    last_prune = asyncio.get_running_loop().time()
                    await self.prune()
            except Exception:
                log.exception("the delivery loop could not read the store; trying again")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)

    def kick_due(self, senders: Sequence[tuple[str, str]]) -> None:
        for key in senders:
            if key[0] in self.adapters:
                self.inbox.kick(key)

    async def queue_notices(self, limit: int = NOTICE_BATCH) -> int:
        """Put waiting plan notices (handlers/services/plan.py) for people on this process's
        channels into the outbox, rendered in each person's language: each notice is claimed and
        queued in one transaction, so none is queued twice, whichever process gets there first.
        The outbox then delivers them like replies, one recipient's in order. How many."""
        from handlers.plan import notice
        from handlers.services.plan import notice_detail

        queued = 0
        # Most of the time nothing waits: a read, so that the loop takes no write lock.
        while await self.store.plan_notices_waiting(list(self.adapters)):
            async with self.store.transaction():
                claimed = await self.store.claim_plan_notices(limit, list(self.adapters))
                people = await self.store.get_members_by_ids({c.member_id for c in claimed})
                items: dict[int, PlanItem | None] = {}
                # One rendering per item, change and language (a batch is mostly one of each).
                rendered: dict[tuple[int, str, str], Outgoing] = {}
                # A platform that tells many people in one call (LINE's multicast) is given
                # everyone told the same notice at once.
                gathered: dict[tuple[str, tuple[int, str, str]], list[str]] = {}
                messages = []
                for claim in claimed:
                    member = people.get(claim.member_id)
                    if member is None or member.unreachable_at or member.quiet_at:
                        continue
                    if claim.item_id not in items:
                        items[claim.item_id] = await self.store.get_plan_item(claim.item_id)
                    item = items[claim.item_id]
                    if item is None:
                        continue
                    key = (item.id, claim.event, self.engine.locale_of(member))
                    if key not in rendered:
                        detail = await notice_detail(self.store, item, claim.event)
                        rendered[key] = self.engine.render(
                            notice(item, claim.event, detail), key[2]
                        )
                    adapter = self.adapters[member.channel]
                    if hasattr(adapter, "gather_bulk"):
                        gathered.setdefault((member.channel, key), []).append(
                            member.platform_user_id
                        )
                        continue
                    calls = adapter.plan(
                        Decoded(recipient=member.platform_user_id), [rendered[key]]
                    )
                    # Bulk: paced behind the answers to people's taps, in a lane of the
                    # person's own beside their replies: a reply never waits for a notice.
                    lane = BULK_LANE + member.platform_user_id
                    messages += [
                        (member.channel, lane, json.dumps({**call, "bulk": 1})) for call in calls
                    ]
                for (channel, key), users in gathered.items():
                    adapter = self.adapters[channel]
                    calls = adapter.plan(Decoded(recipient=users[0]), [rendered[key]])
                    messages += adapter.gather_bulk(users, calls)  # type: ignore[attr-defined]
                if messages:
                    await self.store.outbox_add(messages)
            queued += len(claimed)
        return queued

    async def _kick_outbox(self) -> None:
        for key in await self.store.outbox_recipients(_now()):
            if key[0] in self.adapters:
                self.outbox.kick(key)

    # -- in -------------------------------------------------------------------------------

    async def accept(self, channel: str, items: Sequence[InboxItem]) -> int:
        """Keep updates in the inbox (committed when this returns) and start handling them;
        returns how many were new. Raises when the store cannot keep them: then the platform
        must not be told they arrived."""
        new = await self.commits.run(lambda: self.store.inbox_add(channel, items))
        for item in new:
            self._accepted[(channel, item.sender)] += 1
        self.kick_due([(channel, item.sender) for item in new])
        return len(new)

    async def _handle_sender(self, key: tuple[str, str]) -> None:
        # Kicked for updates this process accepted: handle that many, and save the round trip
        # that would find the inbox empty. Kicked by the loop (a restart, a retry, another
        # process's updates): look until the inbox has nothing due for this sender.
        looking = self._accepted[key] <= 0
        while await self._handle_next(*key):
            if self._accepted[key] > 0:
                self._accepted[key] -= 1
            if not looking and self._accepted[key] <= 0:
                break
        if self._accepted[key] <= 0:
            self._accepted.pop(key, None)

    async def _handle_next(self, channel: str, sender: str) -> bool:
        """Handle this sender's oldest update; False when there is none due."""
        adapter = self.adapters[channel]
        await self._settle_for((channel, sender))
        try:
            handled = await self.commits.run(lambda: self._handle_in(adapter, channel, sender))
        except _HandlingFailed as failed:
            await self._failed(channel, sender, failed.key, failed.attempts, failed.error)
            return False
        if handled is None:
            return False
        await self.engine.notify(handled.events)
        if handled.leased:
            # Ours already: sent at once, in this sender's turn (no claim, no wait).
            await self._deliver_batch(adapter, handled.leased)
        elif handled.recipient is not None and handled.calls:
            self.outbox.kick((channel, handled.recipient))
        return True

    async def _handle_in(self, adapter: Adapter, channel: str, sender: str) -> _Handled | None:
        """Inside the transaction: take the sender's oldest update, handle it, write its
        replies; None when there is none due."""
        event = await self.store.inbox_take(channel, sender, _now())
        if event is None:
            return None
        handled = _Handled()
        try:
            decoded = adapter.decode(event.key, event.payload)
            if decoded is None:
                return handled
            handled.recipient = decoded.recipient
            if decoded.unreachable:
                await self.engine.mark_unreachable(channel, sender)
            handled.calls = list(decoded.calls)
            if decoded.incoming is not None:
                # The inbox row, marked done, is this update's redelivery key.
                replies, handled.events = await self.engine.handle_in_transaction(decoded.incoming)
                handled.calls += adapter.plan(decoded, replies)
            handled.leased = await self.store.outbox_add(
                [
                    (channel, decoded.recipient, json.dumps(call, ensure_ascii=False))
                    for call in handled.calls
                ],
                lease_until=_now() + self.lease,
            )
        except Exception as error:
            raise _HandlingFailed(event.key, event.attempts, error) from error
        return handled

    async def _failed(
        self, channel: str, sender: str, key: str, attempts: int, error: Exception
    ) -> None:
        log.error("%s update %s could not be handled", channel, key, exc_info=error)
        if sender:
            await self.engine.count_failed(channel, sender)
        retry_at = _now() + timedelta(seconds=backoff(attempts + 1))
        dead = await self.store.inbox_failed(
            channel, key, f"{type(error).__name__}: {error}", retry_at, self.max_attempts
        )
        if dead:
            log.warning(
                "%s update %s failed %d times: moved to the dead letters",
                channel,
                key,
                self.max_attempts,
            )
            if self._accepted[(channel, sender)] > 0:
                self._accepted[(channel, sender)] -= 1
            self.inbox.kick((channel, sender))  # their next update need not wait
        else:
            self._retry_soon(backoff(attempts + 1))

    # -- out ------------------------------------------------------------------------------

    async def _deliver_recipient(self, key: tuple[str, str]) -> None:
        channel, recipient = key
        adapter = self.adapters[channel]
        await self._settle_for(key)
        while not self._stopping:
            batch = await self.store.outbox_claim(
                channel, recipient, _now(), self.lease, limit=CLAIM_BATCH
            )
            if not await self._deliver_batch(adapter, batch) or len(batch) < CLAIM_BATCH:
                # Fewer than asked for: nothing more was waiting (a new reply kicks again).
                return

    async def _deliver_batch(self, adapter: Adapter, batch: Sequence[OutboxMessage]) -> bool:
        """Send claimed messages in order; False when one must wait (the rest released)."""
        for index, message in enumerate(batch):
            if self._stopping:
                await self.store.outbox_release([m.id for m in batch[index:]])
                return False
            outcome = await self._deliver_one(adapter, message)
            if outcome is SENT:
                self._mark_sent(message)
            elif outcome is STOP:
                await self.store.outbox_release([m.id for m in batch[index + 1 :]])
                return False
        return True

    def _mark_sent(self, message: OutboxMessage) -> None:
        self._sent.setdefault((message.channel, message.recipient), []).append(message.id)
        if self._settling is None or self._settling.done():
            self._settling = asyncio.create_task(self._settle_soon())

    async def _settle_soon(self) -> None:
        await asyncio.sleep(SETTLE_DELAY)
        await self.settle_sent()

    async def _settle_for(self, key: tuple[str, str]) -> None:
        """A recipient's replies go out in order, so a reply waits while one before it is still
        pending in the store: write the marks now if this recipient has some waiting."""
        if key in self._sent:
            await self.settle_sent()

    async def settle_sent(self) -> None:
        """Mark the replies sent so far as sent, in one write. A crash before it means these
        few are sent again after the restart (they are leased to this process till then)."""
        while self._sent:
            waiting, self._sent = self._sent, {}
            sent = [message_id for ids in waiting.values() for message_id in ids]
            try:
                await self.store.outbox_settle(sent, "sent")
            except Exception:
                # Kept for the next write; still leased, so never lost: if this process dies
                # first, they are sent again once the lease runs out.
                log.exception("could not mark %d replies sent", len(sent))
                for key, ids in waiting.items():
                    self._sent[key] = ids + self._sent.get(key, [])
                return

    async def _deliver_one(self, adapter: Adapter, message: OutboxMessage) -> object:
        """Make one call; SENT, SKIPPED (refused for good: the next may follow) or STOP."""
        channel, recipient = message.channel, person_of(message.recipient)
        try:
            await adapter.deliver(recipient, json.loads(message.payload))
        except Unreachable:
            await self.engine.mark_unreachable(channel, recipient)
            await self.store.outbox_settle([message.id], "dropped", "unreachable")
            dropped = await self.store.outbox_drop(channel, recipient, "unreachable")
            dropped += await self.store.outbox_drop(channel, BULK_LANE + recipient, "unreachable")
            log.info("%s recipient unreachable; %d replies dropped", channel, dropped + 1)
            return STOP
        except OutOfAllowance as error:
            until = error.until.isoformat()
            log.warning("%s reply %d held until %s: %s", channel, message.id, until, error)
            await self.store.outbox_hold(message.id, str(error), error.until)
            return SKIPPED
        except Refused as error:
            log.warning("%s refused a reply for good: %s", channel, error)
            await self.store.outbox_settle([message.id], "failed", str(error))
            return SKIPPED
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
            if _now() - message.created_at > GIVE_UP_AFTER:
                log.error("%s reply %d given up after a day: %s", channel, message.id, reason)
                await self.store.outbox_settle([message.id], "failed", reason)
                return SKIPPED
            wait = (
                error.retry_after
                if isinstance(error, Transient) and error.retry_after is not None
                else backoff(message.attempts + 1)
            )
            if not isinstance(error, Transient):
                log.exception("unexpected error while sending a %s reply", channel)
            else:
                log.info(
                    "%s reply %d not sent (%s); again in %.1f s", channel, message.id, reason, wait
                )
            await self.store.outbox_retry(message.id, reason, _now() + timedelta(seconds=wait))
            self._retry_soon(wait)
            return STOP
        return SENT

    def _retry_soon(self, wait: float) -> None:
        """Wake the loop when a short retry is due (it looks every ``poll_interval`` anyway)."""
        if wait < self.poll_interval:
            asyncio.get_running_loop().call_later(wait, self._wake.set)

    # -- for tests and tools ----------------------------------------------------------------

    async def drain(self, within: float = 30.0) -> None:
        """Wait until the inbox is empty and no reply is pending (retries included), or
        ``within`` seconds have passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            self.kick_due(await self.store.inbox_senders(_now()))
            await self._kick_outbox()
            await self.inbox.idle()
            await self.outbox.idle()
            await self.settle_sent()
            waiting = [await self.store.inbox_pending(channel) for channel in self.adapters]
            if not any(waiting) and not (await self.store.outbox_counts()).get("pending"):
                return
            await asyncio.sleep(0.02)
