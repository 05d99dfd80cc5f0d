"""The listener under slow and idle connections (issue "Nobody sees what is not theirs",
finding 5): `tambon-bot run`, in a process of its own with systemd's default of 1,024 open
files, is held by 1,500 connections that send half a request and wait; /healthz and a signed
LINE webhook are still answered within a second, and the slow connections are closed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import sys
import time
from pathlib import Path

import aiohttp

from tests.line_standin import Events, LineStandIn
from tests.test_crash import free_port

SECRET = "listener-secret"
TOKEN = "listener-token"
SLOW = 1500
NOFILE = 1024  # systemd's default LimitNOFILE


def _small_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


async def _half_request(
    port: int, index: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    """A connection that sends part of a request and then nothing: half the headers, or the
    headers and half the body."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return None
    if index % 3:
        writer.write(b"POST /line/webhook HTTP/1.1\r\nHost: x\r\nContent-Le")
    else:
        writer.write(
            b"POST /line/webhook HTTP/1.1\r\nHost: x\r\nX-Line-Signature: a\r\n"
            b'Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{"events": ['
        )
    return reader, writer


async def test_slow_connections_do_not_stop_the_listener(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2 * SLOW + 200:  # this process holds the other ends
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * SLOW), hard))
    standin = LineStandIn(TOKEN)
    await standin.start()
    port = free_port()
    env = {
        **os.environ,
        "TAMBON_DATABASE_URL": f"sqlite:///{tmp_path}/listener.db",
        "LINE_CHANNEL_SECRET": SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "LINE_API_BASE_URL": standin.base_url,
        "TAMBON_LISTEN": f"127.0.0.1:{port}",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_URL"):
        env.pop(name, None)
    log = (tmp_path / "bot.log").open("wb")
    bot = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=log,
        preexec_fn=_small_file_limit,
    )
    base = f"http://127.0.0.1:{port}"
    held: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    took: list[float] = []  # seconds each answer took
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(f"{base}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            opened = await asyncio.gather(*(_half_request(port, i) for i in range(SLOW)))
            held = [pair for pair in opened if pair is not None]
            assert len(held) > SLOW * 0.9  # they got in
            events = Events(SECRET, standin)
            for attempt in range(3):
                started = time.monotonic()
                async with http.get(f"{base}/healthz", timeout=aiohttp.ClientTimeout(5)) as r:
                    assert r.status == 200
                took.append(time.monotonic() - started)
                body = events.body(events.follow(f"U{attempt:032d}"))
                started = time.monotonic()
                async with http.post(
                    f"{base}/line/webhook",
                    data=body,
                    headers={"X-Line-Signature": events.sign(body)},
                    timeout=aiohttp.ClientTimeout(5),
                ) as r:
                    assert r.status == 200
                took.append(time.monotonic() - started)
            assert max(took) < 1.0, took

            # The slow ones are closed: by being the oldest waiting, or by the clock (their
            # headers within 10 s, their body within 20 s).
            async def closed(reader: asyncio.StreamReader) -> bool:
                with contextlib.suppress(OSError):
                    await reader.read()
                return True

            async with asyncio.timeout(45):
                assert all(await asyncio.gather(*(closed(reader) for reader, _ in held)))
    finally:
        for _, writer in held:
            writer.close()
        bot.terminate()
        await bot.wait()
        await standin.stop()
        log.close()
