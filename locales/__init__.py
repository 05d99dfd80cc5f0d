"""Message catalogs: ``<locale>/LC_MESSAGES/messages.po`` (gettext, edited with Babel tools)."""

from __future__ import annotations

from pathlib import Path

DIR = Path(__file__).parent
DOMAIN = "messages"


def catalog_path(locale: str) -> Path:
    return DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
