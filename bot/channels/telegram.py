"""The Telegram channel, on python-telegram-bot.

Only translation happens here: a Telegram update becomes an :class:`Incoming`, the engine's
:class:`Outgoing` replies become Bot API calls with inline keyboards. Replies are plain text
(no parse mode), so nothing a villager typed can be read as markup. Updates come in and replies
go out through :mod:`bot.pipeline`, the durable path every channel shares:

- Long polling: a batch from ``getUpdates`` is written to the inbox before the next call
  confirms it to Telegram (the offset), so a crash never loses an update. python-telegram-bot's
  own Updater confirms a batch before handling it, so this channel polls by itself.
- Webhook: an update is answered 200 once it is in the inbox; a body that is not an update gets
  400 and nothing is kept.
- The redelivery key is the bot's id with the ``update_id``: a new token on the same store, or
  Telegram numbering afresh, cannot make a new update look handled.
- A pressed button is always answered (the spinner stops), and the message that carried it is
  edited to show the choice without buttons, so an old keyboard cannot be pressed again.
- In groups the bot answers only commands and mentions, and then only to invite people to a
  private chat: nothing personal is ever posted in a group.
- Sending: a 429 waits its ``retry_after``; a timeout, 5xx or lost connection is retried; a 403
  (the person blocked the bot) marks the member unreachable.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

# Opt in to PTB's timedelta-valued durations now rather than through deprecation warnings.
os.environ.setdefault("PTB_TIMEDELTA", "true")

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    MenuButtonCommands,
    Message,
    Update,
)
from telegram.constants import ChatType, MessageLimit
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError

from bot import i18n
from bot.channels import GROUP_NOTICE, MAX_PHOTO_BYTES, Pace, split_text
from bot.channels.aiohttprequest import AiohttpRequest
from bot.core import Engine, Outgoing
from bot.pipeline import Decoded, Pipeline, Refused, Transient, Unreachable
from handlers import menu
from handlers.services import members
from handlers.types import Attachment, Incoming, Media, T
from storage.base import InboxItem

CHANNEL = "telegram"
MESSAGES_PER_SECOND = 30  # a bot's overall limit (Bot API FAQ)
# Updates handled at once (different senders only); chosen by bench/telegram_intake.py.
DEFAULT_CONCURRENCY = 8
# Seconds between two edits of one live tally message.
LIVE_TALLY_INTERVAL = 3.0
# Seconds a getUpdates call waits for updates (long polling).
POLL_TIMEOUT = 10
MAX_PARSED = 10_000  # parsed updates kept for the handler; beyond, they are parsed again
TOAST_CHARS = 200  # answerCallbackQuery's text
PER_CHAT_INTERVAL = 1.0  # seconds between bulk messages to one chat
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
CHOSEN_MARK = "\n\n👉 "
# Seconds a long-polling call may take beyond its timeout before we give up on it.
POLL_READ_MARGIN = 10.0
# The parts of an update that carry its sender.
_SENDER_PARTS = ("message", "edited_message", "callback_query", "my_chat_member")

log = logging.getLogger(__name__)


class LiveTallies:
    """Team members' /results messages, edited in place as ballots arrive.

    Edits of one message are at least ``interval`` seconds apart (Telegram limits edits), and a
    burst of ballots leads to one edit at the end of the interval. The list lives in memory:
    after a restart a team member types /results again.
    """

    def __init__(self, channel: TelegramChannel, interval: float) -> None:
        self.channel = channel
        self.interval = interval
        self._watched: dict[int, dict[tuple[int, int], str]] = {}  # poll -> (chat, msg) -> user
        self._pending: dict[tuple[int, int], asyncio.Task[None]] = {}
        self._last: dict[tuple[int, int], float] = {}
        self._shown: dict[tuple[int, int], str] = {}
        self._dirty: set[tuple[int, int]] = set()

    def watch(self, poll_id: int, chat_id: int, message_id: int, user_id: str) -> None:
        self._watched.setdefault(poll_id, {})[(chat_id, message_id)] = user_id
        self._last[(chat_id, message_id)] = asyncio.get_running_loop().time()

    async def on_event(self, name: str, poll_id: int) -> None:
        if name != "ballot":
            return
        for key, user_id in list(self._watched.get(poll_id, {}).items()):
            self._dirty.add(key)
            if key not in self._pending:
                self._pending[key] = asyncio.create_task(self._refresh(poll_id, key, user_id))

    async def _refresh(self, poll_id: int, key: tuple[int, int], user_id: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            # Ballots that arrive while an edit is under way lead to one more edit after it.
            while key in self._dirty:
                wait = self._last.get(key, 0.0) + self.interval - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._dirty.discard(key)
                outs = await self.channel.engine.poll_results(CHANNEL, user_id, poll_id)
                if not outs or outs[0].text == self._shown.get(key):
                    continue
                await self._edit(key, outs[0].text, user_id)
                self._shown[key] = outs[0].text
                self._last[key] = loop.time()
        finally:
            self._pending.pop(key, None)

    async def _edit(self, key: tuple[int, int], text: str, user_id: str) -> None:
        chat_id, message_id = key
        try:
            await self.channel.bot.edit_message_text(
                text[: MessageLimit.MAX_TEXT_LENGTH], chat_id, message_id
            )
        except TelegramError as error:
            # Not worth a retry: the next ballot brings a fresher count.
            log.info("live tally %s not edited: %s", key, error)

    async def close(self) -> None:
        for task in list(self._pending.values()):
            task.cancel()
        await asyncio.gather(*self._pending.values(), return_exceptions=True)


def keyboard(out: Outgoing) -> InlineKeyboardMarkup | None:
    if not out.choices:
        return None
    buttons = [
        InlineKeyboardButton(label, callback_data=payload) for label, payload in out.choices
    ]
    width = max(1, out.reply.columns)
    return InlineKeyboardMarkup([buttons[i : i + width] for i in range(0, len(buttons), width)])


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def update_sender(data: Any) -> str | None:
    """Whose update this is (the sender's user id), or None when it is not a usable update."""
    if not isinstance(data, dict):
        return None
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return None
    for part in _SENDER_PARTS:
        body = data.get(part)
        if body is None:
            continue
        sender = body.get("from") if isinstance(body, dict) else None
        user_id = sender.get("id") if isinstance(sender, dict) else None
        if isinstance(user_id, int) and not isinstance(user_id, bool):
            return str(user_id)
        return None
    return None  # an update kind we did not ask for


def well_formed(data: dict[str, Any]) -> bool:
    """Whether an update's texts are texts: a forged one with a number or an object for a
    message's text or a button's data is no update Telegram sends."""
    for part in _SENDER_PARTS:
        body = data.get(part)
        if not isinstance(body, dict):
            continue
        for name in ("text", "caption", "data"):
            if name in body and not isinstance(body[name], str):
                return False
    return True


def storable_json(data: Any) -> str:
    """An update as JSON the store can keep: an unpaired UTF-16 surrogate (which Telegram may
    pass on from a client) becomes U+FFFD instead of failing the whole batch's write."""
    text = json.dumps(data, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


class TelegramChannel:
    """Runs the engine's conversation on Telegram."""

    name = CHANNEL

    def __init__(
        self,
        engine: Engine,
        token: str,
        *,
        base_url: str | None = None,
        webhook: bool = False,
        default_locale: str = i18n.DEFAULT_LOCALE,
        concurrency: int = DEFAULT_CONCURRENCY,
        live_interval: float = LIVE_TALLY_INTERVAL,
        pipeline: Pipeline | None = None,
        poll_timeout: int = POLL_TIMEOUT,
        messages_per_second: float = MESSAGES_PER_SECOND,
    ) -> None:
        self.engine = engine
        self.live = LiveTallies(self, live_interval)
        engine.listeners.append(self.live.on_event)
        self.default_locale = default_locale
        self.webhook = webhook
        self.poll_timeout = poll_timeout
        # The bot's own id is the first part of its token: part of every redelivery key.
        self.bot_id = token.partition(":")[0]
        urls: dict[str, Any] = {}
        if base_url:
            urls = {"base_url": base_url, "base_file_url": base_url.replace("/bot", "/file/bot")}
        self.bot = Bot(
            token,
            request=AiohttpRequest(connection_pool_size=concurrency + 8),
            get_updates_request=AiohttpRequest(),
            **urls,
        )
        self.pipeline = pipeline or Pipeline(engine, concurrency=concurrency)
        self.pipeline.register(self)
        # Telegram: about 30 messages a second for a bot in all, else 429s.
        self.pace = Pace(messages_per_second)
        self._polling: asyncio.Task[None] | None = None
        self._last_bulk: dict[int, float] = {}  # when each chat was last sent a notice
        self._parsed: dict[str, Update] = {}  # updates read on arrival, by key, until handled
        self.ready = False

    # -- life cycle -----------------------------------------------------------------------

    async def start(self, *, webhook_url: str | None = None, secret: str | None = None) -> None:
        await self._introduce()
        await self._set_menu()
        await self.pipeline.start()
        if webhook_url:
            await self.bot.set_webhook(
                webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
            )
        elif not self.webhook:
            # Telegram refuses getUpdates while a webhook is set; pending updates stay.
            await self.bot.delete_webhook(drop_pending_updates=False)
            self._polling = asyncio.create_task(self._poll())
        self.ready = True

    async def _introduce(self) -> None:
        """getMe, until Telegram answers: a network down or Telegram away at start is waited
        out (said in the log, with backoff up to a minute); a token Telegram refuses is not."""
        pause = 1.0
        while True:
            try:
                await self.bot.initialize()
                return
            except (InvalidToken, Forbidden):
                raise
            except TelegramError as error:
                log.warning(
                    "Telegram did not answer getMe (%s); trying again in %.0f s", error, pause
                )
                await asyncio.sleep(pause)
                pause = min(60.0, pause * 2)

    # The languages Telegram's command list is set in: for users whose app uses the language,
    # and (None) for everyone else, in the default locale.
    COMMAND_LANGUAGES = ("th", "en", None)

    def commands(self, *, team: bool, language: str | None) -> list[BotCommand]:
        """The command list for the villagers or the team, in ``language``."""
        locale = language or self.default_locale
        return [
            BotCommand(e.command, i18n.render(e.description, locale)[:256])
            for e in menu.command_list(team)
        ]

    async def _set_menu(self) -> None:
        """Everyone's command list, in Thai and English, and the menu button that opens it. A
        failure is logged, not fatal: the words and /menu work without it."""
        try:
            for language in self.COMMAND_LANGUAGES:
                await self.bot.set_my_commands(
                    self.commands(team=False, language=language), language_code=language
                )
            await self.bot.set_chat_menu_button(menu_button=MenuButtonCommands())
        except TelegramError as error:
            log.warning("could not set Telegram's command list: %s", error)

    async def _set_chat_menu(self, chat: int, team: bool) -> None:
        """The team's command list in a team member's own chat, or the default there again."""
        scope = BotCommandScopeChat(chat)
        for language in self.COMMAND_LANGUAGES:
            if team:
                await self.bot.set_my_commands(
                    self.commands(team=True, language=language),
                    scope=scope,
                    language_code=language,
                )
            else:
                await self.bot.delete_my_commands(scope=scope, language_code=language)

    async def stop(self) -> None:
        self.ready = False
        if self._polling is not None:
            self._polling.cancel()
            await asyncio.gather(self._polling, return_exceptions=True)
        await self.live.close()
        await self.pipeline.stop()
        await self.bot.shutdown()

    async def photo(self, file_id: str) -> bytes | None:
        """A photo someone sent, fetched from Telegram for the team's workbench (never stored);
        None when Telegram no longer has it, it is too large, or Telegram cannot be reached."""
        try:
            found = await self.bot.get_file(file_id)
            if found.file_size is not None and found.file_size > MAX_PHOTO_BYTES:
                return None
            data = bytes(await found.download_as_bytearray())
        except TelegramError as error:
            log.info("a photo could not be fetched from Telegram: %s", error)
            return None
        return data if len(data) <= MAX_PHOTO_BYTES else None

    # -- updates in -------------------------------------------------------------------------

    def _parsed_for_handler(self, key: str, update: Update) -> None:
        """Keep an update python-telegram-bot has just read for its handler, so that it is not
        parsed again (at most MAX_PARSED of them)."""
        if len(self._parsed) > MAX_PARSED:
            self._parsed.clear()
        self._parsed[key] = update

    async def process_webhook(self, data: Any) -> bool:
        """Keep one update posted to the webhook; False when it is not an update (nothing
        kept). Returns once it is committed to the inbox (or to the dead letters, when it is
        one we cannot read): then Telegram may be told. An update of a kind we did not ask for
        is confirmed and dropped, so that Telegram does not send it again and again."""
        if (
            isinstance(data, dict)
            and isinstance(data.get("update_id"), int)
            and not any(part in data for part in _SENDER_PARTS)
        ):
            log.info("Telegram update of a kind we did not ask for dropped")
            return True
        if update_sender(data) is None or not well_formed(data):
            return False
        await self._keep([data])
        return True

    async def _keep(self, batch: Sequence[Any]) -> None:
        """Keep a batch of raw updates, each read on its own: the readable ones go to the
        inbox, an unreadable one (python-telegram-bot cannot parse it) to the dead letters, a
        kind we did not ask for nowhere. One bad update never holds up the others."""
        items: list[InboxItem] = []
        unreadable: list[InboxItem] = []
        for raw in batch:
            sender = update_sender(raw)
            if sender is None or not well_formed(raw):
                log.info("Telegram update %.40r dropped: not one we read", raw)
                continue
            payload = storable_json(raw)  # what the store keeps, and what the handler reads
            data = json.loads(payload)
            item = InboxItem(f"{self.bot_id}:{data['update_id']}", sender, payload)
            try:
                update = Update.de_json(data, self.bot)
            except Exception as error:
                log.warning("Telegram update %s unreadable: %s", data.get("update_id"), error)
                unreadable.append(item)
                continue
            self._parsed_for_handler(item.key, update)
            items.append(item)
        await self.pipeline.accept(CHANNEL, items)
        for item in unreadable:
            await self.pipeline.store.dead_letter_add(CHANNEL, item, "unreadable update")

    async def _poll(self) -> None:
        """Long polling that confirms a batch only once it is in the inbox."""
        offset: int | None = None
        pause = 1.0
        while True:
            try:
                # The raw batch, read here one update at a time: Bot.get_updates parses the
                # whole batch at once, so one update it cannot read would fail every call.
                batch = await self.bot._post(
                    "getUpdates",
                    {
                        "offset": offset,
                        "timeout": self.poll_timeout,
                        "allowed_updates": ALLOWED_UPDATES,
                    },
                    read_timeout=self.poll_timeout + POLL_READ_MARGIN,
                )
                ids = [
                    u["update_id"]
                    for u in batch or []
                    if isinstance(u, dict) and isinstance(u.get("update_id"), int)
                ]
                if ids:
                    await self._keep(batch)
                    # The next call's offset tells Telegram this batch arrived.
                    offset = max(ids) + 1
                pause = 1.0
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # Telegram or the store is away: the same batch is asked for again.
                log.warning("Telegram polling: %s; again in %.0f s", error, pause)
                await asyncio.sleep(pause)
                pause = min(30.0, pause * 2)

    def decode(self, key: str, payload: str) -> Decoded | None:
        # An update this process received a moment ago is already parsed.
        update = self._parsed.pop(key, None) or Update.de_json(json.loads(payload), self.bot)
        if update.callback_query is not None:
            query = update.callback_query
            user_id = str(query.from_user.id)
            message = query.message if isinstance(query.message, Message) else None
            context: dict[str, Any] = {}
            if message is not None:
                context["pressed"] = {
                    "chat": message.chat.id,
                    "message_id": message.message_id,
                    "text": message.text,
                    "chosen": self._chosen_label(message, query.data),
                }
            # Answered with the replies (plan): with a short notice when the answer is one.
            context["callback"] = query.id
            return Decoded(
                recipient=str(message.chat.id) if message is not None else user_id,
                incoming=Incoming(CHANNEL, user_id, choice=query.data),
                context=context,
            )
        if update.my_chat_member is not None:
            member = update.my_chat_member
            if member.chat.type == ChatType.PRIVATE and member.new_chat_member.status == "kicked":
                return Decoded(recipient=str(member.chat.id), unreachable=True)
            return None
        message = update.message or update.edited_message
        if message is None or message.from_user is None:
            return None
        if message.chat.type != ChatType.PRIVATE:
            return self._group_message(message)
        return Decoded(
            recipient=str(message.chat.id),
            incoming=self.incoming(message, edited=update.edited_message is not None),
        )

    @staticmethod
    def incoming(message: Message, *, edited: bool = False) -> Incoming:
        """A private Telegram message as the engine sees it."""
        assert message.from_user is not None
        attachment: Attachment | None = None
        if message.photo:
            attachment = Attachment(Media.PHOTO, file_id=message.photo[-1].file_id)
        elif message.location is not None:
            attachment = Attachment(
                Media.LOCATION,
                latitude=message.location.latitude,
                longitude=message.location.longitude,
            )
        elif message.sticker is not None:
            attachment = Attachment(Media.STICKER, file_id=message.sticker.file_id)
        elif message.text is None and message.caption is None:
            attachment = Attachment(Media.OTHER)  # voice, video, documents...
        return Incoming(
            channel=CHANNEL,
            user_id=str(message.from_user.id),
            text=message.text if message.text is not None else message.caption,
            attachment=attachment,
            message_id=f"{message.chat.id}:{message.message_id}",
            locale_hint=message.from_user.language_code,
            edited=edited,
        )

    def _group_message(self, message: Message) -> Decoded | None:
        """Answer commands and mentions in a group with an invitation to a private chat."""
        username = self.bot.username
        text = message.text or message.caption or ""
        addressed = (
            text.startswith("/")
            or f"@{username}".lower() in text.lower()
            or (
                message.reply_to_message is not None
                and message.reply_to_message.from_user is not None
                and message.reply_to_message.from_user.id == self.bot.id
            )
        )
        if not addressed:
            return None
        notice = i18n.render(
            T(GROUP_NOTICE.msgid, link=f"https://t.me/{username}"), self.default_locale
        )
        call = {
            "op": "send",
            "chat": message.chat.id,
            "reply_to": message.message_id,
            "out": Outgoing(notice).to_dict(),
        }
        return Decoded(recipient=str(message.chat.id), calls=[call])

    @staticmethod
    def _chosen_label(message: Message, data: str | None) -> str | None:
        markup = message.reply_markup
        if markup is None:
            return None
        for row in markup.inline_keyboard:
            for button in row:
                if button.callback_data == data:
                    return button.text
        return None

    # -- replies out ------------------------------------------------------------------------

    def plan(self, decoded: Decoded, replies: Sequence[Outgoing]) -> list[dict[str, Any]]:
        """The Bot API calls for the replies: one text piece, photo or document each."""
        chat = int(decoded.recipient)
        calls: list[dict[str, Any]] = []
        outs = list(replies)
        callback = decoded.context.get("callback")
        if callback is not None:
            # Every press is answered (the spinner stops), first: a toast when the reply is one.
            answer: dict[str, Any] = {"op": "answer", "id": callback}
            if outs and outs[0].reply.toast:
                answer["text"] = outs.pop(0).text[:TOAST_CHARS]
            calls.append(answer)
        pressed = decoded.context.get("pressed")
        if pressed is not None and outs:
            where = {"chat": pressed["chat"], "message_id": pressed["message_id"]}
            if outs[0].reply.edit_previous:
                first, *outs = outs
                calls.append({"op": "edit", **where, "out": first.to_dict()})
            elif (
                pressed["chosen"] is not None
                and pressed["text"]
                and not any(o.reply.keep_buttons for o in outs)
            ):
                text = pressed["text"] + CHOSEN_MARK + pressed["chosen"]
                calls.append({"op": "edit", **where, "out": Outgoing(text).to_dict()})
        if (
            outs and outs[0].reply.menu is not None
        ):  # the person's own chat: engine replies go there
            calls.append(
                {"op": "menu", "chat": chat, "team": outs[0].reply.menu == members.TEAM_MENU}
            )
        for out in outs:
            if not out.reply.in_place_only:  # no pressed message to put it in: left out
                calls += self._plan_one(chat, out)
        return calls

    @staticmethod
    def _plan_one(chat: int, out: Outgoing) -> list[dict[str, Any]]:
        if out.reply.qr is not None and len(out.text) <= MessageLimit.CAPTION_LENGTH:
            return [{"op": "qr", "chat": chat, "out": out.to_dict()}]
        if out.reply.file is not None:
            if len(out.text) <= MessageLimit.CAPTION_LENGTH:
                return [{"op": "file", "chat": chat, "out": out.to_dict()}]
            # Too long for a caption: the text first, then the file with the buttons.
            text = TelegramChannel._plan_one(chat, out.but(file=None, choices=()))
            return [*text, {"op": "file", "chat": chat, "out": out.but(text="").to_dict()}]
        pieces = split_text(out.text, MessageLimit.MAX_TEXT_LENGTH)
        calls = []
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            part = out.but(
                text=piece,
                choices=out.choices if last else (),
                live_tally=out.reply.live_tally if len(pieces) == 1 else None,
            )
            calls.append({"op": "send", "chat": chat, "out": part.to_dict()})
        return calls

    async def deliver(self, recipient: str, call: dict[str, Any]) -> None:
        """Make one planned Bot API call, sorting its failures for the pipeline.

        New messages are paced (Telegram's 30 a second for a bot): answers first, notices
        behind them and, to one chat, at most one a second. Answering a press (its toast)
        and editing the pressed card send no new message: they go at once."""
        if call.get("bulk"):
            await self._chat_pause(int(call.get("chat", 0)))
            await self.pace.wait(bulk=True)
        elif call["op"] not in ("answer", "edit", "menu"):
            await self.pace.wait()
        try:
            await self._call(recipient, call)
        except RetryAfter as error:
            raise Transient(str(error), _seconds(error.retry_after)) from error
        except Forbidden as error:
            raise Unreachable(str(error)) from error
        except BadRequest as error:
            raise Refused(str(error)) from error
        except TelegramError as error:  # timeouts, 5xx, lost connections
            raise Transient(str(error)) from error

    async def _chat_pause(self, chat: int) -> None:
        """Bulk messages to one chat: one a second at most (Telegram's limit per chat)."""
        loop = asyncio.get_running_loop()
        wait = self._last_bulk.get(chat, float("-inf")) + PER_CHAT_INTERVAL - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        if len(self._last_bulk) > 10_000:  # forget chats long done with
            cutoff = loop.time() - PER_CHAT_INTERVAL
            self._last_bulk = {c: t for c, t in self._last_bulk.items() if t > cutoff}
        self._last_bulk[chat] = loop.time()

    async def send(self, chat_id: int, user_id: str, outs: Sequence[Outgoing]) -> None:
        """Send replies at once, without the outbox (tools and tests)."""
        for call in self.plan(Decoded(recipient=str(chat_id)), outs):
            await self.deliver(user_id, call)

    async def _call(self, recipient: str, call: dict[str, Any]) -> None:
        op = call["op"]
        if op == "answer":
            try:
                await self.bot.answer_callback_query(call["id"], text=call.get("text"))
            except BadRequest:
                log.info("callback query %s too old to answer", call["id"])
            return
        if op == "menu":
            await self._set_chat_menu(int(call["chat"]), bool(call["team"]))
            return
        out = Outgoing.from_dict(call["out"])
        chat = int(call["chat"])
        if op == "edit":
            try:
                # The edited message that Telegram sends back is not read (python-telegram-bot
                # would build a Message of it, a third of the call's cost): the raw call.
                await self.bot._post(
                    "editMessageText",
                    {
                        "chat_id": chat,
                        "message_id": int(call["message_id"]),
                        "text": out.text[: MessageLimit.MAX_TEXT_LENGTH],
                        "reply_markup": keyboard(out),
                    },
                )
            except BadRequest as error:
                # "message is not modified" or too old to edit: the next reply still goes out.
                log.info("could not edit message %s: %s", call["message_id"], error)
        elif op == "send":
            sent = await self.bot.send_message(
                chat,
                out.text,
                reply_markup=keyboard(out),
                reply_to_message_id=call.get("reply_to"),
            )
            if out.reply.live_tally is not None:
                self.live.watch(out.reply.live_tally, chat, sent.message_id, recipient)
        elif op == "qr":
            await self._send_qr(chat, out)
        elif op == "file":
            await self._send_file(chat, out)
        else:
            raise Refused(f"unknown call {op!r}")

    async def _send_qr(self, chat_id: int, out: Outgoing) -> None:
        """The text as a photo caption under a QR code that opens this bot with the command."""
        from bot.charts import qr_png

        assert out.reply.qr is not None
        command, _, argument = out.reply.qr.lstrip("/").partition(" ")
        start = f"{command}-{argument}" if argument else command
        link = f"https://t.me/{self.bot.username}?start={start}"
        await self.bot.send_photo(chat_id, qr_png(link), caption=out.text)

    async def _send_file(self, chat_id: int, out: Outgoing) -> None:
        """A chart as a photo, a report as a document; the text as caption. A file that cannot
        be made or sent becomes its link, or a sentence saying why there is none."""
        assert out.reply.file is not None
        rendered = await self.engine.file(out.reply.file)
        if rendered is None:
            await self._send_text(chat_id, out.without_file())
            return
        upload = InputFile(rendered.data, filename=rendered.filename)
        caption = out.text or None
        try:
            if out.reply.file.kind == "chart":
                await self.bot.send_photo(
                    chat_id, upload, caption=caption, reply_markup=keyboard(out)
                )
            else:
                await self.bot.send_document(
                    chat_id, upload, caption=caption, reply_markup=keyboard(out)
                )
        except BadRequest as error:
            log.warning("Telegram refused a %s file: %s", out.reply.file.kind, error)
            fallback = out.file_url or out.no_file or out.file_failed or ""
            text = f"{out.text}\n\n{fallback}".strip()
            await self._send_text(chat_id, out.but(text=text, file=None))

    async def _send_text(self, chat_id: int, out: Outgoing) -> None:
        """A file's text alone, split into messages as the plan splits every text."""
        for call in self._plan_one(chat_id, out.but(file=None)):
            await self._call(str(chat_id), call)
