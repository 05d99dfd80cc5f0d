"""Fill untranslated entries of a catalog from a JSON object {msgid: translation}.

python scripts/translate.py th new.json      # new.json: {"English msgid": "คำแปล", ...}
python scripts/translate.py th --missing     # list what still needs a translation
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent


def main(locale: str, source: str) -> None:
    path = ROOT / "locales" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale=locale)
    if source == "--missing":
        for message in catalog:
            if message.id and not message.string:
                print(json.dumps(message.id, ensure_ascii=False))
        return
    translations = json.loads(Path(source).read_text(encoding="utf-8"))
    for message in catalog:
        if message.id in translations:
            message.string = translations[message.id]
    with path.open("wb") as f:
        write_po(f, catalog, sort_output=True, width=99, no_location=True, ignore_obsolete=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
