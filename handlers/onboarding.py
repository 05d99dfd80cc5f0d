"""Joining a tambon: join code -> village -> consent (PDPA). See ``onboarding.mmd``."""

from __future__ import annotations

import enum
import re
from datetime import datetime

from handlers import menu
from handlers import payloads as p
from handlers.labels import ROLE_LABELS, village_label
from handlers.payloads import Pick
from handlers.router import Context, Router, number
from handlers.services import limits, members
from handlers.types import THAI_DIGITS, Choice, Reply, T
from handlers.voting import here
from storage.base import Role, Tambon

router = Router()


class OnboardingStep(enum.StrEnum):
    VILLAGE = "onboarding.village"
    CONSENT = "onboarding.consent"


_CODE_JUNK = re.compile(r"[\s\-_.]")


def normalise_join_code(raw: str) -> str:
    """What people type for a join code, reduced to its canonical form."""
    return _CODE_JUNK.sub("", raw.translate(THAI_DIGITS)).upper()


def tambon_title(tambon: Tambon) -> str:
    return tambon.name_th


@router.command("start", roles=None)
async def start(ctx: Context) -> list[Reply]:
    if ctx.args.lower().startswith(("here-", "here_")) and ctx.member and ctx.member.onboarded:
        # A scanned presence QR code: https://t.me/<bot>?start=here-123456
        ctx.args = ctx.args[5:]
        return await here(ctx)
    code = normalise_join_code(ctx.args)
    member = ctx.member
    if not code:
        # A greeting (LINE's follow, Telegram's Start button): the menu, and how to join.
        if member is not None and member.onboarded:
            tambon = await ctx.store.get_tambon(member.tambon_id)
            assert tambon is not None
            already = T(
                "You are already a member of Tambon {tambon}. Just type a problem or "
                "need in your own words, or tap a button below.",
                tambon=tambon.name_th,
            )
            return [menu.reply(already, team=member.role in (Role.TEAM, Role.ADMIN))]
        hello = T(
            "Hello! I collect your village's problems and needs for the tambon plan. "
            "To join, type /start followed by the join code from your tambon team or "
            "village head, for example /start 12345678."
        )
        return [menu.reply(hello, team=False)]
    now = ctx.now()
    until = await limits.locked_until(ctx.store, ctx.limits.join_codes, ctx.who, now)
    if until is not None:
        return [_wait(until, now)]
    invite, problem = await members.check_invite(ctx.store, code)
    if invite is None:  # a guess, or a slip: counted, and a few in a row mean a pause
        until = await limits.failed(ctx.store, ctx.limits.join_codes, ctx.who, now)
        if until is not None:
            return [_wait(until, now)]
    if invite is None or problem is not None:
        return [_code_refused(problem or members.InviteProblem.UNKNOWN, ctx.args.strip()[:20])]
    # A right code clears the wrong guesses only once the join changes something (below, at
    # consent): someone already in, or who turns back, keeps their count, so a code from the
    # poster cannot buy more guesses.
    tambon = await ctx.store.get_tambon(invite.tambon_id)
    assert tambon is not None
    if (
        member is not None
        and member.onboarded
        and member.tambon_id == tambon.id
        and member.role == invite.role
    ):
        return [
            Reply(
                T(
                    "You are already a member of Tambon {tambon}. Just type a problem or "
                    "need in your own words, or type /help.",
                    tambon=tambon.name_th,
                )
            )
        ]
    if member is not None and member.onboarded:
        # A member joining again (another role, another tambon): nothing changes until they
        # consent again, so a decline or /cancel half-way keeps everything as it was.
        ctx.goto(
            OnboardingStep.VILLAGE,
            rejoin=True,
            tambon=tambon.id,
            role=invite.role.value,
            code=invite.code,
        )
    else:
        ctx.member = await members.start_joining(
            ctx.store, ctx.incoming.channel, ctx.incoming.user_id, invite
        )
        hint = ctx.incoming.hinted_language
        if hint is not None and hint != ctx.member.locale:
            # Greeted in the language their app uses; /language changes it any time.
            ctx.member = await members.set_language(ctx.store, ctx.member, hint)
        ctx.conversation = await ctx.store.get_conversation(ctx.member.id)
        ctx.goto(OnboardingStep.VILLAGE, code=invite.code)
    welcome = Reply(
        T(
            "Welcome to Tambon {tambon}, Amphoe {amphoe}, {province} province. "
            "You are joining as: {role}.",
            tambon=tambon.name_th,
            amphoe=tambon.amphoe_th,
            province=tambon.province_th,
            role=ROLE_LABELS[invite.role],
        )
    )
    return [welcome, await _ask_village(ctx)]


def _wait(until: datetime, now: datetime) -> Reply:
    """Too many wrong codes: when they may try again, in minutes."""
    minutes = limits.minutes_left(until, now)
    return Reply(
        T(
            "That was several wrong join codes in a row, so joining is paused for you for "
            "{minutes} minutes. Please check the code with your tambon team or village head, "
            "then try again.",
            minutes=minutes,
        )
    )


def _code_refused(problem: members.InviteProblem, code: str) -> Reply:
    """A polite answer for a join code that cannot be used, saying what to do."""
    if problem is members.InviteProblem.EXPIRED:
        text = T(
            "Sorry, the join code {code} has expired. Please ask your tambon team or village "
            "head for a new one.",
            code=code,
        )
    elif problem is members.InviteProblem.USED_UP:
        text = T(
            "Sorry, the join code {code} has already been used as many times as it allows. "
            "Please ask your tambon team or village head for a new one.",
            code=code,
        )
    elif problem is members.InviteProblem.REVOKED:
        text = T(
            "Sorry, the join code {code} has been withdrawn by the tambon team. Please ask "
            "them or your village head for a new one.",
            code=code,
        )
    else:
        text = T(
            "Sorry, the join code {code} was not found. Please check it with your tambon "
            "team or village head and try again.",
            code=code,
        )
    return Reply(text)


def _joining(ctx: Context) -> tuple[int, Role]:
    """The tambon and role being joined: the member's, or those of a re-join in progress."""
    assert ctx.member is not None
    if ctx.data.get("rejoin"):
        return int(ctx.data["tambon"]), Role(ctx.data["role"])
    return ctx.member.tambon_id, ctx.member.role


async def _ask_village(ctx: Context) -> Reply:
    tambon_id, role = _joining(ctx)
    villages = await ctx.store.list_villages(tambon_id)
    choices = [
        Choice(village_label(v.moo, v.name), Pick(p.VILLAGE, str(v.moo)).pack()) for v in villages
    ]
    if role is not Role.VILLAGER:
        choices.append(
            Choice(T("I don't live in one of these villages"), Pick(p.VILLAGE, "0").pack())
        )
    return Reply(T("Which village (moo) do you live in?"), choices, columns=2)


@router.step(OnboardingStep.VILLAGE)
async def choose_village(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    pick = Pick.unpack(ctx.incoming.choice)
    tambon_id, role = _joining(ctx)
    villages = {v.moo for v in await ctx.store.list_villages(tambon_id)}
    moo = number(pick.arg) if pick and pick.action == p.VILLAGE else None
    allowed = moo in villages or (moo == 0 and role is not Role.VILLAGER)
    if moo is None or not allowed:
        return [
            Reply(T("Please choose your village from the list, by its number.")),
            await _ask_village(ctx),
        ]
    if ctx.data.get("rejoin"):
        ctx.data["village"] = moo
    else:
        ctx.member = await members.set_village(ctx.store, ctx.member, moo)
    ctx.goto(OnboardingStep.CONSENT)
    return [_consent_notice()]


def _consent_notice() -> Reply:
    return Reply(
        T(
            "Before we start, about your data (PDPA):\n"
            "• We keep what you tell us about problems and needs, your village, and a number "
            "that lets the bot reply to you in this chat.\n"
            "• The tambon working team uses it to draft the tambon community plan. Reports and "
            "exports show no names or chat accounts.\n"
            "• You can see your data with /mydata and delete it at any time with /forget.\n"
            "Do you agree?"
        ),
        [
            Choice(T("I agree"), Pick(p.CONSENT, "yes").pack()),
            Choice(T("I do not agree"), Pick(p.CONSENT, "no").pack()),
        ],
    )


@router.step(OnboardingStep.CONSENT)
async def consent(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    pick = Pick.unpack(ctx.incoming.choice)
    if pick is None or pick.action != p.CONSENT:
        return [Reply(T("Please answer with one of the choices below.")), _consent_notice()]
    if pick.arg != "yes" and ctx.data.get("rejoin"):
        ctx.finish()
        return [
            Reply(
                T(
                    "All right, nothing has changed: you stay a member as before, and what you "
                    "reported earlier is kept."
                )
            )
        ]
    if pick.arg != "yes":
        await members.forget(ctx.store, ctx.member)
        ctx.member = None
        ctx.conversation = None
        return [
            Reply(
                T(
                    "All right. Nothing about you has been kept. If you change your mind, type "
                    "/start with your join code again."
                )
            )
        ]
    rejoin = bool(ctx.data.get("rejoin"))
    try:
        ctx.member = await members.consent(
            ctx.store,
            ctx.member,
            village=int(ctx.data.get("village") or 0) if rejoin else None,
            rejoining=_joining(ctx) if rejoin else None,
            invite_code=ctx.data.get("code"),
        )
    except members.InviteUnusable as refused:
        # The code ran out while they answered: nothing changes (a first join is undone).
        code = str(ctx.data.get("code", ""))
        ctx.finish()
        if not rejoin:
            await members.forget(ctx.store, ctx.member)
            ctx.member = None
            ctx.conversation = None
        return [_code_refused(refused.problem, code)]
    await limits.succeeded(ctx.store, ctx.limits.join_codes, ctx.who)
    ctx.finish()
    replies = [
        Reply(
            T(
                "Thank you! You can now tell us about a problem or a need in your village: just "
                "type it in your own words, for example: the road in moo 3 is full of potholes."
            )
        )
    ]
    if ctx.member.role in (Role.TEAM, Role.ADMIN):
        replies.append(
            Reply(
                T(
                    "As a member of the tambon team you can also file a problem for a villager "
                    "who does not chat (/relay), and see the tambon's summary (/summary); type "
                    "/help for all the team's commands."
                )
            )
        )
    elif ctx.member.role.can_relay:
        replies.append(
            Reply(
                T(
                    "As a community organisations centre member you can also file a problem for "
                    "a villager who does not chat: type /relay."
                )
            )
        )
    return replies
