"""Benchmark: the tambon report for a big tambon, against reading the same rows from the store.

A tambon with 100,000 submissions in 20 villages (texts and tags from the labelled set, 3,000
people, 2,000 problem groups, a closed poll with 1,000 ballots) is written once to an SQLite file.
Then each phase runs in a process of its own, in rounds, so that its peak memory (max RSS) is its
own and a noisy neighbour slows every phase alike:

- ``read``: every submission read from the store, as the reports read them (the baseline);
- ``summary``: build the TambonSummary (what /summary and the report count);
- ``html``: read what the report prints of each submission, count, and render the HTML report
  (with the appendix of every submission);
- ``pdf``: read, count and print the PDF (the appendix capped; see bot/report.py).

    python bench/report.py [--submissions 100000] [--rounds 3]

Prints the median seconds and the peak memory of each phase, and each as a ratio to ``read``.
Goals (issue #7): HTML under 2 s, PDF under 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PHASES = ("read", "summary", "html", "pdf")


def labelled() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for name in ("tagging_dev.jsonl", "tagging_test.jsonl"):
        with (ROOT / "tests" / "data" / name).open(encoding="utf-8") as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return rows


async def populate(target: Path | str, submissions: int) -> None:
    """The big tambon, written to an SQLite file (a path) or any store's URL."""
    from handlers.services import tambons
    from storage import open_store
    from storage.base import Kind, NewSubmission, PollMethod, Role

    rng = random.Random(7)
    store = open_store(target if isinstance(target, str) else f"sqlite:///{target}")
    await store.open()
    try:
        tambon = await tambons.create_tambon(store, "600801", 20)
        rows = labelled()
        texts = [str(row["text"]) for row in rows]
        async with store.transaction():
            people = [
                (await store.upsert_member("bench", str(i), tambon.id, Role.VILLAGER, "th")).id
                for i in range(3000)
            ]
            groups = []
            for g in range(2000):
                groups.append(
                    await store.create_group(
                        tambon.id, texts[g % len(texts)], [], ["infrastructure"], 1 + g % 20
                    )
                )
        for start in range(0, submissions, 5000):
            async with store.transaction():
                for i in range(start, min(submissions, start + 5000)):
                    row = rows[i % len(rows)]
                    categories = [str(c) for c in row.get("categories", [])] or ["other"]
                    await store.add_submission(
                        NewSubmission(
                            tambon_id=tambon.id,
                            text=f"{row['text']} ({i})",
                            kind=Kind(str(row.get("kind", "problem"))),
                            categories=categories,
                            village_moo=1 + i % 20,
                            author_id=people[rng.randrange(len(people))],
                            relayed=False,
                            channel="bench",
                            source_id=None,
                            group_id=groups[i % len(groups)] if i % 3 == 0 else None,
                            actor="community" if row.get("kind") == "need" else None,
                        )
                    )
        poll = await store.create_poll(
            tambon.id,
            texts[0],
            PollMethod.APPROVAL,
            1,
            [(text, None) for text in texts[1:4]],
        )
        await store.set_poll_status(poll.id, "open")
        async with store.transaction():
            for voter in people[:1000]:
                await store.cast_ballot(poll.id, voter, f"p{voter}", 1, [1 + voter % 3])
        await store.set_poll_status(poll.id, "closed")
    finally:
        await store.close()


async def run_phase(path: Path, phase: str) -> float:
    """One phase, timed from the open store to its result (imports and start-up excluded)."""
    from bot import report
    from handlers.services.summary import build_summary, read_printed_report
    from storage.sqlite import SQLiteStore

    store = SQLiteStore(path)
    await store.open()
    try:
        tambon = await store.get_tambon_by_code("600801")
        assert tambon is not None
        if phase == "pdf":
            # Load WeasyPrint and prepare the font before timing, as a running bot has.
            from bot import fonts

            fonts.pdf_fonts()
            import weasyprint  # noqa: F401
        if phase in ("html", "pdf"):
            from bot import charts

            charts._pyplot()  # matplotlib's import, once per process in a running bot
            # The report's template, compiled once per language in a running bot (kept).
            report._environment("th").get_template("report.html.j2")
        started = time.perf_counter()
        if phase == "read":  # the reports' own read (a worker thread, its own connection)
            assert await store.all_submissions(tambon.id)
        elif phase == "summary":
            await build_summary(store, tambon)
        else:
            summary, rows = await read_printed_report(store, tambon)
            if phase == "html":
                assert report.render(summary, rows, "html", "th")
            else:
                assert report.pdf(summary, rows, "th").startswith(b"%PDF-")
        return time.perf_counter() - started
    finally:
        await store.close()


def measure(path: Path, phase: str) -> tuple[float, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--phase", phase, "--db", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds, rss = done.stdout.split()
    return float(seconds), float(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:  # a child process: one phase, then its time and peak memory (MiB)
        seconds = asyncio.run(run_phase(args.db, args.phase))
        print(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        started = time.perf_counter()
        asyncio.run(populate(path, args.submissions))
        took = time.perf_counter() - started
        print(f"store: {args.submissions:,} submissions written in {took:.0f} s")
        times: dict[str, list[float]] = {p: [] for p in PHASES}
        memory: dict[str, list[float]] = {p: [] for p in PHASES}
        for _ in range(args.rounds):
            for phase in PHASES:
                seconds, rss = measure(path, phase)
                times[phase].append(seconds)
                memory[phase].append(rss)
    python = platform.python_version()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {python}")
    base_t = statistics.median(times["read"])
    base_m = statistics.median(memory["read"])
    print(f"{'phase':<8} {'median s':>9} {'× read':>7} {'peak MiB':>9} {'× read':>7}")
    for phase in PHASES:
        t = statistics.median(times[phase])
        m = statistics.median(memory[phase])
        print(f"{phase:<8} {t:>9.2f} {t / base_t:>7.2f} {m:>9.0f} {m / base_m:>7.2f}")
    html, pdf = statistics.median(times["html"]), statistics.median(times["pdf"])
    print(
        f"goals: HTML < 2 s: {'met' if html < 2 else 'NOT met'};"
        f" PDF < 10 s: {'met' if pdf < 10 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
