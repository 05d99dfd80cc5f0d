"""The LINE side of the holes found by probing from outside (issue "Nobody sees what is not
theirs"); each test failed before its fix."""

from __future__ import annotations

import asyncio

from storage.base import Store, Tambon
from tests import test_line
from tests.line_standin import Events, LineStandIn

standin = test_line.standin
events = test_line.events
line = test_line.line
post = test_line.post


async def test_a_captured_line_body_cannot_be_played_again_days_later(
    post: test_line.Post,
    events: Events,
    standin: LineStandIn,
    store: Store,
    tambon: Tambon,
) -> None:
    """Finding 8: a signed body captured days ago, its key pruned from the ledger, is refused
    (LINE stamps every event with its time); a fresh one is handled."""
    n = await test_line.onboard(post, events, standin, store, tambon)
    old = events.text(test_line.USER, test_line.ROAD, age=4 * 24 * 3600)
    assert await post(old) == 200  # answered, so that LINE does not send it again ...
    await asyncio.sleep(0.3)
    assert len(standin.messages_to(test_line.USER)) == n  # ... but not handled
    assert await store.count_submissions(tambon.id) == 0
    assert await post(events.text(test_line.USER, test_line.ROAD)) == 200
    await test_line.seen(standin, n + 1)
