"""The LINE channel, on line-bot-sdk v3 (Messaging API).

Webhooks are verified with the SDK's signature validator (``X-Line-Signature``, HMAC-SHA256 of
the body with the channel secret). Their events are written to the store's inbox before the
webhook is answered, then handled in order; events still in the inbox at start-up are handled
then, so nothing is lost if the process stops in between. A redelivered event (same
``webhookEventId``) is recognised and handled once.

Replies use the event's reply token while it is fresh and fall back to push messages; choices
are quick-reply buttons (postback actions), or a Flex card where quick replies are too poor:
more than 13 choices, long labels, or the draft to confirm.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from linebot.v3 import SignatureValidator
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    FlexBox,
    FlexBubble,
    FlexButton,
    FlexMessage,
    FlexText,
    ImageMessage,
    Message,
    PostbackAction,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    TextMessage,
)
from linebot.v3.webhooks import (
    Event,
    FollowEvent,
    ImageMessageContent,
    LocationMessageContent,
    MessageEvent,
    PostbackEvent,
    StickerMessageContent,
    TextMessageContent,
    UnfollowEvent,
)

from bot import i18n
from bot.channels import GROUP_NOTICE, split_text
from bot.core import Engine, Outgoing
from handlers.types import Attachment, Incoming, Media, T

CHANNEL = "line"
MAX_TEXT = 5000
MAX_MESSAGES_PER_CALL = 5
MAX_QUICK_REPLIES = 13
MAX_QUICK_LABEL = 20
MAX_BUTTON_LABEL = 40
MAX_ALT_TEXT = 400
# LINE says a reply token must be used promptly; older events are answered by push.
REPLY_TOKEN_SECONDS = 50

log = logging.getLogger(__name__)


class BadSignature(Exception):
    """The webhook body was not signed with our channel secret."""


def _clip(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def quick_reply(out: Outgoing) -> QuickReply | None:
    if not out.choices:
        return None
    return QuickReply(
        items=[
            QuickReplyItem(
                action=PostbackAction(
                    label=_clip(label, MAX_QUICK_LABEL), data=payload, displayText=label
                )
            )
            for label, payload in out.choices
        ]
    )


def flex_card(text: str, out: Outgoing) -> FlexMessage:
    """A bubble with the text and one button per choice."""
    buttons = [
        FlexButton(
            action=PostbackAction(
                label=_clip(label, MAX_BUTTON_LABEL), data=payload, displayText=label
            ),
            style="primary" if index == 0 else "secondary",
            height="sm",
            margin="sm",
        )
        for index, (label, payload) in enumerate(out.choices)
    ]
    bubble = FlexBubble(
        body=FlexBox(layout="vertical", contents=[FlexText(text=text, wrap=True)]),
        footer=FlexBox(layout="vertical", spacing="sm", contents=buttons),
    )
    return FlexMessage(altText=_clip(text, MAX_ALT_TEXT), contents=bubble)


def to_messages(outs: Sequence[Outgoing]) -> list[Message]:
    """Render replies as LINE messages: texts split at 5,000 characters, choices as buttons."""
    messages: list[Message] = []
    for out in outs:
        image = None
        file = out.file
        if file is not None:
            # LINE takes no uploads: files go as links (HTTPS only), or not at all.
            url = out.file_url if out.file_url and out.file_url.startswith("https://") else None
            if url is None:
                out = replace(out, text=out.no_file or out.text)
            elif file.kind == "chart":
                image = ImageMessage(
                    originalContentUrl=url, previewImageUrl=url, quickReply=quick_reply(out)
                )
            else:
                out = replace(out, text=f"{out.text}\n{file.kind.upper()}: {url}")
        pieces = split_text(out.text, MAX_TEXT)
        *before, last = pieces
        messages += [TextMessage(text=piece) for piece in before]
        simple = (
            len(out.choices) <= MAX_QUICK_REPLIES
            and all(len(label) <= MAX_QUICK_LABEL for label, _ in out.choices)
            and not out.card
        )
        if image is not None:
            messages += [TextMessage(text=last), image]  # the buttons go with the last message
        elif not out.choices or simple:
            messages.append(TextMessage(text=last, quickReply=quick_reply(out)))
        else:
            messages.append(flex_card(last, out))
    return messages


class LineChannel:
    """Runs the engine's conversation on LINE."""

    def __init__(
        self,
        engine: Engine,
        channel_secret: str,
        access_token: str,
        *,
        base_url: str | None = None,
        default_locale: str = i18n.DEFAULT_LOCALE,
        basic_id: str | None = None,
    ) -> None:
        self.engine = engine
        self.validator = SignatureValidator(channel_secret)
        self.configuration = Configuration(access_token=access_token, host=base_url or None)
        self.default_locale = default_locale
        self.basic_id = basic_id
        self._client: AsyncApiClient | None = None
        self._api: AsyncMessagingApi | None = None
        self._drain_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._client = AsyncApiClient(self.configuration)
        self._api = AsyncMessagingApi(self._client)
        await self.drain()  # events kept before a stop

    async def stop(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()

    @property
    def api(self) -> AsyncMessagingApi:
        if self._api is None:
            raise RuntimeError("LINE channel not started")
        return self._api

    # -- webhook --------------------------------------------------------------------------

    async def accept(self, body: str, signature: str) -> int:
        """Verify and keep a webhook's events, then handle them in the background.

        Returns how many events were new; raises BadSignature (nothing kept) or ValueError for a
        body that is not a webhook.
        """
        if not self.validator.validate(body, signature):
            raise BadSignature
        data = json.loads(body)
        events = data.get("events") if isinstance(data, dict) else None
        if not isinstance(events, list):
            raise ValueError("not a LINE webhook body")
        items = []
        for raw in events:
            key = raw.get("webhookEventId") if isinstance(raw, dict) else None
            if isinstance(key, str) and key:
                items.append((key, json.dumps(raw, ensure_ascii=False)))
        new = await self.engine.store.inbox_add(CHANNEL, items)
        if new:
            task = asyncio.create_task(self.drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return new

    async def drain(self) -> None:
        """Handle every kept event, oldest first, one at a time so each sender's stay in order."""
        async with self._drain_lock:
            for key, payload in await self.engine.store.inbox_pending(CHANNEL):
                try:
                    await self.handle_event(key, json.loads(payload))
                except Exception:
                    log.exception("LINE event %s failed; it stays in the inbox", key)
                    continue
                await self.engine.store.inbox_done(CHANNEL, key)

    # -- events ---------------------------------------------------------------------------

    async def handle_event(self, key: str, raw: dict[str, Any]) -> None:
        event = Event.from_dict(raw)
        source = raw.get("source") or {}
        user_id = source.get("userId")
        if not user_id:
            return
        if source.get("type") in ("group", "room"):
            await self._group(event, raw)
            return
        if isinstance(event, UnfollowEvent):
            await self.engine.mark_unreachable(CHANNEL, user_id)
            return
        incoming = self.incoming(event, user_id)
        if incoming is None:
            return
        outs = await self.engine.handle(incoming, update_key=key)
        await self.send(user_id, outs, reply_token=self._fresh_token(raw))

    @staticmethod
    def incoming(event: Event, user_id: str) -> Incoming | None:
        if isinstance(event, FollowEvent):
            # Greets a newcomer with how to join, and a returning member with a welcome back.
            return Incoming(CHANNEL, user_id, text="/start")
        if isinstance(event, PostbackEvent):
            return Incoming(CHANNEL, user_id, choice=event.postback.data)
        if not isinstance(event, MessageEvent):
            return None
        message = event.message
        text: str | None = None
        attachment: Attachment | None = None
        if isinstance(message, TextMessageContent):
            text = message.text
        elif isinstance(message, ImageMessageContent):
            attachment = Attachment(Media.PHOTO, file_id=message.id)
        elif isinstance(message, LocationMessageContent):
            attachment = Attachment(
                Media.LOCATION, latitude=message.latitude, longitude=message.longitude
            )
        elif isinstance(message, StickerMessageContent):
            attachment = Attachment(Media.STICKER, file_id=message.sticker_id)
        else:
            attachment = Attachment(Media.OTHER)
        return Incoming(CHANNEL, user_id, text=text, attachment=attachment, message_id=message.id)

    async def _group(self, event: Event, raw: dict[str, Any]) -> None:
        """In a group, answer a command with an invitation to a private chat, nothing else."""
        if not isinstance(event, MessageEvent) or not isinstance(
            event.message, TextMessageContent
        ):
            return
        if not event.message.text.startswith("/"):
            return
        link = f"https://line.me/R/ti/p/{self.basic_id}" if self.basic_id else "LINE"
        notice = i18n.render(T(GROUP_NOTICE.msgid, link=link), self.default_locale)
        token = self._fresh_token(raw)
        if token:
            await self._reply(token, [TextMessage(text=notice)])

    @staticmethod
    def _fresh_token(raw: dict[str, Any]) -> str | None:
        token = raw.get("replyToken")
        sent_at = raw.get("timestamp", 0) / 1000
        if token and time.time() - sent_at < REPLY_TOKEN_SECONDS:
            return str(token)
        return None

    # -- sending --------------------------------------------------------------------------

    async def send(self, user_id: str, outs: Sequence[Outgoing], reply_token: str | None) -> None:
        """Reply with the token while it lasts (five messages a call), push the rest."""
        messages = to_messages(outs)
        if not messages:
            return
        if reply_token is not None:
            first, messages = messages[:MAX_MESSAGES_PER_CALL], messages[MAX_MESSAGES_PER_CALL:]
            if not await self._reply(reply_token, first):
                messages = first + messages
        for start in range(0, len(messages), MAX_MESSAGES_PER_CALL):
            batch = messages[start : start + MAX_MESSAGES_PER_CALL]
            try:
                await self.api.push_message(PushMessageRequest(to=user_id, messages=batch))
            except ApiException as error:
                if error.status == 403:  # blocked, or not a friend any more
                    await self.engine.mark_unreachable(CHANNEL, user_id)
                    return
                log.error("LINE push to a member failed: %s %s", error.status, error.reason)
                return

    async def _reply(self, token: str, messages: list[Message]) -> bool:
        try:
            await self.api.reply_message(ReplyMessageRequest(replyToken=token, messages=messages))
        except ApiException as error:
            log.info("LINE reply token refused (%s); pushing instead", error.status)
            return False
        return True
