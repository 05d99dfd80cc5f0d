"""The Telegram channel, on python-telegram-bot.

Only translation happens here: a Telegram update becomes an :class:`Incoming`, the engine's
:class:`Outgoing` replies become messages with inline keyboards. Replies are plain text (no
parse mode), so nothing a villager typed can be read as markup.

- Every update is handled once: its ``update_id`` is the key the engine records in the same
  transaction as its effects.
- A pressed button is always answered (the spinner stops), and the message that carried it is
  edited to show the choice without buttons, so an old keyboard cannot be pressed again.
- In groups the bot answers only commands and mentions, and then only to invite people to a
  private chat: nothing personal is ever posted in a group.
- A 429 is retried after its ``retry_after``; a 403 (the person blocked the bot) marks the member
  unreachable instead of retrying.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any, TypeVar

# Opt in to PTB's timedelta-valued durations now rather than through deprecation warnings.
os.environ.setdefault("PTB_TIMEDELTA", "true")

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
)
from telegram.constants import ChatType, MessageLimit
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ContextTypes,
    TypeHandler,
)

from bot import i18n
from bot.channels import GROUP_NOTICE, split_text
from bot.core import Engine, Outgoing
from handlers.types import Attachment, Incoming, Media, T

CHANNEL = "telegram"
MAX_SEND_ATTEMPTS = 4
# Updates handled at once (different senders only); chosen by bench/telegram_intake.py.
DEFAULT_CONCURRENCY = 8
# Seconds between two edits of one live tally message.
LIVE_TALLY_INTERVAL = 3.0
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
CHOSEN_MARK = "\n\n👉 "

log = logging.getLogger(__name__)
R = TypeVar("R")


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
            await self.channel._retrying(
                lambda: self.channel.app.bot.edit_message_text(
                    text[: MessageLimit.MAX_TEXT_LENGTH], chat_id, message_id
                ),
                user_id=user_id,
            )
        except BadRequest as error:
            log.info("live tally %s not edited: %s", key, error)

    async def close(self) -> None:
        for task in list(self._pending.values()):
            task.cancel()
        await asyncio.gather(*self._pending.values(), return_exceptions=True)


class PerSenderUpdateProcessor(BaseUpdateProcessor):
    """Handle updates concurrently, but each sender's updates one at a time and in order.

    Concurrency lets one person's database work overlap another's network round trip; the
    per-sender lock keeps a conversation's steps in the order they were sent.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _sender(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                await coroutine
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def _sender(update: object) -> int:
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return 0


def keyboard(out: Outgoing) -> InlineKeyboardMarkup | None:
    if not out.choices:
        return None
    buttons = [
        InlineKeyboardButton(label, callback_data=payload) for label, payload in out.choices
    ]
    width = max(1, out.columns)
    return InlineKeyboardMarkup([buttons[i : i + width] for i in range(0, len(buttons), width)])


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramChannel:
    """Runs the engine's conversation on Telegram."""

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
    ) -> None:
        self.engine = engine
        self.live = LiveTallies(self, live_interval)
        engine.listeners.append(self.live.on_event)
        self.default_locale = default_locale
        builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = Application.builder().token(
            token
        )
        if base_url:
            builder = builder.base_url(base_url).base_file_url(
                base_url.replace("/bot", "/file/bot")
            )
        if webhook:
            builder = builder.updater(None)
        if concurrency > 1:
            builder = builder.concurrent_updates(PerSenderUpdateProcessor(concurrency))
            builder = builder.connection_pool_size(concurrency + 4)
        self.app = builder.build()
        self.app.add_handler(TypeHandler(Update, self._on_update))
        self.app.add_error_handler(self._on_error)

    # -- life cycle -----------------------------------------------------------------------

    async def start(self, *, webhook_url: str | None = None, secret: str | None = None) -> None:
        await self.app.initialize()
        await self.app.start()
        if webhook_url:
            await self.app.bot.set_webhook(
                webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
            )
        elif self.app.updater is not None:
            await self.app.updater.start_polling(allowed_updates=ALLOWED_UPDATES)

    async def stop(self) -> None:
        await self.live.close()
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    async def process_webhook(self, data: dict[str, Any]) -> None:
        """Handle one update posted to the webhook; returns when it is stored and answered."""
        update = Update.de_json(data, self.app.bot)
        await self.app.process_update(update)

    # -- updates --------------------------------------------------------------------------

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            await self._on_callback(update, update.callback_query)
            return
        if update.my_chat_member is not None:
            member = update.my_chat_member
            if member.chat.type == ChatType.PRIVATE and member.new_chat_member.status == "kicked":
                await self.engine.mark_unreachable(CHANNEL, str(member.from_user.id))
            return
        message = update.message or update.edited_message
        if message is None or message.from_user is None:
            return
        if message.chat.type != ChatType.PRIVATE:
            await self._on_group_message(message)
            return
        incoming = self.incoming(message, edited=update.edited_message is not None)
        outs = await self.engine.handle(incoming, update_key=str(update.update_id))
        await self.send(message.chat.id, incoming.user_id, outs)

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

    async def _on_group_message(self, message: Message) -> None:
        """Answer commands and mentions in a group with an invitation to a private chat."""
        username = self.app.bot.username
        text = message.text or message.caption or ""
        addressed = (
            text.startswith("/")
            or f"@{username}".lower() in text.lower()
            or (
                message.reply_to_message is not None
                and message.reply_to_message.from_user is not None
                and message.reply_to_message.from_user.id == self.app.bot.id
            )
        )
        if not addressed:
            return
        notice = i18n.render(
            T(GROUP_NOTICE.msgid, link=f"https://t.me/{username}"), self.default_locale
        )
        await self._retrying(lambda: message.reply_text(notice, do_quote=True), user_id=None)

    async def _on_callback(self, update: Update, query: CallbackQuery) -> None:
        # Answer first: the spinner stops at once, whatever the handling takes.
        try:
            await self._retrying(query.answer, user_id=None)
        except BadRequest:
            log.info("callback query %s too old to answer", query.id)
        user_id = str(query.from_user.id)
        incoming = Incoming(CHANNEL, user_id, choice=query.data)
        outs = await self.engine.handle(incoming, update_key=str(update.update_id))
        message = query.message
        if not outs or not isinstance(message, Message):
            return
        if outs[0].edit_previous:
            first, *rest = outs
            await self._edit(message, first.text, keyboard(first), user_id)
            await self.send(message.chat.id, user_id, rest)
            return
        chosen = self._chosen_label(message, query.data)
        if chosen is not None and message.text and not any(o.keep_buttons for o in outs):
            text = message.text + CHOSEN_MARK + chosen
            await self._edit(message, text[: MessageLimit.MAX_TEXT_LENGTH], None, user_id)
        await self.send(message.chat.id, user_id, outs)

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

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling a Telegram update", exc_info=context.error)

    # -- sending --------------------------------------------------------------------------

    async def send(self, chat_id: int, user_id: str, outs: Sequence[Outgoing]) -> None:
        """Send replies in order; long texts are split, buttons go with the last piece."""
        for out in outs:
            if out.qr is not None and len(out.text) <= MessageLimit.CAPTION_LENGTH:
                await self._send_qr(chat_id, user_id, out)
                continue
            if out.file is not None:
                await self._send_file(chat_id, user_id, out)
                continue
            pieces = split_text(out.text, MessageLimit.MAX_TEXT_LENGTH)
            for index, piece in enumerate(pieces):
                markup = keyboard(out) if index == len(pieces) - 1 else None
                sent = await self._retrying(
                    lambda piece=piece, markup=markup: self.app.bot.send_message(  # type: ignore[misc]
                        chat_id, piece, reply_markup=markup
                    ),
                    user_id=user_id,
                )
                if sent is None:
                    return  # unreachable: no point sending the rest
                if out.live_tally is not None and len(pieces) == 1:
                    self.live.watch(out.live_tally, chat_id, sent.message_id, user_id)

    async def _send_qr(self, chat_id: int, user_id: str, out: Outgoing) -> None:
        """The text as a photo caption under a QR code that opens this bot with the command."""
        from bot.polls import qr_png

        assert out.qr is not None
        command, _, argument = out.qr.lstrip("/").partition(" ")
        start = f"{command}-{argument}" if argument else command
        link = f"https://t.me/{self.app.bot.username}?start={start}"
        await self._retrying(
            lambda: self.app.bot.send_photo(chat_id, qr_png(link), caption=out.text),
            user_id=user_id,
        )

    async def _send_file(self, chat_id: int, user_id: str, out: Outgoing) -> None:
        """A chart as a photo, a report as a document; the text as caption when it fits."""
        assert out.file is not None
        rendered = await self.engine.file(out.file)
        if rendered is None:
            await self.send(chat_id, user_id, [out.without_file()])
            return
        markup = keyboard(out)
        caption: str | None = out.text
        if len(out.text) > MessageLimit.CAPTION_LENGTH:
            await self.send(chat_id, user_id, [replace(out, file=None, choices=())])
            caption = None
        upload = InputFile(rendered.data, filename=rendered.filename)
        if out.file.kind == "chart":
            await self._retrying(
                lambda: self.app.bot.send_photo(
                    chat_id, upload, caption=caption, reply_markup=markup
                ),
                user_id=user_id,
            )
        else:
            await self._retrying(
                lambda: self.app.bot.send_document(
                    chat_id, upload, caption=caption, reply_markup=markup
                ),
                user_id=user_id,
            )

    async def _edit(
        self, message: Message, text: str, markup: InlineKeyboardMarkup | None, user_id: str
    ) -> None:
        try:
            await self._retrying(
                lambda: message.edit_text(text, reply_markup=markup), user_id=user_id
            )
        except BadRequest as error:
            # "message is not modified" or too old to edit: the new reply still goes out.
            log.info("could not edit message %s: %s", message.message_id, error)

    async def _retrying(
        self, call: Callable[[], Awaitable[R]], *, user_id: str | None
    ) -> R | None:
        """Run a Bot API call; wait out 429s, and mark the user unreachable on 403."""
        for attempt in range(1, MAX_SEND_ATTEMPTS + 1):
            try:
                return await call()
            except RetryAfter as error:
                if attempt == MAX_SEND_ATTEMPTS:
                    raise
                await asyncio.sleep(_seconds(error.retry_after))
            except Forbidden:
                if user_id is not None:
                    await self.engine.mark_unreachable(CHANNEL, user_id)
                return None
        return None
