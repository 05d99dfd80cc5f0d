"""The labelled set, the evaluation harness, the classifier and retraining from corrections."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.nlp import traffy
from bot.nlp.classifier import LinearModel, features, fit
from bot.nlp.evaluate import evaluate, load_gold
from bot.nlp.tagger import KeywordTagger, normalise, packaged_model

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def test_labelled_set_is_large_varied_and_split_without_overlap(tagger: KeywordTagger) -> None:
    dev = load_gold(DATA / "tagging_dev.jsonl")
    test = load_gold(DATA / "tagging_test.jsonl")
    assert len(dev) + len(test) >= 500
    assert {g.text for g in dev}.isdisjoint({g.text for g in test})
    every = dev + test
    assert set().union(*(g.categories for g in every)) == set(tagger.categories)
    assert {g.kind for g in every} == {"problem", "need", "idea"}
    texts = [g.text for g in every]
    assert any(any("\u0e50" <= ch <= "\u0e59" for ch in t) for t in texts)  # Thai digits
    assert any("บ่" in t or "เฮา" in t or "ข้าเจ้า" in t for t in texts)  # dialect
    assert any(len(t) <= 5 for t in texts)
    assert any(len(t) >= 90 for t in texts)
    assert sum(len(g.categories) > 1 for g in every) >= 50


def test_evaluation_arithmetic(tmp_path: Path, tagger: KeywordTagger) -> None:
    gold = tmp_path / "gold.csv"
    gold.write_text(
        "text,categories,kind,village\n"
        "ไฟดับทั้งซอย,infrastructure,problem,\n"  # right
        "ยุงเยอะมาก,health|environment,problem,2\n"  # environment missed, village wrong
        "ขอถนนใหม่,water,need,\n",  # infrastructure extra, water missed
        encoding="utf-8",
    )
    report = evaluate(tagger, load_gold(gold))
    infra = report.per_category["infrastructure"]
    assert (infra.tp, infra.fp, infra.fn) == (1, 1, 0)
    assert infra.precision == pytest.approx(0.5)
    assert infra.f1 == pytest.approx(2 / 3)
    assert report.per_category["environment"].fn == 1
    assert report.per_category["water"].recall == 0.0
    assert report.kind_accuracy == pytest.approx(1.0)
    assert report.village_accuracy == pytest.approx(2 / 3)
    assert report.micro_f1 == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))


def test_pure_python_prediction_matches_scikit_learn(tagger: KeywordTagger) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    gold = load_gold(DATA / "tagging_dev.jsonl")[:120]
    feats = [features(tagger.tokenize(normalise(g.text)), normalise(g.text)) for g in gold]
    model = fit(feats, [g.categories for g in gold], ["water"])
    vectorizer = TfidfVectorizer(analyzer=lambda x: x, sublinear_tf=True)
    matrix = vectorizer.fit_transform(feats)
    reference = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000)
    reference.fit(matrix, ["water" in g.categories for g in gold])
    probe = features(tagger.tokenize("น้ำไม่ไหลมาสามวัน"), "น้ำไม่ไหลมาสามวัน")
    expected = reference.predict_proba(vectorizer.transform([probe]))[0][1]
    assert model.probabilities(probe)[0] == pytest.approx(expected, abs=1e-3)


def test_packaged_model_meets_the_quality_bar_on_both_test_parts() -> None:
    """The shipped tagger on messages no training, lexicon edit or threshold choice saw: the
    rural test part and the held-out fifth of real Traffy Fondue reports (issue 13's bar)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "tag",
            "--eval",
            str(DATA / "tagging_test.jsonl"),
            "--eval",
            str(DATA / "traffy_test.csv.gz"),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "TAMBON_MODEL_PATH": "/nonexistent/model.json"},
    )
    rural, real = map(json.loads, done.stdout.splitlines())
    assert rural["messages"] >= 200
    assert rural["macro_f1"] >= 0.85
    assert rural["unsure_rate"] < 0.10
    assert rural["kind_accuracy"] >= 0.85
    assert rural["village_accuracy"] >= 0.95
    assert real["messages"] >= 5000
    assert real["kind_accuracy"] is None  # Traffy says nothing of kind or village
    assert real["macro_f1"] >= 0.85
    assert set(real["categories"]) == set(traffy.MAPPED)
    weak = {c: s["f1"] for c, s in real["categories"].items() if s["f1"] < 0.70}
    assert not weak, weak
    # Less over-tagging: 2.15 categories a message against 1.39 in the gold before.
    assert real["mean_categories"] <= real["mean_gold_categories"] * 1.25
    # It asks rather than guesses now and then, not for most messages.
    assert 0 < real["unsure_rate"] < 0.10


def test_the_held_out_part_in_the_project_is_the_hash_split_of_the_shared_file() -> None:
    """The copy CI scores is exactly the fixed fifth the split picks from the full file, and
    none of it is in the development part training reads."""
    shipped = traffy.load(DATA / "traffy_test.csv.gz")
    assert len(shipped) >= 5000
    assert traffy.split(shipped, "dev") == []
    full = ROOT.parent / "shared" / "data" / "traffy-dev.csv.gz"
    if full.exists():  # the shared data is on the developers' machines, not necessarily CI's
        tickets = traffy.load(full)
        assert [t.ticket_id for t in traffy.split(tickets, "test")] == [
            t.ticket_id for t in shipped
        ]
        dev = {t.ticket_id for t in traffy.split(tickets, "dev")}
        assert dev.isdisjoint(t.ticket_id for t in shipped)


def test_lexicon_alone_when_no_model(tagger: KeywordTagger) -> None:
    assert tagger.model is None
    assert tagger.category_probabilities("ไฟดับ") == {}
    assert packaged_model() is not None


def test_retraining_learns_from_corrections(tmp_path: Path) -> None:
    """Corrections in the store join the training data: a new word is learnt."""
    import asyncio

    from handlers.services import tambons
    from storage.base import Correction, Kind, NewSubmission
    from storage.sqlite import SQLiteStore

    novel = "กระทิงป่าบุกไร่อีกแล้ว"
    db = tmp_path / "train.db"

    async def seed() -> None:
        async with SQLiteStore(db) as store:
            tambon = await tambons.create_tambon(store, "600801", 3)
            for i in range(6):
                text = f"กระทิงป่าบุกไร่ครั้งที่ {i + 1}"
                stored, _ = await store.add_submission(
                    NewSubmission(
                        tambon.id,
                        text,
                        Kind.PROBLEM,
                        ["agriculture"],
                        None,
                        None,
                        False,
                        "console",
                        None,
                    )
                )
                await store.add_correction(
                    Correction(
                        stored.id,
                        None,
                        "team",
                        ["agriculture"],
                        ["safety"],
                        Kind.PROBLEM,
                        Kind.PROBLEM,
                        None,
                        None,
                    )
                )

    asyncio.run(seed())
    model_path = tmp_path / "model.json"
    env = {
        **os.environ,
        "TAMBON_DATABASE_URL": f"sqlite:///{db}",
        "TAMBON_MODEL_PATH": str(model_path),
    }
    before = subprocess.run(
        [sys.executable, "-m", "bot.cli", "tag", "--json", novel],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=tmp_path,
    )
    assert "safety" not in json.loads(before.stdout)["categories"]
    trained = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "train",
            "--data",
            str(DATA / "tagging_dev.jsonl"),
            "--test",
            str(DATA / "tagging_test.jsonl"),
            "--force",  # learned from corrections, whatever the held-out score says
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=tmp_path,
    )
    assert "(6 from corrections)" in trained.stdout
    assert "macro F1" in trained.stdout
    assert "before" in trained.stdout
    development = load_gold(DATA / "tagging_dev.jsonl")
    assert LinearModel.load(model_path).trained_on == len(development) + 6
    after = subprocess.run(
        [sys.executable, "-m", "bot.cli", "tag", "--json", novel],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=tmp_path,
    )
    assert "safety" in json.loads(after.stdout)["categories"]


def test_nlpo3_and_pythainlp_newmm_segment_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast tokeniser is used only because it cuts words exactly as newmm does."""
    import bot.nlp.tagger as tagger_module

    fast = KeywordTagger()
    monkeypatch.setattr(tagger_module, "_load_nlpo3_dict", lambda *_: None)
    slow = KeywordTagger(fast.lexicon)
    texts = [g.text for g in load_gold(DATA / "tagging_dev.jsonl")]
    assert [fast.tokenize(t) for t in texts] == [slow.tokenize(t) for t in texts]


def test_a_source_silent_on_a_category_gives_no_negative_examples_of_it(
    tagger: KeywordTagger,
) -> None:
    """City reports whose labels say nothing of farming do not teach "rice is not farming"."""
    rural = [("ราคาข้าวตกต่ำมาก", {"agriculture"}), ("ปุ๋ยแพงทำนาไม่ไหว", {"agriculture"})] * 3
    rural += [("ถนนเป็นหลุม", {"infrastructure"}), ("น้ำประปาไม่ไหล", {"water"})] * 3
    city = [(f"ร้านข้าวมันไก่ตั้งโต๊ะบนทางเท้าซอย {i}", {"infrastructure"}) for i in range(12)]
    texts = [t for t, _ in rural + city]
    feats = [features(tagger.tokenize(normalise(t)), normalise(t)) for t in texts]
    labels = [frozenset(c) for _, c in rural + city]
    covered = frozenset({"infrastructure", "water"})
    silent = fit(feats, labels, tagger.categories, speaks_for=[None] * len(rural) + [covered] * 12)
    negative = fit(feats, labels, tagger.categories)
    probe = features(tagger.tokenize("ข้าวราคาไม่ดี"), "ข้าวราคาไม่ดี")
    farming = tagger.categories.index("agriculture")
    assert silent.probabilities(probe)[farming] > negative.probabilities(probe)[farming]


def test_a_lexicon_word_wrong_more_often_than_right_is_doubted(tagger: KeywordTagger) -> None:
    from bot.nlp.training import EVIDENCE, Example, untrusted_words

    # "the dust harms our health": health named, the report is about the environment.
    dust = [
        Example(f"ฝุ่นเยอะมากกระทบสุขภาพ {i}", frozenset({"environment"}), "city")
        for i in range(EVIDENCE)
    ]
    matched = [tagger.lexicon_evidence(e.text)[1] for e in dust]
    assert "สุขภาพ" in matched[0]
    assert "health" in untrusted_words(matched, dust, tagger.lexicon)["สุขภาพ"]
    # The same reports from a source whose labels do not speak for health prove nothing.
    silent = [
        Example(e.text, e.categories, "city", speaks_for=frozenset({"environment"})) for e in dust
    ]
    assert "สุขภาพ" not in untrusted_words(matched, silent, tagger.lexicon)
    # Fewer than EVIDENCE messages prove nothing either.
    assert "สุขภาพ" not in untrusted_words(matched[:-1], dust[:-1], tagger.lexicon)


def test_a_named_file_that_is_not_there_stops_train_and_eval_politely(tmp_path: Path) -> None:
    """A mistyped path gets a one-line answer before any training, in Thai by default, and
    leaves the model file as it was."""
    model_path = tmp_path / "model.json"
    model_path.write_text("{}", encoding="utf-8")
    env = {
        **os.environ,
        "TAMBON_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "TAMBON_MODEL_PATH": str(model_path),
    }
    missing = str(tmp_path / "ไม่มี.jsonl")
    for args in (
        ["train", "--data", str(DATA / "tagging_dev.jsonl"), "--test", missing],
        ["train", "--data", missing],
        ["tag", "--eval", missing],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
            check=False,
        )
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr
        assert "ไม่พบไฟล์" in done.stderr
        assert missing in done.stderr
        assert "trained on" not in done.stdout
        assert model_path.read_text(encoding="utf-8") == "{}"


def test_long_messages_may_have_levels_of_their_own(tmp_path: Path) -> None:
    """Thresholds for long messages: chosen by message length, kept in the model file, and a
    model file without them (version 2) still read as one set for every message."""
    from bot.nlp.classifier import Thresholds

    short = Thresholds(alone={"water": 0.4}, with_lexicon={"water": 0.1})
    longer = Thresholds(alone={"water": 0.9}, with_lexicon={"water": 1.01})
    both = Thresholds(
        alone=short.alone, with_lexicon=short.with_lexicon, longer=longer, short_words=8
    )
    assert both.for_words(8) is both
    assert both.for_words(9) is longer
    assert short.for_words(500) is short
    # The same classifier and lexicon hit: a short message keeps the hit, a long one does not.
    assert both.for_words(5).choose({"water": 0.5}, ["water"], ()) == ["water"]
    assert both.for_words(40).choose({"water": 0.5}, ["water"], ()) == []
    again = Thresholds.from_json(both.to_json(), ["water"])
    assert again == both
    assert Thresholds.from_json(short.to_json(), ["water"]).longer is None

    packaged = json.loads((ROOT / "bot" / "nlp" / "model.json").read_text(encoding="utf-8"))
    old = {**packaged, "version": 2}
    old["thresholds"] = {k: v for k, v in packaged["thresholds"].items() if k != "longer"}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old, ensure_ascii=False), encoding="utf-8")
    model = LinearModel.load(path)
    assert model.thresholds.longer is None
    assert model.thresholds.for_words(100) is model.thresholds


def test_levels_for_long_messages_are_chosen_apart_from_the_short_ones(
    tagger: KeywordTagger,
) -> None:
    """A word that names the topic of short messages and only the place in long ones (the
    school in "the road in front of the school is broken ..."): one set of levels must tag
    both or neither; levels per length keep the short ones and drop the long ones, and the
    cross-validated score says so. Too few long messages and training tries no cut."""
    from bot.nlp import training

    categories = ["education", "infrastructure"]
    n, m = 50, 10  # short about schools; long about a road by the school; long about schools
    education, road = frozenset({"education"}), frozenset({"infrastructure"})
    labels = [education] * n + [road] * n + [education] * m
    probabilities = [[0.03, 0.1]] * n + [[0.03, 0.9]] * n + [[0.6, 0.1]] * m
    hits = (
        [({"education"}, set())] * n
        + [({"education", "infrastructure"}, set())] * n
        + [({"education"}, set())] * m
    )
    judged = training.Judged(
        probabilities,
        hits,
        labels,
        sources=["rural"] * (2 * n + m),
        words=[5] * n + [30] * (n + m),
        speaks_for=[None] * (2 * n + m),
    )
    scores = {}
    for cut in (None, 8):
        chosen = training.choose_by_length(categories, judged, cut)
        by_category = training.source_category_scores(categories, chosen, judged)
        scores[cut] = by_category["rural"]["education"]
        if cut is not None:
            assert chosen.longer is not None
            assert chosen.short_words == 8
            assert chosen.with_lexicon_for("education", trusted=True) <= 0.03
            assert chosen.longer.with_lexicon_for("education", trusted=True) > 0.03
    assert scores[8] == 1.0
    assert scores[None] < 0.75

    short_few = training.examples_from_gold(load_gold(DATA / "tagging_dev.jsonl")[:60])
    model = training.train(tagger, short_few)
    assert model.thresholds.longer is None  # fewer than MIN_SIDE long messages: no cut tried


def test_a_worse_model_is_not_installed_without_force(tmp_path: Path) -> None:
    """Issue 23, item 3: `train` replaced a good model with a worse one. Trained on a few
    messages, the new model scores worse on a held-out part than the one in use, so it is kept
    aside and the model in use stays; --force installs it."""
    tiny = tmp_path / "tiny.jsonl"
    lines = (DATA / "tagging_dev.jsonl").read_text(encoding="utf-8").splitlines()
    tiny.write_text("\n".join(lines[:30]) + "\n", encoding="utf-8")
    model_path = tmp_path / "model.json"
    env = {
        **os.environ,
        "TAMBON_DATABASE_URL": f"sqlite:///{tmp_path}/t.db",
        "TAMBON_MODEL_PATH": str(model_path),
    }
    args = [
        "train",
        "--no-corrections",
        "--data",
        str(tiny),
        "--test",
        str(DATA / "tagging_test.jsonl"),
    ]
    refused = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert refused.returncode == 2, refused.stderr
    assert "Traceback" not in refused.stderr
    assert not model_path.exists()  # the packaged model stays in use
    assert (tmp_path / "model.new.json").exists()
    forced = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args, "--force"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert forced.returncode == 0, forced.stderr
    assert model_path.exists()
