"""The listener's guard against slow and idle connections (slowloris), under aiohttp.

aiohttp reads a request's headers for as long as a client cares to send them, and keeps an idle
connection for an hour: a few hundred connections that send half a header each hold as many
open files, and under systemd's default limit of 1,024 the webhooks and ``/healthz`` stop
answering. The guard wraps each connection's aiohttp protocol and

- closes a connection that has not completed a request's headers within ``header_seconds`` of
  opening, or of its last answer (an idle keep-alive connection goes the same way);
- keeps at most ``per_address`` such waiting connections for one address and ``in_all``
  altogether: one more closes the oldest waiting one, so a new client always gets its turn and
  a slow one loses its place (behind a reverse proxy every client shares the proxy's address,
  which is why the oldest goes rather than the newest).

A request whose headers have arrived is the application's: ``read_body`` bounds the time its
body may take. The middleware tells the guard when a request starts and when it is answered.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

# The largest request body the listener reads (a webhook's events, a workbench form or upload).
MAX_BODY_BYTES = 1024 * 1024

HEADER_SECONDS = 10.0  # to send a request's headers, from connecting or from the last answer
BODY_SECONDS = 20.0  # to send a request's body once its headers are in
PER_ADDRESS = 128  # connections one address may hold without a request under way
IN_ALL = 512  # the same for all addresses together


class BodyTooSlow(Exception):
    """The client did not send the request's body in time."""


async def read_body(request: web.Request, seconds: float = BODY_SECONDS) -> bytes:
    """The request's body, or BodyTooSlow when it does not arrive within ``seconds``."""
    try:
        async with asyncio.timeout(seconds):
            return await request.read()
    except TimeoutError:
        raise BodyTooSlow from None


@dataclass
class Limits:
    header_seconds: float = HEADER_SECONDS
    per_address: int = PER_ADDRESS
    in_all: int = IN_ALL


@dataclass
class _Waiting:
    """The connections without a request under way, oldest first, in all and by address."""

    in_all: OrderedDict[_Guard, None] = field(default_factory=OrderedDict)
    by_address: dict[str, OrderedDict[_Guard, None]] = field(default_factory=dict)


class Guard:
    """Watches every connection of one listening socket (see the module's docstring)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._waiting = _Waiting()
        self._by_transport: dict[asyncio.BaseTransport, _Guard] = {}

    def protocol(self, inner: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """A protocol factory for ``loop.create_server`` that guards ``inner``'s."""
        return lambda: _Guard(self, inner())

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        guard = self._by_transport.get(request.transport) if request.transport else None
        if guard is not None:
            guard.busy()
        try:
            return await handler(request)
        finally:
            if guard is not None:
                guard.idle()

    # -- bookkeeping ----------------------------------------------------------------------

    def _wait(self, guard: _Guard) -> None:
        self._waiting.in_all[guard] = None
        mine = self._waiting.by_address.setdefault(guard.address, OrderedDict())
        mine[guard] = None
        if len(mine) > self.limits.per_address:
            next(iter(mine)).close()
        if len(self._waiting.in_all) > self.limits.in_all:
            next(iter(self._waiting.in_all)).close()

    def _stop_waiting(self, guard: _Guard) -> None:
        self._waiting.in_all.pop(guard, None)
        mine = self._waiting.by_address.get(guard.address)
        if mine is not None:
            mine.pop(guard, None)
            if not mine:
                del self._waiting.by_address[guard.address]


class _Guard(asyncio.Protocol):
    """One connection: aiohttp's protocol inside, a clock outside."""

    def __init__(self, guard: Guard, inner: asyncio.Protocol) -> None:
        self.guard = guard
        self.inner = inner
        self.transport: asyncio.BaseTransport | None = None
        self.address = ""
        self._timer: asyncio.TimerHandle | None = None

    # -- what the transport calls: passed on ------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        peer: Any = transport.get_extra_info("peername")
        self.address = str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)
        self.guard._by_transport[transport] = self
        self.inner.connection_made(transport)
        self.idle()

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        self.guard._stop_waiting(self)
        if self.transport is not None:
            self.guard._by_transport.pop(self.transport, None)
        self.inner.connection_lost(exc)

    # -- the clock ------------------------------------------------------------------------

    def idle(self) -> None:
        """No request under way: the next one's headers must come in time."""
        if self.transport is None or self.transport.is_closing():
            return
        self._cancel()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.guard.limits.header_seconds, self.close)
        self.guard._wait(self)

    def busy(self) -> None:
        """A request's headers are in: the application has it now."""
        self._cancel()
        self.guard._stop_waiting(self)

    def close(self) -> None:
        self._cancel()
        self.guard._stop_waiting(self)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
