"""Whatever arrives at a webhook, signed or not: never a 5xx, and nothing kept that is not an
update we can read. Hypothesis makes the bodies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import web
from bot.channels.line import LineChannel
from bot.channels.telegram import TelegramChannel
from bot.core import Engine
from bot.nlp import KeywordTagger
from storage.base import Store
from tests.line_standin import Events, LineStandIn
from tests.telegram_standin import TelegramStandIn

SECRET = "webhook-fuzz-secret"
TG_TOKEN = "7000001:fuzz"
LINE_SECRET = "line-fuzz-secret"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)
# Updates that look almost right: the right keys with any values.
near_updates = st.fixed_dictionaries(
    {"update_id": json_values | st.integers()},
    optional={
        "message": st.fixed_dictionaries(
            {},
            optional={
                "from": st.fixed_dictionaries({"id": json_values}),
                "chat": json_values,
                "text": json_values,
                "message_id": json_values,
            },
        ),
        "callback_query": json_values,
    },
)
near_line = st.fixed_dictionaries(
    {
        "destination": json_values,
        "events": st.lists(
            st.fixed_dictionaries(
                {"webhookEventId": st.text(min_size=1, max_size=8) | json_values},
                optional={
                    "type": st.sampled_from(["message", "things", "undefined", "follow"])
                    | json_values,
                    "source": st.fixed_dictionaries({"type": json_values, "userId": json_values}),
                    "timestamp": json_values,
                    "mode": json_values,
                },
            ),
            max_size=3,
        ),
    }
)
DEEP = b"[" * 100_000 + b"]" * 100_000
NOT_UTF8 = b'{"events": [], "x": "\xff\xfe"}'


class Site:
    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self.url = url
        self.http = http

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        async with self.http.post(self.url + path, data=body, headers=headers) as response:
            return response.status


@pytest.fixture
async def site(store: Store, tagger: KeywordTagger) -> AsyncIterator[tuple[Site, Events]]:
    telegram_standin = TelegramStandIn(TG_TOKEN)
    line_standin = LineStandIn("t")
    await telegram_standin.start()
    await line_standin.start()
    engine = Engine(store, tagger)
    telegram = TelegramChannel(engine, TG_TOKEN, base_url=telegram_standin.base_url, webhook=True)
    line = LineChannel(
        engine, LINE_SECRET, "t", base_url=line_standin.base_url, pipeline=telegram.pipeline
    )
    await telegram.start()
    await line.start()
    app = web.build_app(telegram=telegram, telegram_secret=SECRET, line=line, store=store)
    runner = await web.serve(app, "127.0.0.1:0")
    async with aiohttp.ClientSession() as http:
        yield (
            Site(f"http://127.0.0.1:{runner.addresses[0][1]}", http),
            Events(LINE_SECRET, line_standin),
        )
    await runner.cleanup()
    await line.stop()
    await telegram.stop()
    await telegram_standin.stop()
    await line_standin.stop()


async def kept(store: Store) -> int:
    return len(await store.inbox_pending("telegram")) + len(await store.inbox_pending("line"))


FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
async def test_arbitrary_bytes_never_get_a_5xx(
    site: tuple[Site, Events], store: Store, body: bytes
) -> None:
    server, events = site
    for headers in (
        {"X-Telegram-Bot-Api-Secret-Token": SECRET},
        {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
    ):
        assert (await server.post(web.TELEGRAM_PATH, body, headers)) in (200, 400, 403)
    for signature in (events.sign(body), "bad", ""):
        headers = {"X-Line-Signature": signature} if signature else {}
        assert (await server.post(web.LINE_PATH, body, headers)) in (200, 400)
    assert await kept(store) == 0


@FUZZ
@given(update=near_updates, line_body=near_line)
async def test_near_updates_are_kept_only_when_readable(
    site: tuple[Site, Events], store: Store, update: dict[str, Any], line_body: dict[str, Any]
) -> None:
    server, events = site
    body = json.dumps(update).encode()
    status = await server.post(
        web.TELEGRAM_PATH, body, {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    )
    assert status in (200, 400)
    raw = json.dumps(line_body).encode()
    assert (await server.post(web.LINE_PATH, raw, {"X-Line-Signature": events.sign(raw)})) in (
        200,
        400,
    )
    # Whatever was kept is handled or dead-lettered without holding anything up.
    for channel in ("telegram", "line"):
        for _key, payload in await store.inbox_pending(channel):
            assert json.loads(payload)


@pytest.mark.parametrize("body", [DEEP, NOT_UTF8])
async def test_deep_or_broken_bodies_get_400(
    site: tuple[Site, Events], store: Store, body: bytes
) -> None:
    server, events = site
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    assert (await server.post(web.TELEGRAM_PATH, body, headers)) == 400
    assert (await server.post(web.LINE_PATH, body, {"X-Line-Signature": events.sign(body)})) == 400
    assert await kept(store) == 0


async def test_a_sender_id_that_is_an_object_is_refused(
    site: tuple[Site, Events], store: Store
) -> None:
    server, _ = site
    update = {
        "update_id": 5,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 1, "type": "private"},
            "from": {"id": {"nested": 1}, "is_bot": False, "first_name": "x"},
            "text": "hi",
        },
    }
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    assert (await server.post(web.TELEGRAM_PATH, json.dumps(update).encode(), headers)) == 400
    assert await kept(store) == 0


@pytest.mark.parametrize("kind", ["things", "undefined"])
async def test_unknown_line_event_types_are_acknowledged_and_dropped(
    site: tuple[Site, Events], store: Store, kind: str
) -> None:
    server, events = site
    event = events.text("U1", "สวัสดี")
    event["type"] = kind
    good = events.follow("U2")
    body = events.body(event, good)
    assert (await server.post(web.LINE_PATH, body, {"X-Line-Signature": events.sign(body)})) == 200
    pending = [key for key, _ in await store.inbox_pending("line")]
    assert all(event["webhookEventId"] not in key for key in pending)


async def test_line_signature_is_over_the_raw_bytes(
    site: tuple[Site, Events], store: Store
) -> None:
    server, events = site
    body = events.body(events.follow("U3"))
    # The same JSON with different spacing: a signature over re-encoded text would pass.
    respaced = json.dumps(json.loads(body), indent=2).encode()
    status = await server.post(web.LINE_PATH, respaced, {"X-Line-Signature": events.sign(body)})
    assert status == 400
    assert await kept(store) == 0
