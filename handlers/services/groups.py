"""Problem groups, as the team tidies them: renamed, or two folded into one (the workbench).

Grouping itself (which reports are near-duplicates) is :mod:`handlers.services.grouping`; here
the team corrects it. A merged group's reports, its people who said "same problem", its poll
options and its plan items all follow the group that stays, so that the people who reported
either are told of the plan later, each once.
"""

from __future__ import annotations

from collections.abc import Sequence

from handlers.services import Refused, audit
from handlers.types import T
from storage.base import ProblemGroup, Store, Submission

MAX_TITLE_CHARS = 200


class GroupRefused(Refused):
    """A change of groups that cannot be made; ``reason`` says why."""


async def rename(store: Store, group: ProblemGroup, title: str, *, by: str) -> None:
    """Give a group a title of the team's words (its first report's text until then)."""
    title = " ".join(title.split())
    if not 1 <= len(title) <= MAX_TITLE_CHARS:
        raise GroupRefused(
            T("A group's title has 1 to {limit} characters.", limit=MAX_TITLE_CHARS)
        )
    async with store.transaction():
        await store.rename_group(group.id, title)
        await audit.record(store, group.tambon_id, by, audit.GROUP_RENAMED, group=group.id)


async def merge(store: Store, keep: ProblemGroup, gone: ProblemGroup, *, by: str) -> None:
    """Fold ``gone`` into ``keep``: one problem, counted once per person."""
    if keep.id == gone.id or keep.tambon_id != gone.tambon_id:
        raise GroupRefused(T("Choose two different problem groups of your tambon."))
    async with store.transaction():
        await store.merge_groups(keep.id, gone.id)
        await audit.record(
            store, keep.tambon_id, by, audit.GROUPS_MERGED, group=keep.id, merged=gone.id
        )


async def move(
    store: Store, submissions: Sequence[Submission], into: ProblemGroup | None, *, by: str
) -> int:
    """Put submissions (of the group's tambon) into ``into``, or each into a new group of its
    own (None: "this one is another problem"), in one transaction; how many moved."""
    moved = 0
    async with store.transaction():
        for submission in submissions:
            if into is not None and (
                submission.tambon_id != into.tambon_id or submission.group_id == into.id
            ):
                continue
            target = (
                into.id
                if into is not None
                else await store.create_group(
                    submission.tambon_id,
                    submission.text,
                    [],
                    submission.categories,
                    submission.village_moo,
                )
            )
            await store.set_submission_group(submission.id, target)
            moved += 1
        if moved:
            tambon_id = submissions[0].tambon_id
            await audit.record(
                store,
                tambon_id,
                by,
                audit.GROUP_MOVED,
                into=into.id if into is not None else None,
                count=moved,
            )
    return moved
