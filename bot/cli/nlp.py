"""``tambon-bot tag`` and ``train``: the Thai tagger from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import CliError, open_db, tagger_for
from bot.settings import Settings
from handlers.services import tambons
from handlers.types import T, Tagger

if TYPE_CHECKING:
    from bot.nlp.evaluate import Report
    from bot.nlp.training import Example

# What `tambon-bot train` learns from and reports on when not told (paths from the project's
# directory; the Traffy file is the shared data beside it, see docs/tagger.md).
# Relative to the project's folder (not the working folder, so that train runs from anywhere).
PROJECT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = ("tests/data/tagging_dev.jsonl", "../shared/data/traffy-dev.csv.gz")
DEFAULT_TEST = ("tests/data/tagging_test.jsonl", "tests/data/traffy_test.csv.gz")


# In training, a hand-written rural message or a correction counts as five real reports (309
# of them beside 20,000 would not be heard).
RURAL_WEIGHT = 5.0


def score_file(tagger: Tagger, path: Path) -> tuple[str, Report]:
    """The tagger's scores on one labelled file; a Traffy file is scored on its held-out fifth,
    on the categories its labels speak for."""
    from bot.nlp import traffy
    from bot.nlp.evaluate import evaluate, load_gold

    if traffy.is_traffy(path):
        held_out = traffy.split(traffy.load(path), "test")
        report = evaluate(
            tagger,
            [t.gold() for t in held_out],
            categories=traffy.MAPPED,
            scores_kind_and_village=False,
        )
        return f"{path.name} (held-out test part, Traffy labels mapped)", report
    return path.name, evaluate(tagger, load_gold(path), tambons.sample_village_names())


def training_examples(path: Path) -> list[Example]:
    """Labelled messages to train on: a Traffy file gives its development part only."""
    from bot.nlp import traffy
    from bot.nlp.evaluate import load_gold
    from bot.nlp.training import Example, examples_from_gold

    if traffy.is_traffy(path):
        dev = traffy.split(traffy.load(path), "dev")
        return [Example(t.text, t.categories, path.name) for t in dev]
    return examples_from_gold(load_gold(path), source=path.name, weight=RURAL_WEIGHT)


async def cmd_tag(args: argparse.Namespace, settings: Settings) -> None:
    files = _files(args.eval, ())
    tagger = tagger_for(settings)
    if files:
        for path in files:
            name, report = score_file(tagger, path)
            if args.json:
                print(json.dumps({"file": path.name, **report.as_dict()}, ensure_ascii=False))
            else:
                print(f"== {name}\n{report.table()}\n")
        return
    lines: Iterable[str] = [args.text] if args.text is not None else sys.stdin
    for raw in lines:
        text = raw.rstrip("\r\n")
        if not text.strip():
            continue
        tags = tagger.tag(text)
        if args.json:
            record = {
                "text": text,
                "categories": list(tags.categories),
                "kind": tags.kind,
                "village": tags.village,
                "actor": tags.actor,
                "guesses": list(tags.guesses),
            }
            print(json.dumps(record, ensure_ascii=False), flush=True)
        else:
            village = "" if tags.village is None else str(tags.village)
            print("\t".join([",".join(tags.categories), tags.kind, village, text]), flush=True)


def _files(given: list[str] | None, default: Iterable[str]) -> list[Path]:
    """The files named, or the default ones (from the project's folder). A missing one stops
    the command before any work is done, default or not: a model trained without one of its
    sources is worse, and would be installed all the same."""
    paths = [Path(name) for name in given] if given else [PROJECT / name for name in default]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise CliError(T("There is no file {file}.", file=", ".join(missing)))
    return paths


async def cmd_categories(args: argparse.Namespace, settings: Settings) -> None:
    """Each category's code (what --categories and the exports use) and its name, in the
    operator's language and in the other."""
    from bot import i18n
    from handlers.labels import CATEGORY_LABELS

    for code, label in CATEGORY_LABELS.items():
        names = {locale: i18n.render(label, locale) for locale in i18n.LOCALES}
        if args.json:
            print(json.dumps({"code": code, **names}, ensure_ascii=False))
        else:
            other = next(loc for loc in i18n.LOCALES if loc != settings.locale)
            print(f"{code}\t{names[settings.locale]}\t{names[other]}")


async def cmd_train(args: argparse.Namespace, settings: Settings) -> None:
    from bot.nlp.classifier import LinearModel
    from bot.nlp.tagger import KeywordTagger
    from bot.nlp.training import Example, train

    data, tests = _files(args.data, DEFAULT_DATA), _files(args.test, DEFAULT_TEST)
    examples: list[Example] = []
    for path in data:
        examples += training_examples(path)
    corrected = 0
    if not args.no_corrections:
        async with open_db(settings) as store:
            for correction in await store.list_corrections():
                submission = await store.get_submission(correction.submission_id)
                if submission is not None and correction.new_categories:
                    examples.append(
                        Example(
                            submission.text,
                            frozenset(correction.new_categories),
                            source="corrections",
                            weight=RURAL_WEIGHT,
                        )
                    )
                    corrected += 1
    if len(examples) < 2:
        raise CliError(
            T(
                "Nothing to learn from: give labelled files with --data (the defaults are read "
                "from the project's directory; see docs/tagger.md)."
            )
        )
    before_tagger = tagger_for(settings)
    model = train(KeywordTagger(before_tagger.lexicon), examples)
    output = Path(args.output or settings.get("TAMBON_MODEL_PATH") or "data/tagger-model.json")
    # Written beside the model in use first: installed only once it is known not to be worse.
    candidate = output.with_name(output.stem + ".new.json")
    model.save(candidate)
    after_tagger = KeywordTagger(before_tagger.lexicon, LinearModel.load(candidate))
    print(f"trained on {len(examples)} messages ({corrected} from corrections)")
    if model.thresholds.longer is not None:
        print(
            f"  messages of more than {model.thresholds.short_words} words have levels of "
            "their own (chosen by cross-validation)"
        )
    for source, score in model.cross_validated.items():
        print(f"  cross-validated macro F1 on {source}: {score:.3f}")
        f1s = model.cross_validated_categories.get(source, {})
        print("    " + ", ".join(f"{category} {f1:.3f}" for category, f1 in f1s.items()))
    worse: list[tuple[str, float, float]] = []
    for path in tests:
        title, before = score_file(before_tagger, path)
        _, after = score_file(after_tagger, path)
        print(f"\n== {title}\n{'':<24}{'before':>10}{'after':>10}")
        rows = [
            (f"F1 {c}", s.f1, after.per_category[c].f1) for c, s in before.per_category.items()
        ]
        rows += [
            ("macro F1", before.macro_f1, after.macro_f1),
            ("micro F1", before.micro_f1, after.micro_f1),
            ("categories a message", before.mean_predicted, after.mean_predicted),
            ("unsure (asks)", before.unsure_rate, after.unsure_rate),
        ]
        if before.scores_kind_and_village:
            rows += [
                ("kind accuracy", before.kind_accuracy, after.kind_accuracy),
                ("village accuracy", before.village_accuracy, after.village_accuracy),
            ]
        for label, b, a in rows:
            print(f"{label:<24}{b:>10.3f}{a:>10.3f}")
        print(f"{'gold categories':<24}{before.mean_gold:>20.3f}")
        if after.macro_f1 < before.macro_f1 - 0.0005:
            worse.append((str(path), before.macro_f1, after.macro_f1))
    # The held-out parts only guard against a regression here: nothing is tuned on them.
    if worse and not args.force:
        file, was, now = worse[0]
        raise CliError(
            T(
                "The new model scores worse than the one in use on {file} (macro F1 {now} "
                "against {was}), so it was not installed; it is kept in {candidate}. Add "
                "--force to install it anyway.",
                file=file,
                now=f"{now:.3f}",
                was=f"{was:.3f}",
                candidate=str(candidate),
            )
        )
    candidate.replace(output)
    print(f"written to {output}")
