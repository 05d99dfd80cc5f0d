"""LINE's rich menu: the tiles of :data:`handlers.menu.MENU` drawn the size LINE asks for, and
the menu's definition for the Messaging API.

Big tiles, a symbol and a short Thai label each, for a cheap phone held at arm's length: the
villager's six in two rows, the team's nine in three, on LINE's large size (2500×1686). Each
tile posts ``cmd:NAME``, which the conversation runs as ``/NAME``.

A menu's name carries a digest of its definition and image, so that starting the bot again
finds the menu it made before instead of making another, and a changed menu (a new label, a
new tile) is made anew and the old one deleted (``bot.channels.line``).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from bot import fonts, i18n
from handlers import menu
from handlers.services import members

WIDTH, HEIGHT = 2500, 1686  # LINE's large rich menu
COLUMNS = 3
NAME_PREFIX = "tambon-bot "  # every menu this project makes is named so (and only those)
KINDS = (members.VILLAGER_MENU, members.TEAM_MENU)
VERSION = "1"  # bump when the drawing below changes
# One colour per tile, soft enough for black text, told apart without reading.
COLOURS = (
    "#FDE2C4",
    "#D7ECD9",
    "#D6E4F5",
    "#F5E1A4",
    "#E6DDF2",
    "#DDE3E8",
    "#F7D4D4",
    "#D2EDEA",
    "#EDE3D0",
)


@dataclass(frozen=True)
class RichMenu:
    kind: str  # "villager" or "team"
    definition: dict[str, Any]  # the Messaging API's rich menu object, name included
    image: bytes  # PNG, WIDTH × HEIGHT

    @property
    def name(self) -> str:
        return str(self.definition["name"])


def tiles(kind: str) -> list[menu.Entry]:
    return menu.entries(team=kind == "team")


def _bounds(count: int) -> list[dict[str, int]]:
    """Each tile's rectangle: ``count`` tiles, three to a row, the rows sharing the height."""
    rows = -(-count // COLUMNS)
    height = HEIGHT // rows
    boxes = []
    for index in range(count):
        row, column = divmod(index, COLUMNS)
        x = column * WIDTH // COLUMNS
        y = row * height
        right = (column + 1) * WIDTH // COLUMNS
        bottom = HEIGHT if row == rows - 1 else y + height
        boxes.append({"x": x, "y": y, "width": right - x, "height": bottom - y})
    return boxes


@cache
def build(kind: str, locale: str = i18n.DEFAULT_LOCALE) -> RichMenu:
    """The rich menu for ``kind`` with its labels in ``locale``."""
    if kind not in KINDS:
        raise ValueError(f"no rich menu {kind!r}")
    entries = tiles(kind)
    labels = [i18n.render(e.label, locale) for e in entries]
    areas = [
        {
            "bounds": box,
            "action": {"type": "postback", "data": e.payload, "displayText": label},
        }
        for e, label, box in zip(entries, labels, _bounds(len(entries)), strict=True)
    ]
    image = draw(entries, labels)
    body = {
        "size": {"width": WIDTH, "height": HEIGHT},
        "selected": True,  # shown open: the villager sees the buttons before the keyboard
        "chatBarText": i18n.render(menu.MORE[0].label, locale)[:14],
        "areas": areas,
    }
    digest = hashlib.sha256(
        json.dumps(body, sort_keys=True, ensure_ascii=False).encode() + image + VERSION.encode()
    ).hexdigest()[:16]
    return RichMenu(kind, {**body, "name": f"{NAME_PREFIX}{kind} {digest}"}, image)


def draw(entries: list[menu.Entry], labels: list[str]) -> bytes:
    """The tiles as a PNG: a rounded colour field, the symbol above, the label below."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    pen = ImageDraw.Draw(image)
    boxes = _bounds(len(entries))
    tile_height = boxes[0]["height"]
    symbol_font = _font(_symbol_path(), int(tile_height * 0.36))
    label_size = int(min(tile_height * 0.17, 118))
    for index, (entry, label, box) in enumerate(zip(entries, labels, boxes, strict=True)):
        margin = 14
        left, top = box["x"] + margin, box["y"] + margin
        right, bottom = box["x"] + box["width"] - margin, box["y"] + box["height"] - margin
        pen.rounded_rectangle(
            (left, top, right, bottom), radius=48, fill=COLOURS[index % len(COLOURS)]
        )
        centre = (left + right) // 2
        pen.text(
            (centre, top + (bottom - top) * 0.36),
            entry.icon or "•",
            font=symbol_font,
            fill="#33424F",
            anchor="mm",
        )
        label_font = _fitting_font(label, label_size, right - left - 2 * margin)
        pen.text(
            (centre, top + (bottom - top) * 0.76),
            label,
            font=label_font,
            fill="#1B2630",
            anchor="mm",
        )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _fitting_font(text: str, size: int, width: int) -> Any:
    """The bold Thai font at ``size``, or smaller until ``text`` fits ``width``."""
    path = str(fonts.pdf_fonts()[700])
    while True:
        font = _font(path, size)
        if font.getlength(text) <= width or size <= 40:
            return font
        size -= 6


@cache
def _font(path: str, size: int) -> Any:
    from PIL import ImageFont

    # Raqm (with HarfBuzz) shapes Thai: marks above and below their letters, SARA AM whole.
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.RAQM)


def _symbol_path() -> str:
    """DejaVu Sans, which matplotlib ships: the tiles' symbols (✎ ☰ ☑ ⚑ ☺ Σ …)."""
    from matplotlib import font_manager

    return str(font_manager.findfont("DejaVu Sans", fallback_to_default=True))
