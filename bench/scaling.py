"""One and two `tambon-bot run` processes on one PostgreSQL store, behind one address.

    python bench/scaling.py [--villagers 150] [--rounds 2]

Each round starts a private PostgreSQL server's fresh database, a Telegram stand-in, a round-robin
balancer and one or two bot processes in webhook mode; then that many villagers talk at once,
each a whole conversation (join code, village, consent, a problem, confirm, "a different
problem": six updates), every update delivered by webhook until taken. It prints, per round, the
updates handled a second from the first delivery until every update is handled and every reply
sent, and how long a webhook took to be answered (what the platform waits for). One-process and
two-process rounds take turns, and the ratio is of the medians measured in this run: machines
here are shared and noisy. The stand-in, the balancer and the villagers run in this process and
take CPU from the same cores as the bots and the database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.balancer import Balancer  # noqa: E402
from tests.postgres_server import PostgresServer  # noqa: E402
from tests.telegram_standin import BOT_ID, TelegramStandIn  # noqa: E402
from tests.test_crash import TOKEN, WEBHOOK_SECRET, Bot, free_port, talk_by_webhook  # noqa: E402
from tests.test_scaling import settled  # noqa: E402

FIRST_USER = 830_000


async def cli(env: dict[str, str], *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, args
    return out.decode()


async def one_round(server: PostgresServer, processes: int, villagers: int, n: int) -> dict:
    url = server.create_database(f"bench_{processes}_{n}")
    workdir = Path(tempfile.mkdtemp(prefix="tambon-scaling-"))
    env = {**os.environ, "TAMBON_DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    for name in ("LINE_CHANNEL_SECRET", "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_URL"):
        env.pop(name, None)
    await cli(env, "tambon", "create", "--code", "600801", "--villages", "3")
    invite = await cli(
        env, "invite", "--tambon", "600801", "--role", "villager", "--uses", str(villagers)
    )
    code = invite.splitlines()[0]
    standin = TelegramStandIn(TOKEN)
    await standin.start()
    ports = [free_port() for _ in range(processes)]
    balancer = Balancer([f"http://127.0.0.1:{port}" for port in ports])
    webhook = f"{await balancer.start(free_port())}/telegram/webhook"
    bots = []
    for i, port in enumerate(ports):
        (workdir / str(i)).mkdir()
        bot_env = {
            **env,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": standin.base_url,
            "TELEGRAM_WEBHOOK_URL": webhook,
            "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "TAMBON_LISTEN": f"127.0.0.1:{port}",
            # The bots' own capacity, not Telegram's limit of 30 messages a second a bot.
            "TELEGRAM_MESSAGES_PER_SECOND": "10000",
        }
        bots.append(Bot(bot_env, workdir / str(i)))
    keys: set[str] = set()
    try:
        for bot in bots:
            await bot.start()
        await wait_listening(ports)
        bots_cpu_before = sum(cpu_seconds(bot) for bot in bots)
        own_cpu_before = own_cpu_seconds()
        started = time.monotonic()
        waits: list[float] = []
        async with aiohttp.ClientSession() as http:

            async def villager(index: int) -> None:
                before = time.monotonic()
                sent = await talk_by_webhook(
                    standin, http, webhook, code, index, FIRST_USER + index
                )
                waits.append((time.monotonic() - before) / len(sent))
                keys.update(f"{BOT_ID}:{u['update_id']}" for u in sent)

            await asyncio.gather(*(villager(i) for i in range(villagers)))
        state = await settled(url, keys, within=600)
        elapsed = time.monotonic() - started
        bots_cpu = sum(cpu_seconds(bot) for bot in bots) - bots_cpu_before
        own_cpu = own_cpu_seconds() - own_cpu_before
    finally:
        for bot in bots:
            await bot.stop()
        await balancer.stop()
        await standin.stop()
        server.drop_database(f"bench_{processes}_{n}")
    assert state["submissions"] == villagers, state["submissions"]
    assert state["handled"] == len(keys)
    return {
        "updates_per_s": len(keys) / elapsed,
        "webhook_ms": statistics.median(waits) * 1000,
        "seconds": elapsed,
        "updates": len(keys),
        "bots_cpu": bots_cpu,
        "own_cpu": own_cpu,
    }


def cpu_seconds(bot: Bot) -> float:
    """User and system CPU time a bot process has used so far (Linux /proc)."""
    assert bot.process is not None
    fields = Path(f"/proc/{bot.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def wait_listening(ports: list[int]) -> None:
    """Until every bot answers on its port (start-up takes a few seconds)."""
    async with aiohttp.ClientSession() as http:
        for port in ports:
            for _ in range(300):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz"):
                        break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--villagers", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    python = platform.python_version()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {python}")
    print(f"villagers a round: {args.villagers} (6 updates each)")
    server = PostgresServer()
    server.start()
    results: dict[int, list[dict]] = {1: [], 2: []}
    try:
        n = 0
        for _ in range(args.rounds):
            for processes in (1, 2):
                n += 1
                result = await one_round(server, processes, args.villagers, n)
                results[processes].append(result)
                print(
                    f"{processes} process{'es' if processes > 1 else '  '}: "
                    f"{result['updates']} updates in {result['seconds']:.1f} s = "
                    f"{result['updates_per_s']:.0f} updates/s; a webhook answered in "
                    f"{result['webhook_ms']:.0f} ms (median); CPU: bots "
                    f"{result['bots_cpu']:.1f} s, stand-in + balancer + villagers "
                    f"{result['own_cpu']:.1f} s, of {2 * result['seconds']:.1f} core-seconds",
                    flush=True,
                )
    finally:
        server.stop()
    one = statistics.median(r["updates_per_s"] for r in results[1])
    two = statistics.median(r["updates_per_s"] for r in results[2])
    print(f"median: 1 process {one:.0f} updates/s, 2 processes {two:.0f} updates/s")
    print(f"ratio 2/1: {two / one:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
