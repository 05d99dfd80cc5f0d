"""Everyone's own commands: /help, /menu, /problem, /mine, /language, /cancel, /mydata,
/forget."""

from __future__ import annotations

import enum

from handlers import menu
from handlers import payloads as p
from handlers.labels import KIND_LABELS, ROLE_LABELS, category_labels, preview, village_label
from handlers.payloads import Pick
from handlers.router import Context, Router
from handlers.services import members, personal
from handlers.types import PERSONAL_DATA, Choice, FileRef, Lines, Own, Reply, T, Text
from storage.base import Role, Submission

router = Router()

MINE_LIMIT = 10


class AccountStep(enum.StrEnum):
    LANGUAGE = "account.language"
    FORGET = "account.forget"


@router.command("help", roles=None)
async def help_(ctx: Context) -> list[Reply]:
    lines: list[Text] = [
        T(
            "I collect problems and needs for your tambon's community plan.\n"
            "• /menu – everything you can do, as buttons; you may also just type the words, "
            'such as "menu", "my reports", "vote" or "cancel"\n'
            "• Type a problem or need in your own words; I will show what I understood and "
            "ask you to confirm.\n"
            "• /mine – what you have filed\n"
            "• /vote – the hearing's poll, when one is open\n"
            "• /language – Thai or English\n"
            "• /cancel – stop the current question\n"
            "• /mydata – what is kept about you; /forget – delete it\n"
            "You may also send a photo or share a location with a problem. Editing a message "
            "updates the draft while it waits for your confirmation; once filed, send a new "
            "message instead."
        )
    ]
    member = ctx.member
    if member is None or not member.onboarded:
        lines.insert(0, T("To join your tambon, type /start followed by your join code."))
    else:
        lines.append(T("• /status – where your submissions stand; /plan – the tambon's plan"))
        lines.append(T("• /quiet – no more news of the plan (again: news again)"))
        lines.append(T("• /draft – the draft plan, while it is open for your comment"))
    if member is not None and member.onboarded:
        lines.append(
            T("• /here CODE – say you are in the hearing's hall (the code on its screen)")
        )
    if member is not None and member.onboarded and member.role.can_relay:
        lines.append(T("• /relay – file a problem for a villager who does not chat"))
    if member is not None and member.onboarded and member.role in (Role.TEAM, Role.ADMIN):
        lines.append(T("• /fix 12 – correct the tags of submission #12 (team)"))
        lines.append(T("• /results – the count of the latest poll (team)"))
        lines.append(T("• /summary – what the tambon said so far (team)"))
        lines.append(T("• /report – the full report as a PDF, and its live link (team)"))
        lines.append(T("• /links – the report links still open, to end one (team)"))
        lines.append(T("• /newpoll TITLE, /closepoll, /paper – run the hearing's poll (team)"))
        lines.append(T("• /presence – the hall's code and QR code, who is in the hall (team)"))
        lines.append(T("• /invite – a new join code; /revoke CODE – withdraw one (team)"))
        lines.append(T("• /hide N REASON, /unhide N – hide a submission from reports (team)"))
        lines.append(T("• /members, /role N, /remove N – the tambon's members (team)"))
        lines.append(T("• /year – the plan year, its phase and the calendar (team)"))
        lines.append(T("• /item N – move plan item N on: in the plan, funded, done … (team)"))
    return [Reply(T("{lines}", lines=Lines(lines)))]


@router.command("menu", roles=None)
async def show_menu(ctx: Context) -> list[Reply]:
    member = ctx.member
    if member is None or not member.onboarded:
        return [menu.reply(JOIN_LINE, team=False)]
    heading = T("What would you like to do? Tap a button below, or just type the words.")
    if ctx.step:
        # The menu is a way out of any question: the question ends, nothing is filed from it.
        ctx.finish()
        heading = T(
            "I closed the question you were answering; nothing was filed from it.\n{heading}",
            heading=heading,
        )
    return [menu.reply(heading, team=member.role in (Role.TEAM, Role.ADMIN))]


JOIN_LINE = T(
    "To join your tambon, type /start followed by the join code from your tambon team or "
    "village head, for example /start 12345678."
)


@router.command("problem")
async def new_problem(ctx: Context) -> list[Reply]:
    ctx.finish()
    return [
        Reply(
            T(
                "Please tell me the problem or need in your own words, in one message: what "
                "it is, where (which village) and since when. You may send a photo or share a "
                "location after it."
            )
        )
    ]


@router.command("mine")
async def mine(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    submissions = await ctx.store.list_submissions(
        ctx.member.tambon_id, author_id=ctx.member.id, limit=MINE_LIMIT
    )
    same = [
        group
        for group_id, _ in (await ctx.store.list_member_co_reports(ctx.member.id))[-MINE_LIMIT:]
        if (group := await ctx.store.get_group(group_id)) is not None
    ]
    if not submissions and not same:
        return [Reply(T("You have not filed anything yet. Just type a problem or need to start."))]
    replies = []
    if submissions:
        items = [_mine_item(s) for s in submissions]
        heading = T("Your latest {count} submissions, newest first:", count=len(items))
        replies.append(
            Reply(T("{heading}\n\n{items}", heading=heading, items=Lines(items, sep="\n\n")))
        )
    if same:
        # Someone else's words: the group's keywords only. /status follows them in the plan.
        replies.append(
            Reply(
                T(
                    "Problems you said were yours too (type /status to follow them):\n{items}",
                    items=Lines(
                        [
                            T("#{ref} {words}", ref=g.id, words=", ".join(g.keywords[:5]))
                            for g in same
                        ]
                    ),
                )
            )
        )
    return replies


def _mine_item(s: Submission) -> Text:
    item = T(
        "#{ref} · {date} · {kind} · {categories} · {village}\n{text}",
        ref=s.id,
        date=s.created_at,
        kind=KIND_LABELS[s.kind],
        categories=category_labels(s.categories),
        village=village_label(s.village_moo),
        text=Own(preview(s.text, 120)),
    )
    if s.hidden_at is None:
        return item
    return T(
        "{item}\n(Hidden by the working team: {reason}. It is kept, but left out of summaries "
        "and reports. Ask the team if you think this is a mistake.)",
        item=item,
        reason=s.hidden_reason or "",
    )


@router.command("cancel", roles=None)
async def cancel(ctx: Context) -> list[Reply]:
    member = ctx.member
    if member is not None and not member.onboarded:
        # Joining was not finished: keep nothing, as the consent notice promises.
        await members.forget(ctx.store, member)
        ctx.member = None
        ctx.conversation = None
        return [Reply(T("Joining cancelled; nothing about you has been kept."))]
    if not ctx.step:
        return [Reply(T("There is nothing to cancel. Type a problem or need, or /help."))]
    ctx.finish()
    return [Reply(T("Cancelled. You can type a new problem or need at any time."))]


def _language_picker() -> Reply:
    return Reply(
        T("Choose your language:"),
        [
            Choice(T("Thai language"), Pick(p.LANGUAGE, "th").pack()),
            Choice(T("English"), Pick(p.LANGUAGE, "en").pack()),
        ],
    )


@router.command("language", "lang")
async def language(ctx: Context) -> list[Reply]:
    ctx.goto(AccountStep.LANGUAGE)
    return [_language_picker()]


@router.step(AccountStep.LANGUAGE)
async def choose_language(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    pick = Pick.unpack(ctx.incoming.choice)
    if pick is None or pick.action != p.LANGUAGE or pick.arg not in ("th", "en"):
        return [Reply(T("Please answer with one of the choices below.")), _language_picker()]
    ctx.member = await members.set_language(ctx.store, ctx.member, pick.arg)
    ctx.finish()
    return [Reply(T("From now on I will answer in English."))]


@router.command("mydata")
async def mydata(ctx: Context) -> list[Reply]:
    member = ctx.member
    assert member is not None
    assert member.consent_at is not None
    tambon = await ctx.store.get_tambon(member.tambon_id)
    assert tambon is not None
    kept = await personal.personal_data(ctx.store, member)
    return [
        Reply(
            T(
                "What is kept about you:\n"
                "• Tambon: {tambon}\n"
                "• Village: {village}\n"
                "• Role: {role}\n"
                "• Language: {language}\n"
                "• Agreed to data use on: {consent}\n"
                "• Pseudonym in reports: {pseudonym}\n"
                "• Submissions filed: {count}\n"
                "• Your chat account number, only to reply to you.\n"
                "To delete all of it, type /forget.",
                tambon=tambon.name_th,
                village=village_label(member.village_moo),
                role=ROLE_LABELS[member.role],
                language=T("English") if member.locale == "en" else T("Thai language"),
                consent=member.consent_at,
                pseudonym=member.pseudonym,
                count=len(kept.submissions),
            )
        ),
        *_what_you_said(kept),
        Reply(
            T("All of it as a file, to keep or to show: mydata.json."),
            file=FileRef(PERSONAL_DATA, str(member.id)),
            no_file=T("This chat cannot take files; the messages above hold all of it."),
        ),
    ]


MYDATA_SHOWN = 20  # submissions listed in the chat; the file has them all


def _what_you_said(kept: personal.PersonalData) -> list[Reply]:
    """The person's own words and choices, as kept: submissions (with photos and places),
    ballots, and the problems they said were the same as theirs."""
    parts: list[Text] = []
    if kept.submissions:
        items = [_kept_submission(s) for s in kept.submissions[:MYDATA_SHOWN]]
        parts.append(T("Your submissions, as kept:\n\n{items}", items=Lines(items, sep="\n\n")))
        if len(kept.submissions) > MYDATA_SHOWN:
            parts.append(
                T(
                    "… and {count} more, in the file below.",
                    count=len(kept.submissions) - MYDATA_SHOWN,
                )
            )
    if kept.ballots:
        ballots = [
            T(
                "Poll #{ref} “{title}”: {choices}",
                ref=b.poll_id,
                title=b.poll_title,
                choices=Lines(
                    [T("{n}. {text}", n=i, text=c) for i, c in enumerate(b.choices, 1)], sep="; "
                ),
            )
            for b in kept.ballots
        ]
        parts.append(T("Your ballots:\n{ballots}", ballots=Lines(ballots)))
    if kept.co_reports:
        parts.append(
            T(
                "Problems you said were the same as yours: {refs}",
                refs=", ".join(f"#{group}" for group, _ in kept.co_reports),
            )
        )
    return [Reply(part) for part in parts]


def _kept_submission(s: Submission) -> Text:
    places = [a for a in s.attachments if a.media == "location"]
    photos = [a.file_id or "?" for a in s.attachments if a.media == "photo"]
    lines: list[Text] = [
        T("#{ref} · {date}\n{text}", ref=s.id, date=s.created_at, text=Own(s.text))
    ]
    if photos:
        lines.append(T("Photos (the chat's file references): {refs}", refs=Own(", ".join(photos))))
    for place in places:
        lines.append(
            T(
                "Location: {latitude}, {longitude}",
                latitude=Own(f"{place.latitude:.5f}"),
                longitude=Own(f"{place.longitude:.5f}"),
            )
        )
    return T("{lines}", lines=Lines(lines))


def _forget_question() -> Reply:
    return Reply(
        T(
            "This deletes your membership and everything you filed yourself (problems you "
            "filed for other villagers stay, without your name; so do your votes in polls "
            "already closed, so that their results stay as announced). It cannot be undone. "
            "Delete?"
        ),
        [
            Choice(T("Yes, delete my data"), Pick(p.FORGET, "yes").pack()),
            Choice(T("No, keep it"), Pick(p.FORGET, "no").pack()),
        ],
    )


@router.command("forget")
async def forget(ctx: Context) -> list[Reply]:
    ctx.goto(AccountStep.FORGET)
    return [_forget_question()]


@router.step(AccountStep.FORGET)
async def confirm_forget(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    pick = Pick.unpack(ctx.incoming.choice)
    if pick is None or pick.action != p.FORGET:
        return [Reply(T("Please answer with one of the choices below.")), _forget_question()]
    if pick.arg != "yes":
        ctx.finish()
        return [Reply(T("Nothing was deleted."))]
    removed = await members.forget(ctx.store, ctx.member)
    ctx.member = None
    ctx.conversation = None
    return [
        Reply(
            T(
                "Done: your membership and {count} submissions were deleted. Thank you for "
                "taking part.",
                count=removed,
            )
        )
    ]
