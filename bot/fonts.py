"""The Thai font for reports and charts: Noto Sans Thai, from the fontpkg-noto-sans-thai package.

Nothing is needed from the system. Charts (matplotlib) use the font as shipped. PDFs (WeasyPrint)
use two static instances of it (regular and bold), prepared once and cached on disk, so that text
copied from the PDF reads back as typed:

- HarfBuzz draws SARA AM (U+0E33) as NIKHAHIT + SARA AA, and a PDF maps each glyph to one piece of
  text. With the font as shipped, the SARA AA glyph in a word with SARA AM is also the SARA AA of
  every other word, so one of the two copies wrongly. The prepared font draws SARA AM's two parts
  with copies of those glyphs (an added contextual substitution), which :func:`fix_pdf_text` maps
  back to U+0E33 and "".
- WeasyPrint maps a glyph to the text of the first cluster it appears in, so a tone mark first
  seen in a cluster with SARA AM would copy as nothing; :func:`fix_pdf_text` maps every glyph to
  the character it is drawn for, using the font's own tables.
- A reader that orders text by position takes a mark drawn over the letter before it (and raised
  when stacked) for a word of its own; :func:`fix_pdf_text` gives every run of text its words as
  an ActualText span, which such readers copy instead.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import fontpkg

FAMILY = "Noto Sans Thai"
PDF_FAMILY = "Tambon Thai"  # the prepared copy's name in the PDF's @font-face rules
PREPARED_VERSION = "1"  # bump when the preparation below changes

SARA_AA, SARA_AM, NIKHAHIT = 0x0E32, 0x0E33, 0x0E4D
TONE_MARKS = (0x0E48, 0x0E49, 0x0E4A, 0x0E4B)
AM_SUFFIX = ".saraam"


def font_path() -> Path:
    """The shipped font file (variable: width and weight axes)."""
    return Path(fontpkg.path(FAMILY))


def cache_dirs() -> list[Path]:
    """Where prepared fonts are kept: the user's cache, else (a read-only home, as under a
    locked-down service) the temporary folder."""
    folders = []
    base = os.environ.get("XDG_CACHE_HOME")
    with contextlib.suppress(RuntimeError):  # no home directory at all
        folders.append(Path(base) if base else Path.home() / ".cache")
    folders.append(Path(tempfile.gettempdir()))
    return [folder / "tambon-bot" / "fonts" for folder in folders]


@cache
def pdf_fonts() -> dict[int, Path]:
    """The prepared static fonts for PDFs, by weight (400, 700); made once, then read from disk."""
    source = font_path()
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    *preferred, last = cache_dirs()
    for folder in preferred:
        try:
            return _prepared_in(folder, source, digest)
        except OSError:
            continue
    return _prepared_in(last, source, digest)


def _prepared_in(folder: Path, source: Path, digest: str) -> dict[int, Path]:
    paths = {w: folder / f"TambonThai-{w}-{digest}-v{PREPARED_VERSION}.ttf" for w in (400, 700)}
    for weight, path in paths.items():
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            _prepare(source, weight).save(partial)
            partial.replace(path)  # atomic: a concurrent process sees a whole file or none
    return paths


def _prepare(source: Path, weight: int) -> Any:
    """A static instance at ``weight`` with SARA AM drawn by its own copies of two glyphs."""
    from fontTools.otlLib import builder
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.tables import otTables
    from fontTools.varLib import instancer

    font = instancer.instantiateVariableFont(TTFont(source), {"wght": weight, "wdth": 100})
    cmap = font.getBestCmap()
    order = font.getGlyphOrder()

    def variants(codepoint: int) -> list[str]:
        name = cmap[codepoint]
        return [g for g in order if g == name or g.startswith(name + ".")]

    aa, nikhahit = [cmap[SARA_AA]], variants(NIKHAHIT)
    tones = [g for tone in TONE_MARKS for g in variants(tone)]
    copies = {g: g + AM_SUFFIX for g in aa + nikhahit}
    new_order = order + list(copies.values())
    font.setGlyphOrder(new_order)
    font["glyf"].setGlyphOrder(new_order)
    for original, twin in copies.items():
        font["glyf"].glyphs[twin] = copy.deepcopy(font["glyf"][original])
        font["hmtx"][twin] = font["hmtx"][original]
        if "GDEF" in font and font["GDEF"].table.GlyphClassDef is not None:
            classes = font["GDEF"].table.GlyphClassDef.classDefs
            if original in classes:
                classes[twin] = classes[original]
    font["maxp"].numGlyphs = len(new_order)

    gsub = font["GSUB"].table
    lookups = gsub.LookupList.Lookup
    gids = font.getReverseGlyphMap()

    def single(mapping: dict[str, str]) -> int:
        lookups.append(builder.buildLookup([builder.buildSingleSubstSubtable(mapping)]))
        return len(lookups) - 1

    def chain(rules: list[tuple[list[list[str]], list[str], list[list[str]]]], target: int) -> int:
        subtables = []
        for backtrack, inputs, lookahead in rules:
            st = otTables.ChainContextSubst()
            st.Format = 3
            st.BacktrackGlyphCount = len(backtrack)
            st.BacktrackCoverage = [builder.buildCoverage(g, gids) for g in backtrack]
            st.InputGlyphCount = 1
            st.InputCoverage = [builder.buildCoverage(inputs, gids)]
            st.LookAheadGlyphCount = len(lookahead)
            st.LookAheadCoverage = [builder.buildCoverage(g, gids) for g in lookahead]
            record = otTables.SubstLookupRecord()
            record.SequenceIndex, record.LookupListIndex = 0, target
            st.SubstCount, st.SubstLookupRecord = 1, [record]
            subtables.append(st)
        lookups.append(builder.buildLookup(subtables))
        return len(lookups) - 1

    # After HarfBuzz's decomposition: NIKHAHIT [tone mark] SARA AA.
    aa_twin = [copies[g] for g in aa]
    first = chain(
        [([nikhahit], aa, []), ([tones, nikhahit], aa, [])],
        single({g: copies[g] for g in aa}),
    )
    second = chain(
        [([], nikhahit, [aa_twin]), ([], nikhahit, [tones, aa_twin])],
        single({g: copies[g] for g in nikhahit}),
    )
    gsub.LookupList.LookupCount = len(lookups)
    for record in gsub.FeatureList.FeatureRecord:
        if record.FeatureTag == "ccmp":
            record.Feature.LookupListIndex += [first, second]
            record.Feature.LookupCount = len(record.Feature.LookupListIndex)
    font["name"].setName(PDF_FAMILY, 1, 3, 1, 0x409)
    return font


@cache
def glyph_text(path: Path) -> dict[int, str]:
    """What each glyph of a prepared font stands for, for the PDF's text layer."""
    from fontTools.ttLib import TTFont

    font = TTFont(path)
    order = font.getGlyphOrder()
    cmap = font.getBestCmap()
    by_name: dict[str, str] = {}
    for codepoint, name in sorted(cmap.items(), reverse=True):
        by_name[name] = chr(codepoint)  # the lowest code point wins (space over no-break space)
    texts: dict[int, str] = {}
    for gid, name in enumerate(order):
        if name.endswith(AM_SUFFIX):
            base = name.removesuffix(AM_SUFFIX).split(".")[0]
            texts[gid] = chr(SARA_AM) if base == cmap[SARA_AA] else ""
        elif name in by_name:
            texts[gid] = by_name[name]
        elif name.split(".")[0] in by_name:  # a positional variant: "uni0E48.small"
            texts[gid] = by_name[name.split(".")[0]]
    return texts


_ENTRY = re.compile(rb"^<([0-9a-f]{4})> <([0-9a-f]*)>$")


def _to_unicode_maps(pdf: Any) -> Iterator[tuple[bytes, list[Any]]]:
    """Each composite font's name as the PDF has it ("/ABCDEF+Tambon-Thai") and the lines of its
    ToUnicode map, where one entry maps a two-byte code to its text."""
    for obj in list(pdf.objects):
        if not isinstance(obj, dict) or obj.get("Subtype") != "/Type0":
            continue
        reference = obj.get("ToUnicode")
        if reference is None:
            continue
        number = (
            reference.split()[0] if isinstance(reference, bytes) else str(reference).split()[0]
        )
        name = obj.get("BaseFont", b"")
        yield (
            (name if isinstance(name, bytes) else str(name).encode()),
            pdf.objects[int(number)].stream,
        )


def fix_pdf_text(document: Any, pdf: Any) -> None:
    """A WeasyPrint finisher: map the prepared fonts' glyphs to the text they stand for, and give
    each run of text its words."""
    # Both weights come from one source with the same additions: one glyph order.
    texts = glyph_text(pdf_fonts()[400])
    family = PDF_FAMILY.replace(" ", "-").encode()  # as WeasyPrint names it: "+Tambon-Thai-Bold"
    for name, lines in _to_unicode_maps(pdf):
        if b"+" + family not in name:
            continue
        for i, line in enumerate(lines):
            match = _ENTRY.match(line) if isinstance(line, bytes) else None
            if match and int(match[1], 16) in texts:
                text = texts[int(match[1], 16)].encode("utf-16-be").hex().encode()
                lines[i] = b"<%s> <%s>" % (match[1], text)
    _mark_actual_text(pdf)


_TJ = re.compile(rb"<([0-9a-f]*)>")


def _mark_actual_text(pdf: Any) -> None:
    """Give each run of text its words as an ActualText span (PDF 14.9.4).

    A Thai mark is drawn over the letter before it and, stacked on another mark, raised with a text
    rise: poppler's reading-order layout (``pdftotext`` without ``-raw``), which knows only Latin
    combining marks, then takes it for a word of its own and moves it to the wrong place. Readers
    that honour ActualText (poppler, Acrobat, pdf.js) copy the span's words as written instead."""
    glyphs: dict[bytes, dict[int, str]] = {}
    for name, lines in _to_unicode_maps(pdf):
        mapping = {}
        for line in lines:
            match = _ENTRY.match(line) if isinstance(line, bytes) else None
            if match:
                mapping[int(match[1], 16)] = bytes.fromhex(match[2].decode()).decode("utf-16-be")
        # The font's resource name in content streams ("/ABCDEF 12 Tf") is its subset tag.
        glyphs[name.lstrip(b"/").split(b"+")[0]] = mapping
    for obj in pdf.objects:
        content = getattr(obj, "stream", None)
        if isinstance(obj, dict) or not isinstance(content, list) or b"BT" not in content:
            continue
        obj.stream = _with_spans(content, glyphs)


def _with_spans(lines: list[Any], glyphs: dict[bytes, dict[int, str]]) -> list[Any]:
    """``lines`` with each positioned run of readable text (from a ``Tm`` to the next, to ``ET``
    or to text in a font whose glyphs cannot be read, such as an emoji's) wrapped in a span
    carrying its words."""
    out: list[Any] = []
    run: list[Any] = []
    words: list[str] = []
    font: dict[int, str] | None = None

    def close() -> None:
        if run and "".join(words).strip():
            encoded = ("\ufeff" + "".join(words)).encode("utf-16-be").hex().upper()
            out.append(b"/Span <</ActualText <%s>>> BDC" % encoded.encode())
            out.extend(run)
            out.append(b"EMC")
        else:
            out.extend(run)
        run.clear()
        words.clear()

    inside = False
    for line in lines:
        if not isinstance(line, bytes) or line in (b"BT", b"ET"):
            close()
            inside = line == b"BT"
            out.append(line)
            continue
        if not inside:
            out.append(line)
            continue
        if line.endswith(b" Tm"):
            close()
        elif line.endswith(b" Tf"):
            font = glyphs.get(line.split()[0].lstrip(b"/"))
        elif line.endswith(b" TJ"):
            text = _shown(line, font)
            if text is None:  # left as it is, outside any span
                close()
                out.append(line)
                continue
            words.append(text)
        run.append(line)
    close()
    return out


def _shown(line: bytes, font: dict[int, str] | None) -> str | None:
    """The text a ``TJ`` line shows in ``font``, or None where a glyph's text is not known."""
    if font is None:
        return None
    text = []
    for chunk in _TJ.findall(line):
        if len(chunk) % 4:
            return None
        for i in range(0, len(chunk), 4):
            gid = int(chunk[i : i + 4], 16)
            if gid not in font:
                return None
            text.append(font[gid])
    return "".join(text)
