"""Moderation, for the working team: /hide N reason, /unhide N.

A hidden submission stays stored; its author still sees it in /mine, marked with the reason.
Summaries, reports, exports, problem groups and polls leave it out. Another tambon's submission
is answered as unknown, as /fix does, so numbers cannot be probed across tambons.
"""

from __future__ import annotations

from handlers.router import Context, Router, number
from handlers.services.submissions import CorrectionRefused, hide, unhide, who
from handlers.types import Reply, T
from storage.base import Role, Submission

router = Router()

TEAM = (Role.TEAM, Role.ADMIN)


async def _own_submission(ctx: Context, typed: str) -> Submission | None:
    assert ctx.member is not None
    ref = number(typed.lstrip("#"))
    submission = await ctx.store.get_submission(ref) if ref is not None else None
    if submission is None or submission.tambon_id != ctx.member.tambon_id:
        return None
    return submission


@router.command("hide", roles=TEAM)
async def hide_submission(ctx: Context) -> list[Reply]:
    """Hide a submission: /hide 12 the reason."""
    assert ctx.member is not None
    number, _, reason = ctx.args.strip().partition(" ")
    if not number:
        return [
            Reply(
                T(
                    "Type /hide, the reference number and the reason, for example: /hide 12 "
                    "rude words."
                )
            )
        ]
    submission = await _own_submission(ctx, number)
    if submission is None:
        return [
            Reply(
                T(
                    "There is no submission #{ref} in your tambon. Type /hide, the reference "
                    "number and the reason, for example: /hide 12 rude words.",
                    ref=number[:20] or "?",
                )
            )
        ]
    try:
        changed = await hide(ctx.store, submission, reason, who(ctx.member))
    except CorrectionRefused as refused:
        return [Reply(refused.reason)]
    if not changed:
        return [
            Reply(
                T("#{ref} was hidden already. To show it again: /unhide {ref}", ref=submission.id)
            )
        ]
    return [
        Reply(
            T(
                "#{ref} is hidden: it is kept, its sender still sees it (marked), and summaries, "
                "reports, groups and polls leave it out. To show it again: /unhide {ref}",
                ref=submission.id,
            )
        )
    ]


@router.command("unhide", roles=TEAM)
async def unhide_submission(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    number = ctx.args.strip().partition(" ")[0]
    submission = await _own_submission(ctx, number)
    if submission is None:
        return [
            Reply(
                T(
                    "There is no submission #{ref} in your tambon. Type /unhide and the "
                    "reference number, for example /unhide 12.",
                    ref=number[:20] or "?",
                )
            )
        ]
    if not await unhide(ctx.store, submission, who(ctx.member)):
        return [Reply(T("#{ref} is not hidden.", ref=submission.id))]
    return [
        Reply(
            T("#{ref} is shown again in summaries, reports, groups and polls.", ref=submission.id)
        )
    ]
