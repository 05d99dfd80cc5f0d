"""The tambon summary in chat, for the working team (/summary)."""

from __future__ import annotations

from bot.summary import build_summary
from handlers.labels import CATEGORY_LABELS, village_label
from handlers.router import Context, Router
from handlers.types import Lines, Reply, T, Text
from storage.base import Role

router = Router()

TOP = 5


@router.command("summary", roles=[Role.TEAM, Role.ADMIN])
async def summary(ctx: Context) -> list[Reply]:
    """Totals, top problems, categories, villages and the latest poll, short enough for a phone."""
    assert ctx.member is not None
    tambon = await ctx.store.get_tambon(ctx.member.tambon_id)
    assert tambon is not None
    counted = await build_summary(ctx.store, tambon)
    if counted.submissions == 0:
        return [Reply(T("Nothing has been filed in Tambon {tambon} yet.", tambon=tambon.name_th))]
    groups: list[Text] = [
        T(
            "{n}. {title} — {count} people, {villages} villages",
            n=i,
            title=g.title if len(g.title) <= 60 else g.title[:59] + "…",
            count=g.reporters,
            villages=max(1, len(g.villages)),
        )
        for i, g in enumerate(counted.groups[:TOP], start=1)
    ]
    categories = [
        T("{label}: {count}", label=CATEGORY_LABELS.get(c, Text(c)), count=n)
        for c, n in counted.by_category
    ]
    replies = [
        Reply(
            T(
                "📊 Tambon {tambon}: {submissions} submissions from {reporters} reporters; "
                "villages heard from: {heard} of {villages}.\n\nTop problems:\n{groups}\n\n"
                "By category:\n{categories}",
                tambon=tambon.name_th,
                submissions=counted.submissions,
                reporters=counted.reporters,
                heard=len(counted.villages_heard),
                villages=len(counted.villages),
                groups=Lines(groups),
                categories=Lines(categories),
            )
        )
    ]
    if counted.villages_silent:
        replies.append(
            Reply(
                T(
                    "Not heard from yet: {villages}",
                    villages=[village_label(v) for v in counted.villages_silent],
                )
            )
        )
    if counted.poll is not None:
        top = [T("{rank}. {text}", rank=o.rank, text=o.text) for o in counted.poll.options[:3]]
        replies.append(
            Reply(
                T(
                    "Latest poll: {title} ({ballots} ballots)\n{top}",
                    title=counted.poll.poll.title,
                    ballots=counted.poll.ballots,
                    top=Lines(top),
                )
            )
        )
    return replies
