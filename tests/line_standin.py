"""A stand-in LINE Messaging API server on 127.0.0.1, and signed webhook events for tests.

It answers ``POST /v2/bot/message/reply`` and ``/v2/bot/message/push`` as LINE does, enforces
the limits LINE enforces (5 messages a call, 5,000 characters a text, 13 quick-reply items of at
most 20 characters, one use per reply token) and records every call. The real line-bot-sdk
client talks to it through ``LINE_API_BASE_URL=http://127.0.0.1:PORT``.

Run alone (``python -m tests.line_standin TOKEN SECRET``, for the benchmarks), it also posts
scheduled, signed postback events to a bot's webhook, as LINE's servers would (again after a
non-2xx answer), and times how long each person waits for the bot's answer.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import random
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

_ids = itertools.count(1)


@dataclass
class LineCall:
    kind: str  # "reply", "push" or "multicast" (one call recorded for each person named)
    user: str | None  # the user it went to (replies: looked up from the token)
    messages: list[dict[str, Any]]
    at: float = field(default_factory=time.monotonic)


class LineStandIn:
    def __init__(self, access_token: str = "line-token") -> None:
        self.access_token = access_token
        self.calls: list[LineCall] = []
        self.rejected: list[tuple[str, int, str]] = []
        self.token_owner: dict[str, str] = {}  # reply token -> user id
        self._used: set[str] = set()
        self._push_failures: list[int] = []
        # Pushes the Official Account may still send this month (None: no limit); past it
        # LINE answers 429 "You have reached your monthly limit." and sends nothing.
        self.pushes_left: int | None = None
        # As for the Telegram stand-in: failures injected into this fraction of the sends.
        self.chaos = 0.0
        self.injected: dict[str, int] = defaultdict(int)
        self._random = random.Random(11)
        self._retry_keys: set[str] = set()  # LINE refuses a push whose retry key it accepted
        self._runner: web.AppRunner | None = None
        self.port = 0
        # For the benchmarks: when each person's scheduled events were posted, not yet answered.
        self._waiting: dict[str, deque[float]] = defaultdict(deque)
        self.latencies: list[float] = []
        self.answered = 0
        self._feeding: asyncio.Task[None] | None = None
        # Rich menus, as LINE keeps them: by id; their images (on the data host); the default
        # menu; the menu linked to each user.
        self.richmenus: dict[str, dict[str, Any]] = {}
        self.richmenu_images: dict[str, bytes] = {}
        self.default_richmenu: str | None = None
        self.user_richmenus: dict[str, str] = {}
        self.richmenu_calls: list[tuple[str, str]] = []  # (method, path), in order
        self._data_runner: web.AppRunner | None = None
        self.data_port = 0
        self.multicasts = 0  # multicast requests accepted
        # What people sent (images), by message id, as the data host serves them.
        self.contents: dict[str, bytes] = {}

    async def start(self) -> str:
        app = web.Application(middlewares=[self._log_richmenu])
        app.router.add_post("/v2/bot/message/reply", self._reply)
        app.router.add_post("/v2/bot/message/push", self._push)
        app.router.add_post("/v2/bot/message/multicast", self._multicast)
        app.router.add_post("/v2/bot/richmenu", self._create_richmenu)
        app.router.add_get("/v2/bot/richmenu/list", self._list_richmenus)
        app.router.add_get("/v2/bot/richmenu/{id}", self._get_richmenu)
        app.router.add_delete("/v2/bot/richmenu/{id}", self._delete_richmenu)
        app.router.add_post("/v2/bot/user/all/richmenu/{id}", self._set_default_richmenu)
        app.router.add_get("/v2/bot/user/all/richmenu", self._get_default_richmenu)
        app.router.add_post("/v2/bot/user/{user}/richmenu/{id}", self._link_richmenu)
        app.router.add_delete("/v2/bot/user/{user}/richmenu", self._unlink_richmenu)
        app.router.add_get("/v2/bot/user/{user}/richmenu", self._user_richmenu)
        app.router.add_post("/_standin/{command}", self._control)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        # LINE's data host (api-data.line.me): where rich menu images go up and come down.
        data = web.Application(middlewares=[self._log_richmenu])
        data.router.add_post("/v2/bot/richmenu/{id}/content", self._upload_richmenu_image)
        data.router.add_get("/v2/bot/richmenu/{id}/content", self._download_richmenu_image)
        data.router.add_get("/v2/bot/message/{id}/content", self._message_content)
        self._data_runner = web.AppRunner(data, access_log=None)
        await self._data_runner.setup()
        await web.TCPSite(self._data_runner, "127.0.0.1", 0).start()
        self.data_port = self._data_runner.addresses[0][1]
        return self.base_url

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_url(self) -> str:
        return f"http://127.0.0.1:{self.data_port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._data_runner is not None:
            await self._data_runner.cleanup()

    # -- rich menus ---------------------------------------------------------------------------

    @web.middleware
    async def _log_richmenu(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if "/richmenu" in request.path:
            if request.headers.get("Authorization") != f"Bearer {self.access_token}":
                return self._error("richmenu", 401, "Authentication failed")
            self.richmenu_calls.append((request.method, request.path))
        response: web.StreamResponse = await handler(request)
        return response

    def _menu(self, request: web.Request) -> str | None:
        menu_id = request.match_info["id"]
        return menu_id if menu_id in self.richmenus else None

    async def _create_richmenu(self, request: web.Request) -> web.Response:
        body = await request.json()
        size = body.get("size") or {}
        if (size.get("width"), size.get("height")) not in ((2500, 1686), (2500, 843)):
            return self._error("richmenu", 400, "size: must be 2500x1686 or 2500x843")
        areas = body.get("areas") or []
        if not 1 <= len(areas) <= 20:
            return self._error("richmenu", 400, "areas: size must be between 1 and 20")
        if not 1 <= len(body.get("name") or "") <= 300:
            return self._error("richmenu", 400, "name: length must be between 1 and 300")
        if not 1 <= len(body.get("chatBarText") or "") <= 14:
            return self._error("richmenu", 400, "chatBarText: length must be at most 14")
        for area in areas:
            b, action = area.get("bounds") or {}, area.get("action") or {}
            if b.get("x", -1) < 0 or b.get("x", 0) + b.get("width", 0) > size["width"]:
                return self._error("richmenu", 400, "areas.bounds: outside the menu")
            if b.get("y", -1) < 0 or b.get("y", 0) + b.get("height", 0) > size["height"]:
                return self._error("richmenu", 400, "areas.bounds: outside the menu")
            if action.get("type") == "postback" and len(action.get("data", "")) > 300:
                return self._error("richmenu", 400, "action.data: at most 300 characters")
        menu_id = f"richmenu-{next(_ids):032x}"
        self.richmenus[menu_id] = {**body, "richMenuId": menu_id}
        return web.json_response({"richMenuId": menu_id})

    async def _list_richmenus(self, request: web.Request) -> web.Response:
        return web.json_response({"richmenus": list(self.richmenus.values())})

    async def _get_richmenu(self, request: web.Request) -> web.Response:
        menu_id = self._menu(request)
        if menu_id is None:
            return self._error("richmenu", 404, "Not found")
        return web.json_response(self.richmenus[menu_id])

    async def _delete_richmenu(self, request: web.Request) -> web.Response:
        menu_id = self._menu(request)
        if menu_id is None:
            return self._error("richmenu", 404, "Not found")
        del self.richmenus[menu_id]
        self.richmenu_images.pop(menu_id, None)
        if self.default_richmenu == menu_id:
            self.default_richmenu = None
        self.user_richmenus = {u: m for u, m in self.user_richmenus.items() if m != menu_id}
        return web.json_response({})

    async def _set_default_richmenu(self, request: web.Request) -> web.Response:
        menu_id = self._menu(request)
        if menu_id is None:
            return self._error("richmenu", 404, "Not found")
        if menu_id not in self.richmenu_images:
            return self._error("richmenu", 400, "must upload richmenu image before applying it")
        self.default_richmenu = menu_id
        return web.json_response({})

    async def _get_default_richmenu(self, request: web.Request) -> web.Response:
        if self.default_richmenu is None:
            return self._error("richmenu", 404, "no default richmenu")
        return web.json_response({"richMenuId": self.default_richmenu})

    async def _link_richmenu(self, request: web.Request) -> web.Response:
        menu_id = self._menu(request)
        if menu_id is None:
            return self._error("richmenu", 404, "Not found")
        if menu_id not in self.richmenu_images:
            return self._error("richmenu", 400, "must upload richmenu image before applying it")
        self.user_richmenus[request.match_info["user"]] = menu_id
        return web.json_response({})

    async def _unlink_richmenu(self, request: web.Request) -> web.Response:
        self.user_richmenus.pop(request.match_info["user"], None)
        return web.json_response({})

    async def _user_richmenu(self, request: web.Request) -> web.Response:
        menu_id = self.user_richmenus.get(request.match_info["user"])
        if menu_id is None:
            return self._error("richmenu", 404, "the user has no richmenu")
        return web.json_response({"richMenuId": menu_id})

    async def _upload_richmenu_image(self, request: web.Request) -> web.Response:
        menu_id = self._menu(request)
        if menu_id is None:
            return self._error("richmenu", 404, "Not found")
        if request.content_type not in ("image/png", "image/jpeg"):
            return self._error("richmenu", 415, "image/png or image/jpeg only")
        body = await request.read()
        if len(body) > 1024 * 1024:
            return self._error("richmenu", 413, "the image is larger than 1 MB")
        if menu_id in self.richmenu_images:
            return self._error("richmenu", 400, "An image has already been uploaded")
        size = self.richmenus[menu_id]["size"]
        width, height = png_size(body) if request.content_type == "image/png" else (0, 0)
        if (width, height) != (size["width"], size["height"]):
            return self._error("richmenu", 400, "the image size does not match the menu's")
        self.richmenu_images[menu_id] = body
        return web.json_response({})

    async def _download_richmenu_image(self, request: web.Request) -> web.Response:
        menu_id = self._menu(request)
        if menu_id is None or menu_id not in self.richmenu_images:
            return self._error("richmenu", 404, "Not found")
        return web.Response(body=self.richmenu_images[menu_id], content_type="image/png")

    async def _message_content(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return web.json_response({"message": "Authentication failed"}, status=401)
        content = self.contents.get(request.match_info["id"])
        if content is None:
            return web.json_response({"message": "Not found"}, status=404)
        return web.Response(body=content, content_type="image/jpeg")

    def _error(self, kind: str, status: int, message: str) -> web.Response:
        self.rejected.append((kind, status, message))
        return web.json_response({"message": message}, status=status)

    def _check(self, request: web.Request, body: dict[str, Any], kind: str) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return self._error(kind, 401, "Authentication failed")
        messages = body.get("messages") or []
        if not 1 <= len(messages) <= 5:
            return self._error(kind, 400, "messages: size must be between 1 and 5")
        for message in messages:
            if message.get("type") == "text" and len(message.get("text", "")) > 5000:
                return self._error(kind, 400, "text: length must be at most 5000")
            items = (message.get("quickReply") or {}).get("items") or []
            if len(items) > 13:
                return self._error(kind, 400, "quickReply.items: size must be at most 13")
            for item in items:
                if len(item["action"].get("label", "")) > 20:
                    return self._error(kind, 400, "quickReply label: at most 20 characters")
            if message.get("type") == "flex" and len(message.get("altText", "")) > 400:
                return self._error(kind, 400, "altText: at most 400 characters")
            if message.get("type") == "image":
                for key in ("originalContentUrl", "previewImageUrl"):
                    url = message.get(key) or ""
                    if not url.startswith("https://") or len(url) > 2000:
                        return self._error(kind, 400, f"{key}: must be an HTTPS URL")
        return None

    @staticmethod
    def _sent(messages: list[dict[str, Any]]) -> web.Response:
        return web.json_response(
            {"sentMessages": [{"id": str(next(_ids)), "quoteToken": "q"} for _ in messages]}
        )

    def _inject(self, request: web.Request) -> web.Response | None:
        if not self.chaos or self._random.random() >= self.chaos:
            return None
        kind = self._random.choice(["500", "502", "drop", "429"])
        self.injected[kind] += 1
        if kind == "drop" and request.transport is not None:
            request.transport.abort()
            return web.Response(status=500)
        status = 429 if kind == "429" else int(kind) if kind != "drop" else 500
        return web.json_response({"message": "injected"}, status=status)

    async def _reply(self, request: web.Request) -> web.Response:
        body = await request.json()
        injected = self._inject(request)
        if injected is not None:
            return injected
        problem = self._check(request, body, "reply")
        if problem is not None:
            return problem
        token = body.get("replyToken")
        if token not in self.token_owner or token in self._used:
            return self._error("reply", 400, "Invalid reply token")
        self._used.add(token)
        self._record(LineCall("reply", self.token_owner[token], body["messages"]))
        return self._sent(body["messages"])

    async def _sending(
        self, request: web.Request, kind: str
    ) -> tuple[dict[str, Any], str | None, web.Response | None]:
        """A push or multicast's body and retry key, or the answer that ends it: an injected
        failure, a retry key LINE accepted before (409), a bad request."""
        body = await request.json()
        injected = self._inject(request)
        if injected is not None:
            return body, None, injected
        retry_key = request.headers.get("X-Line-Retry-Key")
        if retry_key is not None and retry_key in self._retry_keys:
            accepted = web.json_response(
                {"message": "The retry key is already accepted"}, status=409
            )
            return body, retry_key, accepted
        return body, retry_key, self._check(request, body, kind)

    async def _push(self, request: web.Request) -> web.Response:
        body, retry_key, answer = await self._sending(request, "push")
        if answer is not None:
            return answer
        if self.pushes_left is not None:
            if self.pushes_left <= 0:
                return self._error("push", 429, "You have reached your monthly limit.")
            self.pushes_left -= 1
        if self._push_failures:
            status = self._push_failures.pop(0)
            return self._error("push", status, "The user hasn't added the LINE Official Account")
        if retry_key is not None:
            self._retry_keys.add(retry_key)
        self._record(LineCall("push", body["to"], body["messages"]))
        return self._sent(body["messages"])

    async def _multicast(self, request: web.Request) -> web.Response:
        """Many people, one request: as the Messaging API, up to 500 user ids; each person
        counts against the month's allowance, and a request past it sends nothing."""
        body, retry_key, answer = await self._sending(request, "multicast")
        if answer is not None:
            return answer
        to = body.get("to") or []
        if not 1 <= len(to) <= 500 or not all(isinstance(u, str) and u for u in to):
            return self._error("multicast", 400, "to: size must be between 1 and 500")
        if self.pushes_left is not None:
            if self.pushes_left < len(to):
                return self._error("multicast", 429, "You have reached your monthly limit.")
            self.pushes_left -= len(to)
        if retry_key is not None:
            self._retry_keys.add(retry_key)
        self.multicasts += 1
        for user in to:
            self._record(LineCall("multicast", user, body["messages"]))
        return web.json_response({})

    def _record(self, call: LineCall) -> None:
        self.calls.append(call)
        waiting = self._waiting.get(call.user or "")
        if waiting:
            self.answered += 1
            self.latencies.append(call.at - waiting.popleft())

    def fail_next_push(self, status: int) -> None:
        self._push_failures.append(status)

    # -- observing ----------------------------------------------------------------------------

    def messages_to(self, user: str) -> list[dict[str, Any]]:
        return [m for call in self.calls if call.user == user for m in call.messages]

    def texts_to(self, user: str) -> list[str]:
        """Each message's visible text: a text's text, a Flex card's altText."""
        return [m.get("text") or m.get("altText", "") for m in self.messages_to(user)]

    # -- driven from another process ----------------------------------------------------------

    async def _control(self, request: web.Request) -> web.Response:
        """``schedule`` {webhook, secret, postbacks: [[seconds from now, user, data], ...]};
        ``stats`` answers how many were answered, and how fast."""
        if request.match_info["command"] == "schedule":
            body = await request.json()
            self.answered, self.latencies = 0, []
            events = Events(body["secret"], self)
            self._feeding = asyncio.create_task(
                self._feed(body["webhook"], events, body["postbacks"])
            )
        summary: dict[str, Any] = {"answered": self.answered}
        if self.latencies:
            ordered = sorted(self.latencies)
            summary["latency"] = {
                "p50": ordered[len(ordered) // 2],
                "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
                "max": ordered[-1],
            }
        return web.json_response(summary)

    async def _feed(self, webhook: str, events: Events, timed: list[list[Any]]) -> None:
        """Post each postback at its moment, one webhook request each, as LINE does for a
        busy channel; a request that is not answered 2xx is posted again a little later."""
        import aiohttp

        start = time.monotonic()
        posting: set[asyncio.Task[None]] = set()
        limit = asyncio.Semaphore(256)  # LINE's servers keep many connections open at once
        async with aiohttp.ClientSession() as http:

            async def post(user: str, data: str, offset: float) -> None:
                # Stamped when the person pressed (LINE's timestamp), delivered when we can.
                age = max(0.0, time.monotonic() - (start + offset))
                body = events.body(events.postback(user, data, age=age))
                headers = {"X-Line-Signature": events.sign(body)}
                headers["Content-Type"] = "application/json"
                self._waiting[user].append(time.monotonic())
                while True:
                    try:
                        async with limit, http.post(webhook, data=body, headers=headers) as r:
                            if r.status < 300:
                                return
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.5)

            for offset, user, data in sorted(timed, key=lambda item: item[0]):
                delay = start + offset - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                task = asyncio.create_task(post(user, data, offset))
                posting.add(task)
                task.add_done_callback(posting.discard)
            await asyncio.gather(*posting)


def png_size(data: bytes) -> tuple[int, int]:
    """A PNG's width and height, from its IHDR chunk; (0, 0) when it is not a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return 0, 0
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


class Events:
    """Webhook events as LINE sends them, signed with the channel secret."""

    def __init__(self, channel_secret: str, standin: LineStandIn) -> None:
        self.secret = channel_secret.encode()
        self.standin = standin

    def _base(
        self, kind: str, user: str, *, group: str | None = None, reply: bool = True, age: float = 0
    ) -> dict[str, Any]:
        number = next(_ids)
        source: dict[str, Any] = {"type": "user", "userId": user}
        if group:
            source = {"type": "group", "groupId": group, "userId": user}
        event: dict[str, Any] = {
            "type": kind,
            "mode": "active",
            "timestamp": int((time.time() - age) * 1000),
            "source": source,
            "webhookEventId": f"01HEVENT{number:018d}",
            "deliveryContext": {"isRedelivery": False},
        }
        if reply:
            token = f"rt{number}"
            event["replyToken"] = token
            self.standin.token_owner[token] = user
        return event

    def text(self, user: str, text: str, **kw: Any) -> dict[str, Any]:
        event = self._base("message", user, **kw)
        event["message"] = {"type": "text", "id": str(next(_ids)), "quoteToken": "q", "text": text}
        return event

    def image(self, user: str) -> dict[str, Any]:
        event = self._base("message", user)
        event["message"] = {
            "type": "image",
            "id": f"img{next(_ids)}",
            "quoteToken": "q",
            "contentProvider": {"type": "line"},
        }
        return event

    def location(self, user: str, latitude: float, longitude: float) -> dict[str, Any]:
        event = self._base("message", user)
        event["message"] = {
            "type": "location",
            "id": str(next(_ids)),
            "title": "บ้าน",
            "address": "ตำบลท่าตะโก",
            "latitude": latitude,
            "longitude": longitude,
        }
        return event

    def sticker(self, user: str) -> dict[str, Any]:
        event = self._base("message", user)
        event["message"] = {
            "type": "sticker",
            "id": str(next(_ids)),
            "quoteToken": "q",
            "packageId": "446",
            "stickerId": "1988",
            "stickerResourceType": "STATIC",
        }
        return event

    def postback(self, user: str, data: str, **kw: Any) -> dict[str, Any]:
        event = self._base("postback", user, **kw)
        event["postback"] = {"data": data}
        return event

    def follow(self, user: str) -> dict[str, Any]:
        event = self._base("follow", user)
        event["follow"] = {"isUnblocked": False}
        return event

    def unfollow(self, user: str) -> dict[str, Any]:
        return self._base("unfollow", user, reply=False)

    def unsend(self, user: str, message_id: str) -> dict[str, Any]:
        """The user took back their message ``message_id``."""
        event = self._base("unsend", user, reply=False)
        event["unsend"] = {"messageId": message_id}
        return event

    @staticmethod
    def redelivered(event: dict[str, Any]) -> dict[str, Any]:
        again = json.loads(json.dumps(event))
        again["deliveryContext"] = {"isRedelivery": True}
        return again

    def body(self, *events: dict[str, Any]) -> bytes:
        return json.dumps(
            {"destination": "Ubot", "events": list(events)}, ensure_ascii=False
        ).encode()

    def sign(self, body: bytes) -> str:
        return base64.b64encode(hmac.new(self.secret, body, hashlib.sha256).digest()).decode()


def main() -> None:
    """Run the stand-in alone: ``python -m tests.line_standin TOKEN``; prints its port."""
    import sys

    from tests.telegram_standin import serve_alone

    asyncio.run(serve_alone(LineStandIn(sys.argv[1] if len(sys.argv) > 1 else "line-token")))


if __name__ == "__main__":
    main()
