"""Issue 24: answers to what people just did never wait behind bulk notices."""

from __future__ import annotations

import asyncio

from bot.channels import Pace


async def test_interactive_calls_go_before_waiting_bulk_calls() -> None:
    pace = Pace(per_second=50)
    order: list[str] = []

    async def call(name: str, bulk: bool) -> None:
        await pace.wait(bulk=bulk)
        order.append(name)

    bulk = [asyncio.create_task(call(f"notice{i}", True)) for i in range(6)]
    await asyncio.sleep(0.03)  # a notice or two has gone; the rest wait their turn
    taps = [asyncio.create_task(call(f"answer{i}", False)) for i in range(3)]
    await asyncio.gather(*bulk, *taps)
    first_answer = order.index("answer0")
    # Every answer went before the notices still waiting when it came.
    assert all(name.startswith("answer") for name in order[first_answer : first_answer + 3])
    assert order.index("answer2") < order.index("notice5")
    assert sorted(order) == sorted(
        [*(f"notice{i}" for i in range(6)), "answer0", "answer1", "answer2"]
    )


async def test_the_pace_holds_for_both_lanes_together() -> None:
    """Ten calls at 100 a second take at least 90 ms, whichever lane (no burst to catch up)."""
    pace = Pace(per_second=100)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.gather(*(pace.wait(bulk=i % 2 == 0) for i in range(10)))
    assert loop.time() - start >= 0.09 - 0.005
