"""The storage contract, run against every backend: SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import open_store, sqlite_path
from storage.base import (
    VILLAGE_PLAN,
    Approval,
    Attempts,
    ConstraintError,
    Correction,
    DuplicateTambon,
    InboxItem,
    IndicatorResult,
    Kind,
    NewSubmission,
    PlanItem,
    PlanNotice,
    PlanStatus,
    PollMethod,
    PollStatus,
    ReportLink,
    Resource,
    ResourceKind,
    Role,
    Store,
    StoredAttachment,
    Verdict,
    VillageFacts,
    VillagePlanRow,
)
from storage.migrations import load_migrations
from storage.sqlite import SQLiteStore

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/contract.db"
    else:
        url = request.getfixturevalue("postgres_url")
    store = open_store(url)
    await store.open()
    yield store
    await store.close()


async def _tambon(store: Store, code: str = "600801", villages: int = 3) -> int:
    tambon = await store.create_tambon(
        code, "ท่าตะโก", "ท่าตะโก", "นครสวรรค์", [(i, f"บ้าน{i}") for i in range(1, villages + 1)]
    )
    return tambon.id


def _submission(
    tambon_id: int, source: str | None, author: int | None = None, **kw: object
) -> NewSubmission:
    fields: dict[str, object] = {
        "tambon_id": tambon_id,
        "text": "ไฟดับทั้งซอย",
        "kind": Kind.PROBLEM,
        "categories": ["infrastructure", "safety"],
        "village_moo": 2,
        "author_id": author,
        "relayed": False,
        "channel": "telegram",
        "source_id": source,
    }
    fields.update(kw)
    return NewSubmission(**fields)  # type: ignore[arg-type]


class TestStoreContract:
    async def test_tambon_and_villages(self, backend: Store) -> None:
        tambon_id = await _tambon(backend, villages=4)
        tambon = await backend.get_tambon_by_code("600801")
        assert tambon is not None
        assert tambon.id == tambon_id
        assert tambon.province_th == "นครสวรรค์"
        assert [v.moo for v in await backend.list_villages(tambon_id)] == [1, 2, 3, 4]
        assert (await backend.list_villages(tambon_id))[0].name == "บ้าน1"
        with pytest.raises(DuplicateTambon):
            await _tambon(backend)
        assert [t.code for t in await backend.list_tambons()] == ["600801"]

    async def test_invites(self, backend: Store) -> None:
        tambon_id = await _tambon(backend)
        invite = await backend.create_invite(tambon_id, Role.TEAM, "12345678")
        assert invite.role is Role.TEAM
        assert not invite.revoked
        assert await backend.get_invite("12345678") == invite
        assert await backend.get_invite("00000000") is None
        assert await backend.list_invites(tambon_id) == [invite]

    async def test_attempts_are_kept_and_cleared(self, backend: Store) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        assert await backend.get_attempts("join", "line:U1") is None
        await backend.save_attempts(Attempts("join", "line:U1", 1, now))
        await backend.save_attempts(Attempts("join", "line:U1", 2, now, now + timedelta(hours=1)))
        await backend.save_attempts(Attempts("hall", "line:U1", 1, now))
        assert await backend.get_attempts("join", "line:U1") == Attempts(
            "join", "line:U1", 2, now, now + timedelta(hours=1)
        )
        await backend.clear_attempts("join", "line:U1")
        assert await backend.get_attempts("join", "line:U1") is None
        assert await backend.get_attempts("hall", "line:U1") is not None

    async def test_attempts_pruned_once_their_window_and_pause_are_over(
        self, backend: Store
    ) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        old = now - timedelta(hours=5)
        await backend.save_attempts(Attempts("messages", "line:U1", 3, old))
        await backend.save_attempts(Attempts("join", "line:U2", 5, old, now + timedelta(hours=1)))
        await backend.save_attempts(Attempts("messages", "line:U3", 3, now))
        assert await backend.prune_attempts(now - timedelta(hours=1)) == 1
        assert await backend.get_attempts("messages", "line:U1") is None
        assert await backend.get_attempts("join", "line:U2") is not None
        assert await backend.get_attempts("messages", "line:U3") is not None

    async def test_an_unreadable_update_kept_straight_as_a_dead_letter(
        self, backend: Store
    ) -> None:
        item = InboxItem("bot:7", "42", '{"update_id": 7}')
        assert await backend.dead_letter_add("telegram", item, "unreadable update")
        assert not await backend.dead_letter_add("telegram", item, "unreadable update")
        (letter,) = await backend.dead_letters("telegram")
        assert (letter.key, letter.payload, letter.last_error) == (
            "bot:7",
            '{"update_id": 7}',
            "unreadable update",
        )
        assert await backend.inbox_add("telegram", [item]) == []  # a redelivery: known

    async def test_report_links_listed_revoked_and_opened(self, backend: Store) -> None:
        tambon = await _tambon(backend)
        now = datetime.now(UTC)
        made = {}
        for name, member, expires in (
            ("a", None, now + timedelta(hours=1)),
            ("b", None, now + timedelta(hours=2)),
            ("old", None, now - timedelta(seconds=1)),
        ):
            await backend.create_report_link(
                name, ReportLink(tambon, member, "th", now - timedelta(hours=1), expires)
            )
            link = await backend.get_report_link(name)
            assert link is not None
            assert link.id is not None
            assert link.revoked_at is None
            made[name] = link.id
        assert [x.id for x in await backend.list_report_links(tambon, now)] == [
            made["b"],
            made["a"],
        ]
        assert await backend.get_report_link_by_id(made["a"]) == await backend.get_report_link("a")
        (ended,) = await backend.revoke_report_links(tambon, now, link_id=made["a"])
        assert ended.id == made["a"]
        assert ended.revoked_at is not None
        assert await backend.revoke_report_links(tambon, now, link_id=made["a"]) == []
        assert await backend.revoke_report_links(tambon + 1, now, link_id=made["b"]) == []
        assert [x.id for x in await backend.list_report_links(tambon, now)] == [made["b"]]
        assert await backend.mark_report_opened(made["b"], now, now - timedelta(minutes=1))
        later = now + timedelta(seconds=30)
        assert not await backend.mark_report_opened(made["b"], later, later - timedelta(minutes=1))
        much_later = now + timedelta(minutes=2)
        assert await backend.mark_report_opened(
            made["b"], much_later, much_later - timedelta(minutes=1)
        )

    async def test_members_listed_by_village_then_role(self, backend: Store) -> None:
        tambon_id = await _tambon(backend)
        nowhere = await backend.upsert_member("line", "U0", tambon_id, Role.VILLAGER, None)
        second = await backend.upsert_member("line", "U2", tambon_id, Role.VILLAGER, None)
        first = await backend.upsert_member("line", "U1", tambon_id, Role.TEAM, None)
        await backend.update_member(second.id, village_moo=2)
        await backend.update_member(first.id, village_moo=1)
        assert [m.id for m in await backend.list_members(tambon_id)] == [
            first.id,
            second.id,
            nowhere.id,
        ]
        assert await backend.list_members(tambon_id + 1) == []

    async def test_invite_uses_expiry_and_revocation(self, backend: Store) -> None:
        tambon_id = await _tambon(backend)
        now = datetime.now(UTC)
        twice = await backend.create_invite(
            tambon_id, Role.VILLAGER, "20000002", now + timedelta(days=1), 2
        )
        assert (twice.expires_at, twice.max_uses, twice.uses) == (
            (now + timedelta(days=1)).replace(microsecond=0),
            2,
            0,
        )
        assert await backend.use_invite("20000002", now)
        assert await backend.use_invite("20000002", now)
        assert not await backend.use_invite("20000002", now)  # used up
        assert (await backend.get_invite("20000002")).uses == 2  # type: ignore[union-attr]
        await backend.create_invite(tambon_id, Role.TEAM, "30000003", now + timedelta(hours=1))
        assert not await backend.use_invite("30000003", now + timedelta(hours=2))  # expired
        assert await backend.use_invite("30000003", now)
        assert await backend.revoke_invite("30000003")
        assert not await backend.revoke_invite("30000003")  # once
        assert not await backend.revoke_invite("99999999")
        assert not await backend.use_invite("30000003", now)  # revoked
        assert (await backend.get_invite("30000003")).revoked  # type: ignore[union-attr]
        assert not await backend.use_invite("99999999", now)

    async def test_member_upsert_resets_consent_on_rejoin(self, backend: Store) -> None:
        tambon_id = await _tambon(backend)
        member = await backend.upsert_member("line", "U1", tambon_id, Role.VILLAGER, None)
        assert not member.onboarded
        assert member.pseudonym.startswith("P-")
        from datetime import UTC, datetime

        member = await backend.update_member(
            member.id, village_moo=2, consent_at=datetime.now(UTC), locale="en"
        )
        assert member.onboarded
        assert member.village_moo == 2
        again = await backend.upsert_member("line", "U1", tambon_id, Role.MEMBER, "th")
        assert again.id == member.id
        assert again.role is Role.MEMBER
        assert not again.onboarded
        assert again.village_moo is None
        assert again.locale == "en"  # a chosen language survives re-joining
        assert again.pseudonym == member.pseudonym
        with pytest.raises(ValueError, match="cannot update"):
            await backend.update_member(member.id, platform_user_id="x")

    async def test_conversation_round_trip(self, backend: Store) -> None:
        tambon_id = await _tambon(backend)
        member = await backend.upsert_member("console", "u", tambon_id, Role.VILLAGER, None)
        conversation = await backend.get_conversation(member.id)
        assert conversation.step == ""
        assert conversation.data == {}
        conversation.step = "intake.confirm"
        conversation.data = {"text": "น้ำท่วม", "categories": ["water"], "village": None}
        conversation.offered = [("ok:", "✅ ยืนยัน")]
        await backend.save_conversation(conversation)
        loaded = await backend.get_conversation(member.id)
        assert loaded == conversation

    async def test_redelivered_message_is_stored_once(self, backend: Store) -> None:
        tambon_id = await _tambon(backend)
        first, created = await backend.add_submission(_submission(tambon_id, "chat1:55"))
        again, created_again = await backend.add_submission(
            _submission(tambon_id, "chat1:55", text="อื่น")
        )
        assert created
        assert not created_again
        assert again.id == first.id
        assert again.text == first.text
        other, created_other = await backend.add_submission(_submission(tambon_id, "chat1:56"))
        assert created_other
        assert other.id != first.id
        assert await backend.count_submissions(tambon_id) == 2
        no_source_a, _ = await backend.add_submission(_submission(tambon_id, None))
        no_source_b, _ = await backend.add_submission(_submission(tambon_id, None))
        assert no_source_a.id != no_source_b.id  # console messages have no platform id

    async def test_categories_keep_their_order(self, backend: Store) -> None:
        tambon_id = await _tambon(backend)
        stored, _ = await backend.add_submission(
            _submission(tambon_id, "x", categories=["water", "agriculture", "water"])
        )
        assert stored.categories == ("water", "agriculture")
        assert (await backend.get_submission(stored.id)) == stored

    async def test_inbox_keeps_arrival_order_and_skips_handled_events(
        self, backend: Store
    ) -> None:
        from datetime import UTC, datetime

        def items(*pairs: tuple[str, str]) -> list[InboxItem]:
            return [InboxItem(key, "U1", payload) for key, payload in pairs]

        assert len(await backend.inbox_add("line", items(("e3", "three"), ("e1", "one")))) == 2
        again = await backend.inbox_add("line", items(("e2", "two"), ("e1", "one again")))
        assert [item.key for item in again] == ["e2"]
        assert len(await backend.inbox_add("telegram", items(("e1", "elsewhere")))) == 1
        assert await backend.inbox_pending("line") == [
            ("e3", "three"),
            ("e1", "one"),
            ("e2", "two"),
        ]
        async with backend.transaction():  # handled: taken, and so marked done
            taken = await backend.inbox_take("line", "U1", datetime.now(UTC))
        assert taken is not None
        assert taken.key == "e3"
        assert await backend.inbox_add("line", items(("e3", "redelivered"))) == []
        assert [key for key, _ in await backend.inbox_pending("line")] == ["e1", "e2"]

    async def test_inbox_is_taken_per_sender_in_order_and_failures_go_dead(
        self, backend: Store
    ) -> None:
        from datetime import UTC, datetime, timedelta

        now = datetime.now(UTC)
        items = [InboxItem(f"k{i}", "A" if i % 2 else "B", f"p{i}") for i in range(6)]
        await backend.inbox_add("telegram", items)
        assert await backend.inbox_senders(now) == [("telegram", "B"), ("telegram", "A")]
        async with backend.transaction():
            first = await backend.inbox_take("telegram", "A", now)
        assert first is not None
        assert first.key == "k1"

        # A failed transaction puts the event back.
        async def take_then_fail() -> None:
            async with backend.transaction():
                taken = await backend.inbox_take("telegram", "A", now)
                assert taken is not None
                assert taken.key == "k3"
                raise RuntimeError("handling failed")

        with pytest.raises(RuntimeError):
            await take_then_fail()
        later = now + timedelta(seconds=30)
        assert not await backend.inbox_failed("telegram", "k3", "boom", later, 2)
        async with backend.transaction():
            assert await backend.inbox_take("telegram", "A", now) is None  # not due yet
        assert await backend.inbox_failed("telegram", "k3", "boom again", later, 2)
        (dead,) = await backend.dead_letters()
        assert (dead.key, dead.attempts, dead.last_error) == ("k3", 2, "boom again")
        assert await backend.inbox_add("telegram", [InboxItem("k3", "A", "again")]) == []
        async with backend.transaction():
            nxt = await backend.inbox_take("telegram", "A", now)
        assert nxt is not None
        assert nxt.key == "k5"

    async def test_outbox_goes_out_per_recipient_in_order(self, backend: Store) -> None:
        from datetime import UTC, datetime, timedelta

        now = datetime.now(UTC)
        lease = timedelta(seconds=60)
        leased = await backend.outbox_add(
            [("line", "U1", "one"), ("line", "U1", "two")], lease_until=now + lease
        )
        assert [m.payload for m in leased] == ["one", "two"]  # ours to send at once
        # More for U1 while those are out: not leased, and not claimable until they settle.
        assert await backend.outbox_add([("line", "U1", "three")], lease_until=now + lease) == []
        assert await backend.outbox_claim("line", "U1", now, lease) == []
        await backend.outbox_settle([m.id for m in leased], "sent")
        (three,) = await backend.outbox_claim("line", "U1", now, lease)
        assert three.payload == "three"
        await backend.outbox_retry(three.id, "502", now + timedelta(seconds=5))
        assert await backend.outbox_claim("line", "U1", now, lease) == []  # waits its retry
        again = await backend.outbox_claim("line", "U1", now + timedelta(seconds=6), lease)
        assert [m.payload for m in again] == ["three"]
        assert again[0].attempts == 1
        await backend.outbox_add([("line", "U2", "x"), ("line", "U2", "y")])
        assert await backend.outbox_drop("line", "U2", "unreachable") == 2
        counts = await backend.outbox_counts()
        assert counts == {"sent": 2, "pending": 1, "dropped": 2}
        assert await backend.prune_delivery(now + timedelta(days=1)) >= 4

    async def test_claim_update(self, backend: Store) -> None:
        assert await backend.claim_update("telegram", "1001")
        assert not await backend.claim_update("telegram", "1001")
        assert await backend.claim_update("line", "1001")

    async def test_listing_by_author_and_paging(self, backend: Store) -> None:
        tambon_id = await _tambon(backend)
        other_tambon = await _tambon(backend, "600802")
        member = await backend.upsert_member("console", "u", tambon_id, Role.VILLAGER, None)
        for i in range(1203):
            await backend.add_submission(
                _submission(tambon_id, f"m{i}", author=member.id if i % 2 else None)
            )
        await backend.add_submission(_submission(other_tambon, "elsewhere"))
        await backend.add_submission(
            _submission(
                tambon_id,
                "with-photo",
                attachments=[
                    StoredAttachment("photo", "AgAD-1", None, None),
                    StoredAttachment("location", None, 15.63, 100.49),
                ],
                categories=["water"],
            )
        )
        ids = [s.id async for s in backend.iter_submissions(tambon_id)]
        assert len(ids) == 1204
        assert ids == sorted(ids)
        # Pages prefetched while one is read: none lost, none twice; the bulk read agrees.
        assert len(set(ids)) == 1204
        every = await backend.all_submissions(tambon_id)
        assert every == [s async for s in backend.iter_submissions(tambon_id)]
        stopped = []
        async for s in backend.iter_submissions(tambon_id):  # a reader that stops early
            stopped.append(s.id)
            if len(stopped) == 1001:
                break
        assert stopped == ids[:1001]
        assert await backend.count_submissions(tambon_id) == 1204  # the store still answers
        assert every[-1].attachments[1].latitude == 15.63
        mine = await backend.list_submissions(tambon_id, author_id=member.id, limit=5)
        assert len(mine) == 5
        assert all(s.author_id == member.id for s in mine)
        assert [s.id for s in mine] == sorted((s.id for s in mine), reverse=True)
        assert await backend.count_submissions(other_tambon) == 1

    async def test_forget_member_deletes_own_but_keeps_relayed(self, backend: Store) -> None:
        tambon_id = await _tambon(backend)
        member = await backend.upsert_member("console", "u", tambon_id, Role.MEMBER, None)
        own, _ = await backend.add_submission(_submission(tambon_id, "a", author=member.id))
        relayed, _ = await backend.add_submission(
            _submission(tambon_id, "b", author=member.id, relayed=True)
        )
        await backend.add_correction(
            Correction(
                own.id,
                member.id,
                "sender",
                ["water"],
                ["infrastructure"],
                Kind.PROBLEM,
                Kind.NEED,
                1,
                2,
            )
        )
        assert await backend.forget_member(member.id) == 1
        assert await backend.get_member_by_id(member.id) is None
        assert await backend.get_submission(own.id) is None
        kept = await backend.get_submission(relayed.id)
        assert kept is not None
        assert kept.author_id is None
        assert kept.relayed
        assert await backend.list_corrections(own.id) == []

    async def test_forget_member_clears_what_the_platforms_brought_and_took(
        self, backend: Store
    ) -> None:
        tambon_id = await _tambon(backend)
        member = await backend.upsert_member("line", "U9", tambon_id, Role.VILLAGER, None)
        other = await backend.upsert_member("line", "U8", tambon_id, Role.VILLAGER, None)
        now = datetime.now(UTC)
        await backend.inbox_add(
            "line",
            [
                InboxItem("k1", "U9", "words of U9"),
                InboxItem("k2", "U9", "more of U9"),
                InboxItem("k3", "U8", "words of U8"),
            ],
        )
        assert await backend.inbox_take("line", "U9", now) is not None  # handled: k1
        await backend.inbox_failed("line", "k2", "boom", now, max_attempts=1)  # a dead letter
        assert await backend.inbox_take("line", "U8", now) is not None
        queued = await backend.outbox_add(
            [("line", "U9", "reply quoting U9"), ("line", "U8", "reply quoting U8")]
        )
        assert queued == []
        for recipient in ("U9", "U8"):
            (message,) = await backend.outbox_claim("line", recipient, now, timedelta(seconds=60))
            await backend.outbox_settle([message.id], "sent")
        await backend.outbox_add([("line", "U9", "a goodbye still to send")])

        await backend.forget_member(member.id)
        assert await backend.dead_letters("line") == []
        assert await backend.outbox_counts() == {"sent": 1, "pending": 1}
        (waiting,) = await backend.outbox_claim("line", "U9", now, timedelta(seconds=60))
        assert waiting.payload == "a goodbye still to send"
        # The handled update's key stays (a redelivery is still recognised), its words go.
        assert await backend.inbox_add("line", [InboxItem("k1", "U9", "again")]) == []
        assert await backend.get_member_by_id(other.id) is not None

    async def test_a_press_older_than_the_ballots_changes_nothing(self, backend: Store) -> None:
        from storage.base import LatePress

        tambon_id = await _tambon(backend)
        voter = await backend.upsert_member("line", "U5", tambon_id, Role.VILLAGER, None)
        poll = await backend.create_poll(
            tambon_id, "ลำดับ", PollMethod.APPROVAL, 1, [("ถนน", None), ("น้ำ", None)]
        )
        await backend.set_poll_status(poll.id, PollStatus.OPEN)
        now = datetime.now(UTC)
        await backend.cast_ballot(poll.id, voter.id, voter.pseudonym, 3, [2], now)
        with pytest.raises(LatePress) as late:
            await backend.cast_ballot(
                poll.id, voter.id, voter.pseudonym, 3, [1], now - timedelta(milliseconds=5)
            )
        assert late.value.standing.choices == (2,)
        _, changed = await backend.cast_ballot(
            poll.id, voter.id, voter.pseudonym, 3, [1], now + timedelta(milliseconds=5)
        )
        assert changed
        # Without a time (Telegram numbers its updates in order), the later arrival wins.
        await backend.cast_ballot(poll.id, voter.id, voter.pseudonym, 3, [2])
        (ballot,) = await backend.list_ballots(poll.id)
        assert ballot.choices == (2,)
        assert [e["action"] for e in await backend.ballot_log(poll.id)] == [
            "cast",
            "change",
            "change",
        ]

    async def test_a_task_started_inside_a_transaction_writes_in_its_own(
        self, backend: Store
    ) -> None:
        """A task started inside a transaction copies the context it runs in, but the
        transaction is not its own: what it writes is kept when the one that started it rolls
        back (before, on SQLite, it wrote into that transaction and was undone with it)."""
        started: list[asyncio.Task[bool]] = []

        async def starts_one_then_fails() -> None:
            async with backend.transaction():
                await backend.claim_update("test", "outer")
                started.append(asyncio.create_task(backend.claim_update("test", "child")))
                await asyncio.sleep(0)  # the task starts
                raise RuntimeError("the outer transaction fails")

        with pytest.raises(RuntimeError):
            await starts_one_then_fails()
        assert await started[0] is True
        assert await backend.claim_update("test", "child") is False  # kept: its own
        assert await backend.claim_update("test", "outer") is True  # undone with the outer

    async def test_a_savepoint_undoes_its_block_alone(self, backend: Store) -> None:
        async def fails_half_way() -> None:
            async with backend.savepoint():
                await backend.inbox_add("test", [InboxItem("undone", "U1", "{}")])
                raise RuntimeError("undo this part")

        async with backend.transaction():
            await backend.inbox_add("test", [InboxItem("kept", "U1", "{}")])
            with pytest.raises(RuntimeError):
                await fails_half_way()
            async with backend.savepoint():
                await backend.inbox_add("test", [InboxItem("also kept", "U1", "{}")])
        assert [k for k, _ in await backend.inbox_pending("test")] == ["kept", "also kept"]

    async def test_forget_keeps_closed_polls_counted_and_drops_open_ones(
        self, backend: Store
    ) -> None:
        """A hearing's announced result does not change when a voter asks to be forgotten: their
        ballot in a closed poll stays, on a stand-in with no account and a new pseudonym; in a
        poll still open it goes, with its log."""
        tambon_id = await _tambon(backend)
        voter = await backend.upsert_member("line", "U7", tambon_id, Role.VILLAGER, None)
        other = await backend.upsert_member("line", "U6", tambon_id, Role.VILLAGER, None)
        polls = []
        for title in ("ปิดแล้ว", "ยังเปิด"):
            poll = await backend.create_poll(
                tambon_id, title, PollMethod.APPROVAL, 1, [("ถนน", None), ("น้ำ", None)]
            )
            await backend.set_poll_status(poll.id, PollStatus.OPEN)
            await backend.cast_ballot(poll.id, voter.id, voter.pseudonym, 3, [1])
            await backend.cast_ballot(poll.id, other.id, other.pseudonym, 2, [2])
            polls.append(poll)
            if title == "ปิดแล้ว":  # one poll open at a time in a tambon
                await backend.set_poll_status(poll.id, PollStatus.CLOSED)
        closed, still_open = polls

        await backend.forget_member(voter.id)
        assert await backend.get_member("line", "U7") is None
        kept = await backend.list_ballots(closed.id)
        assert sorted(b.choices for b in kept) == [(1,), (2,)]  # the count is unchanged
        (stand_in_ballot,) = [b for b in kept if b.choices == (1,)]
        assert stand_in_ballot.member_id != voter.id
        assert stand_in_ballot.village_moo == 3
        stand_in = await backend.get_member_by_id(stand_in_ballot.member_id)
        assert stand_in is not None
        assert stand_in.platform_user_id != "U7"
        assert stand_in.consent_at is None
        assert stand_in.removed_at is not None
        assert [m.id for m in await backend.list_members(tambon_id)] == [other.id]
        voters = {entry["voter"] for entry in await backend.ballot_log(closed.id)}
        assert voter.pseudonym not in voters
        assert stand_in.pseudonym in voters
        assert [b.member_id for b in await backend.list_ballots(still_open.id)] == [other.id]
        assert {e["voter"] for e in await backend.ballot_log(still_open.id)} == {other.pseudonym}

    async def test_a_held_message_waits_aside_then_goes_first(self, backend: Store) -> None:
        """A push held until the platform's allowance renews does not keep the person's later
        messages waiting; back in line, it is the first of theirs to go."""
        now = datetime.now(UTC)
        await backend.outbox_add([("line", "U1", "notice"), ("line", "U1", "reply")])
        notice, reply = await backend.outbox_claim("line", "U1", now, timedelta(seconds=60))
        await backend.outbox_hold(notice.id, "monthly limit", now + timedelta(days=3))
        await backend.outbox_release([reply.id])
        assert await backend.outbox_recipients(now) == [("line", "U1")]
        (again,) = await backend.outbox_claim("line", "U1", now, timedelta(seconds=60))
        assert again.id == reply.id
        await backend.outbox_settle([reply.id], "sent")
        assert await backend.outbox_counts() == {"held": 1, "sent": 1}
        assert await backend.outbox_unhold(now + timedelta(days=2)) == 0
        assert await backend.outbox_unhold(now + timedelta(days=3)) == 1
        (back,) = await backend.outbox_claim("line", "U1", now, timedelta(seconds=60))
        assert back.id == notice.id
        assert back.attempts == 1

    async def test_hidden_submissions_are_kept_and_left_out(self, backend: Store) -> None:
        tambon_id = await _tambon(backend)
        group = await backend.create_group(tambon_id, "ไฟดับทั้งซอย", ["ไฟ"], ["infrastructure"], 2)
        first, _ = await backend.add_submission(_submission(tambon_id, "a", group_id=group))
        second, _ = await backend.add_submission(
            _submission(tambon_id, "b", text="ไฟทางเสียหลายต้น", village_moo=3, group_id=group)
        )
        assert await backend.set_hidden(first.id, "rude")
        assert not await backend.set_hidden(first.id, "rude again")  # hidden already
        hidden = await backend.get_submission(first.id)
        assert hidden is not None
        assert hidden.hidden_reason == "rude"
        assert hidden.hidden_at is not None
        assert [s.id for s in await backend.all_submissions(tambon_id)] == [second.id]
        assert await backend.count_submissions(tambon_id) == 1
        assert len(await backend.list_submissions(tambon_id)) == 2  # the author's view keeps it
        (only,) = await backend.list_groups(tambon_id)
        assert (only.reporters, only.villages, only.title) == (1, (3,), "ไฟทางเสียหลายต้น")
        assert await backend.set_hidden(second.id, "mistake")
        assert await backend.list_groups(tambon_id) == []
        assert await backend.get_group(group) is not None  # kept, to be shown again
        assert await backend.set_hidden(first.id, None)
        assert not await backend.set_hidden(first.id, None)
        (back,) = await backend.list_groups(tambon_id)
        assert (back.reporters, back.title) == (1, "ไฟดับทั้งซอย")

    async def test_plan_items_notices_and_verdicts(self, backend: Store) -> None:
        tambon_id = await _tambon(backend)
        member = await backend.upsert_member("line", "U1", tambon_id, Role.VILLAGER, None)
        member = await backend.update_member(member.id, consent_at=datetime.now(UTC))
        group = await backend.create_group(tambon_id, "ไฟดับทั้งซอย", ["ไฟ"], ["infrastructure"], 2)
        await backend.add_submission(_submission(tambon_id, "a", member.id, group_id=group))
        now = datetime.now(UTC)
        item = await backend.add_plan_item(
            PlanItem(
                0,
                tambon_id,
                2569,
                "ซ่อมไฟทาง",
                PlanStatus.PROPOSED,
                0,
                0,
                now,
                now,
                budget=50_000,
                groups=(group, group),
            )
        )
        assert item.groups == (group,)
        assert item.budget == 50_000
        assert [m.id for m in await backend.plan_reporters(item.id)] == [member.id]
        assert (await backend.items_of_groups([group]))[group] == [item]
        # Several items over shared groups, read together: each with its groups, in order.
        other = await backend.create_group(tambon_id, "ถนนพัง", ["ถนน"], ["infrastructure"], 2)
        empty = await backend.create_group(tambon_id, "ขยะ", ["ขยะ"], ["environment"], 2)
        both = await backend.add_plan_item(
            PlanItem(
                0,
                tambon_id,
                2569,
                "ซ่อมถนนและไฟ",
                PlanStatus.PROPOSED,
                0,
                0,
                now,
                now,
                groups=(other, group),
            )
        )
        assert both.groups == tuple(sorted((other, group)))
        assert await backend.list_plan_items(tambon_id) == [item, both]
        assert await backend.items_of_groups([other, group, empty, group]) == {
            group: [item, both],
            other: [both],
            empty: [],
        }
        updated = await backend.update_plan_item(item.id, PlanStatus.DONE, 100, 1)
        assert (updated.status, updated.progress, updated.done_round) == (PlanStatus.DONE, 100, 1)
        await backend.add_plan_update(item.id, PlanStatus.DONE, 100, "เสร็จ", "somchai")
        assert (await backend.plan_updates(item.id))[-1]["note"] == "เสร็จ"
        notice = PlanNotice(item.id, member.id, "done", 1)
        assert await backend.add_plan_notices([notice]) == 1
        assert await backend.add_plan_notices([notice]) == 0  # never twice
        assert await backend.claim_plan_notices(10, ["telegram"]) == []  # not on that channel
        async with backend.transaction():
            assert await backend.claim_plan_notices(10, ["line"]) == [notice]
        assert await backend.claim_plan_notices(10, ["line"]) == []
        assert await backend.plan_notice_counts(item.id) == {"done": 1}
        await backend.set_plan_verdict(item.id, member.id, 1, Verdict.NO)
        await backend.set_plan_verdict(item.id, member.id, 1, Verdict.PARTLY)  # changed their mind
        assert await backend.plan_verdicts(item.id, 1) == {Verdict.PARTLY: 1}

    async def test_pushes_are_counted_per_channel_and_month(self, backend: Store) -> None:
        assert await backend.count_push("line", "2026-12") == 1
        assert await backend.count_push("line", "2026-12") == 2
        assert await backend.count_push("line", "2027-01") == 1
        assert await backend.push_counts("2026-12") == {"line": 2}
        assert await backend.push_counts("2027-02") == {}

    async def test_transaction_rolls_back_on_error(self, backend: Store) -> None:
        tambon_id = await _tambon(backend)
        with pytest.raises(RuntimeError):  # noqa: PT012 - the crash happens inside the transaction
            async with backend.transaction():
                await backend.add_submission(_submission(tambon_id, "doomed"))
                raise RuntimeError("crash before commit")
        assert await backend.count_submissions(tambon_id) == 0
        assert await backend.claim_update("telegram", "after-rollback")

    async def test_concurrent_transactions_do_not_interleave(self, backend: Store) -> None:
        tambon_id = await _tambon(backend)

        async def file(i: int) -> None:
            async with backend.transaction():
                if await backend.claim_update("telegram", str(i % 50)):
                    await asyncio.sleep(0)
                    await backend.add_submission(_submission(tambon_id, f"s{i}"))

        await asyncio.gather(*(file(i) for i in range(200)))
        assert await backend.count_submissions(tambon_id) == 50

    async def test_foreign_keys_are_enforced(self, backend: Store) -> None:
        with pytest.raises(ConstraintError):
            await backend.create_invite(999, Role.VILLAGER, "11111111")


async def test_sqlite_uses_wal_and_records_migrations(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    async with SQLiteStore(path):
        pass
    async with SQLiteStore(path):  # re-opening applies nothing twice
        pass
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        versions = [row[0] for row in db.execute("SELECT version FROM schema_migrations")]
    assert versions == [m.version for m in load_migrations()]
    assert versions[0] == 1


def test_sqlite_urls() -> None:
    assert sqlite_path("sqlite:///data/tambon.db") == Path("data/tambon.db")
    assert sqlite_path("sqlite:////var/lib/tambon.db") == Path("/var/lib/tambon.db")
    assert sqlite_path("sqlite://") == ":memory:"
    with pytest.raises(ValueError, match="mysql"):
        open_store("mysql://x")


async def test_sqlite_transaction_after_a_locked_file_or_a_failed_first_statement(
    tmp_path: Path,
) -> None:
    """A transaction's BEGIN goes with its first statement: when that BEGIN cannot get the file
    (another program holds it) or the first statement fails, nothing is left half open and the
    next transaction works."""
    path = tmp_path / "lazy.db"
    async with SQLiteStore(path) as store:
        tambon_id = await _tambon(store)
        await store.db.execute("PRAGMA busy_timeout=50")
        blocker = sqlite3.connect(path, timeout=0)
        try:
            blocker.execute("BEGIN EXCLUSIVE")
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                async with store.transaction():
                    await store.add_submission(_submission(tambon_id, "locked:1"))
        finally:
            blocker.rollback()
            blocker.close()
        with pytest.raises(ConstraintError):
            async with store.transaction():
                await store.create_invite(999, Role.VILLAGER, "22222222")
        async with store.transaction():
            _, created = await store.add_submission(_submission(tambon_id, "after:1"))
        assert created
        assert await store.count_submissions(tambon_id) == 1
    with sqlite3.connect(path) as db:  # committed, and nothing of the failed ones
        assert [row[0] for row in db.execute("SELECT source_id FROM submissions")] == ["after:1"]


async def test_merge_groups_and_the_workbench_queries(backend: Store) -> None:
    """Issue 25's store work on both backends: folding one group into another (each person
    once), a page of submissions by filter and words, and sign-in links used once."""
    from datetime import UTC, datetime, timedelta

    tambon_id = await _tambon(backend)
    a = await backend.upsert_member("c", "a", tambon_id, Role.VILLAGER, "th")
    assert await backend.get_members_on("c", ["a", "nobody"]) == {"a": a}
    assert await backend.get_members_by_ids([a.id, 999_999]) == {a.id: a}
    keep = await backend.create_group(tambon_id, "ถนน", ["ถนน"], ["infrastructure"], 1)
    gone = await backend.create_group(tambon_id, "หลุม", ["หลุม"], ["safety"], 1)
    for group in (keep, gone):
        await backend.add_group_reporter(group, a.id, 1, False)
    async with backend.transaction():
        await backend.merge_groups(keep, gone)
    merged = await backend.get_group(keep)
    assert merged is not None
    assert merged.reporters == 1
    assert set(merged.keywords) == {"ถนน", "หลุม"}
    assert await backend.get_group(gone) is None
    for i, text in enumerate(["น้ำประปาไม่ไหล 50%", "ถนนพัง", "ไฟดับ"]):
        await backend.add_submission(_submission(tambon_id, f"s{i}", text=text))
    found = await backend.find_submissions(tambon_id, text="ไม่ไหล")
    assert [s.text for s in found] == ["น้ำประปาไม่ไหล 50%"]
    assert [s.text for s in await backend.find_submissions(tambon_id, text="%")] == [
        "น้ำประปาไม่ไหล 50%"
    ]
    assert await backend.count_hidden(tambon_id) == 0
    assert await backend.set_hidden(found[0].id, "ซ้ำ")
    assert await backend.count_hidden(tambon_id) == 1
    assert await backend.count_unreviewed(tambon_id) == 2  # hidden ones are not waiting
    assert await backend.set_hidden(found[0].id, None)
    page = await backend.find_submissions(tambon_id, limit=2)
    older = await backend.find_submissions(tambon_id, before_id=page[-1].id, limit=2)
    assert [s.text for s in page + older] == ["ไฟดับ", "ถนนพัง", "น้ำประปาไม่ไหล 50%"]
    now = datetime.now(UTC)
    hour = timedelta(hours=1)
    assert len(await backend.find_submissions(tambon_id, since=now - hour, until=now + hour)) == 3
    assert await backend.find_submissions(tambon_id, since=now + hour) == []
    assert await backend.find_submissions(tambon_id, until=now - hour) == []
    await backend.add_web_link("h", a.id, tambon_id, now, now + timedelta(minutes=10))
    assert await backend.use_web_link("h", now) == (a.id, tambon_id)
    assert await backend.use_web_link("h", now) is None


async def test_submission_counts_agree_with_counting_every_row(backend: Store) -> None:
    """Issue 24: the summary's counts come from the store's GROUP BY on both backends; they
    must be what counting every row shown in reports gives (hidden ones left out)."""
    import random
    from collections import Counter

    rng = random.Random(5)
    tambon_id = await _tambon(backend, villages=4)
    people = [
        (await backend.upsert_member("c", f"p{i}", tambon_id, Role.VILLAGER, "th")).id
        for i in range(6)
    ]
    group = await backend.create_group(tambon_id, "ถนน", ["ถนน"], ["infrastructure"], 1)
    categories = ["infrastructure", "water", "safety", "health"]
    for i in range(60):
        kind = rng.choice([Kind.PROBLEM, Kind.NEED])
        relayed = rng.random() < 0.2
        submission, _ = await backend.add_submission(
            _submission(
                tambon_id,
                f"s{i}",
                None if relayed and rng.random() < 0.5 else rng.choice(people),
                relayed=relayed,
                kind=kind,
                categories=rng.sample(categories, rng.randint(1, 2)),
                village_moo=rng.choice([1, 2, 3, None]),
                group_id=group if rng.random() < 0.3 else None,
                actor=rng.choice(["community", "joint", None]) if kind is Kind.NEED else None,
            )
        )
        if i % 13 == 0:
            assert await backend.set_hidden(submission.id, "ซ้ำ")
    rows = await backend.all_submissions(tambon_id)
    # What a printed report reads is the same rows, fields for fields.
    assert await backend.printed_submissions(tambon_id) == [
        (r.id, r.created_at, r.village_moo, r.kind, r.categories, r.text) for r in rows
    ]
    first: dict[int, datetime] = {}
    for r in rows:
        if r.group_id is not None:
            first[r.group_id] = min(first.get(r.group_id, r.created_at), r.created_at)
    assert await backend.first_reports(tambon_id) == first
    assert first  # some are grouped, so the comparison means something
    counted = await backend.submission_counts(tambon_id, 3)
    assert counted.count == len(rows)
    assert (counted.first_at, counted.last_at) == (rows[0].created_at, rows[-1].created_at)
    assert counted.kinds == Counter(r.kind.value for r in rows)
    assert counted.by_category == Counter(c for r in rows for c in r.categories)
    assert counted.by_village == Counter(r.village_moo for r in rows if r.village_moo)
    heat: dict[int, Counter[str]] = {}
    for r in rows:
        if r.village_moo is not None:
            heat.setdefault(r.village_moo, Counter()).update(r.categories)
    assert counted.village_category == heat
    own = [r for r in rows if not r.relayed and r.author_id is not None]
    assert counted.authors == len({r.author_id for r in own})
    assert counted.relayed == len(rows) - len(own)
    assert counted.category_authors == {
        c: len({r.author_id for r in own if c in r.categories})
        for c in categories
        if any(c in r.categories for r in own)
    }
    assert counted.in_group == Counter(r.group_id for r in rows if r.group_id)
    assert counted.origins == await backend.origin_counts(tambon_id)  # one pass, same counts
    needs = [r for r in rows if r.kind is not Kind.PROBLEM and r.actor]
    assert counted.needs_count == Counter(r.actor for r in needs)
    for actor, shown in counted.needs_shown.items():
        assert [s.id for s in shown] == [r.id for r in needs if r.actor == actor][:3]
    assert (await backend.submission_counts(await _tambon(backend, "610101"), 3)).count == 0


async def test_village_data_saved_once_and_reports_counted_by_origin(backend: Store) -> None:
    """Facts and indicators are replaced per village (the same file twice changes nothing),
    a village's foreign key holds, resources are kept once per village, kind and name, and
    reports are counted by where they came from, "same problem" reporters included."""
    tambon_id = await _tambon(backend)
    facts = [VillageFacts(tambon_id, 1, 120, 410, 200, 210), VillageFacts(tambon_id, 2, 80, 250)]
    assert await backend.save_village_facts(facts) == 2
    assert await backend.save_village_facts(facts) == 0
    assert await backend.save_village_facts([VillageFacts(tambon_id, 2, 85, 260)]) == 1
    assert [(f.moo, f.households) for f in await backend.list_village_facts(tambon_id)] == [
        (1, 120),
        (2, 85),
    ]
    with pytest.raises(ConstraintError):
        await backend.save_village_facts([VillageFacts(tambon_id, 9, 10, 30)])
    water = IndicatorResult(tambon_id, 1, 2569, "jpt-9", "น้ำดื่ม", "water", 120, 54)
    unknown = IndicatorResult(tambon_id, 1, 2569, "หนี้นอกระบบ", "หนี้นอกระบบ", None, 120, 30)
    assert await backend.save_indicator_results([water, unknown]) == 2
    assert await backend.save_indicator_results([water, unknown]) == 0
    with pytest.raises(ConstraintError):  # more below the standard than were surveyed
        await backend.save_indicator_results(
            [IndicatorResult(tambon_id, 2, 2569, "jpt-9", "น้ำดื่ม", "water", 10, 11)]
        )
    assert await backend.list_indicator_results(tambon_id) == [water, unknown]

    fund = Resource(0, tambon_id, 1, ResourceKind.FUND, "กองทุนหมู่บ้าน", "ประธานกองทุน")
    added, created = await backend.add_resource(fund)
    again, created_again = await backend.add_resource(fund)
    assert created
    assert not created_again
    assert again.id == added.id
    assert await backend.get_resource(added.id) == added
    assert [r.name for r in await backend.list_resources(tambon_id)] == ["กองทุนหมู่บ้าน"]

    group = await backend.create_group(tambon_id, "น้ำไม่ไหล", ["น้ำ"], ["water"], 1)
    plan_row, _ = await backend.add_submission(
        _submission(
            tambon_id,
            "v1",
            channel=VILLAGE_PLAN,
            relayed=True,
            categories=["water"],
            village_moo=1,
            group_id=group,
        )
    )
    await backend.add_village_plan_row(VillagePlanRow(plan_row.id, 1, 250000, "อบต."))
    chat, _ = await backend.add_submission(
        _submission(tambon_id, "c1", categories=["water"], village_moo=1, group_id=group)
    )
    member = await backend.upsert_member("telegram", "55", tambon_id, Role.VILLAGER, "th")
    assert await backend.add_group_reporter(group, member.id, 1, False)
    assert (plan_row.origin, chat.origin) == (VILLAGE_PLAN, "chat")
    counted = await backend.origin_counts(tambon_id)
    assert counted.village_category[(1, "water")] == {VILLAGE_PLAN: 1, "chat": 1}
    assert (await backend.submission_counts(tambon_id, 3)).origins == counted
    assert counted.groups[group] == {VILLAGE_PLAN: 1, "chat": 2}
    assert await backend.list_village_plan_rows(tambon_id) == {
        plan_row.id: VillagePlanRow(plan_row.id, 1, 250000, "อบต.")
    }
    await backend.set_hidden(plan_row.id, "ซ้ำ")
    assert await backend.list_village_plan_rows(tambon_id) == {}
    assert (await backend.origin_counts(tambon_id)).groups[group] == {"chat": 2}


async def test_direction_comment_approval_and_amendments(backend: Store) -> None:
    """Strategies keep their ids when retitled; a window reopens as a new round; a response is
    changed in place (vote and comment apart) and goes with its member; an approval is one
    per year; amendments are listed per tambon."""
    tambon_id = await _tambon(backend)
    first = await backend.set_direction(
        tambon_id, 2570, {"vision": "ตำบลน่าอยู่"}, ["เศรษฐกิจ", "น้ำ", "สังคม"]
    )
    assert [s.title for s in first.strategies] == ["เศรษฐกิจ", "น้ำ", "สังคม"]
    again = await backend.set_direction(
        tambon_id, 2570, {"mission": "พัฒนา"}, ["เศรษฐกิจพอเพียง", "น้ำ"]
    )
    assert again.vision == "ตำบลน่าอยู่"  # kept: not given
    assert [s.id for s in again.strategies] == [s.id for s in first.strategies[:2]]
    assert again.strategies[0].title == "เศรษฐกิจพอเพียง"
    assert await backend.get_direction(tambon_id, 2569) is None

    now = datetime(2027, 1, 10, 3, 0, tzinfo=UTC)
    window = await backend.open_comment(tambon_id, 2570, now, now + timedelta(days=3))
    assert (window.round, window.is_open(now), window.is_open(now + timedelta(days=3))) == (
        1,
        True,
        False,
    )
    closed = await backend.close_comment(tambon_id, 2570, now + timedelta(days=1))
    assert closed is not None
    assert not closed.is_open(now + timedelta(days=1))
    assert await backend.close_comment(tambon_id, 2570, now) is None
    reopened = await backend.open_comment(tambon_id, 2570, now, now + timedelta(days=2))
    assert (reopened.round, reopened.closed_at) == (2, None)

    item = await backend.add_plan_item(
        PlanItem(0, tambon_id, 2570, "ขุดลอกคลอง", PlanStatus.PROPOSED, 0, 0, now, now)
    )
    member = await backend.upsert_member("line", "U1", tambon_id, Role.VILLAGER, "th")
    await backend.set_response(item.id, member.id, now, vote="agree")
    await backend.set_response(
        item.id, member.id, now, comment="ขุดให้ลึกกว่าเดิม", categories=("water",)
    )
    changed = await backend.set_response(item.id, member.id, now, vote="disagree")
    assert (changed.vote, changed.comment, changed.categories) == (
        "disagree",
        "ขุดให้ลึกกว่าเดิม",
        ("water",),
    )
    assert len(await backend.list_responses(tambon_id)) == 1
    await backend.forget_member(member.id)
    assert await backend.list_responses(tambon_id) == []

    decided = Approval(tambon_id, 2570, "2027-02-01", "approved", "operator x", present=85)
    await backend.record_approval(decided)
    stored = await backend.get_approval(tambon_id, 2570)
    assert stored is not None
    assert (stored.present, stored.result) == (85, "approved")
    await backend.add_amendment(item.id, now, "งบประมาณเปลี่ยน", "team P-1")
    (amendment,) = await backend.list_amendments(tambon_id)
    assert (amendment.item_id, amendment.reason) == (item.id, "งบประมาณเปลี่ยน")
