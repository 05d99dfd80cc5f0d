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
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any

import bot  # noqa: F401 - sets pythainlp offline before it is imported
from bot.nlp.classifier import LinearModel, features
from handlers.types import Tags

_THAI_DIGITS = {0x0E50 + digit: str(digit) for digit in range(10)}
_REPEATS = re.compile(r"(.)\1{2,}")  # "maakkkk" -> "maak"; Thai words never triple a letter
_SPACES = re.compile(r"\s+")
_MAX_JOIN = 3
KINDS = ("idea", "need", "problem")  # precedence order


def _read_toml(name: str) -> dict[str, Any]:
    text = resources.files("bot.nlp").joinpath("lexicon", name).read_text(encoding="utf-8")
    return tomllib.loads(text)


def normalise(text: str) -> str:
    """NFC, Thai digits to Arabic, runs of a repeated character collapsed, spaces squeezed."""
    text = unicodedata.normalize("NFC", text).translate(_THAI_DIGITS)
    text = text.replace("\u0e4d\u0e32", "\u0e33")  # nikhahit + sara aa typed for sara am
    text = text.replace("\u0e40\u0e40", "\u0e41")  # two sara e typed for sara ae
    text = _REPEATS.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


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
        )

    def words(self) -> set[str]:
        return set(self.strong) | set(self.weak) | set(self.kind_cues)


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
    def _tokenizer(self) -> Any:
        from pythainlp.corpus import thai_words
        from pythainlp.tokenize import Tokenizer

        words = set(thai_words()) | {w for w in self.lexicon.words() if " " not in w}
        return Tokenizer(custom_dict=words, engine="newmm", keep_whitespace=False)

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
        tokens: list[str] = self._tokenizer.word_tokenize(normalise(text))
        return [t for t in tokens if t.strip()]

    def tag(self, text: str, village_names: Mapping[int, str] | None = None) -> Tags:
        clean = normalise(text)
        tokens = [t.casefold() for t in self.tokenize(clean)]
        keys = list(_windows(tokens))
        lexicon = self._categories(tokens, keys)
        return Tags(
            categories=self._combine(lexicon, tokens, clean),
            kind=self._kind(keys),
            village=self.village(clean, village_names),
        )

    @cached_property
    def _inner_words(self) -> tuple[str, ...]:
        """Keywords looked for inside longer tokens, longest first."""
        whole = self.lexicon.whole_word_only
        words = [w for w in self.lexicon.strong if len(w) >= 3 and w not in whole]
        return tuple(sorted(words, key=len, reverse=True))

    def _inner_keys(self, token: str) -> tuple[str, ...]:
        """Keywords inside a dictionary compound ("thanon luk rang" holds "thanon")."""
        if len(token) < 4:  # shorter than any compound of two keywords
            return ()
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

    def _categories(self, tokens: Sequence[str], keys: Iterable[str]) -> tuple[str, ...]:
        strong: dict[str, int] = defaultdict(int)
        weak: dict[str, int] = defaultdict(int)
        for token in tokens:
            if token not in self.lexicon.strong and token not in self.lexicon.weak:
                for inner in self._inner_keys(token):
                    for category in self.lexicon.strong[inner]:
                        strong[category] += 1
        for key in keys:
            for category in self.lexicon.strong.get(key, ()):
                strong[category] += 1
            for category in self.lexicon.weak.get(key, ()):
                weak[category] += 1
        chosen = {c for c in strong} | {c for c, n in weak.items() if n >= 2}
        # Keep the taxonomy's order, so the same text always shows its tags the same way.
        ranked = sorted(
            chosen, key=lambda c: (-(strong[c] * 2 + weak[c]), self.categories.index(c))
        )
        return tuple(ranked)

    def _combine(
        self, lexicon: tuple[str, ...], tokens: Sequence[str], clean: str
    ) -> tuple[str, ...]:
        if self.model is None:
            return lexicon
        probabilities = dict(
            zip(
                self.model.categories,
                self.model.probabilities(features(tokens, clean)),
                strict=True,
            )
        )
        limits = self.model.thresholds
        chosen = [c for c in lexicon if probabilities.get(c, 1.0) >= limits.with_lexicon]
        chosen += sorted(
            (c for c, p in probabilities.items() if p >= limits.alone and c not in chosen),
            key=lambda c: -probabilities[c],
        )
        return tuple(chosen)

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
        from pythainlp.util import thaiword_to_num

        clean = normalise(text)
        for match in self._village_pattern.finditer(clean):
            if match["digits"]:
                number = int(match["digits"])
            else:
                try:
                    number = int(thaiword_to_num(match["word"]))
                except ValueError:
                    continue
            if 0 < number < 100:
                return number
        if village_names:
            prefix = self.lexicon.village_name_prefix
            # Longest names first, so "Nong Kae Tai" wins over "Nong Kae".
            for moo, name in sorted(village_names.items(), key=lambda kv: -len(kv[1])):
                bare = normalise(name).removeprefix(prefix)
                if bare and bare in clean:
                    return moo
        return None


def _windows(tokens: Sequence[str]) -> Iterable[str]:
    for i in range(len(tokens)):
        joined = ""
        for token in tokens[i : i + _MAX_JOIN]:
            joined += token
            yield joined
