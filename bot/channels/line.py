"""The LINE channel, on line-bot-sdk v3 (Messaging API).

Webhooks are verified over the raw body bytes (``X-Line-Signature``, HMAC-SHA256 with the
channel secret, compared in constant time). Their events are written to the store's inbox before
the webhook is answered, and go the durable way of :mod:`bot.pipeline` from there: each person's
in order, different people's side by side, replies through the outbox. A redelivered event (the
channel's ``destination`` with the ``webhookEventId``) is handled once. An event the SDK cannot
read (an unknown type) is acknowledged and dropped with one log line; an event in ``standby``
mode (another channel answers this chat) gets no reply.

Replies use the event's reply token while it is fresh and fall back to push messages, each push
with an ``X-Line-Retry-Key`` so that LINE itself drops a retried push it already accepted.
Choices are quick-reply buttons (postback actions), or a Flex card where quick replies are too
poor: more than 13 choices, long labels, or the draft to confirm.

The rich menu (:mod:`bot.richmenu`) is made at start when it is not there yet: the villager's as
every chat's default, the team's linked to each team member when their role says so (a reply's
``menu`` hint, delivered through the outbox like the reply itself).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import aiohttp
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
    MulticastRequest,
    PostbackAction,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    RichMenuRequest,
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
    UnsendEvent,
)

from bot import i18n, richmenu
from bot.channels import (
    GROUP_NOTICE,
    MAX_PHOTO_BYTES,
    next_push_month,
    push_month,
    split_text,
)
from bot.core import Engine, Outgoing
from bot.pipeline import Decoded, OutOfAllowance, Pipeline, Refused, Transient, Unreachable
from handlers.services import members
from handlers.types import Attachment, Incoming, Media, T
from storage.base import InboxItem

CHANNEL = "line"
MAX_PARSED = 10_000  # parsed events kept for the handler; beyond, they are parsed again
MAX_TEXT = 5000
MAX_MESSAGES_PER_CALL = 5
MAX_MULTICAST = 500  # people one multicast may name (the Messaging API's limit)
# The outbox lane of a multicast: named by its retry key, no person's own lane.
MULTICAST_PREFIX = "multicast:"
MAX_QUICK_REPLIES = 13
MAX_QUICK_LABEL = 20
MAX_BUTTON_LABEL = 40
MAX_ALT_TEXT = 400
# LINE says a reply token must be used promptly; older events are answered by push.
REPLY_TOKEN_SECONDS = 50
# LINE stamps each event with when it happened and redelivers for about a day; the ledger that
# recognises a redelivery keeps its keys for three (bot/pipeline.py's KEEP_DELIVERY). An event
# older than this is refused, so that a captured signed body cannot be played again once its
# key is pruned (a four-day-old postback changed a ballot back).
MAX_EVENT_AGE_SECONDS = 24 * 3600
# Where rich menu images go: the Messaging API's data host (the SDK's blob client cannot be
# pointed elsewhere, so the bot speaks to it itself).
DATA_HOST = "https://api-data.line.me"

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
        if out.reply.in_place_only:
            continue  # LINE cannot edit a sent message: the reply before it says enough
        image = None
        file = out.reply.file
        if file is not None:
            # LINE takes no uploads: files go as links (HTTPS only), or not at all.
            url = out.file_url if out.file_url and out.file_url.startswith("https://") else None
            if url is None:
                out = out.but(text=out.no_file or out.text)
            elif file.kind == "chart":
                image = ImageMessage(
                    originalContentUrl=url, previewImageUrl=url, quickReply=quick_reply(out)
                )
            else:
                out = out.but(text=f"{out.text}\n{file.kind.upper()}: {url}")
        pieces = split_text(out.text, MAX_TEXT)
        *before, last = pieces
        messages += [TextMessage(text=piece) for piece in before]
        simple = (
            len(out.choices) <= MAX_QUICK_REPLIES
            and all(len(label) <= MAX_QUICK_LABEL for label, _ in out.choices)
            and not out.reply.card
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

    name = CHANNEL

    def __init__(
        self,
        engine: Engine,
        channel_secret: str,
        access_token: str,
        *,
        base_url: str | None = None,
        default_locale: str = i18n.DEFAULT_LOCALE,
        basic_id: str | None = None,
        pipeline: Pipeline | None = None,
        data_url: str | None = None,
    ) -> None:
        self.engine = engine
        self._secret = channel_secret.encode()
        self._access_token = access_token
        self.configuration = Configuration(access_token=access_token, host=base_url or None)
        # A stand-in without a data host of its own (base_url alone) is asked at its own address.
        self.data_url = (data_url or base_url or DATA_HOST).rstrip("/")
        self.menus: dict[str, str] = {}  # rich menu ids by kind, once made or found
        self.default_locale = default_locale
        self.basic_id = basic_id
        self._client: AsyncApiClient | None = None
        self._api: AsyncMessagingApi | None = None
        self.pipeline = pipeline or Pipeline(engine)
        self._parsed: dict[str, Event] = {}  # events read on arrival, by key, until handled
        self.pipeline.register(self)
        self.ready = False

    async def start(self) -> None:
        self._client = AsyncApiClient(self.configuration)
        self._api = AsyncMessagingApi(self._client)
        await self.set_up_menus()
        await self.pipeline.start()  # resumes events and replies kept before a stop
        self.ready = True

    async def stop(self) -> None:
        self.ready = False
        await self.pipeline.stop()
        if self._client is not None:
            await self._client.close()

    async def photo(self, message_id: str) -> bytes | None:
        """An image someone sent, fetched from LINE's data host for the team's workbench (never
        stored); None when LINE no longer keeps it (it keeps sent content for a limited time),
        it is too large, or LINE cannot be reached."""
        url = f"{self.data_url}/v2/bot/message/{quote(message_id, safe='')}/content"
        chunks: list[bytes] = []
        size = 0
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http,
                http.get(url, headers=self._data_headers()) as response,
            ):
                if response.status != 200:
                    log.info("a photo could not be fetched from LINE: %s", response.status)
                    return None
                async for chunk in response.content.iter_chunked(64 * 1024):
                    size += len(chunk)
                    if size > MAX_PHOTO_BYTES:
                        return None
                    chunks.append(chunk)
        except (aiohttp.ClientError, TimeoutError) as error:
            log.info("a photo could not be fetched from LINE: %s", error)
            return None
        return b"".join(chunks)

    # -- rich menu ------------------------------------------------------------------------

    async def set_up_menus(self) -> None:
        """Find the rich menus made before, or make them (a changed menu is made anew, the old
        one deleted and the team members linked to the new one); the villager's is every
        chat's default. A failure is logged, not fatal: the words and /menu work without it,
        and the next start tries again."""
        try:
            listed = await self.api.get_rich_menu_list()
            ours = {
                m.name: m.rich_menu_id
                for m in listed.richmenus
                if m.name.startswith(richmenu.NAME_PREFIX)
            }
            for kind in richmenu.KINDS:
                made = richmenu.build(kind, self.default_locale)
                menu_id = ours.pop(made.name, None)
                if menu_id is not None and not await self._menu_image_exists(menu_id):
                    await self.api.delete_rich_menu(menu_id)  # made, but its image never went up
                    menu_id = None
                if menu_id is None:
                    request = RichMenuRequest.from_dict(made.definition)
                    menu_id = (await self.api.create_rich_menu(request)).rich_menu_id
                    await self._upload_menu_image(menu_id, made.image)
                    log.info("LINE rich menu %s made: %s", kind, menu_id)
                self.menus[kind] = menu_id
            await self.api.set_default_rich_menu(self.menus[members.VILLAGER_MENU])
            for old in ours.values():  # an earlier version of ours: its users fall back
                await self.api.delete_rich_menu(old)
            if ours:
                for member in await self.engine.store.list_members_with_menu(
                    CHANNEL, members.TEAM_MENU
                ):
                    await self.api.link_rich_menu_id_to_user(
                        member.platform_user_id, self.menus[members.TEAM_MENU]
                    )
        except Exception as error:
            log.warning("could not set up LINE's rich menu: %s", error)

    def _data_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._access_token}"}

    async def _menu_image_exists(self, menu_id: str) -> bool:
        url = f"{self.data_url}/v2/bot/richmenu/{menu_id}/content"
        async with (
            aiohttp.ClientSession() as http,
            http.get(url, headers=self._data_headers()) as r,
        ):
            if r.status == 404:
                return False
            r.raise_for_status()
            return True

    async def _upload_menu_image(self, menu_id: str, png: bytes) -> None:
        url = f"{self.data_url}/v2/bot/richmenu/{menu_id}/content"
        headers = {**self._data_headers(), "Content-Type": "image/png"}
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, data=png, headers=headers) as response,
        ):
            if response.status >= 300:
                await self.api.delete_rich_menu(menu_id)  # no menu without its image
                raise RuntimeError(f"rich menu image refused: {response.status}")

    async def _link_menu(self, user_id: str, kind: str) -> None:
        """Show ``user_id`` the team's menu, or the default again."""
        try:
            if kind == members.TEAM_MENU:
                menu_id = self.menus.get(members.TEAM_MENU)
                if menu_id is None:
                    log.info("no team rich menu to link for a team member")
                    return
                await self.api.link_rich_menu_id_to_user(user_id, menu_id)
            else:
                await self.api.unlink_rich_menu_id_from_user(user_id)
        except ApiException as error:
            if error.status is not None and (error.status >= 500 or error.status == 429):
                raise Transient(f"LINE rich menu: {error.status}") from error
            log.info("LINE rich menu not linked (%s)", error.status)  # e.g. not a friend now

    @property
    def api(self) -> AsyncMessagingApi:
        if self._api is None:
            raise RuntimeError("LINE channel not started")
        return self._api

    # -- webhook --------------------------------------------------------------------------

    def signed(self, body: bytes, signature: str) -> bool:
        """Whether ``signature`` is the channel's HMAC-SHA256 of exactly these bytes."""
        digest = hmac.new(self._secret, body, hashlib.sha256).digest()
        return hmac.compare_digest(base64.b64encode(digest), signature.encode("ascii", "replace"))

    async def accept(self, body: bytes | str, signature: str) -> int:
        """Verify and keep a webhook's events, then handle them in the background.

        Returns how many events were new; raises BadSignature (nothing kept) or ValueError for a
        body that is not a webhook. Returns once the events are committed to the inbox.
        """
        raw_body = body.encode() if isinstance(body, str) else body
        if not self.signed(raw_body, signature):
            raise BadSignature
        try:
            data = json.loads(raw_body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            raise ValueError("not a LINE webhook body") from error
        events = data.get("events") if isinstance(data, dict) else None
        if not isinstance(events, list):
            raise ValueError("not a LINE webhook body")
        destination = data.get("destination")
        bot = destination if isinstance(destination, str) and destination else "-"
        items = []
        for raw in events:
            read = self.read_event(bot, raw)
            if read is not None:
                item, event = read
                # Parsed once: the handler takes it from here instead of parsing it again.
                if len(self._parsed) > MAX_PARSED:
                    self._parsed.clear()
                self._parsed[item.key] = event
                items.append(item)
        return await self.pipeline.accept(CHANNEL, items)

    @staticmethod
    def read_event(bot: str, raw: Any) -> tuple[InboxItem, Event] | None:
        """One event as the inbox keeps it, and as line-bot-sdk reads it; None (logged) for
        one we cannot use."""
        key = raw.get("webhookEventId") if isinstance(raw, dict) else None
        if not isinstance(key, str) or not key:
            log.info("LINE event without a webhookEventId dropped")
            return None
        stamp = raw.get("timestamp")
        if not isinstance(stamp, int | float) or isinstance(stamp, bool):
            log.info("LINE event %s without a timestamp dropped", key)
            return None
        if stamp / 1000 < time.time() - MAX_EVENT_AGE_SECONDS:
            log.warning("LINE event %s dropped: older than a day (a replayed body?)", key)
            return None
        try:
            event = Event.from_dict(raw)
        except Exception as error:
            # An event type newer than the SDK, or a malformed one: nothing we could answer.
            log.info("LINE event %s dropped (%s): %.200s", key, raw.get("type"), error)
            return None
        source = raw.get("source")
        source = source if isinstance(source, dict) else {}
        sender = source.get("userId") or source.get("groupId") or source.get("roomId") or ""
        item = InboxItem(
            key=f"{bot}:{key}", sender=str(sender), payload=json.dumps(raw, ensure_ascii=False)
        )
        return item, event

    async def drain(self) -> None:
        """Handle every kept event and send every reply (tools and tests)."""
        await self.pipeline.drain()

    # -- events ---------------------------------------------------------------------------

    def decode(self, key: str, payload: str) -> Decoded | None:
        raw = json.loads(payload)
        # An event this process received a moment ago is already parsed.
        event = self._parsed.pop(key, None) or Event.from_dict(raw)
        if raw.get("mode") == "standby":
            return None  # another channel answers this chat now
        source = raw.get("source") or {}
        user_id = source.get("userId")
        if not isinstance(user_id, str) or not user_id:
            return None
        context = {"reply_token": raw.get("replyToken"), "sent_at": raw.get("timestamp", 0)}
        if source.get("type") in ("group", "room"):
            return self._group(event, source, context)
        if isinstance(event, UnfollowEvent):
            return Decoded(recipient=user_id, unreachable=True)
        incoming = self.incoming(event, user_id)
        if incoming is None:
            return None
        # Two presses of one person may come in two webhook calls out of order: the event's
        # time says which was later (handlers/voting.py).
        stamp = raw.get("timestamp")
        if isinstance(stamp, int | float) and not isinstance(stamp, bool):
            incoming = replace(incoming, sent_at=datetime.fromtimestamp(stamp / 1000, UTC))
        return Decoded(recipient=user_id, incoming=incoming, context=context)

    @staticmethod
    def incoming(event: Event, user_id: str) -> Incoming | None:
        if isinstance(event, FollowEvent):
            # Greets a newcomer with how to join, and a returning member with a welcome back.
            return Incoming(CHANNEL, user_id, text="/start")
        if isinstance(event, PostbackEvent):
            return Incoming(CHANNEL, user_id, choice=event.postback.data)
        if isinstance(event, UnsendEvent):
            return Incoming(CHANNEL, user_id, unsent=event.unsend.message_id)
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

    def _group(
        self, event: Event, source: dict[str, Any], context: dict[str, Any]
    ) -> Decoded | None:
        """In a group, answer a command with an invitation to a private chat, nothing else."""
        if not isinstance(event, MessageEvent) or not isinstance(
            event.message, TextMessageContent
        ):
            return None
        if not event.message.text.startswith("/"):
            return None
        link = f"https://line.me/R/ti/p/{self.basic_id}" if self.basic_id else "LINE"
        notice = i18n.render(T(GROUP_NOTICE.msgid, link=link), self.default_locale)
        group = str(source.get("groupId") or source.get("roomId") or "")
        # Only as a reply: the bot never pushes into a group.
        call = self._call([TextMessage(text=notice)], context, first=True)
        call["reply_only"] = True
        return Decoded(recipient=group, calls=[call])

    # -- sending --------------------------------------------------------------------------

    @staticmethod
    def _call(messages: list[Message], context: dict[str, Any], *, first: bool) -> dict[str, Any]:
        token = context.get("reply_token") if first else None
        return {
            "messages": [m.to_dict() for m in messages],
            "reply_token": token,
            # Until when the reply token may be used (LINE: promptly after the event).
            "token_until": context.get("sent_at", 0) / 1000 + REPLY_TOKEN_SECONDS,
            "retry_key": str(uuid.uuid4()),
        }

    def plan(self, decoded: Decoded, replies: Sequence[Outgoing]) -> list[dict[str, Any]]:
        """Five messages a call; the first call may use the reply token, the rest push."""
        messages = to_messages(replies)
        calls = [
            self._call(
                messages[start : start + MAX_MESSAGES_PER_CALL], decoded.context, first=start == 0
            )
            for start in range(0, len(messages), MAX_MESSAGES_PER_CALL)
        ]
        if replies and replies[0].reply.menu is not None:
            # After the replies: the reply token is used while it is fresh.
            calls.append({"menu": replies[0].reply.menu})
        return calls

    @staticmethod
    def gather_bulk(
        users: Sequence[str], calls: Sequence[dict[str, Any]]
    ) -> list[tuple[str, str, str]]:
        """Bulk messages (plan notices) for everyone in ``users``, as outbox rows (channel,
        recipient, call): each planned call as multicasts of up to 500 people. A multicast is
        its own lane in the outbox (its recipient names no person), so it waits behind nobody's
        replies and nobody's replies wait behind it. A call that is not a plain push (a rich
        menu to link) stays one per person."""
        rows = []
        for call in calls:
            if "messages" not in call or call.get("reply_token"):
                rows += [
                    (
                        CHANNEL,
                        user,
                        json.dumps({**call, "retry_key": str(uuid.uuid4()), "bulk": 1}),
                    )
                    for user in users
                ]
                continue
            for start in range(0, len(users), MAX_MULTICAST):
                key = str(uuid.uuid4())
                multicast = {
                    "messages": call["messages"],
                    "multicast": list(users[start : start + MAX_MULTICAST]),
                    "retry_key": key,
                    "bulk": 1,
                }
                rows.append((CHANNEL, f"{MULTICAST_PREFIX}{key}", json.dumps(multicast)))
        return rows

    async def send(self, user_id: str, outs: Sequence[Outgoing], reply_token: str | None) -> None:
        """Send replies at once, without the outbox (tools and tests)."""
        context = {"reply_token": reply_token, "sent_at": time.time() * 1000}
        for call in self.plan(Decoded(recipient=user_id, context=context), outs):
            try:
                await self.deliver(user_id, call)
            except Unreachable:
                await self.engine.mark_unreachable(CHANNEL, user_id)
                return

    async def deliver(self, recipient: str, call: dict[str, Any]) -> None:
        """Reply with the token while it is fresh, else push; failures sorted for the pipeline."""
        if "menu" in call:
            await self._link_menu(recipient, str(call["menu"]))
            return
        messages = [Message.from_dict(m) for m in call["messages"]]
        token = call.get("reply_token")
        if token and time.time() < call.get("token_until", 0):
            try:
                await self.api.reply_message(
                    ReplyMessageRequest(replyToken=token, messages=messages)
                )
                return
            except ApiException as error:
                if (error.status is not None and error.status >= 500) or error.status == 429:
                    raise Transient(f"LINE reply: {error.status}") from error
                # The token was used or has expired: push instead.
                log.info("LINE reply token refused (%s); pushing instead", error.status)
            except Exception as error:
                raise Transient(f"LINE reply: {error!r}") from error
        if call.get("reply_only"):
            return
        try:
            if call.get("multicast"):
                # Those who since asked for quiet, were forgotten or left are not told.
                named = [str(user) for user in call["multicast"]]
                members = await self.engine.store.get_members_on(CHANNEL, named)
                to = [
                    user
                    for user in named
                    if (m := members.get(user)) is not None
                    and m.quiet_at is None
                    and m.unreachable_at is None
                ]
                if not to:
                    return
                await self.api.multicast(
                    MulticastRequest(to=to, messages=messages),
                    x_line_retry_key=call.get("retry_key"),
                )
            else:
                to = [recipient]
                await self.api.push_message(
                    PushMessageRequest(to=recipient, messages=messages),
                    x_line_retry_key=call.get("retry_key"),
                )
            # Counted against the Official Account's monthly quota (tambon-bot inbox status):
            # a multicast counts each person it reaches.
            await self.engine.store.count_push(CHANNEL, push_month(), len(to))
        except ApiException as error:
            status = error.status or 0
            if status == 409:
                return  # this retry key was accepted before: the push went out (and counted)
            if status == 403:
                raise Unreachable("blocked or not a friend") from error
            if status == 429 and _monthly_limit(error):
                raise OutOfAllowance(
                    "LINE push: the month's allowance of messages is spent", next_push_month()
                ) from error
            if status == 429 or status >= 500:
                raise Transient(f"LINE push: {status}", _retry_after(error)) from error
            raise Refused(f"LINE push: {status} {error.reason}") from error
        except Exception as error:
            raise Transient(f"LINE push: {error!r}") from error


def _monthly_limit(error: ApiException) -> bool:
    """Whether a 429 says the Official Account's messages for the month are spent ("You have
    reached your monthly limit."), rather than a rate to slow down for."""
    body = error.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        message = json.loads(body or "{}").get("message", "")
    except (ValueError, AttributeError):
        return False
    return "monthly limit" in str(message).lower()


def _retry_after(error: ApiException) -> float | None:
    headers = error.headers or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
