"""The tambon summary and report in chat, for the working team (/summary, /report).

/summary: totals, top problem groups, categories, villages, the latest poll and what changed
since the member's last summary, short enough for a phone; then a chart (reports by people per
category) and a button for the full report. /report: the report as a PDF document where the
channel can send files, and a link to the live report when the listener has a public address.
"""

from __future__ import annotations

from typing import Any

from handlers import payloads
from handlers.labels import category_label, preview, village_label
from handlers.router import Context, Router, number
from handlers.services import book, reportlinks
from handlers.services.submissions import who
from handlers.services.summary import TambonSummary, build_summary
from handlers.types import Choice, FileRef, Lines, Reply, T, Text
from storage.base import Role

router = Router()

TOP = 5
TITLE_CHARS = 60
TEAM = (Role.TEAM, Role.ADMIN)
MAX_LINKS_SHOWN = 10
SILENT_SHOWN = 5  # silent needs in the chat summary; the report lists them all


@router.command("summary", roles=TEAM)
async def summary(ctx: Context) -> list[Reply]:
    """Totals, top problems, categories, villages and the latest poll, short enough for a phone."""
    assert ctx.member is not None
    tambon = await ctx.store.get_tambon(ctx.member.tambon_id)
    assert tambon is not None
    counted = await build_summary(ctx.store, tambon, ctx.need_rule)
    if counted.submissions == 0:
        return [
            Reply(T("Nothing has been filed in Tambon {tambon} yet.", tambon=tambon.name_th)),
            *await _draft_line(ctx, tambon.id),
        ]
    groups: list[Text] = [
        T(
            "{n}. {title} — {count} people, {villages} villages",
            n=i,
            title=preview(ctx.hide_numbers(g.title), TITLE_CHARS),
            count=g.reporters,
            villages=max(1, len(g.villages)),
        )
        for i, g in enumerate(counted.groups[:TOP], start=1)
    ]
    categories = [
        T("{label}: {count}", label=category_label(c), count=n) for c, n in counted.by_category
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
    if counted.data is not None and counted.data.silent:
        needs = [
            T(
                "{village}, {category}: {share}% of households below the standard, "
                "{reports} reports",
                village=village_label(r.moo),
                category=category_label(r.category),
                share=round(100 * (r.below_share or 0)),
                reports=r.reports,
            )
            for r in counted.data.silent[:SILENT_SHOWN]
        ]
        replies.append(
            Reply(
                T(
                    "🔎 Silent needs — the villages' data shows them, few people reported "
                    "them ({count}); raise them at the hearing:\n{needs}",
                    count=len(counted.data.silent),
                    needs=Lines(needs),
                )
            )
        )
    replies += await _draft_line(ctx, tambon.id)
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
    snapshot = _snapshot(counted)
    previous = await ctx.store.get_summary_view(ctx.member.id)
    if previous is not None:
        replies.append(Reply(_changes(ctx, previous[0], previous[1], snapshot, counted)))
    await ctx.store.save_summary_view(ctx.member.id, snapshot)
    token, _ = await reportlinks.create_link(
        ctx.store, tambon.id, ctx.member.id, ctx.locale, by=who(ctx.member)
    )
    replies.append(
        Reply(
            T("Reports by people per category"),
            file=FileRef("chart", token),
            no_file=T("Tap below for the full report."),
            choices=[Choice(T("📄 Full report"), payloads.Pick(payloads.REPORT).pack())],
        )
    )
    return replies


async def _draft_line(ctx: Context, tambon_id: int) -> list[Reply]:
    """While the draft plan is open for comment: what people have said of it so far."""
    window = await book.open_window(ctx.store, tambon_id, ctx.now())
    if window is None:
        return []
    said = await ctx.store.list_responses(tambon_id)
    return [
        Reply(
            T(
                "📜 The draft plan is open for comment until {until}: {people} people have "
                "said something so far ({agree} 👍, {disagree} 👎, {comments} comments). Each "
                "project's count is on the workbench's Plan book page.",
                until=window.closes_at,
                people=len({r.member_id for r in said}),
                agree=sum(r.vote == book.AGREE for r in said),
                disagree=sum(r.vote == book.DISAGREE for r in said),
                comments=sum(bool(r.comment) for r in said),
            )
        )
    ]


@router.command("report", roles=TEAM)
@router.action(payloads.REPORT, roles=TEAM)  # the summary's "Full report" button
async def report(ctx: Context) -> list[Reply]:
    """The full report: a PDF document, and the live report's link when there is one."""
    assert ctx.member is not None
    tambon = await ctx.store.get_tambon(ctx.member.tambon_id)
    assert tambon is not None
    token, _ = await reportlinks.create_link(
        ctx.store, tambon.id, ctx.member.id, ctx.locale, by=who(ctx.member)
    )
    if ctx.public_url:
        text = T(
            "📄 The report of Tambon {tambon}, as it stands now. Open it live in a browser "
            "(the link works for {hours} hours; please do not share it): {link}",
            tambon=tambon.name_th,
            hours=int(reportlinks.LINK_LIFETIME.total_seconds() // 3600),
            link=reportlinks.url(ctx.public_url, token, "html"),
        )
    else:
        text = T("📄 The report of Tambon {tambon}, as it stands now.", tambon=tambon.name_th)
    return [
        Reply(
            text,
            file=FileRef("pdf", token),
            no_file=T(
                "This bot has no public web address for report links yet, so I cannot send "
                "the report here. Please ask the administrator to set TAMBON_PUBLIC_URL, or "
                "use `tambon-bot report`."
            ),
        )
    ]


def _snapshot(counted: TambonSummary) -> dict[str, Any]:
    return {
        "submissions": counted.submissions,
        "reporters": counted.reporters,
        "villages_heard": counted.villages_heard,
        "groups": [g.id for g in counted.groups[:TOP]],
    }


def _changes(
    ctx: Context, at: Any, before: dict[str, Any], now: dict[str, Any], counted: TambonSummary
) -> Text:
    """What changed since the member's last summary (``at``)."""
    new_villages = [v for v in now["villages_heard"] if v not in before.get("villages_heard", [])]
    new_top = [g for g in counted.groups[:TOP] if g.id not in before.get("groups", [])]
    added = now["submissions"] - before.get("submissions", 0)
    people = now["reporters"] - before.get("reporters", 0)
    if added == 0 and people == 0 and not new_villages and not new_top:
        return T("No change since your last summary ({date}).", date=at)
    lines = [T("{count} new submissions, {people} more reporters", count=added, people=people)]
    if new_villages:
        lines.append(
            T("Newly heard from: {villages}", villages=[village_label(v) for v in new_villages])
        )
    if new_top:
        lines.append(
            T(
                "New among the top problems: {titles}",
                titles=[preview(ctx.hide_numbers(g.title), TITLE_CHARS) for g in new_top],
            )
        )
    return T("🆕 Since your last summary ({date}):\n{changes}", date=at, changes=Lines(lines))


@router.command("links", roles=TEAM)
async def links(ctx: Context) -> list[Reply]:
    """/links: the report links of the tambon that still open, each with a button to end it
    (one shared by mistake, or in the hands of someone who left)."""
    assert ctx.member is not None
    live = await reportlinks.live_links(ctx.store, ctx.member.tambon_id)
    if not live:
        return [Reply(T("No report link of your tambon is open now."))]
    makers = {m.id: m.pseudonym for m in await ctx.store.list_members(ctx.member.tambon_id)}
    lines = [
        T(
            "Link {ref}: made by {maker} on {made}, open until {until}",
            ref=link.id,
            maker=makers.get(link.member_id or 0, "?"),
            made=link.created_at,
            until=link.expires_at,
        )
        for link in live[:MAX_LINKS_SHOWN]
    ]
    return [
        Reply(
            T(
                "Report links that still open ({count}). Tap one to end it at once:\n{lines}",
                count=len(live),
                lines=Lines(lines),
            ),
            [
                Choice(
                    T("End link {ref}", ref=link.id),
                    payloads.Pick(payloads.LINKS, str(link.id)).pack(),
                )
                for link in live[:MAX_LINKS_SHOWN]
            ],
        )
    ]


@router.action(payloads.LINKS, roles=TEAM)
async def end_link(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    pick = payloads.Pick.unpack(ctx.incoming.choice)
    link_id = number(pick.arg) if pick is not None else None
    ended = (
        await reportlinks.revoke(ctx.store, ctx.member.tambon_id, link_id, by=who(ctx.member))
        if link_id is not None
        else None
    )
    if ended is None:
        return [Reply(T("That link is not open any more (ended, or expired)."))]
    return [Reply(T("Report link {ref} ended: it opens nothing any more.", ref=link_id))]
