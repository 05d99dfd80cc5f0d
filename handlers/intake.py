"""Filing a problem or need: describe -> confirm (or correct) -> stored. See ``intake.mmd``.

The draft lives in the conversation's data until it is confirmed, so nothing half-finished
reaches the submissions table, and a restart resumes at the same question.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal, TypedDict, cast

from handlers import payloads as p
from handlers.labels import (
    ACTOR_LABELS,
    CATEGORY_LABELS,
    KIND_LABELS,
    NO_VILLAGE,
    category_labels,
    preview,
    village_label,
)
from handlers.payloads import Pick
from handlers.router import (
    STICKERS_UNREADABLE,
    Context,
    Router,
    number,
    text_problem,
)
from handlers.services import limits
from handlers.services.grouping import best_match
from handlers.services.submissions import (
    CorrectionRefused,
    correct_tags,
    file_submission,
    same_problem,
    who,
    withdraw,
)
from handlers.types import Attachment, Choice, Media, Own, Reply, T, Text
from storage.base import (
    Kind,
    NewSubmission,
    ProblemGroup,
    Role,
    StoredAttachment,
)

router = Router()


class Tags(TypedDict):
    """The tags the tagger suggested, kept to record what the person changed."""

    categories: list[str]
    kind: str
    village: int | None


class Draft(TypedDict, total=False):
    """A problem or need being filed, or a filed one being corrected: the intake flow's data,
    kept in the conversation between messages (as JSON)."""

    text: str
    categories: list[str]
    kind: str  # a Kind value
    village: int | None
    actor: str | None  # who can act: community, joint, external
    keywords: list[str]
    suggested: Tags
    relayed: bool  # filed by a SOCH.T member for a villager
    source: str | None  # the platform message it came from (unsend, redelivery)
    attachments: list[dict[str, Any]]
    pending: list[dict[str, Any]]  # photos and locations waiting for their words
    fix: int  # /fix: the submission being corrected
    match: int  # the similar problem group offered
    shared: list[str]  # the keywords it shares with that group
    guesses: list[str]  # the tagger was unsure: its likeliest categories, offered first


def _draft(ctx: Context) -> Draft:
    """The conversation's data, as the intake flow keeps it."""
    return cast(Draft, ctx.data)


class IntakeStep(enum.StrEnum):
    CONFIRM = "intake.confirm"
    CATEGORIES = "intake.categories"
    KIND = "intake.kind"
    VILLAGE = "intake.village"
    RELAY_VILLAGE = "intake.relay_village"
    RELAY_DESCRIBE = "intake.relay_describe"
    DUPLICATE = "intake.duplicate"
    ACTOR = "intake.actor"


async def _village_names(ctx: Context) -> dict[int, str]:
    assert ctx.member is not None
    villages = await ctx.store.list_villages(ctx.member.tambon_id)
    return {v.moo: v.name for v in villages if v.name}


def _place_on_earth(attachment: Attachment) -> bool:
    """Whether a shared location's coordinates are a place (the store refuses others)."""
    lat, lon = attachment.latitude, attachment.longitude
    return (
        isinstance(lat, int | float)
        and isinstance(lon, int | float)
        and math.isfinite(lat)
        and math.isfinite(lon)
        and -90 <= lat <= 90
        and -180 <= lon <= 180
    )


def _attachment_record(attachment: Attachment | None) -> dict[str, Any] | None:
    """A photo or location as kept in a draft; None for anything that cannot be attached (a
    location whose coordinates are no place among them)."""
    if attachment is None or attachment.media not in (Media.PHOTO, Media.LOCATION):
        return None
    if attachment.media is Media.LOCATION and not _place_on_earth(attachment):
        return None
    return {
        "media": attachment.media.value,
        "file_id": attachment.file_id,
        "latitude": attachment.latitude,
        "longitude": attachment.longitude,
    }


def _media_only(ctx: Context, keep: list[dict[str, Any]]) -> list[Reply] | None:
    """Handle a photo or location sent without words: keep it for the next description."""
    attachment = ctx.incoming.attachment
    if attachment is None or (ctx.incoming.text or "").strip():
        return None
    record = _attachment_record(attachment)
    if record is None and attachment.media is Media.LOCATION:
        return [Reply(BAD_LOCATION)]
    if record is None:
        return [Reply(STICKERS_UNREADABLE)]
    keep.append(record)
    if attachment.media is Media.LOCATION:
        return [Reply(MEDIA_KEPT_LOCATION)]
    return [Reply(MEDIA_KEPT_PHOTO)]


MEDIA_KEPT_PHOTO = T(
    "Thank you for the photo. Now please describe the problem in words, and I will attach the "
    "photo to it."
)
BAD_LOCATION = T(
    "I could not read that location (its coordinates are not a place). Please share it again, "
    "or describe the place in words."
)
MEDIA_KEPT_LOCATION = T(
    "Thank you, I have the location. Now please describe the problem in words, and I will "
    "attach the location to it."
)


async def _start_draft(
    ctx: Context,
    *,
    relayed: bool,
    village: int | None,
    attachments: list[dict[str, Any]] | None = None,
    source: str | None = None,
) -> list[Reply]:
    """Tag the incoming text and show the draft for confirmation."""
    attachments = list(attachments or [])
    held = _media_only(ctx, attachments)
    if held is not None:
        if attachments and ctx.conversation is not None:
            _draft(ctx)["pending"] = attachments
        return held
    problem = text_problem(ctx.incoming.text, ctx.max_text_chars)
    if problem is not None:
        return [Reply(problem)]
    text = (ctx.incoming.text or "").strip()
    tags = ctx.tagger.tag(text, await _village_names(ctx))
    record = _attachment_record(ctx.incoming.attachment)
    if record is not None and record not in attachments:  # an edited caption: same photo
        attachments.append(record)
    draft: Draft = {
        "text": text,
        "categories": list(tags.categories),
        "kind": tags.kind,
        # A relaying member picked the village on purpose; otherwise the text knows best.
        "village": village if relayed or tags.village is None else tags.village,
        "relayed": relayed,
        "source": source or ctx.incoming.message_id,
        "attachments": attachments,
        "keywords": list(tags.keywords),
        "actor": tags.actor,
    }
    draft["suggested"] = Tags(
        categories=draft["categories"], kind=draft["kind"], village=draft["village"]
    )
    if not tags.categories:
        draft["guesses"] = list(tags.guesses)
        ctx.goto(IntakeStep.CATEGORIES, **draft)
        if tags.guesses:
            question = T(
                "I am not sure what this is about, so I have not guessed. Please choose one or "
                "more categories, then press Done; the first ones listed are my best guesses: "
                "{guesses}.",
                guesses=category_labels(tags.guesses),
            )
        else:
            question = T(
                "I could not tell what this is about. Please choose one or more categories, "
                "then press Done."
            )
        return [Reply(question), _category_picker(draft)]
    ctx.goto(IntakeStep.CONFIRM, **draft)
    return [_confirmation(draft)]


async def describe(ctx: Context) -> list[Reply]:
    """An idle member typed something: treat it as a new problem or need."""
    assert ctx.member is not None
    if ctx.incoming.choice:
        return [
            Reply(
                T(
                    "That button belongs to an earlier question. Please type your problem or "
                    "need, or /help."
                )
            )
        ]
    pending = _draft(ctx).get("pending", []) if ctx.conversation is not None else []
    return await _start_draft(
        ctx, relayed=False, village=ctx.member.village_moo, attachments=pending
    )


router.idle = describe


async def edited(ctx: Context) -> list[Reply]:
    """An edited message: it replaces the draft it started, and nothing already filed."""
    draft: Draft = _draft(ctx) if ctx.conversation is not None else {}
    awaiting = ctx.step in (IntakeStep.CONFIRM, IntakeStep.CATEGORIES)
    if awaiting and draft.get("source") and draft.get("source") == ctx.incoming.message_id:
        replies = await _start_draft(
            ctx,
            relayed=bool(draft.get("relayed")),
            village=draft.get("village") if draft.get("relayed") else ctx.member_village,
            attachments=draft.get("attachments", []),
            source=draft["source"],
        )
        return [Reply(T("I have updated the draft with your edit.")), *replies]
    return [
        Reply(
            T(
                "Edits to messages that were already filed are not applied. If something is "
                "wrong, please send a new message."
            )
        )
    ]


router.edited = edited


async def unsent(ctx: Context) -> list[Reply]:
    """The sender took a message back (LINE's unsend): its draft goes, or the report filed
    from it is withdrawn; either way its words are no longer kept."""
    assert ctx.member is not None
    message_id = ctx.incoming.unsent
    draft: Draft = _draft(ctx) if ctx.conversation is not None else {}
    waiting = ctx.step in (IntakeStep.CONFIRM, IntakeStep.CATEGORIES, IntakeStep.DUPLICATE)
    if waiting and message_id is not None and draft.get("source") == message_id:
        ctx.finish()
        return [
            Reply(T("You took back your message, so its draft was dropped. Nothing was filed."))
        ]
    if message_id is None:
        return []
    withdrawn = await withdraw(ctx.store, ctx.incoming.channel, message_id, ctx.member)
    if withdrawn is None:
        return []
    return [
        Reply(
            T(
                "You took back your message, so report #{ref} was withdrawn: it is no longer "
                "counted, and its words were deleted.",
                ref=withdrawn,
            )
        )
    ]


router.unsent = unsent


def _confirmation(draft: Draft) -> Reply:
    if draft.get("fix"):
        return _fix_card(draft)
    summary = T(
        "This is what I understood:\n"
        "“{text}”\n"
        "• Category: {categories}\n"
        "• Type: {kind}\n"
        "• Village: {village}\n"
        "Shall I file it?",
        text=Own(preview(draft["text"])),
        categories=category_labels(draft["categories"]),
        kind=KIND_LABELS[draft["kind"]],
        village=village_label(draft["village"]),
    )
    if draft.get("relayed"):
        summary = T("{summary}\n(Filed on behalf of a villager.)", summary=summary)
    photos = sum(1 for a in draft.get("attachments", []) if a["media"] == Media.PHOTO)
    places = sum(1 for a in draft.get("attachments", []) if a["media"] == Media.LOCATION)
    if photos or places:
        summary = T(
            "{summary}\n📎 Attached: {photos} photo(s), {places} location(s)",
            summary=summary,
            photos=photos,
            places=places,
        )
    return Reply(
        summary,
        card=True,
        choices=[
            Choice(T("✅ Confirm"), Pick(p.CONFIRM).pack()),
            Choice(T("🏷 Change category"), Pick(p.EDIT, "cat").pack()),
            Choice(T("🔁 Change type"), Pick(p.EDIT, "kind").pack()),
            Choice(T("🏠 Change village"), Pick(p.EDIT, "vil").pack()),
            Choice(T("❌ Cancel"), Pick(p.EDIT, "cancel").pack()),
        ],
    )


def _fix_card(draft: Draft) -> Reply:
    """The team's view of a filed submission being corrected."""
    choices = [
        Choice(T("✅ Save the correction"), Pick(p.CONFIRM).pack()),
        Choice(T("🏷 Change category"), Pick(p.EDIT, "cat").pack()),
        Choice(T("🔁 Change type"), Pick(p.EDIT, "kind").pack()),
        Choice(T("🏠 Change village"), Pick(p.EDIT, "vil").pack()),
    ]
    if draft["kind"] != Kind.PROBLEM:
        choices.append(Choice(T("🙋 Who can act"), Pick(p.EDIT, "actor").pack()))
    choices.append(Choice(T("❌ Cancel"), Pick(p.EDIT, "cancel").pack()))
    return Reply(
        T(
            "Correcting #{ref}:\n"
            "“{text}”\n"
            "• Category: {categories}\n"
            "• Type: {kind}\n"
            "• Village: {village}\n"
            "• Who can act: {actor}",
            ref=draft["fix"],
            text=preview(draft["text"]),
            categories=category_labels(draft["categories"]),
            kind=KIND_LABELS[draft["kind"]],
            village=village_label(draft["village"]),
            actor=ACTOR_LABELS.get(draft.get("actor") or "", NO_VILLAGE),
        ),
        card=True,
        choices=choices,
    )


def _one_of(question: Text, action: str, labels: Mapping[str, Text]) -> Reply:
    """A question answered by one of a labelled set (a kind, who can act)."""
    return Reply(
        question, [Choice(label, Pick(action, key).pack()) for key, label in labels.items()]
    )


async def _set_from_pick(
    ctx: Context, field: Literal["kind", "actor"], picker: Reply
) -> list[Reply]:
    """Store the picked key of ``picker``'s set in the draft, and show the draft again."""
    allowed = {choice.payload for choice in picker.choices}
    if ctx.incoming.choice not in allowed:
        return [Reply(T("Please answer with one of the choices below.")), picker]
    pick = Pick.unpack(ctx.incoming.choice)
    assert pick is not None
    draft = _draft(ctx)
    draft[field] = pick.arg
    ctx.goto(IntakeStep.CONFIRM)
    return [_confirmation(draft)]


def _actor_picker() -> Reply:
    return _one_of(T("Who can act on this?"), p.ACTOR, ACTOR_LABELS)


@router.step(IntakeStep.ACTOR)
async def actor(ctx: Context) -> list[Reply]:
    return await _set_from_pick(ctx, "actor", _actor_picker())


@router.command("fix", roles=[Role.TEAM, Role.ADMIN])
async def fix(ctx: Context) -> list[Reply]:
    """A team member corrects a filed submission's tags: /fix 12."""
    assert ctx.member is not None
    ref = number(ctx.args.strip().lstrip("#"))
    submission = await ctx.store.get_submission(ref) if ref is not None else None
    if submission is None or submission.tambon_id != ctx.member.tambon_id:
        return [
            Reply(
                T(
                    "There is no submission #{ref} in your tambon. Type /fix followed by a "
                    "reference number, for example /fix 12.",
                    ref=ctx.args.strip().lstrip("#")[:20] or "?",
                )
            )
        ]
    current = {
        "categories": list(submission.categories),
        "kind": submission.kind.value,
        "village": submission.village_moo,
        "actor": submission.actor,
    }
    ctx.goto(
        IntakeStep.CONFIRM,
        fix=submission.id,
        text=submission.text,
        suggested=dict(current),
        **current,
    )
    return [_fix_card(_draft(ctx))]


async def _apply_fix(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    draft = _draft(ctx)
    submission = await ctx.store.get_submission(draft["fix"])
    if submission is None or submission.tambon_id != ctx.member.tambon_id:
        ctx.finish()
        return [Reply(T("There is no submission #{ref}.", ref=draft["fix"]))]
    try:
        await correct_tags(
            ctx.store,
            submission,
            categories=draft["categories"],
            kind=Kind(draft["kind"]),
            village=draft["village"],
            actor=draft.get("actor"),
            known_categories=ctx.tagger.categories,
            member_id=ctx.member.id,
            corrected_by=who(ctx.member),
        )
    except CorrectionRefused as refused:
        return [Reply(refused.reason), _fix_card(draft)]
    ref = draft["fix"]
    ctx.finish()
    return [
        Reply(
            T(
                "Saved the correction to #{ref}. The tagger learns from it the next time it "
                "is retrained (tambon-bot train).",
                ref=ref,
            )
        )
    ]


def _category_picker(draft: Draft) -> Reply:
    """Every category as a button to toggle; the tagger's guesses, if it had to ask, first."""
    chosen = set(draft["categories"])
    guesses = [c for c in draft.get("guesses", []) if c in CATEGORY_LABELS]
    order = guesses + [c for c in CATEGORY_LABELS if c not in guesses]
    choices = [
        Choice(
            T("✅ {label}", label=CATEGORY_LABELS[cat])
            if cat in chosen
            else T("◻️ {label}", label=CATEGORY_LABELS[cat]),
            Pick(p.CATEGORY, cat).pack(),
        )
        for cat in order
    ]
    choices.append(Choice(T("Done"), Pick(p.CATEGORY, "done").pack()))
    return Reply(
        T("Tap a category to select or unselect it, then press Done."), choices, columns=2
    )


@router.step(IntakeStep.CONFIRM)
async def confirm(ctx: Context) -> list[Reply]:
    pick = Pick.unpack(ctx.incoming.choice)
    draft = _draft(ctx)
    record = _attachment_record(ctx.incoming.attachment)
    if pick is None and record is not None:
        draft.setdefault("attachments", []).append(record)
        return [_confirmation(draft)]
    attachment = ctx.incoming.attachment
    if pick is None and attachment is not None and attachment.media is Media.LOCATION:
        return [Reply(BAD_LOCATION), _confirmation(draft)]
    if pick is None:
        return [
            Reply(T("Please choose one of the options below, or type /cancel to start over.")),
            _confirmation(draft),
        ]
    if pick.action == p.CONFIRM:
        return await (_apply_fix(ctx) if draft.get("fix") else _check_duplicate(ctx))
    if pick.action == p.EDIT and pick.arg == "actor" and draft.get("fix"):
        ctx.goto(IntakeStep.ACTOR)
        return [_actor_picker()]
    if pick.action == p.EDIT and pick.arg == "cat":
        ctx.goto(IntakeStep.CATEGORIES)
        return [_category_picker(draft)]
    if pick.action == p.EDIT and pick.arg == "kind":
        ctx.goto(IntakeStep.KIND)
        return [_kind_picker()]
    if pick.action == p.EDIT and pick.arg == "vil":
        ctx.goto(IntakeStep.VILLAGE)
        return [await _village_picker(ctx, T("Which village is this about?"))]
    if pick.action == p.EDIT and pick.arg == "cancel":
        fixing = draft.get("fix")
        ctx.finish()
        if fixing:
            return [Reply(T("Cancelled; #{ref} was not changed.", ref=fixing))]
        return [Reply(T("Cancelled; nothing was filed. You can type a new problem at any time."))]
    return [
        Reply(T("Please choose one of the options below, or type /cancel to start over.")),
        _confirmation(draft),
    ]


@router.step(IntakeStep.CATEGORIES)
async def categories(ctx: Context) -> list[Reply]:
    pick = Pick.unpack(ctx.incoming.choice)
    draft = _draft(ctx)
    if pick is None or pick.action != p.CATEGORY:
        return [Reply(T("Please tap a category, or Done when finished.")), _category_picker(draft)]
    if pick.arg == "done":
        if not draft["categories"]:
            return [Reply(T("Please choose at least one category.")), _category_picker(draft)]
        ctx.goto(IntakeStep.CONFIRM)
        return [_confirmation(draft)]
    if pick.arg not in CATEGORY_LABELS:
        return [Reply(T("Please tap a category, or Done when finished.")), _category_picker(draft)]
    selected: list[str] = list(draft["categories"])
    if pick.arg in selected:
        selected.remove(pick.arg)
    else:
        selected.append(pick.arg)
    draft["categories"] = selected
    return [replace(_category_picker(draft), edit_previous=True)]


def _kind_picker() -> Reply:
    return _one_of(T("Is this a problem, a need, or an idea?"), p.KIND, KIND_LABELS)


@router.step(IntakeStep.KIND)
async def kind(ctx: Context) -> list[Reply]:
    return await _set_from_pick(ctx, "kind", _kind_picker())


async def _village_picker(ctx: Context, question: Text) -> Reply:
    assert ctx.member is not None
    villages = await ctx.store.list_villages(ctx.member.tambon_id)
    return Reply(
        question,
        [
            Choice(village_label(v.moo, v.name), Pick(p.VILLAGE, str(v.moo)).pack())
            for v in villages
        ],
        columns=2,
    )


async def _picked_village(ctx: Context) -> int | None:
    assert ctx.member is not None
    pick = Pick.unpack(ctx.incoming.choice)
    moo = number(pick.arg) if pick is not None and pick.action == p.VILLAGE else None
    if moo is None:
        return None
    villages = {v.moo for v in await ctx.store.list_villages(ctx.member.tambon_id)}
    return moo if moo in villages else None


@router.step(IntakeStep.VILLAGE)
async def village(ctx: Context) -> list[Reply]:
    moo = await _picked_village(ctx)
    if moo is None:
        return [
            Reply(T("Please choose a village from the list, by its number.")),
            await _village_picker(ctx, T("Which village is this about?")),
        ]
    _draft(ctx)["village"] = moo
    ctx.goto(IntakeStep.CONFIRM)
    return [_confirmation(_draft(ctx))]


async def _check_duplicate(ctx: Context) -> list[Reply]:
    """Before filing, ask when the tambon already has a group this report seems to repeat."""
    assert ctx.member is not None
    draft = _draft(ctx)
    groups = await ctx.store.list_groups(ctx.member.tambon_id)
    match = best_match(draft.get("keywords", []), draft["categories"], draft["village"], groups)
    if match is None:
        return await _file(ctx)
    draft["match"] = match.group.id
    draft["shared"] = list(match.shared)
    ctx.goto(IntakeStep.DUPLICATE)
    return [_duplicate_question(match.group, match.shared)]


def _duplicate_question(group: ProblemGroup, shared: Sequence[str]) -> Reply:
    # Only the words the two reports share, never the other person's sentence: it may hold
    # their name, their house, their phone number.
    return Reply(
        T(
            "This sounds like problem #{ref} (words in common: {words}; {village}), "
            "reported by {count} people in {villages} villages. Is yours the same problem?",
            ref=group.id,
            words=", ".join(shared),
            village=village_label(group.village_moo),
            count=group.reporters,
            villages=len(group.villages),
        ),
        [
            Choice(T("Yes, the same problem"), Pick(p.DUPLICATE, "same").pack()),
            Choice(T("No, a different problem"), Pick(p.DUPLICATE, "new").pack()),
        ],
    )


@router.step(IntakeStep.DUPLICATE)
async def duplicate(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    draft = _draft(ctx)
    pick = Pick.unpack(ctx.incoming.choice)
    group = await ctx.store.get_group(int(draft["match"]))
    if group is None:  # deleted meanwhile: file as a problem of its own
        return await _file(ctx)
    if pick is None or pick.action != p.DUPLICATE:
        return [
            Reply(T("Please answer with one of the choices below.")),
            _duplicate_question(group, draft.get("shared", [])),
        ]
    if pick.arg != "same":
        return await _file(ctx)
    relayed = bool(draft.get("relayed"))
    added = await same_problem(ctx.store, group.id, ctx.member, draft["village"], relayed)
    ctx.finish()
    updated = await ctx.store.get_group(group.id) or group
    if not added:
        return [
            Reply(
                T(
                    "You had already reported problem #{ref}; it is counted once for you. "
                    "It now has {count} reporters.",
                    ref=group.id,
                    count=updated.reporters,
                )
            )
        ]
    return [
        Reply(
            T(
                "Thank you! You are now counted among the people reporting problem #{ref}: "
                "{count} people in {villages} villages. The tambon team sees it as one problem "
                "with all its reporters.",
                ref=group.id,
                count=updated.reporters,
                villages=len(updated.villages),
            )
        )
    ]


async def _file(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    draft = _draft(ctx)
    if not draft.get("relayed") and ctx.member.role in (Role.VILLAGER, Role.MEMBER):
        now = ctx.now()
        paused = await limits.over(ctx.store, ctx.limits.submissions, ctx.who, now)
        if paused is not None:
            # The draft stays: they can confirm it once the pause is over.
            ctx.goto(IntakeStep.CONFIRM)
            minutes = limits.minutes_left(paused, now)
            return [
                Reply(
                    T(
                        "You have filed {count} problems in the last hour, which is as many as "
                        "I take from one person. Your draft is kept: please confirm it again in "
                        "{minutes} minutes.",
                        count=ctx.limits.submissions.failures,
                        minutes=minutes,
                    )
                ),
                _confirmation(draft),
            ]
    suggested = draft["suggested"]
    submission, _ = await file_submission(
        ctx.store,
        NewSubmission(
            tambon_id=ctx.member.tambon_id,
            text=draft["text"],
            kind=Kind(draft["kind"]),
            categories=draft["categories"],
            village_moo=draft["village"],
            author_id=ctx.member.id,
            relayed=bool(draft.get("relayed")),
            channel=ctx.incoming.channel,
            source_id=draft.get("source"),
            attachments=[StoredAttachment(**a) for a in draft.get("attachments", [])],
            actor=draft.get("actor"),
        ),
        keywords=draft.get("keywords", []),
        suggested=(suggested["categories"], Kind(suggested["kind"]), suggested["village"]),
        member=ctx.member,
    )
    ctx.finish()
    return [
        Reply(
            T(
                "Filed, thank you! Your reference number is #{ref}. The tambon team will "
                "bring it to the hearing. Type /mine to see what you have filed.",
                ref=submission.id,
            )
        )
    ]


@router.command("relay")
async def relay(ctx: Context) -> list[Reply]:
    assert ctx.member is not None
    if not ctx.member.role.can_relay:
        return [
            Reply(
                T(
                    "Only community organisations centre members and the tambon team can file "
                    "on behalf of others. Just type your own problem and I will file it for you."
                )
            )
        ]
    ctx.goto(IntakeStep.RELAY_VILLAGE, relayed=True)
    return [
        await _village_picker(
            ctx, T("Filing for a villager who does not chat. Which village do they live in?")
        )
    ]


@router.step(IntakeStep.RELAY_VILLAGE)
async def relay_village(ctx: Context) -> list[Reply]:
    moo = await _picked_village(ctx)
    if moo is None:
        return [
            Reply(T("Please choose a village from the list, by its number.")),
            await _village_picker(
                ctx, T("Filing for a villager who does not chat. Which village do they live in?")
            ),
        ]
    ctx.goto(IntakeStep.RELAY_DESCRIBE, relayed=True, village=moo)
    return [
        Reply(
            T(
                "Now type the problem or need in the villager's own words. Please leave out "
                "their name and phone number."
            )
        )
    ]


@router.step(IntakeStep.RELAY_DESCRIBE)
async def relay_describe(ctx: Context) -> list[Reply]:
    if ctx.incoming.choice:
        return [Reply(T("Please type the villager's problem or need, or /cancel."))]
    village_moo = _draft(ctx).get("village")
    return await _start_draft(
        ctx,
        relayed=True,
        village=village_moo if isinstance(village_moo, int) else None,
        attachments=_draft(ctx).get("pending", []),
    )
