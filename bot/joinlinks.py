"""The links that open the bot's chat with a join code typed in: Telegram's deep link and LINE's
"oaMessage" link. Printed by ``tambon-bot invite`` and shown as QR codes in the workbench."""

from __future__ import annotations

from urllib.parse import quote


def join_links(
    code: str, telegram_username: str | None, line_basic_id: str | None
) -> list[tuple[str, str]]:
    """(channel, link) for each channel whose bot name is known."""
    links = []
    if telegram_username:
        links.append(("Telegram", f"https://t.me/{telegram_username.lstrip('@')}?start={code}"))
    if line_basic_id:
        message = quote(f"/start {code}", safe="")
        links.append(
            ("LINE", f"https://line.me/R/oaMessage/{quote(line_basic_id, safe='')}/?{message}")
        )
    return links
