"""A stand-in Telegram Bot API server on 127.0.0.1 for tests and benchmarks.

It speaks the Bot API's wire protocol (``POST /bot<token>/<method>`` with form or JSON
parameters, ``{"ok": ..., "result": ...}`` answers), serves scripted updates through
``getUpdates`` long polling, records every call, and can answer a call with a scripted error
(429 with ``retry_after``, 403 for a blocked user). The real python-telegram-bot client talks to
it through ``TELEGRAM_API_BASE_URL=http://127.0.0.1:PORT/bot``.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 7000001
SENDING = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "editMessageText", "answerCallbackQuery"}
)
BOT_USERNAME = "tambon_test_bot"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    result: Any = None


def _decode(value: str) -> Any:
    """Form fields carry nested objects as JSON strings, as the Bot API allows."""
    if value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class StandInError(Exception):
    """A Bot API error answer from a method: its status and description."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


class TelegramStandIn:
    def __init__(self, token: str = "123:abc") -> None:
        self.token = token
        # Command lists by scope (its JSON) and language ("" for all); the menu button.
        self.command_lists: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.menu_button: dict[str, Any] | None = None
        self.calls: list[Call] = []
        self.record_calls = True
        self._pending: deque[dict[str, Any]] = deque()
        self._forced: set[int] = set()  # redelivered update ids, served whatever the offset
        self._arrived = asyncio.Event()
        self._next_update = 1
        self._next_message = 5000
        self._failures: dict[str, deque[tuple[int, dict[str, Any]]]] = defaultdict(deque)
        self._listeners: list[Callable[[Call], None]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.sent_count = 0
        self._released = False
        # For benchmarks: when each scheduled update became available, by sender, and how long
        # each took until the bot's next message to that sender.
        self._waiting: dict[int, deque[float]] = defaultdict(deque)
        self.latencies: list[float] = []
        self._query_owner: dict[str, int] = {}  # scheduled presses' query ids, to their user
        self._feeding: asyncio.Task[None] | None = None
        # Failures injected into this fraction of the calls that send something, as a flaky
        # network and a busy Telegram give them: 5xx, a dropped connection, 429.
        self.chaos = 0.0
        self.injected: dict[str, int] = defaultdict(int)
        self._random = random.Random(7)
        # Files people sent, by file id, as getFile and the file host serve them.
        self.files: dict[str, bytes] = {}

    # -- server -----------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        app.router.add_post("/_standin/{command}", self._control)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.base_url

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        if request.can_read_body:
            if request.content_type == "application/json":
                params = await request.json()
            else:
                form = await request.post()
                params = {
                    # An uploaded file (multipart), kept whole to be opened.
                    k: {
                        "filename": v.filename,
                        "content_type": v.content_type,
                        "data": v.file.read(),
                    }
                    if isinstance(v, web.FileField)
                    else _decode(str(v))
                    for k, v in form.items()
                }
        call = Call(method, params)
        if self.record_calls:
            self.calls.append(call)
        for listener in self._listeners:
            listener(call)
        if self._failures[method]:
            status, body = self._failures[method].popleft()
            return web.json_response(body, status=status)
        if method in SENDING and self.chaos and self._random.random() < self.chaos:
            return self._inject(request, method)
        problem = self._bad_caption(params) if method in ("sendPhoto", "sendDocument") else None
        if problem is not None or len(str(params.get("text") or "")) > 4096:
            description = problem or "Bad Request: message is too long"
            return web.json_response(
                {"ok": False, "error_code": 400, "description": description}, status=400
            )
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": f"Not Found: {method}"},
                status=404,
            )
        try:
            result = await handler(params)
        except StandInError as error:
            return web.json_response(
                {"ok": False, "error_code": error.status, "description": error.description},
                status=error.status,
            )
        call.result = result
        return web.json_response({"ok": True, "result": result})

    def _inject(self, request: web.Request, method: str) -> web.Response:
        """A failure instead of the call's effect: nothing was sent."""
        kind = self._random.choice(["502", "500", "drop", "429"])
        self.injected[kind] += 1
        if self.record_calls:
            self.calls.pop()  # not delivered
        if kind == "drop" and request.transport is not None:
            request.transport.abort()  # the connection goes away mid-call
            return web.Response(status=500)
        if kind == "429":
            body = {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            }
            return web.json_response(body, status=429)
        status = int(kind) if kind != "drop" else 500
        return web.json_response(
            {"ok": False, "error_code": status, "description": "Bad Gateway"}, status=status
        )

    async def _control(self, request: web.Request) -> web.Response:
        """Drive the stand-in from another process (the benchmarks run it in its own)."""
        command = request.match_info["command"]
        if command == "load":
            body = await request.json()
            self.sent_count = 0
            self._released = False
            for offset, text in enumerate(body["texts"]):
                self.text(body["first_user"] + offset, text)
        elif command == "release":
            self.release_polls()
        elif command == "schedule":
            body = await request.json()
            self.sent_count = 0
            self._released = False
            task = asyncio.create_task(self._feed(body["updates"]))
            self._feeding = task
        summary: dict[str, Any] = {"sent": self.sent_count, "pending": len(self._pending)}
        if self.latencies:
            ordered = sorted(self.latencies)
            summary["latency"] = {
                "count": len(ordered),
                "p50": ordered[len(ordered) // 2],
                "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
                "max": ordered[-1],
            }
        return web.json_response(summary)

    async def _feed(self, timed: list[list[Any]]) -> None:
        """Make updates available at their offsets (seconds from now), noting when."""
        start = time.monotonic()
        for offset, update in sorted(timed, key=lambda item: item[0]):
            delay = start + offset - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            chat = (update.get("callback_query") or update.get("message") or {}).get("from", {})
            self._waiting[int(chat.get("id", 0))].append(time.monotonic())
            if "callback_query" in update:
                self._query_owner[update["callback_query"]["id"]] = int(chat.get("id", 0))
            # Telegram numbers updates in the order it makes them available.
            update["update_id"] = self._next_update
            self._next_update += 1
            self.push(update)

    # -- Bot API methods ----------------------------------------------------------------------

    async def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Tambon",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        return True

    async def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        return True

    def _command_key(self, params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        if isinstance(scope, str):
            scope = json.loads(scope)
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def commands_for(self, scope: dict[str, Any], language: str = "") -> list[dict[str, str]]:
        """The command list set for ``scope`` ({"type": "default"}, {"type": "chat", ...})."""
        key = json.dumps(scope, sort_keys=True), language
        return list(self.command_lists.get(key, []))

    async def _m_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands") or []
        if isinstance(commands, str):
            commands = json.loads(commands)
        if not 0 < len(commands) <= 100:
            raise StandInError(400, "Bad Request: commands must be between 1 and 100")
        for command in commands:
            name, description = command.get("command", ""), command.get("description", "")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise StandInError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise StandInError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.command_lists[self._command_key(params)] = commands
        return True

    async def _m_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        self.command_lists.pop(self._command_key(params), None)
        return True

    async def _m_setChatMenuButton(self, params: dict[str, Any]) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        self.menu_button = json.loads(button) if isinstance(button, str) else button
        return True

    async def _m_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id"))
        if file_id not in self.files:
            raise StandInError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": f"photos/{file_id}.jpg",
        }

    async def _file(self, request: web.Request) -> web.Response:
        """The file host: ``/file/bot<token>/<file_path>``."""
        name = request.match_info["path"].removeprefix("photos/").removesuffix(".jpg")
        if request.match_info["token"] != self.token or name not in self.files:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=self.files[name], content_type="image/jpeg")

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        # For the benchmarks: an answer with a text (a toast) is the bot's confirmation of the
        # press, counted and timed as a sent message is.
        owner = self._query_owner.pop(str(params.get("callback_query_id")), None)
        if params.get("text") and owner is not None:
            self.sent_count += 1
            waiting = self._waiting.get(owner)
            if waiting:
                self.latencies.append(time.monotonic() - waiting.popleft())
        return True

    async def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        while True:
            while (
                self._pending
                and self._pending[0]["update_id"] < offset
                and (self._pending[0]["update_id"] not in self._forced)
            ):
                self._pending.popleft()
            ready = [
                u
                for u in list(self._pending)[:limit]
                if u["update_id"] >= offset or u["update_id"] in self._forced
            ]
            if ready:
                for update in ready:
                    if update["update_id"] in self._forced:
                        self._forced.discard(update["update_id"])
                        self._pending.remove(update)
                return ready
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._released:
                return []
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                return []

    def _message(self, chat_id: Any, text: str, reply_markup: Any = None) -> dict[str, Any]:
        self._next_message += 1
        message: dict[str, Any] = {
            "message_id": self._next_message,
            "date": int(time.time()),
            "chat": {"id": int(chat_id), "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Tambon"},
            "text": text,
        }
        if reply_markup:
            message["reply_markup"] = reply_markup
        return message

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        self.sent_count += 1
        waiting = self._waiting.get(int(params["chat_id"]))
        if waiting:
            self.latencies.append(time.monotonic() - waiting.popleft())
        return self._message(params["chat_id"], params["text"], params.get("reply_markup"))

    @staticmethod
    def _bad_caption(params: dict[str, Any]) -> str | None:
        if len(params.get("caption") or "") > 1024:
            return "Bad Request: message caption is too long"
        return None

    async def _m_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        self.sent_count += 1
        message = self._message(params["chat_id"], "", params.get("reply_markup"))
        del message["text"]
        message["caption"] = params.get("caption", "")
        upload = params["document"]
        message["document"] = {
            "file_id": "doc",
            "file_unique_id": "doc",
            "file_name": upload["filename"],
            "mime_type": upload["content_type"],
            "file_size": len(upload["data"]),
        }
        return message

    async def _m_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        self.sent_count += 1
        message = self._message(params["chat_id"], "", params.get("reply_markup"))
        del message["text"]
        message["caption"] = params.get("caption", "")
        message["photo"] = [{"file_id": "qr", "file_unique_id": "qr", "width": 300, "height": 300}]
        return message

    async def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._message(params["chat_id"], params["text"], params.get("reply_markup"))
        message["message_id"] = int(params["message_id"])
        return message

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> bool:
        return True

    def release_polls(self) -> None:
        """Answer long polls at once from now on, so that a bot can stop without waiting."""
        self._released = True
        self._arrived.set()

    # -- scripting --------------------------------------------------------------------------

    def fail_next(self, method: str, status: int, description: str, **parameters: Any) -> None:
        """Answer the next call of ``method`` with an error, as Telegram would."""
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        self._failures[method].append((status, body))

    def failures_left(self, method: str) -> int:
        """Injected errors of ``method`` not yet answered."""
        return len(self._failures[method])

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        self._pending.append(update)
        self._arrived.set()
        return update

    def redeliver(self, update: dict[str, Any]) -> None:
        """Serve an update again with its old update_id, as after a lost confirmation."""
        self._forced.add(update["update_id"])
        self.push(update)

    def _update(self, **body: Any) -> dict[str, Any]:
        update = {"update_id": self._next_update, **body}
        self._next_update += 1
        return update

    @staticmethod
    def user(user_id: int, language: str = "th") -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": "สมชาย", "language_code": language}

    def text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        entities: list[dict[str, Any]] | None = None,
        reply_to_bot: bool = False,
        queue: bool = True,
    ) -> dict[str, Any]:
        self._next_message += 1
        message: dict[str, Any] = {
            "message_id": self._next_message,
            "date": int(time.time()),
            "chat": {"id": chat_id or user_id, "type": chat_type},
            "from": self.user(user_id),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if entities:
            message["entities"] = entities
        if reply_to_bot:
            message["reply_to_message"] = self._message(chat_id or user_id, "earlier reply")
            message["reply_to_message"]["chat"]["type"] = chat_type
        update = self._update(message=message)
        return self.push(update) if queue else update

    def edit(self, original: dict[str, Any], new_text: str) -> dict[str, Any]:
        message = dict(original["message"], text=new_text, edit_date=int(time.time()))
        return self.push(self._update(edited_message=message))

    def photo(
        self, user_id: int, caption: str | None, file_id: str = "AgACphoto"
    ) -> dict[str, Any]:
        self._next_message += 1
        message: dict[str, Any] = {
            "message_id": self._next_message,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": self.user(user_id),
            "photo": [
                {"file_id": f"{file_id}-small", "file_unique_id": "s", "width": 90, "height": 90},
                {"file_id": file_id, "file_unique_id": "b", "width": 1280, "height": 960},
            ],
        }
        if caption is not None:
            message["caption"] = caption
        return self.push(self._update(message=message))

    def location(self, user_id: int, latitude: float, longitude: float) -> dict[str, Any]:
        self._next_message += 1
        message = {
            "message_id": self._next_message,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": self.user(user_id),
            "location": {"latitude": latitude, "longitude": longitude},
        }
        return self.push(self._update(message=message))

    def sticker(self, user_id: int) -> dict[str, Any]:
        self._next_message += 1
        message = {
            "message_id": self._next_message,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": self.user(user_id),
            "sticker": {
                "file_id": "CAACsticker",
                "file_unique_id": "st",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            },
        }
        return self.push(self._update(message=message))

    def press(
        self, user_id: int, data: str, message: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Press an inline button: a callback query about ``message`` (a sent message)."""
        body: dict[str, Any] = {
            "id": f"cq{self._next_update}",
            "from": self.user(user_id),
            "chat_instance": "ci",
            "data": data,
        }
        if message is not None:
            body["message"] = message
        return self.push(self._update(callback_query=body))

    # -- observing ----------------------------------------------------------------------------

    def sent(self, chat_id: int | None = None, method: str = "sendMessage") -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method and (chat_id is None or int(c.params["chat_id"]) == chat_id)
        ]

    def last_keyboard_message(self, chat_id: int) -> dict[str, Any]:
        """The last message sent to ``chat_id`` with an inline keyboard, as Telegram holds it."""
        for call in reversed(self.sent(chat_id)):
            if call.params.get("reply_markup"):
                return dict(call.result)
        raise AssertionError(f"no keyboard sent to {chat_id}")

    async def wait_for(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for the bot")
            await asyncio.sleep(0.01)

    def on_call(self, listener: Callable[[Call], None]) -> None:
        self._listeners.append(listener)


async def serve_alone(standin: Any) -> None:
    """Run a stand-in in a process of its own (the benchmarks): print its port, serve for ever."""
    await standin.start()
    print(standin.port, flush=True)
    await asyncio.Event().wait()


def main() -> None:
    """Run the stand-in alone: ``python -m tests.telegram_standin TOKEN``; prints its port."""
    import sys

    standin = TelegramStandIn(sys.argv[1] if len(sys.argv) > 1 else "123:abc")
    standin.record_calls = False
    asyncio.run(serve_alone(standin))


if __name__ == "__main__":
    main()
