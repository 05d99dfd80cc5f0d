"""Button payloads: short ASCII strings, well under Telegram's 64-byte callback limit.

A payload is ``action:argument``; it never carries Thai text or personal data, since platforms
echo it back verbatim and may log it.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PAYLOAD_BYTES = 64


@dataclass(frozen=True, slots=True)
class Pick:
    action: str
    arg: str = ""

    def pack(self) -> str:
        packed = f"{self.action}:{self.arg}"
        if len(packed.encode()) > MAX_PAYLOAD_BYTES or not packed.isascii():
            raise ValueError(f"payload too long or not ASCII: {packed!r}")
        return packed

    @classmethod
    def unpack(cls, payload: str | None) -> Pick | None:
        if not payload or ":" not in payload:
            return None
        action, arg = payload.split(":", 1)
        return cls(action, arg)


# Actions, one short word each.
VILLAGE = "vil"
CONSENT = "consent"
CONFIRM = "ok"
EDIT = "edit"
CATEGORY = "cat"
KIND = "kind"
LANGUAGE = "lang"
FORGET = "forget"
DUPLICATE = "dup"
ACTOR = "actor"
BALLOT = "bal"
QUICK_VOTE = "vote"
POLL_SETUP = "setup"
REPORT = "report"
INVITE = "invite"
ROLE = "role"
REMOVE = "remove"
VERDICT = "verdict"
PHASE = "phase"
ITEM = "item"
PHOTO = "photo"
LINKS = "links"
DRAFT = "draft"  # the draft plan's items from an offset
RESPOND = "resp"  # agree or disagree with an item of the draft: ITEM.a / ITEM.d
COMMENT = "cmt"  # comment on an item of the draft: ITEM
