"""Images: chart images for summaries and reports, drawn with matplotlib in Noto Sans Thai, and
the QR code of a hall's presence code.

Readable without colour: one dark bar colour, the count written at each bar's end, and the
labels in full. PNG for chats (Telegram photos, LINE images), SVG with the text drawn as
outlines for the HTML and PDF reports (so they need no font to show the chart).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from typing import Any

BAR = "#333333"
MAX_LABEL = 34


@cache
def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no screen on a server
    from fontpkg.mpl import use
    from matplotlib import pyplot

    from bot.fonts import FAMILY

    use(FAMILY, set_default=True)
    matplotlib.rcParams["svg.fonttype"] = "path"
    matplotlib.rcParams["svg.hashsalt"] = "tambon-bot"  # the same chart, the same file
    return pyplot


def bar_chart(
    bars: Sequence[tuple[str, int]],
    title: str,
    axis_label: str,
    fmt: str = "png",
    *,
    texts: Sequence[str] | None = None,
) -> bytes:
    """Horizontal bars, largest on top, each labelled with its count (or ``texts``)."""
    plt = _pyplot()
    labels = [
        label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…" for label, _ in bars
    ]
    values = [value for _, value in bars]
    height = 1.2 + 0.42 * max(1, len(bars))
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(figsize=(7.0, height), dpi=150)
    try:
        positions = list(range(len(bars)))[::-1]
        axes.barh(positions, values, color=BAR, height=0.6)
        axes.set_yticks(positions, labels, fontsize=11)
        top = max(values, default=0)
        shown = texts if texts is not None else [f"{value:,}" for value in values]
        for y, value, text in zip(positions, values, shown, strict=True):
            axes.text(value + top * 0.01, y, text, va="center", fontsize=10)
        axes.set_xlim(0, max(1, top) * 1.15)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # people come in whole numbers
        axes.set_title(title, fontsize=13, loc="left")
        axes.set_xlabel(axis_label, fontsize=10)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format=fmt, metadata=_metadata(fmt))
        return buffer.getvalue()
    finally:
        plt.close(figure)


def _metadata(fmt: str) -> dict[str, Any]:
    # No creation date or software version in the file: reports are reproducible.
    if fmt == "svg":
        return {"Date": None, "Creator": None}
    return {"Software": None}


def qr_png(text: str, scale: int = 10) -> bytes:
    """A QR code of ``text`` as a PNG image (for the hall's screen)."""
    import segno

    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()
