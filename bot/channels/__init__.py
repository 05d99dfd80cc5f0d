"""Channel adapters: translate between a platform and Incoming / Outgoing, nothing more."""

from __future__ import annotations

from handlers.types import T

# What a bot says when addressed in a group chat: it never discusses anyone's data there.
GROUP_NOTICE = T(
    "Hello! To keep everyone's information private, I only talk with people one to one. "
    "Please open a private chat with me: {link}"
)


def split_text(text: str, limit: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` characters, at line breaks where possible.

    Thai has no spaces between words, so a long line is cut at a space if it has one, and
    otherwise at the limit itself.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = window.rfind("\n")
        if cut <= 0:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip("\n"))
        rest = rest[cut:].lstrip("\n")
    pieces.append(rest)
    return [p for p in pieces if p] or [""]
