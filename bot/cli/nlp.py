"""``tambon-bot tag`` and ``train``: the Thai tagger from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from bot.cli.common import open_db, tagger_for
from bot.settings import Settings
from handlers.services import tambons


async def cmd_tag(args: argparse.Namespace, settings: Settings) -> None:
    tagger = tagger_for(settings)
    if args.eval:
        from bot.nlp import traffy
        from bot.nlp.evaluate import evaluate, load_gold

        for path in map(Path, args.eval):
            if traffy.is_traffy(path):
                # Real reports: their held-out fifth, on the categories their labels speak for.
                held_out = traffy.split(traffy.load(path), "test")
                report = evaluate(
                    tagger,
                    [t.gold() for t in held_out],
                    categories=traffy.MAPPED,
                    scores_kind_and_village=False,
                )
                name = f"{path.name} (held-out test fifth, Traffy labels mapped)"
            else:
                report = evaluate(tagger, load_gold(path), tambons.sample_village_names())
                name = path.name
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
            }
            print(json.dumps(record, ensure_ascii=False), flush=True)
        else:
            village = "" if tags.village is None else str(tags.village)
            print("\t".join([",".join(tags.categories), tags.kind, village, text]), flush=True)


async def cmd_train(args: argparse.Namespace, settings: Settings) -> None:
    from bot.nlp.classifier import LinearModel
    from bot.nlp.evaluate import evaluate, load_gold
    from bot.nlp.tagger import KeywordTagger
    from bot.nlp.training import Example, examples_from_gold, train

    examples = examples_from_gold(load_gold(Path(args.data)))
    corrected = 0
    if not args.no_corrections:
        async with open_db(settings) as store:
            for correction in await store.list_corrections():
                submission = await store.get_submission(correction.submission_id)
                if submission is not None and correction.new_categories:
                    examples.append(Example(submission.text, frozenset(correction.new_categories)))
                    corrected += 1
    before_tagger = tagger_for(settings)
    model = train(KeywordTagger(before_tagger.lexicon), examples)
    output = Path(args.output or settings.get("TAMBON_MODEL_PATH") or "data/tagger-model.json")
    model.save(output)
    after_tagger = KeywordTagger(before_tagger.lexicon, LinearModel.load(output))
    print(
        f"trained on {len(examples)} messages ({corrected} from corrections); "
        f"thresholds {model.thresholds}; written to {output}"
    )
    if args.test:
        gold = load_gold(Path(args.test))
        names = tambons.sample_village_names()
        before = evaluate(before_tagger, gold, names)
        after = evaluate(after_tagger, gold, names)
        print(f"{'on ' + args.test:<40}{'before':>10}{'after':>10}")
        for label, b, a in (
            ("macro F1", before.macro_f1, after.macro_f1),
            ("micro F1", before.micro_f1, after.micro_f1),
            ("kind accuracy", before.kind_accuracy, after.kind_accuracy),
            ("village accuracy", before.village_accuracy, after.village_accuracy),
        ):
            print(f"{label:<40}{b:>10.3f}{a:>10.3f}")
