"""python-telegram-bot's Bot on the aiohttp transport (bot/channels/aiohttprequest.py), against
a server on 127.0.0.1 that answers as the Bot API does, late, or not at all: fields and files
arrive as python-telegram-bot encodes them, a slow answer is TimedOut, a cut connection is
NetworkError (the pipeline retries both)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, TimedOut

from bot.channels.aiohttprequest import AiohttpRequest

TOKEN = "123456:transport"


class Server:
    """Answers every Bot API call with what the test says, and keeps what it was sent."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.behaviour = "ok"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        form = await request.post()
        fields: dict[str, Any] = {}
        for name, value in form.items():
            if isinstance(value, web.FileField):
                fields[name] = (value.filename, value.content_type, value.file.read())
            else:
                fields[name] = str(value)
        self.received.append((method, fields))
        if self.behaviour == "slow":
            await asyncio.sleep(2)
        if self.behaviour == "cut" and request.transport is not None:
            request.transport.abort()
        result: Any = True
        if method == "getMe":
            result = {"id": 123456, "is_bot": True, "first_name": "T", "username": "t_bot"}
        elif method in ("sendDocument", "sendMessage"):
            result = {"message_id": 7, "date": 0, "chat": {"id": 42, "type": "private"}}
        return web.json_response({"ok": True, "result": result})


@pytest.fixture
async def server() -> AsyncIterator[tuple[Server, str]]:
    state = Server()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", state.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield state, f"http://127.0.0.1:{port}/bot"
    await runner.cleanup()


async def bot_on(base: str, **timeouts: float) -> Bot:
    bot = Bot(TOKEN, base_url=base, request=AiohttpRequest(4, **timeouts))
    await bot.initialize()
    return bot


async def test_fields_and_files_arrive_as_the_bot_api_reads_them(
    server: tuple[Server, str],
) -> None:
    state, base = server
    bot = await bot_on(base)
    try:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("น้ำ", callback_data="v:1.2")]])
        await bot.send_message(42, "ถนนพัง ๒ จุด 🚧", reply_markup=keyboard)
        await bot.send_document(42, b"%PDF-1.7 report", filename="report.pdf", caption="รายงาน")
    finally:
        await bot.shutdown()
    (_, message), (_, document) = [r for r in state.received if r[0] != "getMe"]
    assert message["text"] == "ถนนพัง ๒ จุด 🚧"
    assert json.loads(message["reply_markup"])["inline_keyboard"][0][0]["callback_data"] == "v:1.2"
    filename, _, content = document["document"]
    assert (filename, content) == ("report.pdf", b"%PDF-1.7 report")
    assert document["caption"] == "รายงาน"
    assert document["chat_id"] == "42"


async def test_a_slow_answer_is_timed_out(server: tuple[Server, str]) -> None:
    state, base = server
    bot = await bot_on(base, read_timeout=0.3)
    state.behaviour = "slow"
    try:
        with pytest.raises(TimedOut):
            await bot.answer_callback_query("q1", text="นับแล้ว")
    finally:
        await bot.shutdown()


async def test_a_cut_connection_is_a_network_error(server: tuple[Server, str]) -> None:
    state, base = server
    bot = await bot_on(base)
    state.behaviour = "cut"
    try:
        with pytest.raises(NetworkError) as raised:
            await bot.answer_callback_query("q2")
        assert not isinstance(raised.value, TimedOut)
        state.behaviour = "ok"  # the next call opens a new connection and goes through
        assert await bot.answer_callback_query("q3") is True
    finally:
        await bot.shutdown()
