"""The draft plan in chat, while it is open for public comment (the seed's step 4): /draft shows
its items by strategy, a few at a time, each with 👍, 👎 and a comment button; a person's say
on an item can change until the comments close."""

from __future__ import annotations

import enum
from datetime import datetime

from handlers import payloads
from handlers.labels import preview
from handlers.payloads import Pick
from handlers.router import Context, Router, number, text_problem
from handlers.services import book
from handlers.types import Choice, Lines, Reply, T, Text
from storage.base import Direction, PlanItem, Response

router = Router()

PAGE = 3  # items a message shows: a phone's screen
TITLE_CHARS = 120
MARKS = {book.AGREE: "👍", book.DISAGREE: "👎"}


class DraftStep(enum.StrEnum):
    COMMENT = "draft.comment"


@router.command("draft")
async def draft(ctx: Context) -> list[Reply]:
    return await _page(ctx, 0)


@router.action(payloads.DRAFT)
async def more(ctx: Context) -> list[Reply]:
    pick = Pick.unpack(ctx.incoming.choice)
    return await _page(ctx, number(pick.arg if pick else "") or 0)


async def _page(ctx: Context, start: int) -> list[Reply]:
    assert ctx.member is not None
    window = await book.open_window(ctx.store, ctx.member.tambon_id, ctx.now())
    if window is None:
        return [Reply(T("The draft plan is not open for comment now. Thank you!"))]
    tambon = await ctx.store.get_tambon(ctx.member.tambon_id)
    assert tambon is not None
    items = await book.draft_items(ctx.store, tambon)
    direction = await ctx.store.get_direction(tambon.id, window.year_be)
    strategies = {s.id: s for s in (direction.strategies if direction else ())}
    mine = {
        r.item_id: r
        for r in await ctx.store.list_responses(tambon.id)
        if r.member_id == ctx.member.id
    }
    replies: list[Reply] = []
    if start == 0:
        replies.append(_heading(direction, len(items), window.closes_at))
    shown = items[start : start + PAGE]
    for item in shown:
        strategy = strategies.get(item.strategy_id or 0)
        replies.append(_card(item, strategy.title if strategy else None, mine.get(item.id)))
    if start + PAGE < len(items):
        replies.append(
            Reply(
                T(
                    "Items {first}–{last} of {count}.",
                    first=start + 1,
                    last=start + PAGE,
                    count=len(items),
                ),
                [Choice(T("Next items ▶"), Pick(payloads.DRAFT, str(start + PAGE)).pack())],
            )
        )
    elif not shown:
        replies.append(Reply(T("That is the whole draft. Thank you for your say!")))
    return replies


def _heading(direction: Direction | None, count: int, closes_at: datetime) -> Reply:
    lines: list[Text] = [
        T(
            "📜 The draft tambon plan: {count} projects. Say 👍 or 👎 on each, or add a "
            "comment; you may change your mind until the comments close ({closes}).",
            count=count,
            closes=closes_at,
        )
    ]
    if direction is not None and direction.vision:
        lines.append(T("Vision: {text}", text=direction.vision))
    return Reply(T("{lines}", lines=Lines(lines)))


def _card(item: PlanItem, strategy: str | None, mine: Response | None) -> Reply:
    said: Text = T("You have not said yet.")
    if mine is not None and (mine.vote or mine.comment):
        said = T(
            "You said: {vote}{comment}",
            vote=MARKS.get(mine.vote or "", ""),
            comment=T(" and commented") if mine.comment else "",
        )
    text = T(
        "{ref}. {title}\nStrategy: {strategy}\nBudget: {budget} baht\n{said}",
        ref=item.id,
        title=preview(item.title, TITLE_CHARS),
        strategy=strategy or "-",
        budget=f"{item.budget:,}" if item.budget is not None else "-",
        said=said,
    )
    return Reply(
        text,
        [
            Choice(T("👍 Agree"), Pick(payloads.RESPOND, f"{item.id}.a").pack()),
            Choice(T("👎 Disagree"), Pick(payloads.RESPOND, f"{item.id}.d").pack()),
            Choice(T("💬 Comment"), Pick(payloads.COMMENT, str(item.id)).pack()),
        ],
    )


@router.action(payloads.RESPOND)
async def respond(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    pick = Pick.unpack(ctx.incoming.choice)
    ref, _, vote = (pick.arg if pick else "").partition(".")
    item_id = number(ref)
    if item_id is None or vote not in ("a", "d"):
        return [Reply(T("Sorry, I could not read that answer. Type /draft."))]
    chosen = book.AGREE if vote == "a" else book.DISAGREE
    try:
        await book.respond(ctx.store, ctx.member, item_id, chosen, ctx.now())
    except book.BookRefused as refused:
        return [Reply(refused.reason)]
    return [
        Reply(
            T(
                "{mark} Noted for item {ref}. You may change it until the comments close.",
                mark=MARKS[chosen],
                ref=item_id,
            )
        )
    ]


@router.action(payloads.COMMENT)
async def ask_comment(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    pick = Pick.unpack(ctx.incoming.choice)
    item_id = number(pick.arg if pick else "")
    if item_id is None:
        return [Reply(T("Sorry, I could not read that answer. Type /draft."))]
    if await book.open_window(ctx.store, ctx.member.tambon_id, ctx.now()) is None:
        return [Reply(T("The draft plan is not open for comment now. Thank you!"))]
    ctx.goto(DraftStep.COMMENT, item=item_id)
    return [
        Reply(
            T("Please type your comment on item {ref} in a few words (or /cancel).", ref=item_id)
        )
    ]


@router.step(DraftStep.COMMENT)
async def take_comment(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    text = (ctx.incoming.text or "").strip()
    problem = text_problem(text, book.MAX_TEXT_CHARS)
    if problem is not None:  # still waiting for the comment: they may type it again
        return [Reply(problem), Reply(T("Please type your comment in words, or /cancel."))]
    item_id = int(ctx.data.get("item", 0))
    try:
        await book.comment(ctx.store, ctx.member, item_id, text, ctx.tagger, ctx.now())
    except book.BookRefused as refused:
        ctx.finish()
        return [Reply(refused.reason)]
    ctx.finish()
    return [
        Reply(
            T(
                "Thank you: your comment on item {ref} is with the tambon team. Type /draft for "
                "the other items.",
                ref=item_id,
            )
        )
    ]
