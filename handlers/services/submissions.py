"""Changing a filed submission: the one way, from the chat's /fix and ``tambon-bot correct``."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from handlers.types import T, Text
from storage.base import Correction, Kind, Member, Store, Submission


class CorrectionRefused(ValueError):
    """Tags that cannot be applied; ``reason`` says why, to the person correcting."""

    def __init__(self, reason: Text) -> None:
        super().__init__(reason.msgid)
        self.reason = reason


def who(member: Member) -> str:
    """A member as records of their actions name them: role and pseudonym, never their name."""
    return f"{member.role.value} {member.pseudonym}"


async def correct_tags(
    store: Store,
    submission: Submission,
    *,
    categories: Sequence[str],
    kind: Kind,
    village: int | None,
    actor: str | None,
    known_categories: Collection[str],
    member_id: int | None,
    corrected_by: str,
    source: str = "team",
) -> Submission:
    """Set a submission's tags and record the correction (the tags it had, the tags it has),
    in one transaction, with who corrected (:func:`who` for a member). The categories must be
    known and the village one of the submission's tambon."""
    unknown = [c for c in categories if c not in known_categories]
    if unknown:
        raise CorrectionRefused(T("Unknown categories: {names}.", names=", ".join(unknown)))
    if village is not None:
        villages = {v.moo for v in await store.list_villages(submission.tambon_id)}
        if village not in villages:
            raise CorrectionRefused(T("There is no village {moo} in this tambon.", moo=village))
    async with store.transaction():
        updated = await store.update_submission_tags(
            submission.id, list(categories), kind, village, actor
        )
        await store.add_correction(
            Correction(
                submission.id,
                member_id,
                source,
                submission.categories,
                list(categories),
                submission.kind,
                kind,
                submission.village_moo,
                village,
                corrected_by,
            )
        )
    return updated
