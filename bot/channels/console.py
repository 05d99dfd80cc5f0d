"""The console channel: one person chatting through stdin and stdout.

Replies are printed as text, offered choices follow as numbered lines (``1. Confirm``), and the
person may type the number or the choice's text. Output is flushed after every reply, so
another program can converse with the bot through pipes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.core import Engine, Outgoing
from handlers.types import Incoming

CHANNEL = "console"


def format_outgoing(out: Outgoing, saved: Path | None = None) -> str:
    lines = [out.text]
    if out.reply.qr is not None:
        lines.append(f"[QR: {out.reply.qr}]")
    if saved is not None:
        lines.append(f"[{saved}]")
    lines += [f"{number}. {label}" for number, (label, _) in enumerate(out.choices, start=1)]
    return "\n".join(lines)


async def run_console(
    engine: Engine,
    user_id: str,
    stdin: TextIO,
    stdout: TextIO,
    greeting: Sequence[str] = (),
    files_dir: Path = Path("data/reports"),
) -> None:
    """Converse until end of input; files sent (a chart, the report) are saved in ``files_dir``."""
    interactive = stdin.isatty()

    def say(text: str) -> None:
        stdout.write(text + "\n")
        stdout.flush()

    for line in greeting:
        say(line)
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        raw = await asyncio.to_thread(stdin.readline)
        if not raw:
            return
        replies = await engine.handle(Incoming(CHANNEL, user_id, text=raw.rstrip("\r\n")))
        for out in replies:
            if out.reply.in_place_only:
                continue  # a card updated in place where a chat app can; a terminal cannot
            saved = await _save(engine, out, files_dir)
            say(
                format_outgoing(out.without_file() if out.reply.file and not saved else out, saved)
            )
        if not interactive:
            say("")


async def _save(engine: Engine, out: Outgoing, folder: Path) -> Path | None:
    if out.reply.file is None:
        return None
    rendered = await engine.file(out.reply.file)
    if rendered is None:
        return None
    path = folder / rendered.filename
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(path.write_bytes, rendered.data)
    return path
