"""Training the classifier: the labelled development set plus the corrections people made.

Thresholds for combining lexicon and classifier are chosen by five-fold cross-validation on the
training data alone, so the test part stays unseen.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from bot.nlp.classifier import LinearModel, Thresholds, features, fit
from bot.nlp.evaluate import Gold
from bot.nlp.tagger import KeywordTagger, normalise

FOLDS = 5
ALONE = (0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65)
WITH_LEXICON = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3)


@dataclass(frozen=True)
class Example:
    text: str
    categories: frozenset[str]


def _features(tagger: KeywordTagger, text: str) -> list[str]:
    clean = normalise(text)
    return features([t.casefold() for t in tagger.tokenize(clean)], clean)


def _macro_f1(
    predicted: Sequence[set[str]], gold: Sequence[frozenset[str]], categories: Sequence[str]
) -> float:
    scores = []
    for c in categories:
        tp = sum(1 for p, g in zip(predicted, gold, strict=True) if c in p and c in g)
        fp = sum(1 for p, g in zip(predicted, gold, strict=True) if c in p and c not in g)
        fn = sum(1 for p, g in zip(predicted, gold, strict=True) if c not in p and c in g)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def train(tagger: KeywordTagger, examples: Sequence[Example], seed: int = 7) -> LinearModel:
    """Fit the classifier on ``examples`` and pick thresholds by cross-validation."""
    categories = list(tagger.categories)
    feats = [_features(tagger, e.text) for e in examples]
    labels = [e.categories for e in examples]
    lexicon_only = KeywordTagger(tagger.lexicon)
    lexicon_hits = [set(lexicon_only.tag(e.text).categories) for e in examples]
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    probabilities: list[list[float]] = [[] for _ in examples]
    for fold in range(FOLDS):
        held = set(order[fold::FOLDS])
        train_idx = [i for i in order if i not in held]
        model = fit([feats[i] for i in train_idx], [labels[i] for i in train_idx], categories)
        for i in held:
            probabilities[i] = model.probabilities(feats[i])
    best = (Thresholds(), -1.0)
    for alone in ALONE:
        for with_lexicon in WITH_LEXICON:
            predicted = []
            for hits, probs in zip(lexicon_hits, probabilities, strict=True):
                by_cat = dict(zip(categories, probs, strict=True))
                chosen = {c for c in hits if by_cat[c] >= with_lexicon}
                chosen |= {c for c, p in by_cat.items() if p >= alone}
                predicted.append(chosen)
            score = _macro_f1(predicted, labels, categories)
            if score > best[1]:
                best = (Thresholds(alone=alone, with_lexicon=with_lexicon), score)
    return fit(feats, labels, categories, thresholds=best[0])


def examples_from_gold(gold: Sequence[Gold]) -> list[Example]:
    return [Example(g.text, g.categories) for g in gold]
