"""Submissions, their tag corrections, and the problem groups they form."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from storage.base import (
    Correction,
    Kind,
    NewSubmission,
    OriginCounts,
    PrintedSubmission,
    ProblemGroup,
    StoredAttachment,
    Submission,
    SubmissionCounts,
)
from storage.sql.common import (
    _KINDS,
    ORIGIN_SQL,
    PAGE,
    Row,
    SQLBase,
    _now,
    _ts,
    _ts_required,
    from_row,
)


class SubmissionQueries(SQLBase):
    """Submissions, their tag corrections, and the problem groups they form."""

    _TEXT_HOLDS = "instr(s.text, ?) > 0"  # PostgreSQL: strpos

    async def list_member_co_reports(self, member_id: int) -> list[tuple[int, datetime]]:
        rows = await self._all(
            "SELECT group_id, created_at FROM group_reporters WHERE member_id = ? AND relayed = 0"
            " ORDER BY id",
            (member_id,),
        )
        return [(int(r["group_id"]), _ts_required(r["created_at"])) for r in rows]

    # -- submissions ---------------------------------------------------------------------

    @staticmethod
    def _submission(row: Row) -> Submission:
        cats = row["categories"]
        stored = row["attachments"]
        attachments = (
            tuple(
                StoredAttachment(media, file_id, lat, lon)
                for media, file_id, lat, lon in json.loads(stored)
            )
            if stored and stored != "[]"
            else ()
        )
        return from_row(
            Submission,
            row,
            kind=_KINDS[row["kind"]],
            categories=tuple(cats.split("|")) if cats else (),
            attachments=attachments,
        )

    async def add_submission(self, new: NewSubmission) -> tuple[Submission, bool]:
        async with self.transaction():
            if new.source_id is not None:
                row = await self._one(
                    self._SUBMISSION_SQL + " WHERE channel = ? AND source_id = ?",
                    (new.channel, new.source_id),
                )
                if row is not None:
                    if new.group_id is not None:
                        # A redelivered message: the group made for it holds nobody.
                        await self._exec(
                            "DELETE FROM problem_groups WHERE id = ? AND NOT EXISTS"
                            " (SELECT 1 FROM submissions WHERE group_id = ?) AND NOT EXISTS"
                            " (SELECT 1 FROM group_reporters WHERE group_id = ?) RETURNING 1",
                            (new.group_id, new.group_id, new.group_id),
                        )
                    return self._submission(row), False
            submission_id = await self._insert(
                "INSERT INTO submissions (tambon_id, village_moo, author_id, relayed, text, kind,"
                " channel, source_id, created_at, group_id, actor)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    new.tambon_id,
                    new.village_moo,
                    new.author_id,
                    int(new.relayed),
                    new.text,
                    new.kind.value,
                    new.channel,
                    new.source_id,
                    _now(),
                    new.group_id,
                    new.actor,
                ),
            )
            await self._many(
                "INSERT INTO submission_categories (submission_id, category, position)"
                " VALUES (?, ?, ?)",
                [(submission_id, cat, i) for i, cat in enumerate(dict.fromkeys(new.categories))],
            )
            await self._many(
                "INSERT INTO submission_attachments (submission_id, media, file_id, latitude,"
                " longitude) VALUES (?, ?, ?, ?, ?)",
                [
                    (submission_id, a.media, a.file_id, a.latitude, a.longitude)
                    for a in new.attachments
                ],
            )
            stored = await self.get_submission(submission_id)
        assert stored is not None
        return stored, True

    async def get_submission(self, submission_id: int) -> Submission | None:
        row = await self._one(self._SUBMISSION_SQL + " WHERE s.id = ?", (submission_id,))
        return self._submission(row) if row else None

    async def list_submissions(
        self, tambon_id: int, *, author_id: int | None = None, limit: int | None = None
    ) -> list[Submission]:
        sql = self._SUBMISSION_SQL + " WHERE s.tambon_id = ?"
        params: list[Any] = [tambon_id]
        if author_id is not None:
            sql += " AND s.author_id = ?"
            params.append(author_id)
        sql += " ORDER BY s.id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [self._submission(r) for r in await self._all(sql, params)]

    async def find_submissions(
        self,
        tambon_id: int,
        *,
        village: int | None = None,
        category: str | None = None,
        kind: str | None = None,
        hidden: bool | None = None,
        text: str | None = None,
        before_id: int | None = None,
        limit: int = 50,
        reviewed: bool | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Submission]:
        sql = self._SUBMISSION_SQL + " WHERE s.tambon_id = ?"
        params: list[Any] = [tambon_id]
        # Stored as ISO text in UTC to the second: compared as text, as written.
        if since is not None:
            sql += " AND s.created_at >= ?"
            params.append(since.astimezone(UTC).isoformat(timespec="seconds"))
        if until is not None:
            sql += " AND s.created_at < ?"
            params.append(until.astimezone(UTC).isoformat(timespec="seconds"))
        if reviewed is not None:
            sql += " AND s.reviewed_at IS NOT NULL" if reviewed else " AND s.reviewed_at IS NULL"
        if before_id is not None:
            sql += " AND s.id < ?"
            params.append(before_id)
        if village is not None:
            sql += " AND s.village_moo = ?"
            params.append(village)
        if kind is not None:
            sql += " AND s.kind = ?"
            params.append(kind)
        if hidden is not None:
            sql += " AND s.hidden_at IS NOT NULL" if hidden else " AND s.hidden_at IS NULL"
        if category is not None:
            sql += (
                " AND EXISTS (SELECT 1 FROM submission_categories c"
                " WHERE c.submission_id = s.id AND c.category = ?)"
            )
            params.append(category)
        if text:
            # Not LIKE: what is typed is matched as it is, "%" and "_" included.
            sql += f" AND {self._TEXT_HOLDS}"
            params.append(text)
        sql += " ORDER BY s.id DESC LIMIT ?"
        params.append(limit)
        return [self._submission(r) for r in await self._all(sql, params)]

    async def mark_reviewed(self, tambon_id: int, ids: Sequence[int], at: datetime) -> int:
        if not ids:
            return 0
        marks = ", ".join("?" for _ in ids)
        return await self._exec(
            f"UPDATE submissions SET reviewed_at = ? WHERE tambon_id = ? AND id IN ({marks})"
            " AND reviewed_at IS NULL RETURNING id",
            (at.astimezone(UTC).isoformat(timespec="seconds"), tambon_id, *ids),
        )

    async def count_unreviewed(self, tambon_id: int) -> int:
        return await self._count_where(tambon_id, "reviewed_at IS NULL AND hidden_at IS NULL")

    async def count_hidden(self, tambon_id: int) -> int:
        return await self._count_where(tambon_id, "hidden_at IS NOT NULL")

    async def _count_where(self, tambon_id: int, condition: str) -> int:
        """A tambon's submissions meeting ``condition`` (a fixed fragment, never input)."""
        row = await self._one(
            f"SELECT count(*) AS n FROM submissions WHERE tambon_id = ? AND {condition}",
            (tambon_id,),
        )
        return int(row["n"]) if row else 0

    async def iter_submissions(self, tambon_id: int) -> AsyncIterator[Submission]:
        """All of a tambon's submissions, oldest first, fetched in pages.

        The next page is fetched (where the backend can run two queries at once) while this one
        is turned into objects."""
        sql = (
            self._SUBMISSION_SQL
            + " WHERE s.tambon_id = ? AND s.id > ? AND s.hidden_at IS NULL ORDER BY s.id LIMIT ?"
        )
        rows = await self._all(sql, (tambon_id, 0, PAGE))
        while rows:
            following = (
                asyncio.ensure_future(self._all(sql, (tambon_id, rows[-1]["id"], PAGE)))
                if len(rows) == PAGE and self._overlapping_reads()
                else None
            )
            try:
                for row in rows:
                    yield self._submission(row)
            except BaseException:  # the reader stopped early (or failed): drop the next page
                if following is not None:
                    following.cancel()
                raise
            if following is not None:
                rows = await following
            elif len(rows) == PAGE:
                rows = await self._all(sql, (tambon_id, rows[-1]["id"], PAGE))
            else:
                rows = []

    async def all_submissions(self, tambon_id: int) -> list[Submission]:
        return [s async for s in self.iter_submissions(tambon_id)]

    async def printed_submissions(self, tambon_id: int) -> list[PrintedSubmission]:
        categories, rows = await self._read_many(printed_queries(tambon_id))
        return printed(categories, rows)

    async def first_reports(self, tambon_id: int) -> dict[int, datetime]:
        rows = await self._all(
            "SELECT group_id, min(created_at) AS first FROM submissions WHERE tambon_id = ?"
            " AND hidden_at IS NULL AND group_id IS NOT NULL GROUP BY group_id",
            (tambon_id,),
        )
        return {r["group_id"]: _ts_required(r["first"]) for r in rows}

    async def submission_counts(self, tambon_id: int, needs_shown: int) -> SubmissionCounts:
        shown = "s.tambon_id = ? AND s.hidden_at IS NULL"
        own = "s.relayed = 0 AND s.author_id IS NOT NULL"
        others = f"coalesce(sum(CASE WHEN {own} THEN 0 ELSE 1 END), 0)"

        # Independent reads, at once where the backend can.
        origin = ORIGIN_SQL
        joined_origin = "CASE WHEN r.relayed <> 0 THEN 'relay' ELSE 'chat' END"
        totals, authors, pairs, per_category, actors, grouped, joined = await self._read_many(
            [
                (sql, (tambon_id,))
                for sql in (
                    # Kinds and villages in one pass (a few dozen groups); totals summed.
                    f"SELECT s.kind, s.village_moo, count(*), min(s.created_at),"
                    f" max(s.created_at), {others} FROM submissions s WHERE {shown}"
                    " GROUP BY s.kind, s.village_moo",
                    f"SELECT count(DISTINCT s.author_id) FROM submissions s WHERE {shown}"
                    f" AND {own}",
                    # By village, category and origin (chat, relay, village plan).
                    f"SELECT s.village_moo, c.category, {origin}, count(*), {others}"
                    " FROM submissions s JOIN submission_categories c"
                    f" ON c.submission_id = s.id WHERE {shown}"
                    f" GROUP BY s.village_moo, c.category, {origin}",
                    "SELECT c.category, count(DISTINCT s.author_id) FROM submissions s"
                    f" JOIN submission_categories c ON c.submission_id = s.id WHERE {shown}"
                    f" AND {own} GROUP BY c.category",
                    f"SELECT s.actor, count(*) FROM submissions s WHERE {shown}"
                    " AND s.kind <> 'problem' AND s.actor IS NOT NULL GROUP BY s.actor",
                    f"SELECT s.group_id, {origin}, count(*) FROM submissions s WHERE {shown}"
                    f" AND s.group_id IS NOT NULL GROUP BY s.group_id, {origin}",
                    # Those who said "same problem", by origin, per group.
                    f"SELECT r.group_id, {joined_origin}, count(*) FROM group_reporters r"
                    " JOIN problem_groups g ON g.id = r.group_id WHERE g.tambon_id = ?"
                    f" GROUP BY r.group_id, {joined_origin}",
                )
            ]
        )
        count = relayed = 0
        firsts, lasts = [], []
        kinds: dict[str, int] = {}
        by_village: dict[int, int] = {}
        for kind, village, n, first, last, other in totals:
            count, relayed = count + int(n), relayed + int(other)
            firsts.append(first)
            lasts.append(last)
            kinds[str(kind)] = kinds.get(str(kind), 0) + int(n)
            if village is not None:
                by_village[int(village)] = by_village.get(int(village), 0) + int(n)
        if not count:
            return SubmissionCounts()
        heat: dict[int, dict[str, int]] = {}
        by_category: dict[str, int] = {}
        category_relayed: dict[str, int] = {}
        by_origin: dict[tuple[int, str], dict[str, int]] = {}
        for village, category, source, n, other in pairs:
            by_category[category] = by_category.get(category, 0) + int(n)
            if other:
                category_relayed[category] = category_relayed.get(category, 0) + int(other)
            if village is not None:
                cell = heat.setdefault(int(village), {})
                cell[category] = cell.get(category, 0) + int(n)
                by_origin.setdefault((int(village), str(category)), {})[str(source)] = int(n)
        in_group: dict[int, int] = {}
        group_origins: dict[int, dict[str, int]] = {}
        for group, source, n in grouped:
            in_group[int(group)] = in_group.get(int(group), 0) + int(n)
            group_origins.setdefault(int(group), {})[str(source)] = int(n)
        for group, source, n in joined:
            counts = group_origins.setdefault(int(group), {})
            counts[str(source)] = counts.get(str(source), 0) + int(n)
        category_authors = {str(category): int(n) for category, n in per_category}
        needs_count = {str(actor): int(n) for actor, n in actors}
        needs: dict[str, list[Submission]] = {}
        for actor in needs_count:
            found = await self._all(
                self._SUBMISSION_SQL + f" WHERE {shown} AND s.kind <> 'problem'"
                " AND s.actor = ? ORDER BY s.id LIMIT ?",
                (tambon_id, actor, needs_shown),
            )
            needs[actor] = [self._submission(r) for r in found]
        return SubmissionCounts(
            count=count,
            first_at=_ts(min(firsts)),
            last_at=_ts(max(lasts)),
            kinds=kinds,
            by_category=by_category,
            by_village=by_village,
            village_category=heat,
            authors=int(authors[0][0]),
            relayed=relayed,
            category_authors=category_authors,
            category_relayed=category_relayed,
            in_group=in_group,
            origins=OriginCounts(village_category=by_origin, groups=group_origins),
            needs_count=needs_count,
            needs_shown=needs,
        )

    async def count_submissions(self, tambon_id: int) -> int:
        row = await self._one(
            "SELECT count(*) FROM submissions WHERE tambon_id = ? AND hidden_at IS NULL",
            (tambon_id,),
        )
        return int(row[0]) if row else 0

    async def set_hidden(self, submission_id: int, reason: str | None) -> bool:
        async with self.transaction():
            row = await self._one(
                "UPDATE submissions SET hidden_at = ?, hidden_reason = ? WHERE id = ? AND"
                + (" hidden_at IS NULL" if reason is not None else " hidden_at IS NOT NULL")
                + " RETURNING group_id",
                (_now() if reason is not None else None, reason, submission_id),
            )
            if row is not None and row["group_id"] is not None:
                await self._retitle_group(row["group_id"])
        self._poll_options.clear()
        return row is not None

    async def add_correction(self, correction: Correction) -> None:
        await self._exec(
            "INSERT INTO tag_corrections (submission_id, member_id, source, old_categories,"
            " new_categories, old_kind, new_kind, old_village, new_village, corrected_by,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                correction.submission_id,
                correction.member_id,
                correction.source,
                "|".join(correction.old_categories),
                "|".join(correction.new_categories),
                correction.old_kind.value,
                correction.new_kind.value,
                correction.old_village,
                correction.new_village,
                correction.corrected_by,
                _now(),
            ),
        )

    async def update_submission_tags(
        self,
        submission_id: int,
        categories: Sequence[str],
        kind: Kind,
        village_moo: int | None,
        actor: str | None,
    ) -> Submission:
        async with self.transaction():
            await self._exec(
                "UPDATE submissions SET kind = ?, village_moo = ?, actor = ? WHERE id = ?",
                (kind.value, village_moo, actor, submission_id),
            )
            await self._exec(
                "DELETE FROM submission_categories WHERE submission_id = ?", (submission_id,)
            )
            await self._many(
                "INSERT INTO submission_categories (submission_id, category, position)"
                " VALUES (?, ?, ?)",
                [(submission_id, c, i) for i, c in enumerate(dict.fromkeys(categories))],
            )
            updated = await self.get_submission(submission_id)
        if updated is None:
            raise LookupError(submission_id)
        return updated

    async def withdraw_submission(
        self, channel: str, source_id: str, author_id: int
    ) -> int | None:
        async with self.transaction():
            row = await self._one(
                "DELETE FROM submissions WHERE channel = ? AND source_id = ? AND author_id = ?"
                " RETURNING id, group_id",
                (channel, source_id, author_id),
            )
            if row is not None and row["group_id"] is not None:
                await self._retitle_group(row["group_id"])
        self._poll_options.clear()
        return int(row["id"]) if row is not None else None

    async def _retitle_group(self, group_id: int) -> None:
        """A group's title is its first remaining reporter's words (of a submission not
        hidden), or, when none remain, its keywords: never the words of someone who asked for
        them to be erased, nor words the team hid. Poll options drawn from the group follow."""
        group = await self._one(
            "SELECT title, keywords FROM problem_groups WHERE id = ?", (group_id,)
        )
        if group is None:
            return
        first = await self._one(
            "SELECT text FROM submissions WHERE group_id = ? AND hidden_at IS NULL"
            " ORDER BY id LIMIT 1",
            (group_id,),
        )
        if first is not None and first["text"] == group["title"]:
            return  # the erased words were not the title
        keywords = [k for k in group["keywords"].split("|") if k]
        label = " · ".join(keywords) or f"#{group_id}"
        title = first["text"] if first is not None else label
        # Options made from the group (with its id, or copied from its title by /newpoll) take
        # the neutral label: a ballot shows nobody's own words.
        await self._exec(
            "UPDATE poll_options SET text = ? WHERE group_id = ? OR (text = ? AND poll_id IN"
            " (SELECT p.id FROM polls p JOIN problem_groups g ON g.tambon_id = p.tambon_id"
            " WHERE g.id = ?)) RETURNING 1",
            (label[:80], group_id, group["title"][:80], group_id),
        )
        if first is None and not await self._one(
            "SELECT 1 FROM group_reporters WHERE group_id = ?"
            " UNION ALL SELECT 1 FROM submissions WHERE group_id = ?",
            (group_id, group_id),
        ):
            # Nobody reports it any more (not even in a hidden submission): the group goes.
            await self._exec("DELETE FROM problem_groups WHERE id = ? RETURNING 1", (group_id,))
        elif title != group["title"]:
            await self._exec(
                "UPDATE problem_groups SET title = ? WHERE id = ? RETURNING 1", (title, group_id)
            )

    # -- problem groups ------------------------------------------------------------------

    @staticmethod
    def _group(row: Row) -> ProblemGroup:
        return from_row(
            ProblemGroup,
            row,
            keywords=tuple(k for k in row["keywords"].split("|") if k),
            categories=tuple(c for c in row["categories"].split("|") if c),
            reporters=int(row["reporters"]),
            villages=tuple(int(v) for v in (row["villages"] or "").split("|") if v),
        )

    async def create_group(
        self,
        tambon_id: int,
        title: str,
        keywords: Sequence[str],
        categories: Sequence[str],
        village_moo: int | None,
    ) -> int:
        return await self._insert(
            "INSERT INTO problem_groups (tambon_id, title, keywords, categories, village_moo,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (tambon_id, title, "|".join(keywords), "|".join(categories), village_moo, _now()),
        )

    async def list_groups(self, tambon_id: int) -> list[ProblemGroup]:
        rows = await self._all(
            self._GROUP_SQL + " WHERE g.tambon_id = ? ORDER BY reporters DESC, g.id",
            (tambon_id,),
        )
        # A group whose only reports are hidden counts nobody: it is not shown.
        return [self._group(r) for r in rows if r["reporters"]]

    async def get_group(self, group_id: int) -> ProblemGroup | None:
        row = await self._one(self._GROUP_SQL + " WHERE g.id = ?", (group_id,))
        return self._group(row) if row else None

    async def rename_group(self, group_id: int, title: str) -> None:
        await self._exec("UPDATE problem_groups SET title = ? WHERE id = ?", (title, group_id))

    async def set_submission_group(self, submission_id: int, group_id: int) -> None:
        await self._exec(
            "UPDATE submissions SET group_id = ? WHERE id = ?", (group_id, submission_id)
        )

    async def merge_groups(self, keep_id: int, gone_id: int) -> None:
        rows = await self._all(
            "SELECT id, keywords, categories FROM problem_groups WHERE id IN (?, ?)",
            (keep_id, gone_id),
        )
        found = {r["id"]: r for r in rows}
        keep, gone = found[keep_id], found[gone_id]

        def joined(column: str) -> str:
            words = [w for w in f"{keep[column]}|{gone[column]}".split("|") if w]
            return "|".join(dict.fromkeys(words))

        await self._exec(
            "UPDATE problem_groups SET keywords = ?, categories = ? WHERE id = ?",
            (joined("keywords"), joined("categories"), keep_id),
        )
        await self._exec(
            "UPDATE submissions SET group_id = ? WHERE group_id = ?", (keep_id, gone_id)
        )
        # One "same problem" per person and group: who said it of both counts once.
        await self._exec(
            "DELETE FROM group_reporters WHERE group_id = ? AND relayed = 0 AND member_id IN"
            " (SELECT member_id FROM group_reporters WHERE group_id = ? AND relayed = 0)",
            (gone_id, keep_id),
        )
        await self._exec(
            "UPDATE group_reporters SET group_id = ? WHERE group_id = ?", (keep_id, gone_id)
        )
        await self._exec(
            "UPDATE poll_options SET group_id = ? WHERE group_id = ?", (keep_id, gone_id)
        )
        await self._exec(
            "DELETE FROM plan_item_groups WHERE group_id = ? AND item_id IN"
            " (SELECT item_id FROM plan_item_groups WHERE group_id = ?)",
            (gone_id, keep_id),
        )
        await self._exec(
            "UPDATE plan_item_groups SET group_id = ? WHERE group_id = ?", (keep_id, gone_id)
        )
        await self._exec("DELETE FROM problem_groups WHERE id = ?", (gone_id,))

    async def add_group_reporter(
        self, group_id: int, member_id: int | None, village_moo: int | None, relayed: bool
    ) -> bool:
        added = await self._exec(
            "INSERT INTO group_reporters (group_id, member_id, village_moo, relayed, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
            (group_id, member_id, village_moo, int(relayed), _now()),
        )
        return added > 0

    async def list_corrections(self, submission_id: int | None = None) -> list[Correction]:
        sql = "SELECT * FROM tag_corrections"
        params: tuple[Any, ...] = ()
        if submission_id is not None:
            sql += " WHERE submission_id = ?"
            params = (submission_id,)
        rows = await self._all(sql + " ORDER BY id", params)
        return [
            Correction(
                submission_id=r["submission_id"],
                member_id=r["member_id"],
                source=r["source"],
                old_categories=tuple(filter(None, r["old_categories"].split("|"))),
                new_categories=tuple(filter(None, r["new_categories"].split("|"))),
                old_kind=Kind(r["old_kind"]),
                new_kind=Kind(r["new_kind"]),
                old_village=r["old_village"],
                new_village=r["new_village"],
                corrected_by=r["corrected_by"],
            )
            for r in rows
        ]


def printed_queries(tambon_id: int) -> list[tuple[str, tuple[Any, ...]]]:
    """The two plain scans a report's appendix reads: categories in order, then the rows."""
    return [
        (
            "SELECT c.submission_id, c.category FROM submission_categories c"
            " JOIN submissions s ON s.id = c.submission_id"
            " WHERE s.tambon_id = ? AND s.hidden_at IS NULL ORDER BY c.submission_id, c.position",
            (tambon_id,),
        ),
        (
            "SELECT id, created_at, village_moo, kind, text FROM submissions"
            " WHERE tambon_id = ? AND hidden_at IS NULL ORDER BY id",
            (tambon_id,),
        ),
    ]


def printed(
    category_rows: Iterable[Sequence[Any]], rows: Iterable[Sequence[Any]]
) -> list[PrintedSubmission]:
    """The appendix's rows from the two scans of :func:`printed_queries`, joined in Python."""
    categories: dict[int, list[str]] = {}
    for submission_id, category in category_rows:
        categories.setdefault(submission_id, []).append(category)
    return [
        PrintedSubmission(
            sid,
            datetime.fromisoformat(created),
            village,
            _KINDS[kind],
            tuple(categories.get(sid, ())),
            text,
        )
        for sid, created, village, kind, text in rows
    ]
