"""The links that open the bot's chat with a command typed in: Telegram's deep link and LINE's
"oaMessage" link, for a join code (``tambon-bot invite``, the workbench's join codes) and for the
hall's presence code (``tambon-bot poll qr``, the workbench's hall screen)."""

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


def hall_link(presence_code: str, telegram_username: str | None) -> str:
    """What the hall's QR code holds: the bot's deep link that says "I am here", or the command
    to type where the bot's name is not set."""
    if telegram_username:
        return f"https://t.me/{telegram_username.lstrip('@')}?start=here-{presence_code}"
    return f"/here {presence_code}"
