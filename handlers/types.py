"""The channel-agnostic vocabulary: what comes in from a channel, and what goes back out.

Channel adapters (``bot/channels/``) translate a platform update into an :class:`Incoming`
and render each :class:`Reply` for the platform. Handlers only ever see these types.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

# Thai digits to Arabic ones, for str.translate: people type either.
THAI_DIGITS = {0x0E50 + digit: str(digit) for digit in range(10)}
# The category taxonomy's ids (DESIGN.md section 5; labels in handlers/labels.py), and "other"
# for what neither the tagger nor the person could place.
CATEGORIES = (
    "infrastructure",
    "water",
    "agriculture",
    "economy",
    "health",
    "social",
    "education",
    "environment",
    "safety",
    "governance",
    "other",
)


@dataclass(frozen=True, slots=True)
class Text:
    """A translatable sentence: an English msgid from the catalogs plus its parameters.

    Parameters may themselves be ``Text`` (a category label inside a sentence) or sequences
    of ``Text`` (joined with the locale's list separator when rendered).
    """

    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Own:
    """The reader's own words, shown back to them as typed (their draft, ``/mine``,
    ``/status``, ``/mydata``).

    Every other piece of text in a reply may be somebody else's words (a problem's title, a
    ballot option, a plan item), so the engine shows it with phone and ID numbers hidden; only
    text wrapped in ``Own`` is exempt. Wrap nothing in ``Own`` that another person wrote.
    """

    text: str


@dataclass(frozen=True, slots=True)
class Lines:
    """Several sentences shown one per line (or separated by ``sep``)."""

    items: Sequence[Text]
    sep: str = "\n"


def T(msgid: str, **params: object) -> Text:
    """Mark ``msgid`` for translation; ``pybabel extract -k T`` finds it."""
    return Text(msgid, params)


@dataclass(frozen=True, slots=True)
class Choice:
    """One button: a label to show and a packed payload to send back."""

    label: Text
    payload: str


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file made on demand: for a report link, "chart" (PNG), "pdf" or "html" (the report),
    ``token`` being the link's; or :data:`PERSONAL_DATA`, what is kept about one person (their
    /mydata, as JSON), ``token`` being their member id — never a link."""

    kind: str
    token: str


PERSONAL_DATA = "mydata"


@dataclass(frozen=True, slots=True)
class Reply:
    """One outgoing message: a sentence, optionally with choices (buttons)."""

    text: Text
    choices: Sequence[Choice] = ()
    # A choice row that toggles (categories) rather than moving on; adapters may lay it out
    # as a grid.
    columns: int = 1
    # The same question again after a button press (a toggled category): a channel that can
    # edit the message with the pressed button updates it in place instead of sending anew.
    edit_previous: bool = False
    # Worth showing as a card (LINE Flex) where the channel has cards: the draft to confirm.
    card: bool = False
    # The buttons that led here stay valid (a poll card: tapping again changes the ballot), so
    # a channel should not retire them.
    keep_buttons: bool = False
    # A poll count a channel may keep up to date in place (the poll's id).
    live_tally: int | None = None
    # A chat command to show as a QR code (a channel may turn it into a link to the bot first).
    qr: str | None = None
    # A file to send with the text (a chart as a photo, the report as a document); a channel
    # that cannot send files gives its link instead, or ``no_file`` when there is no link.
    file: FileRef | None = None
    no_file: Text | None = None
    # A short answer to a button press: a channel that can show it as the press's own notice
    # (Telegram's answerCallbackQuery) shows it there, not as a message.
    toast: bool = False
    # With edit_previous: shown only where it can replace the message whose button was pressed
    # (Telegram edits it); a channel that cannot edit leaves it out instead of sending it anew.
    in_place_only: bool = False
    # The menu this person's chat app should show from now on ("team" or "villager"): a
    # channel with menus per person (LINE's rich menu, Telegram's commands per chat) sets it.
    menu: str | None = None


class Media(enum.StrEnum):
    """Non-text content a channel may deliver."""

    STICKER = "sticker"
    PHOTO = "photo"
    LOCATION = "location"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Attachment:
    media: Media
    file_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message or button press from one person, normalised across channels."""

    channel: str  # "console", "telegram", "line"
    user_id: str  # the platform's id for the sender
    text: str | None = None
    choice: str | None = None  # a packed payload from a pressed button
    attachment: Attachment | None = None
    # The platform's id for this message, unique within the channel; lets a redelivered
    # message be stored once.
    message_id: str | None = None
    locale_hint: str | None = None  # e.g. Telegram's language_code
    edited: bool = False  # the sender edited an earlier message (message_id says which)
    # The sender took back (unsent) their earlier message with this platform id (LINE).
    unsent: str | None = None
    # When the person sent or pressed it, as the platform says (LINE's event timestamp); None
    # when it does not say (Telegram numbers its updates in order instead). Two presses can
    # arrive out of order on LINE: the later press wins by this time, not by arrival.
    sent_at: datetime | None = None

    @property
    def hinted_language(self) -> str | None:
        """Thai or English, as the platform says the sender's app is set ("en-US", "th");
        None when it says nothing, or another language."""
        language = (self.locale_hint or "").split("-")[0].lower()
        return language if language in ("th", "en") else None


@dataclass(frozen=True, slots=True)
class Tags:
    """What the tagger understood of a text."""

    categories: tuple[str, ...]
    kind: str
    village: int | None
    keywords: tuple[str, ...] = ()  # the lexicon words found, for grouping and explaining
    actor: str | None = None  # who can act on a need or idea: community, joint, external
    # When the tagger is unsure it proposes no category; these are its best guesses, likeliest
    # first, for the person to pick from.
    guesses: tuple[str, ...] = ()


class Tagger(Protocol):
    """The tagging service the intake flow calls; ``bot.nlp`` provides it."""

    def tag(self, text: str, village_names: Mapping[int, str] | None = None) -> Tags: ...

    @property
    def categories(self) -> Sequence[str]: ...
