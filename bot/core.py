"""The engine every channel shares: one incoming message in, rendered replies out.

For each message it runs in one store transaction (its own, or ``bot.pipeline``'s, which also
takes the update from the inbox and queues the replies): it loads the member and their
conversation, runs the handlers, and saves the conversation with the choices it offered.
Replies are rendered in the member's language after the handlers ran, so a language switch takes
effect at once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

from bot import i18n, reportfiles
from handlers import build_router
from handlers.router import Context, Router, dispatch, resolve_choice
from handlers.services import limits, members, personal, reportlinks
from handlers.services.limits import Limits
from handlers.services.privacy import drop_control_characters
from handlers.services.villages import NeedRule
from handlers.types import PERSONAL_DATA, FileRef, Incoming, Reply, T, Tagger
from handlers.voting import poll_report
from storage.base import Conversation, Member, Store

log = logging.getLogger(__name__)


# A rendered reply read back from the outbox keeps a Reply for its hints only: its text and
# buttons are rendered already.
NOTHING = T("")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A reply rendered for one person: its text and (label, payload) buttons in their
    language, and the :class:`Reply` it renders, whose presentation hints (columns, a card, a
    live tally, a QR code, a file ...) the channels read from ``reply``. A hint added to
    ``Reply`` reaches every channel and the outbox without a change here."""

    text: str
    choices: tuple[tuple[str, str], ...] = ()
    reply: Reply = field(default_factory=lambda: Reply(NOTHING))
    file_url: str | None = None  # the file's link, when the listener has a public address
    no_file: str | None = None  # what to say instead where a file cannot be sent or linked
    file_failed: str | None = None  # what to say when the file could not be made

    def but(self, **changes: Any) -> Outgoing:
        """A copy with some fields or hints changed (``text=...``, ``file=None`` ...)."""
        hints = {name: changes.pop(name) for name in list(changes) if name in HINTS}
        reply = replace(self.reply, **hints) if hints else self.reply
        return replace(self, reply=reply, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, for the outbox (dataclasses.asdict is slow: it deep-copies)."""
        hints = {name: getattr(self.reply, name) for name in HINTS}
        if self.reply.file is not None:
            hints["file"] = {"kind": self.reply.file.kind, "token": self.reply.file.token}
        return {
            "text": self.text,
            "choices": self.choices,
            "hints": hints,
            "file_url": self.file_url,
            "no_file": self.no_file,
            "file_failed": self.file_failed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Outgoing:
        # Replies queued before the hints were kept apart carry them beside the text.
        hints = dict(data.get("hints") or {k: v for k, v in data.items() if k in HINTS})
        if hints.get("file") is not None:
            hints["file"] = FileRef(**hints["file"])
        return cls(
            text=str(data["text"]),
            choices=tuple((str(label), str(p)) for label, p in data.get("choices", ())),
            reply=Reply(NOTHING, **hints),
            file_url=data.get("file_url"),
            no_file=data.get("no_file"),
            file_failed=data.get("file_failed"),
        )

    def without_file(self) -> Outgoing:
        """This reply when its file could not be made: the text, and why there is no file."""
        text = f"{self.text}\n\n{self.file_failed}" if self.file_failed else self.text
        return self.but(file=None, text=text)


HINTS = tuple(f.name for f in fields(Reply) if f.name not in ("text", "choices", "no_file"))


FILE_FAILED = T(
    "Sorry, I could not make this file just now. Please try again in a while; if it keeps "
    "happening, ask the administrator to check the server (scripts/system-packages)."
)


class Engine:
    """Runs the conversation for every channel."""

    def __init__(
        self,
        store: Store,
        tagger: Tagger,
        *,
        default_locale: str = i18n.DEFAULT_LOCALE,
        router: Router | None = None,
        public_url: str | None = None,
        clock: Callable[[], datetime] | None = None,
        limits: Limits | None = None,
        need_rule: NeedRule | None = None,
    ) -> None:
        self.store = store
        self.need_rule = need_rule or NeedRule()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.limits = limits or Limits()
        self.public_url = public_url
        self.tagger = tagger
        self.default_locale = default_locale
        self.router = router or build_router()
        # Called after a message's transaction commits, for each event its handlers noted.
        self.listeners: list[Callable[[str, int], Awaitable[None]]] = []

    async def handle(self, incoming: Incoming) -> list[Outgoing]:
        """Handle one message in a transaction of its own (the console); listeners hear of its
        events once it has committed."""
        async with self.store.transaction():
            replies, events = await self.handle_in_transaction(incoming)
        await self.notify(events)
        return replies

    async def handle_in_transaction(
        self, incoming: Incoming
    ) -> tuple[list[Outgoing], list[tuple[str, int]]]:
        """Handle one message inside the caller's transaction (``bot.pipeline`` takes the
        update from the inbox and adds its replies to the outbox in it); returns the replies and
        the events to pass to :meth:`notify` after the commit."""
        if incoming.text is not None:
            # NUL, ESC and their kind never reach the store (nor a report or a spreadsheet).
            incoming = replace(incoming, text=drop_control_characters(incoming.text))
        member, conversation = await self.store.get_member_and_conversation(
            incoming.channel, incoming.user_id
        )
        if member is not None:
            # They wrote to us, so they can be reached again (unblocked, followed back).
            member = await members.set_reachable(self.store, member, True)
        before = (conversation.step, list(conversation.offered)) if conversation else None
        now = self.clock()
        who = limits.person(incoming.channel, incoming.user_id)
        paused = await limits.over(self.store, self.limits.messages, who, now)
        if paused is not None:
            # Too fast: this message is not read (the answer says to send it again), and
            # nothing stored changes.
            seconds = limits.seconds_left(paused, now)
            slow = Reply(
                T(
                    "You are sending messages faster than I can read them. Please wait "
                    "{seconds} seconds, then send your last message again.",
                    seconds=seconds,
                )
            )
            return [self.render(slow, self.locale_of(member))], []
        ctx = Context(
            incoming=resolve_choice(incoming, conversation),
            store=self.store,
            tagger=self.tagger,
            member=member,
            conversation=conversation,
            public_url=self.public_url,
            default_locale=self.default_locale,
            translate=i18n.render,
            clock=self.clock,
            limits=self.limits,
            need_rule=self.need_rule,
        )
        replies = await dispatch(self.router, ctx)
        # Someone not yet a member is answered in the language their app says they use.
        locale = (
            self.locale_of(ctx.member)
            if ctx.member is not None
            else incoming.hinted_language or self.default_locale
        )
        rendered = [self.render(reply, locale) for reply in replies]
        if rendered and (member is not None or ctx.member is not None):
            await self._menu_hint(member, ctx, rendered)
        if ctx.member is not None and ctx.conversation is not None:
            await self.store.save_conversation(_with_offer(ctx.conversation, rendered, before))
        return rendered, list(ctx.events)

    async def _menu_hint(
        self, before: Member | None, ctx: Context, rendered: list[Outgoing]
    ) -> None:
        """When a person's role (or joining, or leaving) changed which menu their chat app
        should show, the first reply says so to the channel, and the member keeps a note of it:
        once, at their next message, whoever changed the role and wherever (chat, CLI)."""
        after = ctx.member
        shown = after.menu if after is not None else before.menu if before is not None else None
        wanted = members.menu_for(after)
        if shown == wanted:
            return
        if after is not None:
            ctx.member = await members.set_menu(self.store, after, wanted)
        rendered[0] = rendered[0].but(menu=wanted or members.VILLAGER_MENU)

    async def count_failed(self, channel: str, user_id: str) -> None:
        """Count a message whose handling failed (and rolled back, taking its count with it)
        against the person's messages a minute, in a transaction of its own: input that
        crashes handling is limited like any other, not sent again and again for free."""
        async with self.store.transaction():
            await limits.over(
                self.store, self.limits.messages, limits.person(channel, user_id), self.clock()
            )

    async def notify(self, events: list[tuple[str, int]]) -> None:
        """Tell the listeners (a live tally) what a committed message did."""
        for name, value in events:
            for listener in self.listeners:
                try:
                    await listener(name, value)
                except Exception:
                    log.exception("a listener failed on %s %s", name, value)

    async def mark_unreachable(self, channel: str, user_id: str) -> None:
        """The platform says this person cannot be messaged (blocked the bot, unfollowed)."""
        member = await self.store.get_member(channel, user_id)
        if member is not None:
            await members.set_reachable(self.store, member, False)

    async def poll_results(self, channel: str, user_id: str, poll_id: int) -> list[Outgoing]:
        """A poll's current count, rendered for one team member (for a live tally)."""
        member = await self.store.get_member(channel, user_id)
        poll = await self.store.get_poll(poll_id)
        if member is None or poll is None or poll.tambon_id != member.tambon_id:
            return []
        locale = member.locale if member.locale in i18n.LOCALES else self.default_locale
        return [self.render(reply, locale) for reply in await poll_report(self.store, poll)]

    def locale_of(self, member: Member | None) -> str:
        if member is not None and member.locale in i18n.LOCALES:
            return member.locale
        return self.default_locale

    async def file(self, ref: FileRef) -> reportfiles.RenderedFile | None:
        """The bytes of a file a reply refers to; None when its link has expired or the file
        could not be made (logged; the channel says ``file_failed`` instead)."""
        try:
            if ref.kind == PERSONAL_DATA:
                return await self._personal_file(int(ref.token))
            return await reportfiles.render_token(self.store, ref.token, ref.kind, self.need_rule)
        except Exception:
            log.exception("could not make the %s file of a report link", ref.kind)
            return None

    async def _personal_file(self, member_id: int) -> reportfiles.RenderedFile | None:
        """What is kept about a person, as JSON (their /mydata), made when it is sent: None
        once they are forgotten."""
        member = await self.store.get_member_by_id(member_id)
        if member is None or member.removed_at is not None:
            return None
        data = personal.as_json(await personal.personal_data(self.store, member))
        body = json.dumps(data, ensure_ascii=False, indent=2).encode()
        return reportfiles.RenderedFile(body, "mydata.json", "application/json")

    def render(self, reply: Reply, locale: str) -> Outgoing:
        """A reply for one person: every parameter that is not the reader's own words is shown
        with phone and ID numbers hidden (``i18n.render_for_person``)."""
        return Outgoing(
            text=i18n.render_for_person(reply.text, locale),
            choices=tuple(
                (i18n.render_for_person(c.label, locale), c.payload) for c in reply.choices
            ),
            reply=reply,
            file_url=(
                reportlinks.url(self.public_url, reply.file.token, reply.file.kind)
                if reply.file is not None
                and reply.file.kind in reportlinks.KINDS
                and self.public_url
                else None
            ),
            no_file=(
                i18n.render_for_person(reply.no_file, locale)
                if reply.no_file is not None
                else None
            ),
            file_failed=i18n.render(FILE_FAILED, locale) if reply.file is not None else None,
        )


def _with_offer(
    conversation: Conversation,
    rendered: list[Outgoing],
    before: tuple[str, list[tuple[str, str]]] | None,
) -> Conversation:
    """Remember the choices shown last, so that a typed number or label finds its button.

    Replies without choices leave an unchanged question's choices in place (a vote cast with
    an old card's button while a draft waits for confirmation); leaving a step drops them.
    """
    # A card updated in place (a ballot card after a tap) is no new list to type a number of.
    last = next(
        (o.choices for o in reversed(rendered) if o.choices and not o.reply.in_place_only), ()
    )
    if last:
        conversation.offered = [(payload, label) for label, payload in last]
    elif not conversation.step or not (before and before[0] == conversation.step):
        # Between flows only the buttons of the reply just sent count (a summary's "full
        # report"): a number typed later is a message, not an old button.
        conversation.offered = []
    return conversation
