"""A round-robin HTTP balancer on 127.0.0.1, as nginx or a cloud load balancer would stand in
front of several `tambon-bot run` processes: each request goes to the next backend in turn; a
backend that refuses the connection is skipped, and when none answers the caller gets a 502 (the
platform then delivers the webhook again)."""

from __future__ import annotations

from collections import Counter

import aiohttp
from aiohttp import web


class Balancer:
    def __init__(self, backends: list[str]) -> None:
        self.backends = backends  # base URLs, e.g. http://127.0.0.1:8081
        self.forwarded: Counter[str] = Counter()
        self._next = 0
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.url = ""

    async def start(self, port: int) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._http is not None
        body = await request.read()
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        for _ in range(len(self.backends)):
            backend = self.backends[self._next % len(self.backends)]
            self._next += 1
            try:
                async with self._http.request(
                    request.method, backend + request.path_qs, data=body, headers=headers
                ) as answer:
                    payload = await answer.read()
                    self.forwarded[backend] += 1
                    return web.Response(
                        status=answer.status,
                        body=payload,
                        content_type=answer.content_type,
                    )
            except (aiohttp.ClientConnectionError, TimeoutError):
                continue
        return web.Response(status=502, text="no backend answered")
