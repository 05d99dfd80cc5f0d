"""Benchmark: the workbench's pages for a big tambon, against the store's plain read.

The tambon of bench/report.py (100,000 submissions in 20 villages, 2,000 problem groups, a
closed poll) is written once to an SQLite file, with a team member signed in. Then, through the
real HTTP listener (aiohttp, one process), each page is asked for ``--rounds`` times and timed
from request to the last byte:

- ``list``: the submissions page (the newest 50);
- ``filtered``: one village and one category;
- ``search``: a Thai word in the text (matched as typed, no spaces needed);
- ``no match``: words no submission holds, so every row is looked at;
- ``plan``: the plan page;

against the baseline, in the same run: the store's plain read of the same 50 newest rows
(``find_submissions`` with no filter), which every page needs at least.

    python bench/workbench.py [--submissions 100000] [--rounds 30] [--postgres]

``--postgres`` runs the same on a private PostgreSQL server started for the run (Debian's
postgresql package, as the tests use it) instead of SQLite.

Prints p50 and p95 in milliseconds per page and the p50 as a ratio to the baseline. Goal
(issue 25): each page well under half a second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import populate  # noqa: E402

PAGES = {
    "list": "/team/submissions",
    "filtered": "/team/submissions?village=7&category=water",
    # A Thai word, as the browser sends it.
    "search": "/team/submissions?q=" + quote("\u0e19\u0e49\u0e33\u0e17\u0e48\u0e27\u0e21"),
    # Words no submission holds: the whole tambon is read to say so (the worst case).
    "no match": "/team/submissions?q="
    + quote("\u0e44\u0e21\u0e48\u0e21\u0e35\u0e04\u0e33\u0e19\u0e35\u0e49"),
    "plan": "/team/plan",
}


def quantiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


async def run(url: str, rounds: int) -> None:
    from bot import web
    from bot.workbench import COOKIE, Workbench
    from handlers.services import members, workbench
    from storage import open_store
    from storage.base import Role

    kind = url.split(":")[0]
    store = open_store(url)
    await store.open()
    tambon = await store.get_tambon_by_code("600801")
    assert tambon is not None
    lead = await store.upsert_member("bench", "lead", tambon.id, Role.TEAM, "th")
    lead = await members.consent(store, lead, village=None)
    started = await workbench.sign_in(store, await workbench.sign_in_link(store, lead))
    assert started is not None
    runner = await web.serve(web.build_app(store=store, workbench=Workbench(store)), "127.0.0.1:0")
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    timings: dict[str, list[float]] = {name: [] for name in ["read", *PAGES]}
    try:
        async with aiohttp.ClientSession(cookies={COOKIE: started.token}) as http:
            for _ in range(rounds):
                began = time.perf_counter()
                await store.find_submissions(tambon.id, limit=51)
                timings["read"].append(time.perf_counter() - began)
                for name, page in PAGES.items():
                    began = time.perf_counter()
                    async with http.get(url + page) as response:
                        await response.read()
                        assert response.status == 200, (name, response.status)
                    timings[name].append(time.perf_counter() - began)
    finally:
        await runner.cleanup()
        await store.close()
    base, _ = quantiles(timings["read"])
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}; {rounds} rounds; store {kind}"
    )
    for name, samples in timings.items():
        p50, p95 = quantiles(samples)
        print(
            f"{name:9s}  p50 {p50 * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms"
            f"   x read {p50 / base:6.1f}"
        )
    print("goal: every page well under 500 ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--postgres", action="store_true", help="on PostgreSQL, not SQLite")
    args = parser.parse_args()
    if args.postgres:
        from tests.postgres_server import PostgresServer

        server = PostgresServer()
        server.start()
        try:
            url = server.create_database("workbench_bench")
            asyncio.run(populate(url, args.submissions))
            asyncio.run(run(url, args.rounds))
        finally:
            server.stop()
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'workbench.db'}"
        asyncio.run(populate(url, args.submissions))
        asyncio.run(run(url, args.rounds))


if __name__ == "__main__":
    main()
