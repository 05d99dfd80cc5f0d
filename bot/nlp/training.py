"""Training the classifier: labelled messages (real reports, our own rural set) plus the
corrections people made.

Every threshold is chosen by five-fold cross-validation on the training data alone, so the test
parts stay unseen: per category, the classifier's level of confidence at which it chooses the
category alone, and the levels at which it lets a lexicon word's hit stand (one for the words
the training data found doubtful, one for the others), with the best F1.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.nlp.classifier import LinearModel, Thresholds, covers, features, fit
from bot.nlp.evaluate import Gold
from bot.nlp.tagger import KeywordTagger, Lexicon, normalise, trusted_categories

FOLDS = 5
ALONE = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
WITH_LEXICON = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 1.01)  # 1.01: the lexicon alone adds none
WITH_TRUSTED = (0.0, 0.02, 0.05)
# Weights tried for the largest source's F1 against the others' in choosing thresholds.
BALANCES = (0.5, 1.0, 2.0, 3.0)
# Where a message stops being short, tried in training (None: the same levels for every
# message): a long report names places and things beside its topic. Of our rural messages 99 in
# 100 have at most 12 words (96 in 100 at most 10); half the Traffy reports have more than 30.
LENGTH_CUTS: tuple[int | None, ...] = (None, 8, 12, 20)
# A cut is tried only when each side of it has at least this many training messages; and a
# category with fewer examples than MIN_POSITIVES on one side keeps there the levels chosen on
# all messages (from no example at all, any levels score the same, the loosest first).
MIN_SIDE = 200
MIN_POSITIVES = 5
# A lexicon word is doubted for a category when it was wrong more often than right in at least
# this many training messages.
EVIDENCE = 5
# Features seen in fewer messages than this are left out when the data is large: a smaller
# model, and words seen once are more often typos than evidence.
MIN_DF_LARGE = 2
LARGE = 2000
# ... and features weighing less than this for every category are dropped: on the Traffy
# development part (an inner fifth held out) this kept the scores and took the model from
# 23 MB to 13 MB, under the 20 MB the package may carry.
PRUNE_LARGE = 0.1


_Sources = dict[str, list[int]]  # source -> the indexes of its examples


@dataclass(frozen=True)
class Example:
    text: str
    categories: frozenset[str]
    # Where it comes from: in choosing thresholds each source counts the same.
    source: str = "labelled"
    # How much the message counts in training: the small hand-labelled rural set weighs more
    # than each of thousands of real city reports.
    weight: float = 1.0
    # The categories its labels cover (None: every one). Traffy's labels say nothing of farming
    # or schools: a city report is not an example of "not agriculture".
    speaks_for: frozenset[str] | None = None

    def covers(self, category: str) -> bool:
        return covers(self.speaks_for, category)


def _features(tagger: KeywordTagger, text: str) -> tuple[list[str], int]:
    """A message's features and its number of words."""
    clean = normalise(text)
    tokens = [t.casefold() for t in tagger.tokenize(clean)]
    return features(tokens, clean), len(tokens)


def _mean_f1(
    chosen: Any, gold: Any, sources: Mapping[str, Any], weights: Mapping[str, float]
) -> float:
    """The weighted mean of a category's F1 over the sources that have examples of it
    (``chosen`` and ``gold``: boolean arrays; ``sources``: index arrays)."""
    total = score = 0.0
    for source, rows in sources.items():
        c, g = chosen[rows], gold[rows]
        tp, fp, fn = int((c & g).sum()), int((c & ~g).sum()), int((g & ~c).sum())
        if tp + fn:
            weight = weights.get(source, 1.0)
            total += weight
            score += weight * 2 * tp / (2 * tp + fp + fn)
    return score / total if total else 0.0


def untrusted_words(
    matched: Sequence[set[str]], examples: Sequence[Example], lexicon: Lexicon
) -> dict[str, list[str]]:
    """Lexicon words that named a category wrongly more often than rightly, in at least
    ``EVIDENCE`` training messages: "health" (the word) for the health category in "the dust
    harms our health" reports about the environment."""
    seen: Counter[tuple[str, str]] = Counter()
    right: Counter[tuple[str, str]] = Counter()
    for words, example in zip(matched, examples, strict=True):
        for word in words:
            for category in lexicon.strong.get(word, ()):
                if example.covers(category):
                    seen[word, category] += 1
                    right[word, category] += category in example.categories
    found: dict[str, list[str]] = defaultdict(list)
    for (word, category), n in sorted(seen.items()):
        if n >= EVIDENCE and right[word, category] / n < 0.5:
            found[word].append(category)
    return dict(found)


def _cross_validated(
    feats: Sequence[list[str]],
    labels: Sequence[frozenset[str]],
    weights: Sequence[float],
    categories: Sequence[str],
    min_df: int,
    seed: int,
    speaks_for: Sequence[frozenset[str] | None],
) -> list[list[float]]:
    """Each message's probabilities from a model that did not see it."""
    order = list(range(len(feats)))
    random.Random(seed).shuffle(order)
    probabilities: list[list[float]] = [[] for _ in feats]
    for fold in range(FOLDS):
        held = set(order[fold::FOLDS])
        kept = [i for i in order if i not in held]
        model = fit(
            [feats[i] for i in kept],
            [labels[i] for i in kept],
            categories,
            sample_weight=[weights[i] for i in kept],
            min_df=min_df,
            speaks_for=[speaks_for[i] for i in kept],
        )
        for i in held:
            probabilities[i] = model.probabilities(feats[i])
    return probabilities


@dataclass(frozen=True)
class Judged:
    """What thresholds are chosen from, message by message: cross-validated probabilities (in
    the order of the categories), the lexicon's hits (categories from trusted words, from
    doubted ones), the gold labels, the source, the number of words, and the categories its
    labels cover (None: every one)."""

    probabilities: Sequence[Sequence[float]]
    hits: Sequence[tuple[set[str], set[str]]]
    labels: Sequence[frozenset[str]]
    sources: Sequence[str]
    words: Sequence[int]
    speaks_for: Sequence[frozenset[str] | None]

    def only(self, rows: Sequence[int]) -> Judged:
        """The same, for these messages only."""
        return Judged(
            probabilities=[self.probabilities[i] for i in rows],
            hits=[self.hits[i] for i in rows],
            labels=[self.labels[i] for i in rows],
            sources=[self.sources[i] for i in rows],
            words=[self.words[i] for i in rows],
            speaks_for=[self.speaks_for[i] for i in rows],
        )


def choose_thresholds(
    categories: Sequence[str],
    judged: Judged,
    source_weights: Mapping[str, float] | None = None,
    fallback: Thresholds | None = None,
) -> Thresholds:
    """Per category, the thresholds with the best F1 (a weighted mean over the sources). A
    category with fewer than ``MIN_POSITIVES`` examples takes ``fallback``'s levels, when
    given."""
    by_source: _Sources = defaultdict(list)
    for i, source in enumerate(judged.sources):
        by_source[source].append(i)
    weights = source_weights or {}
    alone: dict[str, float] = {}
    with_lexicon: dict[str, float] = {}
    with_trusted: dict[str, float] = {}
    for i, category in enumerate(categories):
        rows = {
            source: np.asarray(
                [row for row in indexes if covers(judged.speaks_for[row], category)],
                dtype=np.intp,
            )
            for source, indexes in by_source.items()
        }
        gold = np.array([category in label for label in judged.labels])
        if fallback is not None and int(gold.sum()) < MIN_POSITIVES:
            alone[category] = fallback.alone_for(category)
            with_lexicon[category] = fallback.with_lexicon_for(category)
            with_trusted[category] = fallback.with_lexicon_for(category, trusted=True)
            continue
        trusted = np.array([category in t for t, _ in judged.hits])
        doubted = np.array([category in u for _, u in judged.hits])
        p = np.array([probs[i] for probs in judged.probabilities])
        best = (-1.0, 0.5, 0.1, 0.1)
        for a in ALONE:
            for w in WITH_LEXICON:
                for wt in WITH_TRUSTED:
                    chosen = (p >= a) | (doubted & (p >= w)) | (trusted & (p >= wt))
                    score = _mean_f1(chosen, gold, rows, weights)
                    if score > best[0]:
                        best = (score, a, w, wt)
        alone[category], with_lexicon[category], with_trusted[category] = best[1:]
    return Thresholds(alone=alone, with_lexicon=with_lexicon, with_trusted=with_trusted)


def choose_by_length(
    categories: Sequence[str],
    judged: Judged,
    cut: int | None,
    source_weights: Mapping[str, float] | None = None,
    whole: Thresholds | None = None,
) -> Thresholds:
    """``choose_thresholds``, separately for the messages of at most ``cut`` words and for the
    longer ones (None: for all together). ``whole``: the levels already chosen on all messages
    with these weights, when the caller has them."""
    if whole is None:
        whole = choose_thresholds(categories, judged, source_weights)
    if cut is None:
        return whole
    short, longer = (
        choose_thresholds(
            categories,
            judged.only([i for i, n in enumerate(judged.words) if (n > cut) == is_long]),
            source_weights,
            fallback=whole,
        )
        for is_long in (False, True)
    )
    return dataclasses.replace(short, longer=longer, short_words=cut)


def macro(by_category: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Each source's macro F1, over the categories it has examples of."""
    return {
        source: sum(f1s.values()) / len(f1s) if f1s else 0.0 for source, f1s in by_category.items()
    }


def source_category_scores(
    categories: Sequence[str], thresholds: Thresholds, judged: Judged
) -> dict[str, dict[str, float]]:
    """Each source's F1 per category it has examples of, on cross-validated probabilities."""
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    for probs, (trusted, doubted), label, source, n in zip(
        judged.probabilities, judged.hits, judged.labels, judged.sources, judged.words, strict=True
    ):
        chosen = set(
            thresholds.for_words(n).choose(
                dict(zip(categories, probs, strict=True)), [*trusted, *doubted], trusted
            )
        )
        for category in chosen | label:
            tally = counts[source][category]
            tally[0] += category in chosen and category in label
            tally[1] += category in chosen and category not in label
            tally[2] += category in label and category not in chosen
    return {
        source: {
            category: 2 * tp / (2 * tp + fp + fn)
            for category, (tp, fp, fn) in per_category.items()
            if tp + fn
        }
        for source, per_category in counts.items()
    }


def train(
    tagger: KeywordTagger,
    examples: Sequence[Example],
    seed: int = 7,
    source_weights: Mapping[str, float] | None = None,
) -> LinearModel:
    """Fit the classifier on ``examples`` and pick its thresholds by cross-validation.

    ``source_weights`` say how much each source's F1 counts in choosing the thresholds. When not
    given and there are several sources, the largest source's weight is chosen from
    ``BALANCES``: the one whose thresholds leave the worst-served source best off (its
    cross-validated macro F1 highest), so that thousands of city reports do not drown the
    villagers' own way of writing, nor the other way round. Chosen the same way: whether long
    messages get levels of their own, and from how many words (``LENGTH_CUTS``)."""
    categories = list(tagger.categories)
    feats: list[list[str]] = []
    words: list[int] = []
    for e in examples:
        message_features, n = _features(tagger, e.text)
        feats.append(message_features)
        words.append(n)
    labels = [e.categories for e in examples]
    weights = [e.weight for e in examples]
    sources = [e.source for e in examples]
    min_df = MIN_DF_LARGE if len(examples) >= LARGE else 1
    evidence = [tagger.lexicon_evidence(e.text) for e in examples]
    untrusted = untrusted_words([m for _, m in evidence], examples, tagger.lexicon)
    hits = []
    for found, matched in evidence:
        trusted = trusted_categories(tagger.lexicon, matched, untrusted) & set(found)
        hits.append((trusted, set(found) - trusted))
    speaks_for = [e.speaks_for for e in examples]
    probabilities = _cross_validated(feats, labels, weights, categories, min_df, seed, speaks_for)
    judged = Judged(probabilities, hits, labels, sources, words, speaks_for)
    balances: list[Mapping[str, float]] = [source_weights or {}]
    if source_weights is None and len(set(sources)) > 1:
        largest = max(set(sources), key=sources.count)
        balances = [{largest: balance} for balance in BALANCES]
    cuts = [
        cut
        for cut in LENGTH_CUTS
        if cut is None or MIN_SIDE <= sum(n <= cut for n in words) <= len(words) - MIN_SIDE
    ]
    # The levels on all messages, per balance: every cut falls back on them.
    wholes = [choose_thresholds(categories, judged, balance) for balance in balances]
    best: tuple[tuple[float, float], Thresholds, dict[str, dict[str, float]]] | None = None
    for cut in cuts:
        for balance, whole in zip(balances, wholes, strict=True):
            chosen = choose_by_length(categories, judged, cut, balance, whole)
            by_category = source_category_scores(categories, chosen, judged)
            scores = macro(by_category)
            key = (min(scores.values()), sum(scores.values()) / len(scores))
            if best is None or key > best[0]:
                best = (key, chosen, by_category)
    assert best is not None
    _, thresholds, per_category = best
    scores = macro(per_category)
    model = fit(
        feats,
        labels,
        categories,
        thresholds=thresholds,
        sample_weight=weights,
        min_df=min_df,
        speaks_for=speaks_for,
        prune=PRUNE_LARGE if len(examples) >= LARGE else 1e-4,
    )
    model.untrusted = untrusted
    model.cross_validated = {source: round(score, 4) for source, score in scores.items()}
    model.cross_validated_categories = {
        source: {category: round(f1, 4) for category, f1 in f1s.items()}
        for source, f1s in per_category.items()
    }
    return model


def examples_from_gold(
    gold: Sequence[Gold], source: str = "labelled", weight: float = 1.0
) -> list[Example]:
    return [Example(g.text, g.categories, source, weight) for g in gold]
