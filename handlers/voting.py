"""Voting in a hearing's priority poll (/vote) and the team's view of the count (/results).

See ``voting.mmd``. The ballot being filled in lives in the conversation's data; it reaches the
store only when submitted, where one ballot per person and poll is enforced.
"""

from __future__ import annotations

import enum
from dataclasses import replace
from datetime import UTC, datetime

from bot.polls import tally, valid_choices
from handlers import payloads as p
from handlers.payloads import Pick
from handlers.router import Context, Router
from handlers.types import Choice, Lines, Reply, T, Text
from storage.base import Poll, PollClosed, PollMethod, Role

router = Router()

SUBMIT = "submit"
CLEAR = "clear"


class VoteStep(enum.StrEnum):
    BALLOT = "voting.ballot"


async def _open_poll(ctx: Context) -> Poll | None:
    assert ctx.member is not None
    now = datetime.now(UTC)
    for poll in await ctx.store.list_polls(ctx.member.tambon_id):
        if poll.accepts_ballots(now):
            return poll
    return None


def _method_text(poll: Poll) -> Text:
    if poll.method is PollMethod.APPROVAL and poll.choose == 1:
        return T("Tap the one problem that matters most to you; your tap is your ballot.")
    if poll.method is PollMethod.APPROVAL:
        return T(
            "Choose up to {k} problems that matter most to you, then press Submit.", k=poll.choose
        )
    return T(
        "Tap up to {k} problems in order of importance: the first you tap gets {k} points, the "
        "next one point less, and so on. Then press Submit.",
        k=poll.choose,
    )


def _one_tap_card(poll: Poll, chosen: list[int]) -> Reply:
    """Choose-one polls: each option is a button that casts the ballot at once."""
    choices = [
        Choice(
            T("{mark} {text}", mark="✅" if option.position in chosen else "◻️", text=option.text),
            Pick(p.QUICK_VOTE, f"{poll.id}.{option.position}").pack(),
        )
        for option in poll.options
    ]
    return Reply(
        T("🗳 {title}\n{how}", title=poll.title, how=_method_text(poll)), choices, card=True
    )


def _ballot_card(poll: Poll, chosen: list[int]) -> Reply:
    if poll.method is PollMethod.APPROVAL and poll.choose == 1:
        return _one_tap_card(poll, chosen)
    choices = []
    for option in poll.options:
        if option.position in chosen:
            mark = (
                "✅"
                if poll.method is PollMethod.APPROVAL
                else _rank_mark(chosen.index(option.position))
            )
        else:
            mark = "◻️"
        choices.append(
            Choice(
                T("{mark} {text}", mark=mark, text=option.text),
                Pick(p.BALLOT, str(option.position)).pack(),
            )
        )
    choices.append(Choice(T("📨 Submit my ballot"), Pick(p.BALLOT, SUBMIT).pack()))
    choices.append(Choice(T("🧹 Clear"), Pick(p.BALLOT, CLEAR).pack()))
    return Reply(
        T("🗳 {title}\n{how}", title=poll.title, how=_method_text(poll)),
        choices,
        card=True,
    )


RANK_MARKS = "\u278a\u278b\u278c\u278d\u278e\u278f\u2790\u2791\u2792\u2793"  # 1-10 in circles


def _rank_mark(index: int) -> str:
    return RANK_MARKS[index] if index < len(RANK_MARKS) else f"({index + 1})"


def _listing(poll: Poll, chosen: list[int]) -> Lines:
    texts = {o.position: o.text for o in poll.options}
    return Lines([T("{n}. {text}", n=i, text=texts[c]) for i, c in enumerate(chosen, start=1)])


@router.command("vote")
async def vote(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    poll = await _open_poll(ctx)
    if poll is None:
        return [
            Reply(
                T(
                    "No poll is open in your tambon right now. The team will announce it at the "
                    "hearing."
                )
            )
        ]
    ballot = await ctx.store.get_ballot(poll.id, ctx.member.id)
    chosen = list(ballot.choices) if ballot else []
    ctx.goto(VoteStep.BALLOT, poll=poll.id, chosen=chosen)
    replies = []
    if ballot is not None:
        replies.append(
            Reply(
                T(
                    "Your ballot so far:\n{listing}\nYou can change it below until the poll "
                    "closes.",
                    listing=_listing(poll, chosen),
                )
            )
        )
    replies.append(_ballot_card(poll, chosen))
    return replies


@router.step(VoteStep.BALLOT)
async def ballot_step(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    poll = await ctx.store.get_poll(int(ctx.data["poll"]))
    chosen: list[int] = list(ctx.data.get("chosen", []))
    if poll is None:
        ctx.finish()
        return [
            Reply(
                T(
                    "No poll is open in your tambon right now. The team will announce it at the "
                    "hearing."
                )
            )
        ]
    pick = Pick.unpack(ctx.incoming.choice)
    if pick is None or pick.action != p.BALLOT:
        return [
            Reply(T("Please answer with one of the choices below.")),
            _ballot_card(poll, chosen),
        ]
    if pick.arg == CLEAR:
        ctx.data["chosen"] = []
        return [replace(_ballot_card(poll, []), edit_previous=True)]
    if pick.arg == SUBMIT:
        return await _submit(ctx, poll, chosen)
    position = int(pick.arg) if pick.arg.isdigit() else 0
    if position not in {o.position for o in poll.options}:
        return [
            Reply(T("Please answer with one of the choices below.")),
            _ballot_card(poll, chosen),
        ]
    if position in chosen:
        chosen.remove(position)
    elif len(chosen) >= poll.choose:
        return [
            Reply(
                T("You can choose up to {k}. Tap a chosen one to remove it first.", k=poll.choose)
            ),
            _ballot_card(poll, chosen),
        ]
    else:
        chosen.append(position)
    ctx.data["chosen"] = chosen
    return [replace(_ballot_card(poll, chosen), edit_previous=True)]


@router.action(p.QUICK_VOTE)
async def quick_vote(ctx: Context) -> list[Reply]:
    """One tap on a choose-one poll's card: the ballot, cast or changed."""
    pick = Pick.unpack(ctx.incoming.choice)
    poll_ref, _, position = pick.arg.partition(".") if pick else ("", "", "")
    poll = await ctx.store.get_poll(int(poll_ref)) if poll_ref.isdigit() else None
    if poll is None or not position.isdigit():
        return [
            Reply(
                T(
                    "That button belongs to an earlier question. Please type your problem or "
                    "need, or /help."
                )
            )
        ]
    if ctx.member is None or poll.tambon_id != ctx.member.tambon_id:
        return [
            Reply(
                T(
                    "No poll is open in your tambon right now. The team will announce it at the "
                    "hearing."
                )
            )
        ]
    # A tap may come while the person is in the middle of something else: leave that be.
    replies = await _submit(ctx, poll, [int(position)], finish=ctx.step == VoteStep.BALLOT)
    # The card stays: tapping another option changes the ballot until the poll closes.
    return [replace(reply, keep_buttons=True) for reply in replies]


async def _submit(
    ctx: Context, poll: Poll, chosen: list[int], *, finish: bool = True
) -> list[Reply]:
    assert ctx.member is not None
    if not valid_choices(poll, chosen):
        return [
            Reply(T("Please choose at least one problem before submitting.")),
            _ballot_card(poll, chosen),
        ]
    try:
        _, changed = await ctx.store.cast_ballot(
            poll.id, ctx.member.id, ctx.member.pseudonym, ctx.member.village_moo, chosen
        )
    except PollClosed:
        if finish:
            ctx.finish()
        return [
            Reply(
                T(
                    "Sorry, this poll has closed, so your ballot could not be counted. Thank you "
                    "for taking part."
                )
            )
        ]
    if finish:
        ctx.finish()
    message = (
        T(
            "Your ballot is changed. It now reads:\n{listing}\nYou can change it with /vote "
            "until the poll closes.",
            listing=_listing(poll, chosen),
        )
        if changed
        else T(
            "Thank you, your ballot is counted:\n{listing}\nYou can change it with /vote until "
            "the poll closes.",
            listing=_listing(poll, chosen),
        )
    )
    return [Reply(message)]


@router.command("results", roles=[Role.TEAM, Role.ADMIN])
async def results(ctx: Context) -> list[Reply]:
    """The latest poll's count, for the tambon team."""
    assert ctx.member is not None
    polls = await ctx.store.list_polls(ctx.member.tambon_id)
    poll = next((q for q in polls if q.status != "draft"), None)
    if poll is None:
        return [Reply(T("This tambon has no poll yet."))]
    counted = tally(
        poll, await ctx.store.list_ballots(poll.id), await ctx.store.list_paper_ballots(poll.id)
    )
    state = T("open") if poll.accepts_ballots(datetime.now(UTC)) else T("closed")
    borda = poll.method is PollMethod.BORDA
    rows = [
        (
            T(
                "{rank}. {text} — {score} points, {votes} ballots ({paper} on paper)",
                rank=o.rank,
                text=o.text,
                score=o.score,
                votes=o.votes,
                paper=o.paper_votes,
            )
            if borda
            else T(
                "{rank}. {text} — {votes} votes ({paper} on paper)",
                rank=o.rank,
                text=o.text,
                votes=o.votes,
                paper=o.paper_votes,
            )
        )
        for o in counted.options
    ]
    return [
        Reply(
            T(
                "🗳 {title} ({state})\n{how}\nBallots: {total} ({chat} by chat, {paper} on "
                "paper)\n\n{rows}",
                title=poll.title,
                state=state,
                how=_method_text(poll),
                total=counted.ballots,
                chat=counted.chat_ballots,
                paper=counted.paper_ballots,
                rows=Lines(rows),
            )
        )
    ]
