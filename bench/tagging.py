"""Benchmark: the full tagger against pythainlp's plain newmm tokenisation, on one core.

The same 50,000 messages (the labelled set's texts, cycled, each made distinct with a suffix)
are (a) tokenised with ``pythainlp.tokenize.word_tokenize(engine="newmm")`` alone and (b) tagged
by the full tagger: normalise, tokenise, lexicon, classifier, kind and village. Both run in this
process, interleaved in rounds of 1,000 messages; the ratio (b)/(a) is the figure to watch.

    python bench/tagging.py [--messages 50000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def messages(n: int) -> list[str]:
    texts = []
    for name in ("tagging_dev.jsonl", "tagging_test.jsonl"):
        with (ROOT / "tests" / "data" / name).open(encoding="utf-8") as f:
            texts += [json.loads(line)["text"] for line in f if line.strip()]
    return [f"{texts[i % len(texts)]} {i}" for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    args = parser.parse_args()

    from pythainlp.tokenize import word_tokenize

    from bot.nlp.tagger import KeywordTagger, packaged_model
    from handlers.services.tambons import sample_village_names

    batch = messages(args.messages)
    tagger = KeywordTagger(model=packaged_model())
    names = sample_village_names()
    word_tokenize(batch[0], engine="newmm")  # load the dictionary before timing
    tagger.tag(batch[0], names)

    # Interleave the two in rounds of 1,000 messages, so that a noisy neighbour on a shared
    # machine slows both alike instead of whichever happened to run at the time.
    plain = full = 0.0
    for start in range(0, len(batch), 1000):
        chunk = batch[start : start + 1000]
        started = time.perf_counter()
        for text in chunk:
            word_tokenize(text, engine="newmm")
        plain += time.perf_counter() - started
        started = time.perf_counter()
        for text in chunk:
            tagger.tag(text, names)
        full += time.perf_counter() - started

    n = len(batch)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}"
    )
    print(f"messages: {n}")
    print(f"(a) pythainlp newmm word_tokenize: {n / plain:8.0f} messages/s")
    print(f"(b) full tagger:                   {n / full:8.0f} messages/s")
    print(f"ratio (b)/(a): {plain / full:.2f}   goals: ratio >= 0.50 and (b) >= 5,000/s")


if __name__ == "__main__":
    main()
