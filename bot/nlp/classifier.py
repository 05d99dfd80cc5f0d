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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

MODEL_VERSION = 1
CHAR_NGRAMS = (3,)


def features(tokens: Sequence[str], text: str) -> list[str]:
    """The feature strings of one message (tokens from the tagger, text already normalised)."""
    found = [f"w:{t}" for t in tokens]
    found += [f"b:{a}|{b}" for a, b in itertools.pairwise(tokens)]
    compact = text.replace(" ", "")
    for n in CHAR_NGRAMS:
        found += [f"c:{compact[i : i + n]}" for i in range(len(compact) - n + 1)]
    return found


@dataclass(frozen=True)
class Thresholds:
    # A category is chosen when the classifier alone is this sure ...
    alone: float = 0.5
    # ... or when the lexicon found it and the classifier does not rule it out.
    with_lexicon: float = 0.1


@dataclass
class LinearModel:
    categories: list[str]
    idf: dict[str, float]
    weights: dict[str, list[float]]  # feature -> weight per category
    intercepts: list[float]
    thresholds: Thresholds
    trained_on: int = 0

    @cached_property
    def _arrays(self) -> tuple[dict[str, int], Any, Any, Any]:
        """Feature rows, idf, weight matrix and intercepts as numpy arrays (built once)."""
        import numpy as np

        index = {feature: row for row, feature in enumerate(self.idf)}
        idf = np.fromiter(self.idf.values(), dtype=np.float64, count=len(index))
        weights = np.zeros((len(index), len(self.categories)))
        for feature, values in self.weights.items():
            weights[index[feature]] = values
        return index, idf, weights, np.asarray(self.intercepts, dtype=np.float64)

    @cached_property
    def _by_kind(self) -> dict[str, dict[str, int]]:
        """Rows by feature kind and bare text, so a message's features need no prefixing."""
        index = self._arrays[0]
        split: dict[str, dict[str, int]] = {"w": {}, "b": {}, "c": {}}
        for feature, row in index.items():
            kind, _, bare = feature.partition(":")
            split.setdefault(kind, {})[bare] = row
        return split

    def message_probabilities(self, tokens: Sequence[str], text: str) -> list[float]:
        """The same as ``probabilities(features(tokens, text))``, without building the strings."""
        by_kind = self._by_kind
        words, pairs, grams = by_kind["w"].get, by_kind["b"].get, by_kind["c"].get
        rows = [words(t) for t in tokens]
        rows += [pairs(f"{a}|{b}") for a, b in itertools.pairwise(tokens)]
        compact = text.replace(" ", "")
        for n in CHAR_NGRAMS:
            rows += [grams(compact[i : i + n]) for i in range(len(compact) - n + 1)]
        return self._score(Counter(r for r in rows if r is not None))

    def probabilities(self, feats: Iterable[str]) -> list[float]:
        """P(category | message) for every category, as scikit-learn would compute it."""
        index = self._arrays[0]
        return self._score(Counter(row for f in feats if (row := index.get(f)) is not None))

    def _score(self, counts: Counter[int]) -> list[float]:
        import numpy as np

        _, idf, weights, intercepts = self._arrays
        if not counts:
            scores = intercepts
        else:
            rows = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            values = (1.0 + np.log(tf)) * idf[rows]
            values /= math.sqrt(float(values @ values)) or 1.0
            scores = intercepts + values @ weights[rows]
        return [1.0 / (1.0 + math.exp(-float(s))) for s in scores]

    # -- files ----------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "version": MODEL_VERSION,
            "categories": self.categories,
            "idf": self.idf,
            "weights": self.weights,
            "intercepts": self.intercepts,
            "thresholds": {
                "alone": self.thresholds.alone,
                "with_lexicon": self.thresholds.with_lexicon,
            },
            "trained_on": self.trained_on,
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != MODEL_VERSION:
            raise ValueError(f"{path} holds a model of another version")
        return cls(
            categories=list(data["categories"]),
            idf={k: float(v) for k, v in data["idf"].items()},
            weights={k: [float(x) for x in v] for k, v in data["weights"].items()},
            intercepts=[float(x) for x in data["intercepts"]],
            thresholds=Thresholds(**data["thresholds"]),
            trained_on=int(data.get("trained_on", 0)),
        )


def fit(
    feature_lists: Sequence[list[str]],
    labels: Sequence[frozenset[str]],
    categories: Sequence[str],
    thresholds: Thresholds | None = None,
    c: float = 4.0,
) -> LinearModel:
    """Train one logistic regression per category (needs scikit-learn)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer=lambda x: x, sublinear_tf=True, min_df=1)
    matrix = vectorizer.fit_transform(feature_lists)
    vocabulary: dict[str, int] = vectorizer.vocabulary_
    names = [""] * len(vocabulary)
    for name, column in vocabulary.items():
        names[column] = name
    weights: dict[str, list[float]] = {name: [0.0] * len(categories) for name in names}
    intercepts: list[float] = []
    for i, category in enumerate(categories):
        y = [category in label for label in labels]
        if not any(y) or all(y):
            intercepts.append(-20.0 if not any(y) else 20.0)
            continue
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
        model.fit(matrix, y)
        intercepts.append(float(model.intercept_[0]))
        for column, w in enumerate(model.coef_[0]):
            weights[names[column]][i] = float(w)
    # Drop features that weigh nothing anywhere: smaller files, same predictions.
    kept = {
        f: [round(w, 5) for w in ws] for f, ws in weights.items() if any(abs(w) > 1e-4 for w in ws)
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
