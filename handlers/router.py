"""Routing an :class:`Incoming` to a command, a conversation step, or the idle handler.

Each feature module owns a :class:`Router` and registers its commands and steps on it; the
routers are merged in :func:`handlers.build_router`. Steps are the values of a ``StrEnum``
per flow (``"intake.confirm"``), persisted in the store between messages.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from handlers.services import limits
from handlers.services.limits import Limits
from handlers.services.privacy import HIDDEN, redact_numbers
from handlers.types import THAI_DIGITS, Incoming, Reply, T, Tagger, Text
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


async def dispatch(router: Router, ctx: Context) -> list[Reply]:
    """Route one message; the caller renders the replies and persists the conversation."""
    incoming = ctx.incoming
    command = parse_command(incoming.text) if incoming.text and not incoming.choice else None
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
    if ctx.step:
        handler = router.steps.get(ctx.step)
        if handler is not None:
            return await handler(ctx)
        ctx.finish()  # a step from an older version of the bot: start afresh
    if router.idle is None:
        return []
    return await router.idle(ctx)


TEAM_ONLY = Reply(T("Sorry, this command is only for the tambon team."))


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
