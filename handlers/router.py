"""Routing an :class:`Incoming` to a command, a conversation step, or the idle handler.

Each feature module owns a :class:`Router` and registers its commands and steps on it; the
routers are merged in :func:`handlers.build_router`. Steps are the values of a ``StrEnum``
per flow (``"intake.confirm"``), persisted in the store between messages.
"""

from __future__ import annotations

import copy
import enum
import re
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from handlers import menu
from handlers.payloads import Pick
from handlers.services import limits
from handlers.services.limits import Limits
from handlers.services.privacy import HIDDEN, redact_numbers
from handlers.services.villages import NeedRule
from handlers.types import THAI_DIGITS, Choice, Incoming, Reply, T, Tagger, Text
from storage.base import Conversation, Member, Role, Store

MAX_TEXT_CHARS = 2000


@dataclass
class Context:
    """Everything a handler may use for one incoming message."""

    incoming: Incoming
    store: Store
    tagger: Tagger
    member: Member | None
    conversation: Conversation | None
    max_text_chars: int = MAX_TEXT_CHARS
    # Where people reach the HTTP listener, for report links; None: no links.
    public_url: str | None = None
    default_locale: str = "th"  # for members who have not chosen a language
    args: str = ""  # what followed a command
    # What happened that others may want to know, e.g. ("ballot", poll id): the engine tells its
    # listeners (a live tally) once the transaction is committed.
    events: list[tuple[str, int]] = field(default_factory=list)
    # Renders a sentence in a language, for the few words a flow must store or cut as text (a
    # number hidden in a ballot option); the engine passes the catalogs' renderer.
    translate: Callable[[Text, str], str] = lambda text, locale: text.msgid
    # The time now; the engine's clock (tests move it instead of sleeping).
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    # The limits per person in force (the settings' counts, or the defaults).
    limits: Limits = field(default_factory=Limits)
    # When the villages' data shows a need nobody reported (the settings', or the defaults).
    need_rule: NeedRule = field(default_factory=NeedRule)

    def now(self) -> datetime:
        return self.clock()

    @property
    def who(self) -> str:
        """The person behind the message, as limits count them: channel and platform id."""
        return limits.person(self.incoming.channel, self.incoming.user_id)

    def hide_numbers(self, text: str, locale: str | None = None) -> str:
        """``text`` with phone and ID numbers hidden (the note in ``locale``, or this
        member's language)."""
        return redact_numbers(text, self.translate(HIDDEN, locale or self.locale))

    @property
    def member_village(self) -> int | None:
        return self.member.village_moo if self.member else None

    @property
    def locale(self) -> str:
        """The language replies to this member are rendered in."""
        if self.member is not None and self.member.locale in ("th", "en"):
            return self.member.locale
        return self.default_locale

    @property
    def step(self) -> str:
        return self.conversation.step if self.conversation else ""

    @property
    def data(self) -> dict[str, Any]:
        """The flow's scratch data (the draft being filed, the village being relayed for)."""
        assert self.conversation is not None
        return self.conversation.data

    def goto(self, step: enum.StrEnum, **data: object) -> None:
        """Move to ``step``; ``data`` replaces the flow's scratch data when given."""
        assert self.conversation is not None
        self.conversation.step = step.value
        if data:
            self.conversation.data = dict(data)

    def finish(self) -> None:
        if self.conversation is not None:
            self.conversation.step = ""
            self.conversation.data = {}


Handler = Callable[[Context], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Command:
    handler: Handler
    # Who may run it: None lets anyone, even someone who has not joined a tambon yet.
    roles: frozenset[Role] | None = frozenset(Role)


@dataclass
class Router:
    commands: dict[str, Command] = field(default_factory=dict)
    steps: dict[str, Handler] = field(default_factory=dict)
    idle: Handler | None = None
    edited: Handler | None = None
    unsent: Handler | None = None
    actions: dict[str, Command] = field(default_factory=dict)

    def command(
        self, *names: str, roles: Sequence[Role] | None = tuple(Role)
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for name in names:
                self.commands[name] = Command(handler, None if roles is None else frozenset(roles))
            return handler

        return register

    def step(self, *steps: enum.StrEnum) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for step in steps:
                self.steps[step.value] = handler
            return handler

        return register

    def action(
        self, name: str, roles: Sequence[Role] = tuple(Role)
    ) -> Callable[[Handler], Handler]:
        """A button whose payload is complete in itself, handled whatever the step; like a
        command, it is for the members whose role is in ``roles``."""

        def register(handler: Handler) -> Handler:
            self.actions[name] = Command(handler, frozenset(roles))
            return handler

        return register

    def include(self, other: Router) -> None:
        clash = (
            (self.commands.keys() & other.commands.keys())
            | (self.steps.keys() & other.steps.keys())
            | (self.actions.keys() & other.actions.keys())
        )
        if clash:
            raise ValueError(f"registered twice: {sorted(clash)}")
        self.commands.update(other.commands)
        self.steps.update(other.steps)
        self.actions.update(other.actions)
        self.idle = other.idle or self.idle
        self.edited = other.edited or self.edited
        self.unsent = other.unsent or self.unsent


_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)
# No id, count or position of ours is longer: a longer number is "not found", and never reaches
# int() (Python refuses over 4,300 digits) or the store (SQLite's integers end at 19 digits).
MAX_DIGITS = 12


def number(text: str) -> int | None:
    """A whole number typed or carried in a button (Arabic or Thai digits), or None when
    ``text`` is not one, or is too long to be one of ours."""
    text = text.strip()
    if not text.isdecimal() or len(text) > MAX_DIGITS:
        return None
    return int(text.translate(THAI_DIGITS))


def parse_command(text: str) -> tuple[str, str] | None:
    """``"/start@tambon_bot 123"`` -> ``("start", "123")``; None when not a command."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    return match[1].lower(), (match[2] or "").strip()


def _plain(label: str) -> str:
    """A label reduced to what people type: no emoji or marks, case-folded."""
    kept = "".join(
        ch for ch in unicodedata.normalize("NFC", label) if unicodedata.category(ch)[0] in "LNZM"
    )
    return " ".join(kept.split()).casefold()


def _variants(label: str) -> set[str]:
    """A label and, for "English (in Thai script)"-style labels, each of its two halves."""
    variants = {_plain(label)}
    head, _, tail = label.partition("(")
    if tail:
        variants |= {_plain(head), _plain(tail.rstrip(")"))}
    return variants


def resolve_choice(incoming: Incoming, conversation: Conversation | None) -> Incoming:
    """Turn a typed number or label of the choices offered last into a button press."""
    if incoming.choice or not incoming.text or conversation is None or not conversation.offered:
        return incoming
    typed = incoming.text.strip().translate(THAI_DIGITS).rstrip(".")
    payload: str | None = None
    position = number(typed)
    if position is not None and 1 <= position <= len(conversation.offered):
        payload = conversation.offered[position - 1][0]
    else:
        wanted = _plain(typed)
        for candidate, label in conversation.offered:
            if wanted and wanted in _variants(label):
                payload = candidate
                break
    return replace(incoming, choice=payload) if payload else incoming


def named_command(
    incoming: Incoming, translate: Callable[[Text, str], str]
) -> tuple[str, str] | None:
    """The command a message asks for, and what followed it: ``/NAME args``, a menu button
    (``cmd:NAME``), or a message that is only a command's word ("menu", "my reports")."""
    if incoming.choice:
        pick = Pick.unpack(incoming.choice)
        return (pick.arg, "") if pick is not None and pick.action == menu.COMMAND else None
    if not incoming.text or incoming.edited:
        return None
    command = parse_command(incoming.text)
    if command is not None:
        return command
    if incoming.attachment is not None:
        return None
    name = menu.command_named(incoming.text, translate, _plain)
    return (name, "") if name is not None else None


async def dispatch(router: Router, ctx: Context) -> list[Reply]:
    """Route one message; the caller renders the replies and persists the conversation."""
    incoming = ctx.incoming
    command = named_command(incoming, ctx.translate)
    if command is None and (ctx.member is None or not ctx.member.onboarded) and not ctx.step:
        # Not joined yet: the join code alone (as the poster shows it) joins.
        code = menu.join_code_typed(incoming.text or "", ctx.translate, _plain)
        command = ("start", code) if code and not incoming.choice else None
    if command is not None:
        name, ctx.args = command
        entry = router.commands.get(name)
        if entry is None:
            return [
                Reply(
                    T(
                        "Sorry, I don't know the command /{name}. Type /help to see what I can "
                        "do.",
                        name=name,
                    )
                )
            ]
        if entry.roles is not None:
            if ctx.member is None or not ctx.member.onboarded:
                return [not_joined(ctx)]
            if ctx.member.role not in entry.roles:
                return [TEAM_ONLY]
        return await entry.handler(ctx)
    if incoming.unsent is not None:
        return await router.unsent(ctx) if router.unsent and ctx.member else []
    if ctx.member is None:
        return [] if incoming.edited else [not_joined(ctx)]
    if incoming.edited:
        return await router.edited(ctx) if router.edited else []
    action = incoming.choice.split(":", 1)[0] if incoming.choice else None
    if action in router.actions and ctx.member.onboarded:
        # A self-contained button (it names everything it needs), valid in any step.
        button = router.actions[action]
        if button.roles is not None and ctx.member.role not in button.roles:
            return [TEAM_ONLY]
        return await button.handler(ctx)
    if action == WAY_OUT and ctx.step:
        return await _way_out(router, ctx)
    if ctx.step:
        handler = router.steps.get(ctx.step)
        if handler is not None:
            return await _answer(handler, ctx)
        ctx.finish()  # a step from an older version of the bot: start afresh
    if router.idle is None:
        return []
    return await router.idle(ctx)


TEAM_ONLY = Reply(T("Sorry, this command is only for the tambon team."))

# A question's way out, offered at the second message it could not take as an answer.
WAY_OUT = "out"
MISSES = "_misses"  # in the flow's data: messages in a row the question could not take
TYPED = "_typed"  # the last of them, to file as a problem of its own


async def _answer(handler: Handler, ctx: Context) -> list[Reply]:
    """Run a step's handler. A typed message that changes nothing (not a choice, not a
    detail the step takes) is a miss; the second miss in a row is not met with the same hint
    again but with a way out: file the words as a new problem, back to the question, cancel."""
    incoming = ctx.incoming
    typed = incoming.text if incoming.text and not incoming.choice else None
    before = (ctx.step, copy.deepcopy(ctx.data)) if typed is not None else None
    replies = await handler(ctx)
    if before is None or ctx.conversation is None:
        return replies
    if ctx.step != before[0] or _without_misses(ctx.data) != _without_misses(before[1]):
        ctx.data.pop(MISSES, None)
        ctx.data.pop(TYPED, None)
        return replies  # the step took the message
    misses = int(before[1].get(MISSES, 0)) + 1
    if misses < 2:
        ctx.data[MISSES] = misses
        return replies
    ctx.data[MISSES] = 0
    ctx.data[TYPED] = typed
    onboarded = ctx.member is not None and ctx.member.onboarded
    choices = [
        *(
            [Choice(T("File it as a new problem"), Pick(WAY_OUT, "new").pack())]
            if onboarded
            else []
        ),
        Choice(T("Back to the question"), Pick(WAY_OUT, "back").pack()),
        Choice(T("Cancel the question"), Pick(WAY_OUT, "cancel").pack()),
    ]
    return [
        Reply(T("That is not one of the answers I am waiting for. What would you like?"), choices)
    ]


async def _way_out(router: Router, ctx: Context) -> list[Reply]:
    """The person chose a way out of a question (:func:`_answer`)."""
    pick = Pick.unpack(ctx.incoming.choice)
    arg = pick.arg if pick is not None else ""
    typed = str(ctx.data.get(TYPED) or "")
    onboarded = ctx.member is not None and ctx.member.onboarded
    if arg == "new" and typed and onboarded and router.idle is not None:
        ctx.finish()
        ctx.incoming = replace(ctx.incoming, text=typed, choice=None)
        return await router.idle(ctx)
    if arg == "cancel" and "cancel" in router.commands:
        return await router.commands["cancel"].handler(ctx)
    ctx.data.pop(MISSES, None)
    ctx.data.pop(TYPED, None)
    handler = router.steps.get(ctx.step)
    if handler is None:
        ctx.finish()
        return []
    # Back: the step asked again, as it does for a message it cannot take.
    ctx.incoming = replace(ctx.incoming, text=None, choice=None)
    return await handler(ctx)


def _without_misses(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in (MISSES, TYPED)}


def not_joined(ctx: Context) -> Reply:
    return Reply(
        T(
            "Hello! To tell the tambon team about a problem, please join your tambon first: "
            "type /start followed by the join code from your tambon team or village head, "
            "for example /start 12345678."
        )
    )


STICKERS_UNREADABLE = T(
    "I can only read words, not emoji or stickers. "
    "Please describe the problem in a few words, in Thai."
)


def text_problem(text: str | None, limit: int) -> Text | None:
    """Why ``text`` cannot be filed as a submission, or None when it can."""
    stripped = (text or "").strip()
    if not stripped:
        return T("Your message is empty. Please describe the problem or need in a few words.")
    if len(stripped) > limit:
        return T(
            "Your message is {length} characters long; the limit is {limit}. "
            "Please shorten it, or send it as several messages, one problem each.",
            length=len(stripped),
            limit=limit,
        )
    categories = {unicodedata.category(ch)[0] for ch in stripped}
    if not categories & {"L", "N"}:
        return STICKERS_UNREADABLE
    if not any("\u0e01" <= ch <= "\u0e4e" for ch in stripped):  # Thai letters, not digits
        return T(
            "Please write in Thai, so that the tambon team and the hearing can read it. "
            "A short sentence is enough."
        )
    return None
