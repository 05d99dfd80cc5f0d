"""Refresh the catalogs from the code: extract msgids, merge them into each locale's .po.

Run after adding or changing a user-facing sentence:

    python scripts/update_catalogs.py

New msgids arrive untranslated in ``locales/th/LC_MESSAGES/messages.po``; the test suite fails
until each has a Thai translation. The English catalog keeps msgid = msgstr unless a translator
overrides it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
POT = ROOT / "locales" / "messages.pot"


def main() -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "T",
            "-k",
            "_",
            "--no-default-keywords",
            "--sort-output",
            "--omit-header",
            "--no-location",
            "-o",
            str(POT),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with POT.open("rb") as f:
        template = read_po(f)
    for locale in ("th", "en"):
        path = ROOT / "locales" / locale / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as f:
            catalog = read_po(f, locale=locale)
        catalog.update(template, no_fuzzy_matching=True)
        for message in catalog:
            if locale == "en" and message.id and not message.string:
                message.string = message.id
        with path.open("wb") as f:
            write_po(
                f,
                catalog,
                omit_header=False,
                sort_output=True,
                width=99,
                no_location=True,
                ignore_obsolete=True,
            )


if __name__ == "__main__":
    main()
