"""Fill in Thai translations: ``python scripts/set_translation.py FILE.json`` where the file
maps English msgids to Thai. Used with update_catalogs.py when adding sentences."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "locales" / "th" / "LC_MESSAGES" / "messages.po"


def main() -> None:
    translations = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
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
