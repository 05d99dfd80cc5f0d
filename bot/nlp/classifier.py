"""The statistical half of the tagger: one logistic regression per category.

Features are the tagger's tokens (and pairs of adjacent tokens) plus character 2-4-grams of the
normalised text, weighted TF-IDF. Training uses scikit-learn (``tambon-bot train``); the trained
model is exported as plain JSON (vocabulary, idf, weights), and prediction is pure Python, so
the bot needs neither scikit-learn nor a pickle at run time, and a model file works across
library versions.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

# 1: one pair of thresholds for every category; 2: per category; 3: and, optionally, other ones
# for long messages (all still read).
MODEL_VERSION = 3
CHAR_NGRAMS = (3,)
# Defaults for a category the training chose no threshold for.
ALONE = 0.5
WITH_LEXICON = 0.1


def features(tokens: Sequence[str], text: str) -> list[str]:
    """The feature strings of one message (tokens from the tagger, text already normalised)."""
    found = [f"w:{t}" for t in tokens]
    found += [f"b:{a}|{b}" for a, b in itertools.pairwise(tokens)]
    compact = text.replace(" ", "")
    for n in CHAR_NGRAMS:
        found += [f"c:{compact[i : i + n]}" for i in range(len(compact) - n + 1)]
    return found


def covers(speaks_for: frozenset[str] | None, category: str) -> bool:
    """Whether a message whose labels cover ``speaks_for`` (None: every category) is an
    example, positive or negative, of ``category``."""
    return speaks_for is None or category in speaks_for


@dataclass(frozen=True)
class Thresholds:
    """When a category is chosen, per category (training picks them by cross-validation)."""

    # A category is chosen when the classifier alone is this sure ...
    alone: Mapping[str, float] = field(default_factory=dict)
    # ... or when the lexicon found it and the classifier does not rule it out: a word the
    # training data found unreliable for the category needs this much ...
    with_lexicon: Mapping[str, float] = field(default_factory=dict)
    # ... and any other lexicon word this much.
    with_trusted: Mapping[str, float] = field(default_factory=dict)
    # A message of more than ``short_words`` words is judged by ``longer`` (None: every message
    # by these). In a long report a word is more often a landmark than its topic ("the road
    # in front of the school"), so training may choose other levels for long messages.
    longer: Thresholds | None = None
    short_words: int = 0

    def for_words(self, words: int) -> Thresholds:
        """The thresholds for a message of this many words."""
        if self.longer is not None and words > self.short_words:
            return self.longer
        return self

    def alone_for(self, category: str) -> float:
        return self.alone.get(category, ALONE)

    def with_lexicon_for(self, category: str, trusted: bool = False) -> float:
        if trusted:
            return self.with_trusted.get(category, self.with_lexicon_for(category))
        return self.with_lexicon.get(category, WITH_LEXICON)

    def choose(
        self, probabilities: Mapping[str, float], lexicon: Sequence[str], trusted: Collection[str]
    ) -> list[str]:
        """The categories chosen: the lexicon's (in its order) that the classifier does not
        rule out, a word the training data found doubtful needing more of its agreement than
        the others (``trusted``: the categories a not-doubtful word named); then those the
        classifier alone is sure of, likeliest first."""
        chosen = [
            c
            for c in lexicon
            if probabilities.get(c, 1.0) >= self.with_lexicon_for(c, c in trusted)
        ]
        sure = [c for c, p in probabilities.items() if p >= self.alone_for(c) and c not in chosen]
        return chosen + sorted(sure, key=probabilities.__getitem__, reverse=True)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "alone": dict(self.alone),
            "with_lexicon": dict(self.with_lexicon),
            "with_trusted": dict(self.with_trusted),
        }
        if self.longer is not None:
            data["longer"] = {"after_words": self.short_words, **self.longer.to_json()}
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], categories: Sequence[str]) -> Thresholds:
        def per_category(value: Any) -> dict[str, float]:
            if isinstance(value, int | float):  # a version 1 model: one value for all
                return {c: float(value) for c in categories}
            return {c: float(v) for c, v in value.items()}

        longer = data.get("longer")
        return cls(
            alone=per_category(data["alone"]),
            with_lexicon=per_category(data["with_lexicon"]),
            with_trusted=per_category(data.get("with_trusted", {})),
            longer=None if longer is None else cls.from_json(longer, categories),
            short_words=0 if longer is None else int(longer["after_words"]),
        )


@dataclass
class LinearModel:
    categories: list[str]
    idf: dict[str, float]
    weights: dict[str, list[float]]  # feature -> weight per category
    intercepts: list[float]
    thresholds: Thresholds
    trained_on: int = 0
    # Lexicon words the training data found unreliable (right less than half the time, in at
    # least a few messages) for these categories: their hits need the classifier's agreement.
    untrusted: dict[str, list[str]] = field(default_factory=dict)
    # Each training source's macro F1 in cross-validation with the chosen thresholds.
    cross_validated: dict[str, float] = field(default_factory=dict)
    # And its F1 per category (the categories it has examples of).
    cross_validated_categories: dict[str, dict[str, float]] = field(default_factory=dict)

    @cached_property
    def _arrays(self) -> tuple[dict[str, int], Any, Any]:
        """Feature rows; per row its weights times its idf, then its idf squared, so that
        scoring a message takes one lookup of its rows; the intercepts (built once)."""
        index = {feature: row for row, feature in enumerate(self.idf)}
        idf = np.fromiter(self.idf.values(), dtype=np.float64, count=len(index))
        scaled = np.zeros((len(index), len(self.categories) + 1))
        for feature, values in self.weights.items():
            scaled[index[feature], :-1] = values
        scaled[:, :-1] *= idf[:, None]
        scaled[:, -1] = idf * idf
        return index, scaled, np.asarray(self.intercepts, dtype=np.float64)

    @cached_property
    def _by_kind(
        self,
    ) -> tuple[dict[str, int], dict[tuple[str, str], int], dict[str, int]]:
        """Rows of the word, word-pair and character n-gram features, keyed by the bare word,
        the pair of words and the n-gram, so a message's features need no strings built."""
        words: dict[str, int] = {}
        pairs: dict[tuple[str, str], int] = {}
        grams: dict[str, int] = {}
        for feature, row in self._arrays[0].items():
            kind, _, bare = feature.partition(":")
            if kind == "w":
                words[bare] = row
            elif kind == "b":
                first, _, second = bare.partition("|")
                pairs[first, second] = row
            elif kind == "c":
                grams[bare] = row
        return words, pairs, grams

    def message_probabilities(self, tokens: Sequence[str], text: str) -> list[float]:
        """The same as ``probabilities(features(tokens, text))``, without building the strings."""
        words, pairs, grams = self._by_kind
        rows: list[int | None] = list(map(words.get, tokens))
        rows += map(pairs.get, itertools.pairwise(tokens))
        compact = text.replace(" ", "")
        for n in CHAR_NGRAMS:
            rows += map(grams.get, [compact[i : i + n] for i in range(len(compact) - n + 1)])
        counts = Counter(rows)
        missing = counts.pop(None, 0)
        if len(counts) == len(rows) - missing:  # the usual case: every feature once
            return self._score_rows(np.fromiter(counts, dtype=np.intp, count=len(counts)), None)
        return self._score(counts)  # type: ignore[arg-type]  # None is gone

    def probabilities(self, feats: Iterable[str]) -> list[float]:
        """P(category | message) for every category, as scikit-learn would compute it."""
        index = self._arrays[0]
        return self._score(Counter(row for f in feats if (row := index.get(f)) is not None))

    def _score(self, counts: Counter[int]) -> list[float]:
        rows = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        return self._score_rows(rows, tf)

    def _score_rows(self, rows: Any, tf: Any) -> list[float]:
        """Probabilities from the feature rows present and their counts (numpy arrays; None:
        every one once):
        sublinear tf times idf, L2-normalised, through each category's logistic regression."""
        _, scaled, intercepts = self._arrays
        if not len(rows):
            scores = intercepts
        else:
            found = scaled[rows]
            if tf is None:  # every feature once: one sum gives the scores and the norm
                totals = found.sum(axis=0)
                norm = math.sqrt(float(totals[-1])) or 1.0
                scores = intercepts + totals[:-1] / norm
            else:
                tf = np.log(tf) + 1.0
                norm = math.sqrt(float((tf * tf) @ found[:, -1])) or 1.0
                scores = intercepts + (tf @ found[:, :-1]) / norm
        probabilities: list[float] = (1.0 / (1.0 + np.exp(-scores))).tolist()
        return probabilities

    # -- files ----------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "version": MODEL_VERSION,
            "categories": self.categories,
            "idf": self.idf,
            "weights": self.weights,
            "intercepts": self.intercepts,
            "thresholds": self.thresholds.to_json(),
            "trained_on": self.trained_on,
            "untrusted": self.untrusted,
            "cross_validated": self.cross_validated,
            "cross_validated_categories": self.cross_validated_categories,
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") not in (1, 2, MODEL_VERSION):
            raise ValueError(f"{path} holds a model of another version")
        categories = list(data["categories"])
        return cls(
            categories=categories,
            idf={k: float(v) for k, v in data["idf"].items()},
            weights={k: [float(x) for x in v] for k, v in data["weights"].items()},
            intercepts=[float(x) for x in data["intercepts"]],
            thresholds=Thresholds.from_json(data["thresholds"], categories),
            trained_on=int(data.get("trained_on", 0)),
            untrusted={w: list(c) for w, c in data.get("untrusted", {}).items()},
            cross_validated=dict(data.get("cross_validated", {})),
            cross_validated_categories={
                source: dict(f1s)
                for source, f1s in data.get("cross_validated_categories", {}).items()
            },
        )


def fit(
    feature_lists: Sequence[list[str]],
    labels: Sequence[frozenset[str]],
    categories: Sequence[str],
    thresholds: Thresholds | None = None,
    c: float = 4.0,
    *,
    sample_weight: Sequence[float] | None = None,
    min_df: int = 1,
    speaks_for: Sequence[frozenset[str] | None] | None = None,
    prune: float = 1e-4,
) -> LinearModel:
    """Train one logistic regression per category (needs scikit-learn).

    ``sample_weight`` counts some messages more than others (a small hand-labelled set beside
    a large one); ``min_df`` leaves out features seen in fewer messages than that.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer=lambda x: x, sublinear_tf=True, min_df=min_df)
    matrix = vectorizer.fit_transform(feature_lists)
    vocabulary: dict[str, int] = vectorizer.vocabulary_
    names = [""] * len(vocabulary)
    for name, column in vocabulary.items():
        names[column] = name
    weights: dict[str, list[float]] = {name: [0.0] * len(categories) for name in names}
    intercepts: list[float] = []
    for i, category in enumerate(categories):
        rows = [
            row
            for row in range(len(labels))
            if speaks_for is None or covers(speaks_for[row], category)
        ]
        y = [category in labels[row] for row in rows]
        if not any(y) or all(y):
            intercepts.append(-20.0 if not any(y) else 20.0)
            continue
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
        model.fit(
            matrix[rows],
            y,
            sample_weight=None if sample_weight is None else [sample_weight[r] for r in rows],
        )
        intercepts.append(float(model.intercept_[0]))
        for column, w in enumerate(model.coef_[0]):
            weights[names[column]][i] = float(w)
    # Drop features that weigh (next to) nothing anywhere: smaller files, the same predictions.
    kept = {
        f: [round(w, 4) for w in ws]
        for f, ws in weights.items()
        if any(abs(w) >= prune for w in ws)
    }
    idf = {name: float(vectorizer.idf_[column]) for name, column in vocabulary.items()}
    return LinearModel(
        categories=list(categories),
        idf=idf,
        weights=kept,
        intercepts=intercepts,
        thresholds=thresholds or Thresholds(),
        trained_on=len(labels),
    )
