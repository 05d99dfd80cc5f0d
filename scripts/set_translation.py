"""Fill in translations: ``python scripts/set_translation.py FILE.json [LOCALE]`` where the file
maps English msgids to the locale's words (Thai by default; ``en`` where the English differs
from the msgid, as typed words do). Used with update_catalogs.py when adding sentences."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

LOCALES = Path(__file__).resolve().parent.parent / "locales"


def main() -> None:
    translations = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    locale = sys.argv[2] if len(sys.argv) > 2 else "th"
    PO = LOCALES / locale / "LC_MESSAGES" / "messages.po"
    with PO.open("rb") as f:
        catalog = read_po(f)
    for msgid, thai in translations.items():
        message = catalog.get(msgid)
        if message is None:
            raise SystemExit(f"not in the catalog: {msgid!r}")
        message.string = thai
    with PO.open("wb") as f:
        write_po(f, catalog, width=99)


if __name__ == "__main__":
    main()
