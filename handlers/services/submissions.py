"""Filing a submission, and changing a filed one: the one way, from the chat (intake, /fix,
/hide) and from ``tambon-bot correct`` and ``hide``."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from handlers.services import Refused, audit
from handlers.types import T
from storage.base import Correction, Kind, Member, NewSubmission, Store, Submission


class CorrectionRefused(Refused):
    """Tags that cannot be applied; ``reason`` says why, to the person correcting."""


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
        raise CorrectionRefused(
            T(
                "Unknown categories: {names}. Type tambon-bot categories for the codes; their "
                "Thai or English names do as well.",
                names=", ".join(unknown),
            )
        )
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
        await audit.record(
            store,
            submission.tambon_id,
            corrected_by,
            audit.TAGS_CORRECTED,
            submission=submission.id,
            source=source,
        )
    return updated


async def file_submission(
    store: Store,
    new: NewSubmission,
    *,
    keywords: Sequence[str],
    suggested: tuple[Sequence[str], Kind, int | None],
    member: Member,
) -> tuple[Submission, bool]:
    """File a submission, in one transaction: a new problem group of its own (the person
    chose not to join a similar one) and, when the person changed the tags the tagger
    suggested (categories, kind, village), a correction the tagger learns from. Filing the
    same message again (a redelivery: same channel and source id) files nothing; the
    submission and False come back."""
    async with store.transaction():
        group_id = await store.create_group(
            new.tambon_id, new.text, list(keywords), list(new.categories), new.village_moo
        )
        submission, created = await store.add_submission(replace(new, group_id=group_id))
        categories, kind, village = suggested
        if created and (list(categories), kind, village) != (
            list(new.categories),
            new.kind,
            new.village_moo,
        ):
            await store.add_correction(
                Correction(
                    submission.id,
                    member.id,
                    "sender",
                    list(categories),
                    list(new.categories),
                    kind,
                    new.kind,
                    village,
                    new.village_moo,
                    who(member),
                )
            )
    return submission, created


async def same_problem(
    store: Store, group_id: int, member: Member, village: int | None, relayed: bool
) -> bool:
    """The person says their problem is one already reported: they are counted among its
    reporters (once: False when they already were)."""
    return await store.add_group_reporter(group_id, member.id, village, relayed)


async def withdraw(store: Store, channel: str, message_id: str, member: Member) -> int | None:
    """The person took back the platform message a submission was filed from: the submission
    goes (and with it their words in its group's title). Its number, or None when there was
    none."""
    return await store.withdraw_submission(channel, message_id, member.id)


MAX_REASON_CHARS = 200


async def hide(store: Store, submission: Submission, reason: str, by: str) -> bool:
    """The team hides a submission (abusive, or filed by mistake), with a reason: it stays
    stored and its author still sees it, marked; summaries, reports, exports, groups and polls
    leave it out. Recorded in the audit trail in the same transaction. False when it was hidden
    already."""
    reason = " ".join(reason.split())[:MAX_REASON_CHARS]
    if not reason:
        raise CorrectionRefused(
            T("Please give a reason for hiding it, for example: /hide 12 rude words.")
        )
    async with store.transaction():
        changed = await store.set_hidden(submission.id, reason)
        if changed:
            await audit.record(
                store,
                submission.tambon_id,
                by,
                audit.HIDDEN,
                submission=submission.id,
                reason=reason,
            )
    return changed


async def unhide(store: Store, submission: Submission, by: str) -> bool:
    """Show a hidden submission again (False when it was not hidden), recorded like hiding."""
    async with store.transaction():
        changed = await store.set_hidden(submission.id, None)
        if changed:
            await audit.record(
                store, submission.tambon_id, by, audit.UNHIDDEN, submission=submission.id
            )
    return changed


MAX_SELECTION = 500  # submissions one bulk action takes at once


async def mark_reviewed(store: Store, tambon_id: int, ids: Sequence[int], *, by: str) -> int:
    """The team has looked at these submissions of its tambon: marked, in one transaction with
    the audit record; how many were newly marked (others' ids are left alone)."""
    if len(ids) > MAX_SELECTION:
        raise CorrectionRefused(
            T("Choose at most {most} submissions at a time.", most=MAX_SELECTION)
        )
    async with store.transaction():
        marked = await store.mark_reviewed(tambon_id, ids, datetime.now(UTC))
        if marked:
            await audit.record(store, tambon_id, by, audit.REVIEWED, count=marked)
    return marked
