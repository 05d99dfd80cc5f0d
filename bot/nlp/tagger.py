"""Tagger v1: normalise, tokenise with pythainlp (newmm), match the keyword lexicon.

The lexicon (``lexicon/*.toml``) is data a district officer can extend without touching code.
Every lexicon word is added to newmm's dictionary, so multi-syllable keywords ("nam prapa", tap
water) come out as one token; adjacent tokens are also joined in twos and threes so that a
keyword the tokeniser split is still found, and longer dictionary compounds are searched for the
keywords inside them.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import bot  # noqa: F401 - sets pythainlp offline before it is imported
from bot.nlp.classifier import LinearModel, features
from handlers.types import Tags

_THAI_DIGITS = {0x0E50 + digit: str(digit) for digit in range(10)}
_REPEATS = re.compile(r"(.)\1{2,}")  # "maakkkk" -> "maak"; Thai words never triple a letter
_SPACES = re.compile(r"\s+")
KINDS = ("idea", "need", "problem")  # precedence order
ACTORS = ("external", "joint", "community")  # precedence order
GUESSES = 3  # categories offered first when the tagger is unsure


def _read_toml(name: str) -> dict[str, Any]:
    text = resources.files("bot.nlp").joinpath("lexicon", name).read_text(encoding="utf-8")
    return tomllib.loads(text)


# What pythainlp's normaliser repairs: zero-width characters, a doubled mark, a tone mark typed
# before its vowel, sara am or sara ae typed in two pieces. Most messages have none of these,
# and the normaliser costs more than the rest of tagging, so it runs only when one is present.
_NEEDS_PYTHAINLP = re.compile(
    "[\u200b-\u200d\ufeff]"  # zero-width characters
    "|([\u0e31\u0e34-\u0e3a\u0e47-\u0e4e])\\1"  # a mark typed twice
    "|[\u0e48-\u0e4b][\u0e31\u0e34-\u0e37]"  # a tone mark before its upper vowel
    "|\u0e33[\u0e48-\u0e4b]"  # sara am before the tone mark
    "|\u0e4d\u0e32|\u0e40\u0e40"  # sara am, sara ae typed in two pieces
)


def normalise(text: str) -> str:
    """NFC, pythainlp's normaliser where needed, Thai digits to Arabic, common slips fixed,
    runs of a repeated character collapsed, spaces squeezed."""
    text = unicodedata.normalize("NFC", text).translate(_THAI_DIGITS)
    if _NEEDS_PYTHAINLP.search(text):
        from pythainlp.util import normalize

        text = normalize(text)
    text = _REPEATS.sub(r"\1", text)
    for wrong, right in _misspellings():
        if wrong in text:
            text = text.replace(wrong, right)
    return _SPACES.sub(" ", text).strip()


@cache
def _misspellings() -> tuple[tuple[str, str], ...]:
    table = _read_toml("misspellings.toml")["fix"]
    return tuple(sorted(table.items(), key=lambda kv: -len(kv[0])))


@dataclass(frozen=True)
class Lexicon:
    strong: Mapping[str, frozenset[str]]  # word -> categories
    weak: Mapping[str, frozenset[str]]
    kind_cues: Mapping[str, frozenset[str]]  # word -> kinds
    categories: tuple[str, ...]
    village_prefixes: tuple[str, ...]
    digits_only_prefixes: tuple[str, ...]
    village_name_prefix: str
    number_words: tuple[str, ...]
    whole_word_only: frozenset[str]
    actor_words: Mapping[str, frozenset[str]]
    actor_defaults: Mapping[str, str]

    @classmethod
    def load(cls) -> Lexicon:
        cats = _read_toml("categories.toml")
        cats_meta = cats.pop("matching", {})
        strong: dict[str, set[str]] = defaultdict(set)
        weak: dict[str, set[str]] = defaultdict(set)
        for category, table in cats.items():
            for word in table.get("words", []):
                strong[_key(word)].add(category)
            for word in table.get("weak", []):
                weak[_key(word)].add(category)
        kinds: dict[str, set[str]] = defaultdict(set)
        for kind, table in _read_toml("kinds.toml").items():
            for word in table["cues"]:
                kinds[_key(word)].add(kind)
        villages = _read_toml("villages.toml")
        actors = _read_toml("actors.toml")
        actor_words: dict[str, set[str]] = defaultdict(set)
        for actor, words in actors["words"].items():
            for word in words:
                actor_words[_key(word)].add(actor)
        return cls(
            strong={w: frozenset(c) for w, c in strong.items()},
            weak={w: frozenset(c) for w, c in weak.items()},
            kind_cues={w: frozenset(k) for w, k in kinds.items()},
            categories=tuple(cats),
            village_prefixes=tuple(villages["prefixes"]),
            digits_only_prefixes=tuple(villages["digits_only"]),
            village_name_prefix=villages["name_prefix"],
            number_words=tuple(villages["number_words"]),
            whole_word_only=frozenset(_key(w) for w in cats_meta.get("whole_word_only", [])),
            actor_words={w: frozenset(a) for w, a in actor_words.items()},
            actor_defaults=dict(actors["defaults"]),
        )

    def words(self) -> set[str]:
        return set(self.strong) | set(self.weak) | set(self.kind_cues) | set(self.actor_words)


def _key(word: str) -> str:
    return normalise(word).casefold().replace(" ", "")


PACKAGED_MODEL = "model.json"


def packaged_model() -> LinearModel | None:
    """The classifier shipped with the package (trained on tests/data/tagging_dev.jsonl)."""
    resource = resources.files("bot.nlp").joinpath(PACKAGED_MODEL)
    if not resource.is_file():
        return None
    with resources.as_file(resource) as path:
        return LinearModel.load(path)


class KeywordTagger:
    """Lexicon and (when a model is present) classifier together; built once per process.

    The lexicon is precise where a villager names the thing (road, methamphetamine); the classifier
    generalises to words the lexicon lacks and vetoes lexicon hits that the context rules out.
    A category is chosen when the classifier alone is sure of it, or when the lexicon found it
    and the classifier does not rule it out. With no model, the lexicon decides alone.
    """

    def __init__(self, lexicon: Lexicon | None = None, model: LinearModel | None = None) -> None:
        self.lexicon = lexicon or Lexicon.load()
        self.model = model

    @property
    def categories(self) -> Sequence[str]:
        return self.lexicon.categories

    @cached_property
    def _tokenizer(self) -> Callable[[str], list[str]]:
        """newmm over pythainlp's dictionary plus the lexicon's words.

        nlpO3 (pythainlp's Rust newmm, same segmentation) is used when installed: it is several
        times faster. Otherwise pythainlp's own newmm.
        """
        from pythainlp.corpus import thai_words

        words = set(thai_words()) | {w for w in self.lexicon.words() if " " not in w}
        try:
            from pythainlp.tokenize import nlpo3

            name = _load_nlpo3_dict(nlpo3, words)
        except (ImportError, RuntimeError, OSError):
            name = None
        if name is not None:
            # nlpO3's own binding, not pythainlp's wrapper of it: the same cuts, without an
            # import and a dictionary check on every message.
            from nlpo3 import segment

            return lambda text: segment(text, name)
        from pythainlp.tokenize import Tokenizer

        tokenizer = Tokenizer(custom_dict=words, engine="newmm", keep_whitespace=False)
        word_tokenize: Callable[[str], list[str]] = tokenizer.word_tokenize
        return word_tokenize

    @cached_property
    def _village_pattern(self) -> re.Pattern[str]:
        number_prefixes = [p for p in self.lexicon.village_prefixes]
        word_prefixes = [
            p for p in self.lexicon.village_prefixes if p not in self.lexicon.digits_only_prefixes
        ]
        alt = "|".join(re.escape(p) for p in sorted(number_prefixes, key=len, reverse=True))
        alt_words = "|".join(re.escape(p) for p in sorted(word_prefixes, key=len, reverse=True))
        number_word = "(?:" + "|".join(map(re.escape, self.lexicon.number_words)) + ")+"
        return re.compile(
            rf"(?:(?:{alt})\s*(?P<digits>\d{{1,3}})(?!\d))"
            rf"|(?:(?:{alt_words})\s*(?P<word>{number_word}))"
        )

    def tokenize(self, text: str) -> list[str]:
        return self._tokens(normalise(text))

    def _tokens(self, clean: str) -> list[str]:
        return [t for t in self._tokenizer(clean) if t.strip()]

    def tag(self, text: str, village_names: Mapping[int, str] | None = None) -> Tags:
        clean = normalise(text)
        tokens = [t.casefold() for t in self._tokens(clean)]
        keys, lexicon, matched = self._match(tokens)
        categories, guesses = self._combine(lexicon, matched, tokens, clean)
        kind = self._kind(keys)
        return Tags(
            categories=categories,
            kind=kind,
            village=self._village(clean, village_names),
            keywords=_without_parts(matched),
            actor=self.actor(keys, categories) if kind != "problem" else None,
            guesses=guesses,
        )

    @cached_property
    def _known(self) -> frozenset[str]:
        """Every word the lexicon knows, to drop other token runs before any lookup."""
        return frozenset(self.lexicon.words())

    def actor(self, keys: Iterable[str], categories: Sequence[str]) -> str | None:
        """Who can act on a need: the strongest actor its words name, else the category's."""
        named = {actor for key in keys for actor in self.lexicon.actor_words.get(key, ())}
        for actor in ACTORS:
            if actor in named:
                return actor
        return self.lexicon.actor_defaults.get(categories[0]) if categories else None

    @cached_property
    def _inner_words(self) -> tuple[str, ...]:
        """Keywords looked for inside longer tokens, longest first."""
        whole = self.lexicon.whole_word_only
        words = [w for w in self.lexicon.strong if len(w) >= 3 and w not in whole]
        return tuple(sorted(words, key=len, reverse=True))

    def _inner_keys(self, token: str) -> tuple[str, ...]:
        """Keywords inside a dictionary compound ("thanon luk rang" holds "thanon")."""
        if len(token) < 4 or not "\u0e01" <= token[0] <= "\u0e4e":
            return ()  # shorter than any compound of two keywords, or not a Thai word
        return self._inner_cache(token)

    @cached_property
    def _inner_cache(self) -> Callable[[str], tuple[str, ...]]:
        @lru_cache(maxsize=65536)
        def inner(token: str) -> tuple[str, ...]:
            found = []
            for word in self._inner_words:
                if word in token and word != token:
                    found.append(word)
                    token = token.replace(word, " ")
            return tuple(found)

        return inner

    def _categories(
        self, tokens: Sequence[str], keys: Iterable[str], matched: set[str] | None = None
    ) -> tuple[str, ...]:
        """Categories the lexicon finds; the keywords it matched go into ``matched``."""
        strong: dict[str, int] = defaultdict(int)
        weak: dict[str, int] = defaultdict(int)
        matched = set() if matched is None else matched
        for token in tokens:
            if token not in self.lexicon.strong and token not in self.lexicon.weak:
                for inner in self._inner_keys(token):
                    matched.add(inner)
                    for category in self.lexicon.strong[inner]:
                        strong[category] += 1
        for key in keys:
            hits = self.lexicon.strong.get(key)
            if hits:
                matched.add(key)
                for category in hits:
                    strong[category] += 1
            for category in self.lexicon.weak.get(key, ()):
                matched.add(key)
                weak[category] += 1
        chosen = {c for c in strong} | {c for c, n in weak.items() if n >= 2}
        # Keep the taxonomy's order, so the same text always shows its tags the same way.
        ranked = sorted(
            chosen, key=lambda c: (-(strong[c] * 2 + weak[c]), self.categories.index(c))
        )
        return tuple(ranked)

    def _match(self, tokens: list[str]) -> tuple[list[str], tuple[str, ...], set[str]]:
        """The lexicon's words among the tokens (and their runs), the categories they name,
        and every keyword matched (inside compounds too)."""
        known = self._known
        keys = [key for key in _windows(tokens) if key in known]  # lexicon words only
        matched: set[str] = set()
        return keys, self._categories(tokens, keys, matched), matched

    def lexicon_evidence(self, text: str) -> tuple[tuple[str, ...], set[str]]:
        """The categories the lexicon alone finds in a text, and the words it matched."""
        _, categories, matched = self._match([t.casefold() for t in self.tokenize(text)])
        return categories, matched

    def _combine(
        self, lexicon: tuple[str, ...], matched: set[str], tokens: Sequence[str], clean: str
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The categories chosen and, when none is, the best guesses (likeliest first)."""
        if self.model is None:
            return lexicon, ()
        model = self.model
        probabilities = dict(
            zip(model.categories, model.message_probabilities(tokens, clean), strict=True)
        )
        trusted = trusted_categories(self.lexicon, matched, model.untrusted) if lexicon else set()
        chosen = model.thresholds.for_words(len(tokens)).choose(probabilities, lexicon, trusted)
        if not chosen:  # unsure: no category reached its level of confidence
            # Its guesses: what the lexicon found (the person's own words), then the likeliest.
            likeliest = sorted(probabilities, key=probabilities.__getitem__, reverse=True)
            guesses = list(lexicon) + [c for c in likeliest if c not in lexicon]
            return (), tuple(guesses[:GUESSES])
        return tuple(chosen), ()

    def category_probabilities(self, text: str) -> dict[str, float]:
        """The classifier's view of a text (empty without a model); for explaining tags."""
        if self.model is None:
            return {}
        clean = normalise(text)
        tokens = [t.casefold() for t in self.tokenize(clean)]
        probabilities = self.model.probabilities(features(tokens, clean))
        return dict(zip(self.model.categories, probabilities, strict=True))

    def _kind(self, keys: Iterable[str]) -> str:
        found: set[str] = set()
        for key in keys:
            found |= self.lexicon.kind_cues.get(key, frozenset())
        return next((k for k in KINDS if k in found), "problem")

    def village(self, text: str, village_names: Mapping[int, str] | None = None) -> int | None:
        """The village (moo) a text names, by number or by the village's name."""
        return self._village(normalise(text), village_names)

    def _village(self, clean: str, village_names: Mapping[int, str] | None) -> int | None:
        for match in self._village_pattern.finditer(clean):
            if match["digits"]:
                number = int(match["digits"])
            else:
                from pythainlp.util import thaiword_to_num

                try:
                    number = int(thaiword_to_num(match["word"]))
                except ValueError:
                    continue
            if 0 < number < 100:
                return number
        if village_names:
            for moo, bare in self._bare_names(tuple(village_names.items())):
                if bare in clean:
                    return moo
        return None

    @cached_property
    def _bare_names(self) -> Callable[[tuple[tuple[int, str], ...]], list[tuple[int, str]]]:
        prefix = self.lexicon.village_name_prefix

        @lru_cache(maxsize=256)
        def bare(names: tuple[tuple[int, str], ...]) -> list[tuple[int, str]]:
            # Longest names first, so "Nong Kae Tai" wins over "Nong Kae".
            found = [(moo, normalise(name).removeprefix(prefix)) for moo, name in names]
            return sorted(((m, b) for m, b in found if b), key=lambda mb: -len(mb[1]))

        return bare


def trusted_categories(
    lexicon: Lexicon, matched: Iterable[str], untrusted: Mapping[str, Sequence[str]]
) -> set[str]:
    """The categories the matched lexicon words name that the training data has no reason to
    doubt (``untrusted``: word -> the categories it was found to mislead for)."""
    return {
        category
        for word in matched
        for category in lexicon.strong.get(word, ())
        if category not in untrusted.get(word, ())
    }


_NLPO3_DICTS: dict[frozenset[str], str] = {}


def _load_nlpo3_dict(nlpo3: Any, words: set[str]) -> str | None:
    """Load a word list into nlpO3 once per process; returns its dictionary name."""
    import hashlib
    import tempfile

    key = frozenset(words)
    if key in _NLPO3_DICTS:
        return _NLPO3_DICTS[key]
    name = "tambon-" + hashlib.sha1("\n".join(sorted(words)).encode()).hexdigest()[:16]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as f:
        f.write("\n".join(sorted(words)))
    try:
        loaded = nlpo3.load_dict(f.name, name)
    finally:
        Path(f.name).unlink(missing_ok=True)  # nlpO3 keeps the words in memory
    if not loaded:
        return None
    _NLPO3_DICTS[key] = name
    return name


def _without_parts(words: set[str]) -> tuple[str, ...]:
    """Matched keywords, leaving out those inside a longer one ("lum" inside "pen lum pen bo")."""
    return tuple(sorted(w for w in words if not any(w != o and w in o for o in words)))


def _windows(tokens: list[str]) -> list[str]:
    """Every token, and every run of two and of three adjacent tokens joined."""
    runs = tokens[:]
    runs += map(str.__add__, tokens, tokens[1:])
    runs += map("".join, zip(tokens, tokens[1:], tokens[2:], strict=False))
    return runs
