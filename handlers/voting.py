"""Voting in a hearing's priority poll (/vote) and the team's view of the count (/results).

See ``voting.mmd``. The ballot being filled in lives in the conversation's data; it reaches the
store only when submitted, where one ballot per person and poll is enforced.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from handlers import payloads as p
from handlers.labels import PHASE_LABELS, village_label
from handlers.payloads import Pick
from handlers.router import Context, Router, number
from handlers.services import limits, plan
from handlers.services.polls import (
    OPTION_CHARS,
    TITLE_CHARS,
    BallotsRefused,
    NotPresent,
    absent,
    cast_ballot,
    close_poll,
    count_ballots,
    create_poll,
    for_the_hall,
    latest_poll,
    mark_present,
    options_from_groups,
    record_paper_ballots,
    running_poll,
)
from handlers.services.privacy import HIDDEN
from handlers.services.submissions import who
from handlers.types import THAI_DIGITS, Choice, Lines, Reply, T, Text
from storage.base import LatePress, Poll, PollClosed, PollConflict, PollMethod, Role, Store

router = Router()

SUBMIT = "submit"
CLEAR = "clear"


class VoteStep(enum.StrEnum):
    BALLOT = "voting.ballot"


async def _open_poll(ctx: Context) -> Poll | None:
    assert ctx.member is not None
    return await running_poll(ctx.store, ctx.member.tambon_id)


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


NOT_PRESENT = T(
    "This poll is for the people at the hearing. Please first type /here followed by the code "
    "shown on the hall's screen, or scan its QR code."
)


@router.command("here")
async def here(ctx: Context) -> list[Reply]:
    """/here CODE: the voter is in the hall (the code is on its screen)."""
    assert ctx.member is not None
    code = "".join(ch for ch in ctx.args.translate(THAI_DIGITS) if ch.isdecimal())
    now = ctx.now()
    until = await limits.locked_until(ctx.store, ctx.limits.hall_codes, ctx.who, now)
    if until is None:
        poll = await _open_poll(ctx)
        if poll is not None and await mark_present(ctx.store, poll, ctx.member, code):
            await limits.succeeded(ctx.store, ctx.limits.hall_codes, ctx.who)
            return [
                Reply(
                    T("Thank you, you are counted as present at the hearing. Type /vote to vote.")
                )
            ]
        # Only a guess at a code in use counts (not a /here before any poll asks for one).
        guessing = poll is not None and poll.presence_code is not None
        if guessing:
            until = await limits.failed(ctx.store, ctx.limits.hall_codes, ctx.who, now)
        if until is None:
            return [
                Reply(
                    T(
                        "That code does not match an open poll of your tambon. Please check the "
                        "code on the hall's screen."
                    )
                )
            ]
    minutes = limits.minutes_left(until, now)
    return [
        Reply(
            T(
                "That was several wrong hall codes in a row, so /here is paused for you for "
                "{minutes} minutes. If you are in the hall, please ask the team at the desk.",
                minutes=minutes,
            )
        )
    ]


@router.command("presence", roles=[Role.TEAM, Role.ADMIN])
async def presence(ctx: Context) -> list[Reply]:
    """The team limits the open poll to people in the hall, and gets the code to show."""
    poll = await _open_poll(ctx)
    if poll is None:
        return [Reply(NO_POLL)]
    poll = await for_the_hall(ctx.store, poll)
    assert poll.presence_code is not None
    return [
        Reply(
            T(
                "Poll #{ref} is now for the people in the hall. Show this QR code on the screen: "
                "people scan it, or type /here {code}, and then /vote.",
                ref=poll.id,
                code=poll.presence_code,
            ),
            qr=f"/here {poll.presence_code}",
        )
    ]


NO_POLL = T("No poll is open in your tambon right now. The team will announce it at the hearing.")


@router.command("vote")
async def vote(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    poll = await _open_poll(ctx)
    if poll is not None and await absent(ctx.store, poll, ctx.member):
        return [Reply(NOT_PRESENT)]
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
    position = number(pick.arg) or 0
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
    poll_id, option = number(poll_ref), number(position)
    poll = await ctx.store.get_poll(poll_id) if poll_id is not None else None
    if poll is None or option is None:
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
    # (_submit checks presence, so a hall-only poll refuses those not in the hall.)
    replies = await _submit(ctx, poll, [option], finish=ctx.step == VoteStep.BALLOT, tap=True)
    # The card stays: tapping another option changes the ballot until the poll closes.
    return [replace(reply, keep_buttons=True) for reply in replies]


def _tapped(poll: Poll, chosen: list[int], notice: Callable[[str], Text]) -> list[Reply]:
    """The answer to a tap on a choose-one card: a short notice naming the option the ballot
    now holds, and the card edited in place to show it."""
    choice = next(o.text for o in poll.options if o.position == chosen[0])
    card = replace(_one_tap_card(poll, chosen), edit_previous=True, in_place_only=True, card=False)
    return [Reply(notice(choice), toast=True), card]


async def _submit(
    ctx: Context, poll: Poll, chosen: list[int], *, finish: bool = True, tap: bool = False
) -> list[Reply]:
    """Cast the ballot. ``tap``: one tap on a choose-one card, answered as a tap is (a short
    notice, and the card itself showing the choice where the channel can edit it)."""
    assert ctx.member is not None
    try:
        changed = await cast_ballot(ctx.store, poll, ctx.member, chosen, ctx.incoming.sent_at)
    except LatePress as late:
        # This press was made before the one the ballot holds (the platform delivered the two
        # out of order): the later choice stands, and the person sees which it is.
        if finish:
            ctx.finish()
        standing = list(late.standing.choices)
        if not tap:
            return [
                Reply(T("Your later choice stands:\n{listing}", listing=_listing(poll, standing)))
            ]
        return _tapped(
            poll, standing, lambda c: T("✅ Your later choice stands: {choice}.", choice=c)
        )
    except NotPresent:
        return [Reply(NOT_PRESENT)]
    except BallotsRefused as refused:
        return [Reply(refused.reason), _ballot_card(poll, chosen)]
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
    ctx.events.append(("ballot", poll.id))
    if tap:
        return _tapped(
            poll,
            chosen,
            lambda c: (
                T("✅ Changed to: {choice}. Tap another to change it again.", choice=c)
                if changed
                else T("✅ Counted: {choice}. Tap another to change it.", choice=c)
            ),
        )
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
    """The latest poll's count, for the tambon team; kept up to date where the channel can."""
    assert ctx.member is not None
    poll = await latest_poll(ctx.store, ctx.member.tambon_id)
    if poll is None:
        return [Reply(T("This tambon has no poll yet."))]
    first, *rest = await poll_report(ctx.store, poll)
    return [replace(first, live_tally=poll.id), *rest]


async def poll_report(store: Store, poll: Poll) -> list[Reply]:
    """A poll's count: ranks, the method explained, chat and paper, chat ballots by village."""
    counted = await count_ballots(store, poll)
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
    villages = sorted({v for o in counted.options for v in o.by_village})
    by_village = [
        T(
            "{village}: {counts}",
            village=village_label(v),
            # In the list's order and with its numbers, so that each count reads against it.
            counts=" · ".join(f"{o.rank}) {o.by_village.get(v, 0)}" for o in counted.options),
        )
        for v in villages
    ]
    replies = [
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
    if by_village:
        replies.append(
            Reply(
                T(
                    "Chat ballots by village (votes for the options as numbered above):\n{rows}",
                    rows=Lines(by_village),
                )
            )
        )
    return replies


# -- the team runs the poll from chat ------------------------------------------------------

TEAM = [Role.TEAM, Role.ADMIN]
MAX_OPTIONS = 10
PROPOSED = 5
METHODS = {
    "one": (PollMethod.APPROVAL, 1),
    "three": (PollMethod.APPROVAL, 3),
    "rank3": (PollMethod.BORDA, 3),
}


def _setup_card(title: str, options: list[str]) -> Reply:
    return Reply(
        T(
            "New poll: {title}\nOptions:\n{options}\nType other options to replace them, one per "
            "line or separated by |; or choose how people vote, and the poll opens at once.",
            title=title,
            options=Lines([T("{n}. {text}", n=i, text=o) for i, o in enumerate(options, 1)]),
        ),
        [
            Choice(T("Choose one"), Pick(p.POLL_SETUP, "one").pack()),
            Choice(T("Choose up to 3"), Pick(p.POLL_SETUP, "three").pack()),
            Choice(T("Rank the top 3"), Pick(p.POLL_SETUP, "rank3").pack()),
            Choice(T("❌ Cancel"), Pick(p.POLL_SETUP, "cancel").pack()),
        ],
        card=True,
    )


@router.command("newpoll", roles=TEAM)
async def new_poll(ctx: Context) -> list[Reply]:
    """/newpoll TITLE: options proposed from the tambon's top problem groups."""
    assert ctx.member is not None
    title = ctx.args.strip()
    if not title:
        return [
            Reply(
                T(
                    "Type /newpoll followed by the poll's title, for example: /newpoll "
                    "Priorities for next year's plan"
                )
            )
        ]
    year = await plan.year_closed_to_polls(ctx.store, ctx.member.tambon_id)
    if year is not None:
        return [
            Reply(
                T(
                    "Polls are for the hearing phase; the plan year {year} is now in: {phase}. "
                    "To open one, set the phase to the hearing first (/year).",
                    year=year.year_be,
                    phase=PHASE_LABELS[year.phase.value],
                )
            )
        ]
    open_poll = await _open_poll(ctx)
    if open_poll is not None:
        return [_one_poll_at_a_time(open_poll.id)]
    groups = (await ctx.store.list_groups(ctx.member.tambon_id))[:PROPOSED]
    proposed = options_from_groups(groups, ctx.translate(HIDDEN, ctx.default_locale))
    options = [text for text, _ in proposed]
    ctx.goto(
        PollSetupStep.OPTIONS,
        title=title[:TITLE_CHARS],
        options=options,
        groups=[group for _, group in proposed],
    )
    return [_setup_card(title, options)]


def _one_poll_at_a_time(open_poll: int) -> Reply:
    return Reply(
        T(
            "Poll #{ref} is still open, and a tambon runs one poll at a time. Close it first "
            "with /closepoll, then create the new one.",
            ref=open_poll,
        )
    )


class PollSetupStep(enum.StrEnum):
    OPTIONS = "voting.setup"


@router.step(PollSetupStep.OPTIONS)
async def setup(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    title = str(ctx.data["title"])
    options = list(ctx.data.get("options", []))
    pick = Pick.unpack(ctx.incoming.choice)
    if pick is None:
        raw = re.split(r"[\n|;]", ctx.incoming.text or "")
        typed = [line.strip() for line in raw if line.strip()]
        if not 2 <= len(typed) <= MAX_OPTIONS:
            return [
                Reply(
                    T(
                        "Please type between 2 and {max} options, one per line or separated by |.",
                        max=MAX_OPTIONS,
                    )
                ),
                _setup_card(title, options),
            ]
        ctx.data["options"] = [o[:OPTION_CHARS] for o in typed]
        ctx.data["groups"] = []  # typed options stand for no problem group
        return [_setup_card(title, ctx.data["options"])]
    if pick.action != p.POLL_SETUP or (pick.arg not in METHODS and pick.arg != "cancel"):
        return [
            Reply(T("Please answer with one of the choices below.")),
            _setup_card(title, options),
        ]
    if pick.arg == "cancel":
        ctx.finish()
        return [Reply(T("Cancelled; no poll was created."))]
    if len(options) < 2:
        return [
            Reply(
                T(
                    "Please type between 2 and {max} options, one per line or separated by |.",
                    max=MAX_OPTIONS,
                )
            ),
            _setup_card(title, options),
        ]
    method, choose = METHODS[pick.arg]
    groups: list[int | None] = list(ctx.data.get("groups") or [])
    if len(groups) != len(options):
        groups = [None] * len(options)
    open_poll = await _open_poll(ctx)
    if open_poll is not None:  # opened meanwhile (by another team member, or the CLI)
        ctx.finish()
        return [_one_poll_at_a_time(open_poll.id)]
    try:
        poll = await create_poll(
            ctx.store,
            ctx.member.tambon_id,
            title,
            method,
            min(choose, len(options)),
            list(zip(options, groups, strict=True)),
            open_now=True,
            by=who(ctx.member),
        )
    except PollConflict as conflict:  # another process opened one this very moment
        ctx.finish()
        return [_one_poll_at_a_time(conflict.open_poll)]
    ctx.finish()
    return [
        Reply(
            T(
                "Poll #{ref} is open: {title}\n{how}\nAsk everyone to type /vote. Close it with "
                "/closepoll; enter paper ballots with /paper.",
                ref=poll.id,
                title=poll.title,
                how=_method_text(poll),
            )
        )
    ]


@router.command("closepoll", roles=TEAM)
async def close(ctx: Context) -> list[Reply]:
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
    await close_poll(ctx.store, poll, by=who(ctx.member))
    ctx.events.append(("ballot", poll.id))
    return [
        Reply(T("Poll #{ref} is closed. No more ballots are accepted.", ref=poll.id)),
        *await results(ctx),
    ]


@router.command("paper", roles=TEAM)
async def paper(ctx: Context) -> list[Reply]:
    """/paper COUNT CHOICE [CHOICE ...]: COUNT paper ballots that read the same."""
    assert ctx.member is not None
    poll = await latest_poll(ctx.store, ctx.member.tambon_id)
    typed = [number(n) for n in ctx.args.replace(">", " ").replace(",", " ").split()]
    numbers = [n for n in typed if n is not None]
    usage = T(
        "Type /paper, the number of paper ballots, then the options they chose in order, for "
        "example /paper 12 3 1 for twelve ballots that put option 3 first and option 1 second."
    )
    if poll is None:
        return [Reply(T("This tambon has no poll yet."))]
    if len(numbers) < 2:
        return [Reply(usage)]
    count, choices = numbers[0], numbers[1:]
    role = "team" if ctx.member.role is Role.TEAM else "admin"
    try:
        await record_paper_ballots(
            ctx.store, poll, choices, count, f"{role} {ctx.member.pseudonym}"
        )
    except BallotsRefused as refused:
        return [Reply(refused.reason), Reply(usage)]
    ctx.events.append(("ballot", poll.id))
    return [
        Reply(
            T(
                "Recorded {count} paper ballots for poll #{ref}:\n{listing}",
                count=count,
                ref=poll.id,
                listing=_listing(poll, choices),
            )
        )
    ]
