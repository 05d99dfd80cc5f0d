"""The plan in chat: what people are told as an item moves (:func:`notice`), their answer to
"is it really done?" (three buttons), /status for one's own submissions and /plan for the
tambon's items."""

from __future__ import annotations

import enum
from dataclasses import replace

from handlers import payloads
from handlers.labels import PHASE_LABELS, PLAN_STATUS_LABELS, STATUS_WORDS, code_named, preview
from handlers.payloads import Pick
from handlers.router import Context, Router, number
from handlers.services import members, plan
from handlers.services.submissions import who
from handlers.types import Choice, Lines, Media, Own, Reply, T, Text
from storage.base import PlanItem, PlanPhase, PlanStatus, Role, Verdict

router = Router()

MAX_STATUS = 10
VERDICT_LABELS = {
    Verdict.YES: T("Yes, it is solved"),
    Verdict.PARTLY: T("Partly"),
    Verdict.NO: T("No, not solved"),
}


# What people are told of each change (handlers/services/plan.py records who is told of what).
NOTICES = {
    "in_plan": T(
        "Good news about a problem you reported: it is now in the tambon plan as “{title}” "
        "(item {ref}). Type /status to follow it."
    ),
    "funded": T(
        "The plan item “{title}” (item {ref}), made from a problem you reported, now has a "
        "budget{source}. Type /status to follow it."
    ),
    "done": T(
        "The tambon team says the plan item “{title}” (item {ref}), made from a problem you "
        "reported, is done. Is the problem really solved?"
    ),
    "dropped": T(
        "The plan item “{title}” (item {ref}), made from a problem you reported, was dropped. "
        "The team's reason: {detail}"
    ),
    # The draft plan open for public comment (handlers/services/book.py), to everyone.
    "comment_open": T(
        "📜 The tambon team has drafted the tambon plan ({detail} projects) and asks what you "
        "think before the tambon forum approves it. Type /draft to see it and say 👍, 👎 or a "
        "comment on each project."
    ),
    # To the team.
    "comment_closed": T(
        "Public comment on the draft plan has closed: {detail} responses. The results are in "
        "the report and in tambon-bot plan comment results."
    ),
    plan.REOPENED: T(
        "Plan item {ref} “{title}” is back in progress: of the reporters who answered, {detail} "
        "say the problem is not solved."
    ),
}


def notice(item: PlanItem, event: str, detail: str | None = None) -> Reply:
    """What a reporter (or, for a reopened item, the team) is told of a change of ``item``;
    ``detail`` is the reason it was dropped, or the "no" answers of those who answered."""
    text = replace(
        NOTICES[event],
        params={
            "title": item.title,
            "ref": item.id,
            "source": f" ({item.source})" if item.source else "",
            "detail": detail or "-",
        },
    )
    if event != "done":
        return Reply(text)
    choices = [
        Choice(label, Pick(payloads.VERDICT, f"{item.id}.{item.done_round}.{v.value}").pack())
        for v, label in VERDICT_LABELS.items()
    ]
    return Reply(text, choices)


@router.action(payloads.VERDICT)
async def verdict(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    pick = Pick.unpack(ctx.incoming.choice)
    parts = (pick.arg if pick else "").split(".")
    item_id, round_ = (number(parts[0]), number(parts[1])) if len(parts) == 3 else (None, None)
    if item_id is None or round_ is None:
        return [Reply(T("Sorry, I could not read that answer. Type /status."))]
    item = await ctx.store.get_plan_item(item_id)
    if (
        item is None
        or item.tambon_id != ctx.member.tambon_id
        or parts[2] not in {v.value for v in Verdict}
    ):
        return [Reply(T("Sorry, I could not read that answer. Type /status."))]
    try:
        await plan.give_verdict(ctx.store, item, ctx.member, round_, Verdict(parts[2]))
    except plan.PlanRefused as refused:
        return [Reply(refused.reason)]
    return [
        Reply(
            T(
                "Thank you: your answer is recorded and shown beside the team's status in the "
                "tambon report. You can change it by pressing another button."
            ),
            [
                Choice(
                    T("Add a photo of how it is now"),
                    Pick(payloads.PHOTO, f"{item.id}.{parts[1]}").pack(),
                )
            ],
        )
    ]


class PlanStep(enum.StrEnum):
    PHOTO = "plan.photo"


@router.action(payloads.PHOTO)
async def ask_photo(ctx: Context) -> list[Reply]:
    pick = Pick.unpack(ctx.incoming.choice)
    parts = (pick.arg if pick else "").split(".")
    item_id, round_ = (number(parts[0]), number(parts[1])) if len(parts) >= 2 else (None, None)
    if item_id is None or round_ is None:
        return [Reply(T("Sorry, I could not read that answer. Type /status."))]
    ctx.goto(PlanStep.PHOTO, item=item_id, round=round_)
    return [Reply(T("Please send the photo now (or /cancel)."))]


@router.step(PlanStep.PHOTO)
async def take_photo(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    attachment = ctx.incoming.attachment
    if attachment is None or attachment.media is not Media.PHOTO or not attachment.file_id:
        return [Reply(T("Please send a photo, or /cancel."))]
    item_id, round_ = int(ctx.data.get("item", 0)), int(ctx.data.get("round", 0))
    ctx.finish()
    item = await ctx.store.get_plan_item(item_id)
    if item is None or item.tambon_id != ctx.member.tambon_id:
        return [Reply(T("Sorry, I could not read that answer. Type /status."))]
    try:
        await plan.add_verdict_photo(ctx.store, item, ctx.member, round_, attachment.file_id)
    except plan.PlanRefused as refused:
        return [Reply(refused.reason)]
    return [Reply(T("Thank you: the photo is kept with your answer, for the tambon team."))]


@router.command("year", roles=(Role.TEAM, Role.ADMIN))
async def year(ctx: Context) -> list[Reply]:
    """The plan year and its phase, the seed's calendar, and a button per phase."""
    assert ctx.member is not None
    current = await ctx.store.current_plan_year(ctx.member.tambon_id)
    reminder = plan.calendar(ctx.now())
    if current is None:
        return [
            Reply(
                T(
                    "No plan year is started. On the server: tambon-bot year start --tambon "
                    "CODE (the unmet items of earlier years come along, marked carried).\n"
                    "{reminder}",
                    reminder=reminder,
                )
            )
        ]
    choices = [
        Choice(PHASE_LABELS[p.value], Pick(payloads.PHASE, p.value).pack())
        for p in PlanPhase
        if p is not current.phase
    ]
    return [
        Reply(
            T(
                "Plan year {year}: {phase}.\n{reminder}\nMove to another phase?",
                year=current.year_be,
                phase=PHASE_LABELS[current.phase.value],
                reminder=reminder,
            ),
            choices,
        )
    ]


@router.action(payloads.PHASE, roles=(Role.TEAM, Role.ADMIN))
async def set_phase(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    pick = Pick.unpack(ctx.incoming.choice)
    if pick is None or pick.arg not in {p.value for p in PlanPhase}:
        return await year(ctx)
    tambon = await ctx.store.get_tambon(ctx.member.tambon_id)
    assert tambon is not None
    try:
        changed = await plan.set_phase(ctx.store, tambon, PlanPhase(pick.arg), by=who(ctx.member))
    except plan.PlanRefused as refused:
        return [Reply(refused.reason)]
    return [
        Reply(
            T(
                "Plan year {year} is now in: {phase}.",
                year=changed.year_be,
                phase=PHASE_LABELS[changed.phase.value],
            )
        )
    ]


@router.command("item", roles=(Role.TEAM, Role.ADMIN))
async def item_command(ctx: Context) -> list[Reply]:
    """Quick updates from chat: /item 3 shows item 3 with a button per status; /item 3 STATUS
    [PERCENT%] [NOTE] sets it (dropped needs the reason as the note)."""
    assert ctx.member is not None
    ref, _, rest = ctx.args.strip().partition(" ")
    item_id = number(ref.lstrip("#"))
    found = await ctx.store.get_plan_item(item_id) if item_id is not None else None
    if found is None or found.tambon_id != ctx.member.tambon_id:
        return [
            Reply(
                T(
                    "There is no plan item {ref} in your tambon. Type /plan to see their "
                    "numbers, then for example /item 3.",
                    ref=ref[:20] or "?",
                )
            )
        ]
    words = rest.split(maxsplit=1)
    if not words:
        return [_item_card(found)]
    status = _typed_status(ctx, words[0])
    if status is None:
        return [Reply(T("Please choose one of the buttons."), _item_card(found).choices)]
    note = words[1] if len(words) > 1 else ""
    progress = None
    first, _, remainder = note.partition(" ")
    if first.endswith("%") and number(first[:-1]) is not None:
        progress, note = number(first[:-1]), remainder
    return await _move(ctx, found, PlanStatus(status), note or None, progress)


def _typed_status(ctx: Context, typed: str) -> str | None:
    """The status a typed word names: its own name ("dropped") or one of its words in Thai
    or in the member's language (the catalogs list them); None for anything else."""
    return code_named(typed, STATUS_WORDS, ctx.translate, dict.fromkeys(("th", ctx.locale)))


def _item_card(item: PlanItem) -> Reply:
    return Reply(
        T(
            "Plan item {ref} “{title}”: {status}, {progress}%. Move it to (its reporters are "
            "told when it enters the plan, gets a budget, is done or dropped; to drop it type "
            "/item {ref} dropped and the reason):",
            ref=item.id,
            title=item.title,
            status=PLAN_STATUS_LABELS[item.status.value],
            progress=item.progress,
        ),
        [
            Choice(PLAN_STATUS_LABELS[s.value], Pick(payloads.ITEM, f"{item.id}.{s.value}").pack())
            for s in PlanStatus
            if s not in (item.status, PlanStatus.PROPOSED, PlanStatus.DROPPED)
        ],
    )


@router.action(payloads.ITEM, roles=(Role.TEAM, Role.ADMIN))
async def item_button(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    pick = Pick.unpack(ctx.incoming.choice)
    ref, _, status = (pick.arg if pick else "").partition(".")
    item_id = number(ref)
    found = await ctx.store.get_plan_item(item_id) if item_id is not None else None
    if (
        found is None
        or found.tambon_id != ctx.member.tambon_id
        or status not in {s.value for s in PlanStatus}
    ):
        return [Reply(T("Sorry, I could not read that answer. Type /status."))]
    return await _move(ctx, found, PlanStatus(status), None, None)


async def _move(
    ctx: Context, item: PlanItem, status: PlanStatus, note: str | None, progress: int | None
) -> list[Reply]:
    assert ctx.member is not None
    try:
        moved = await plan.set_status(
            ctx.store, item, status, by=who(ctx.member), note=note, progress=progress
        )
    except plan.PlanRefused as refused:
        return [Reply(refused.reason)]
    return [
        Reply(
            T(
                "Plan item {ref} is now: {status} ({progress}%).",
                ref=moved.id,
                status=PLAN_STATUS_LABELS[moved.status.value],
                progress=moved.progress,
            )
        )
    ]


@router.command("quiet")
async def quiet(ctx: Context) -> list[Reply]:
    """No more news of plan items (or, typed again, news again)."""
    assert ctx.member is not None
    if ctx.member.quiet_at is None:
        ctx.member = await members.set_quiet(ctx.store, ctx.member, True)
        return [
            Reply(
                T(
                    "I will not send you news of the plan any more. /status still shows where "
                    "your submissions stand. Type /quiet again to get news again."
                )
            )
        ]
    ctx.member = await members.set_quiet(ctx.store, ctx.member, False)
    return [Reply(T("I will tell you again when a problem you reported moves on in the plan."))]


@router.command("status")
async def status(ctx: Context) -> list[Reply]:
    """Each of the person's latest submissions, and where it stands now."""
    assert ctx.member is not None
    own = await ctx.store.list_submissions(
        ctx.member.tambon_id, author_id=ctx.member.id, limit=MAX_STATUS
    )
    # Problems they said were theirs too ("the same problem"): their notices come from these.
    same = [
        group
        for group_id, _ in (await ctx.store.list_member_co_reports(ctx.member.id))[-MAX_STATUS:]
        if (group := await ctx.store.get_group(group_id)) is not None
    ]
    if not own and not same:
        return [Reply(T("You have not filed anything yet. Just type a problem or need to start."))]
    groups = [s.group_id for s in own if s.group_id is not None] + [g.id for g in same]
    items = await ctx.store.items_of_groups(groups)
    lines: list[Text] = []
    for submission in own:
        short = Own(preview(submission.text, 60))
        linked = items.get(submission.group_id, []) if submission.group_id is not None else []
        if submission.hidden_at is not None:
            where: Text | Lines = T("hidden by the working team")
        else:
            where = _where(linked)
        lines.append(T("#{ref} {text}\n→ {where}", ref=submission.id, text=short, where=where))
    for group in same:
        lines.append(
            T(
                "Problem #{ref} ({words}), which you said was yours too\n→ {where}",
                ref=group.id,
                words=", ".join(group.keywords[:5]),
                where=_where(items.get(group.id, [])),
            )
        )
    return [Reply(T("Where your submissions stand:\n\n{lines}", lines=Lines(lines, sep="\n\n")))]


def _where(linked: list[PlanItem]) -> Text | Lines:
    """Where a problem stands in the plan: its items, or heard and waiting."""
    if not linked:
        return T("heard; not in a plan item yet")
    return Lines(
        [
            T(
                "plan item {ref} “{title}”: {status}, {progress}%",
                ref=i.id,
                title=i.title,
                status=PLAN_STATUS_LABELS[i.status.value],
                progress=i.progress,
            )
            for i in linked
        ],
        sep="; ",
    )


@router.command("plan")
async def tambon_plan(ctx: Context) -> list[Reply]:
    """The tambon's plan items, by status, with progress."""
    assert ctx.member is not None
    found = await ctx.store.list_plan_items(ctx.member.tambon_id)
    if not found:
        return [
            Reply(T("The tambon has no plan items yet. Problems are heard first at the hearing."))
        ]
    lines: list[Text] = []
    for state in PlanStatus:
        these = [i for i in found if i.status is state]
        if not these:
            continue
        lines.append(T("{status}:", status=PLAN_STATUS_LABELS[state.value]))
        lines.extend(
            T("  {ref}. {title} ({progress}%)", ref=i.id, title=i.title, progress=i.progress)
            for i in these
        )
    return [Reply(T("The tambon plan:\n\n{lines}", lines=Lines(lines)))]
