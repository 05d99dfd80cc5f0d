"""What people can do without typing a slash: the menu, and the words that name each command.

One table serves every channel: the chat's ``/menu`` buttons, LINE's rich menu (its image and its
postbacks), Telegram's command list, and the plain words a person may type instead of a command
("menu", "help", "cancel" … in Thai or English, with a polite ending or a slip of the thumb). A
menu button posts ``cmd:NAME``, which :func:`handlers.router.dispatch` runs as ``/NAME``.

The words live in the catalogs (``typed words for /NAME``), several per command separated by
``|``, so that a translator, not a programmer, says how people ask.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

from handlers.payloads import Pick
from handlers.types import Choice, Reply, T, Text

COMMAND = "cmd"  # a menu button's payload: cmd:NAME runs /NAME


@dataclass(frozen=True, slots=True)
class Entry:
    """One command as a menu shows it."""

    command: str
    label: Text  # the button's words, short (a rich menu's tile, a quick reply)
    description: Text  # a line for Telegram's command list
    icon: str = ""  # a symbol drawn on the rich menu's tile (from DejaVu Sans)
    team: bool = False  # for the tambon team (and administrators) only

    @property
    def payload(self) -> str:
        return Pick(COMMAND, self.command).pack()


# The menu, in the order of its tiles: what a villager does most, first.
MENU: tuple[Entry, ...] = (
    Entry("problem", T("Report a problem"), T("Tell the team a problem or need"), "\u270e"),
    Entry("mine", T("My reports"), T("What you reported and where it stands"), "\u2630"),
    Entry("vote", T("Vote"), T("The hearing's open poll"), "\u2611"),
    Entry("plan", T("Tambon plan"), T("The tambon's plan and its progress"), "\u2691"),
    Entry("mydata", T("My data"), T("What is kept about you"), "\u263a"),
    Entry("help", T("Help"), T("What the bot can do"), "?"),
    Entry("summary", T("Summary"), T("What the tambon said so far (team)"), "\u03a3", True),
    Entry("report", T("Report"), T("The full report as a PDF (team)"), "\u25a4", True),
    Entry("results", T("Poll results"), T("The latest poll's count (team)"), "\u2696", True),
)
# The team's workbench, in the team's command list (a rich menu tile once the workbench has
# more than its first pages).
TEAM_MORE: tuple[Entry, ...] = (
    Entry("web", T("Team workbench"), T("A sign-in link to the team's web workbench (team)")),
)

# Commands a chat app's command list also shows, beyond the menu's.
MORE: tuple[Entry, ...] = (
    Entry("menu", T("Menu"), T("The menu: everything you can do"), "\u2630"),
    Entry("status", T("Status"), T("Where your reports stand in the plan")),
    Entry("draft", T("Draft plan"), T("The draft plan, open for your comment")),
    Entry("cancel", T("Cancel"), T("Stop the current question")),
    Entry("language", T("Language"), T("Thai or English")),
    Entry("quiet", T("Quiet"), T("No more news of the plan (again: news again)")),
    Entry("forget", T("Delete my data"), T("Delete what is kept about you (asks first)")),
)


def entries(team: bool) -> list[Entry]:
    """The menu's tiles for a villager, or for the team (theirs added)."""
    return [e for e in MENU if team or not e.team]


def command_list(team: bool) -> list[Entry]:
    """Telegram's command list: the menu's commands and the others people use."""
    return [*entries(team), *(TEAM_MORE if team else ()), *MORE]


# Each command a person may name in words, and the catalog entry holding the words.
WORDS: dict[str, Text] = {
    "menu": T("typed words for /menu"),
    "problem": T("typed words for /problem"),
    "help": T("typed words for /help"),
    "cancel": T("typed words for /cancel"),
    "mine": T("typed words for /mine"),
    "status": T("typed words for /status"),
    "vote": T("typed words for /vote"),
    "plan": T("typed words for /plan"),
    "mydata": T("typed words for /mydata"),
    "forget": T("typed words for /forget"),
    "language": T("typed words for /language"),
    "quiet": T("typed words for /quiet"),
    "summary": T("typed words for /summary"),
    "report": T("typed words for /report"),
    "results": T("typed words for /results"),
    "web": T("typed words for /web"),
    "draft": T("typed words for /draft"),
}
# What may come before a join code typed without /start ("join 6040 3801").
JOIN_WORDS = T("typed words for /start")
JOIN_CODE_DIGITS = 8  # handlers.services.tambons makes them so
_CODE_TYPED = re.compile(r"(\D*?)\s*([0-9\u0e50-\u0e59][0-9\u0e50-\u0e59\s\-_.]*)")
# Polite endings and softeners a word may carry ("menu, please"), taken off before matching.
ENDINGS = T("typed words: polite endings")
LANGUAGES = ("th", "en")
# A slip of one letter is forgiven in words this long (shorter ones must be exact).
FORGIVING_LENGTH = 4
# Longer than any command word with its endings: a message this long is a message.
MAX_WORD_CHARS = 40


def command_named(
    text: str, translate: Callable[[Text, str], str], normal: Callable[[str], str]
) -> str | None:
    """The command a message names when it is only a command's word (``/NAME`` without the
    slash), else None. ``normal`` reduces text to what is compared (no emoji, no punctuation,
    case folded); spaces do not count, nor a polite ending."""
    if len(text) > MAX_WORD_CHARS:
        return None
    words, endings = _table(translate, normal)
    typed = normal(text).replace(" ", "")
    # The message as typed, then without its endings one by one ("menu please, thank you"):
    # the Thai word for "status" is a word of its own though it ends as a polite particle does.
    candidates = [typed]
    for _ in range(3):
        ending = next((e for e in endings if typed.endswith(e) and typed != e), None)
        if ending is None:
            break
        typed = typed.removesuffix(ending)
        candidates.append(typed)
    for candidate in candidates:
        if candidate in words:
            return words[candidate]
    for candidate in candidates:
        if len(candidate) >= FORGIVING_LENGTH:
            near = {
                words[w] for w in words if len(w) >= FORGIVING_LENGTH and _one_slip(candidate, w)
            }
            if len(near) == 1:
                return near.pop()
    return None


def join_code_typed(
    text: str, translate: Callable[[Text, str], str], normal: Callable[[str], str]
) -> str | None:
    """The join code in a message that is only a code (Thai or Arabic digits, spaced or not),
    perhaps after a word for joining; None otherwise. For people who have not joined yet: the
    code from the poster is all they need to type."""
    match = _CODE_TYPED.fullmatch(text.strip())
    if match is None:
        return None
    digits = [ch for ch in match[2] if ch.isdecimal()]
    if len(digits) != JOIN_CODE_DIGITS:
        return None
    before = normal(match[1]).replace(" ", "")
    words = {normal(w).replace(" ", "") for w in _split(translate, JOIN_WORDS, LANGUAGES)}
    return match[2] if not before or before in words else None


@cache
def _table(
    translate: Callable[[Text, str], str], normal: Callable[[str], str]
) -> tuple[dict[str, str], tuple[str, ...]]:
    words: dict[str, str] = {}
    for command, text in WORDS.items():
        for word in _split(translate, text, LANGUAGES):
            words.setdefault(normal(word).replace(" ", ""), command)
    words.pop("", None)
    endings = {normal(e).replace(" ", "") for e in _split(translate, ENDINGS, LANGUAGES)}
    # The longest first, so that "please" is not cut as "e".
    return words, tuple(sorted(endings - {""}, key=len, reverse=True))


def _split(translate: Callable[[Text, str], str], text: Text, locales: Iterable[str]) -> list[str]:
    return [
        word
        for locale in locales
        if (rendered := translate(text, locale)) != text.msgid
        for word in rendered.split("|")
    ]


def _one_slip(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by one letter added, dropped, changed or two swapped."""
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diffs) == 1:
            return True
        i, j = [*diffs, 0, 0][:2]
        return len(diffs) == 2 and j == i + 1 and (a[i], a[j]) == (b[j], b[i])
    if abs(len(a) - len(b)) != 1:
        return False
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def reply(text: Text, *, team: bool) -> Reply:
    """``text`` with the menu's buttons under it."""
    return Reply(text, [Choice(e.label, e.payload) for e in entries(team)], columns=2)
