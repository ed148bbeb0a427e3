"""Selection, Flip-Flop consensus, listwise distance, coverage curves, preference pairs, order metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jurybox.benchdata.llmbar import load_llmbar_evaluator
from jurybox.errors import JuryboxError
from jurybox.jury import (
    best_of_majority,
    best_of_n,
    coverage_curve,
    flip_flop,
    levenshtein,
    majority_answer,
    normalise_answer,
    normalised_levenshtein,
    order_metrics,
    preference_pairs,
    ranking_distance,
    selective_accuracy,
    write_preference_pairs,
)


@pytest.mark.parametrize(("text", "norm"), [
    ("The answer is 1,000.", "1000"), ("\\boxed{42}", "42"), ("  $3.50$ ", "3.5"), ("Final answer: Paris", "paris"),
    ("+7", "7"), ("x = \\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
])
def test_normalise_answer(text, norm):
    assert normalise_answer(text) == norm


def test_best_of_majority_filters_a_reward_hacked_rare_answer():
    # one rare answer (10%) gets the top reward; the common correct answer wins under BoM
    answers = ["17"] * 6 + ["20"] * 3 + ["99"]
    scores = [0.6, 0.7, 0.5, 0.65, 0.6, 0.55, 0.8, 0.4, 0.3, 0.99]
    assert best_of_n(scores).best == 9
    bom = best_of_majority(answers, scores, alpha=0.2, k=1)
    assert bom.survivors == ("17", "20") and bom.best == 6  # best-scored surviving candidate
    bom2 = best_of_majority(answers, scores, alpha=0.5, k=2)
    assert bom2.chosen == (1,)  # only one answer survives: fewer than k returned
    assert best_of_majority(answers, scores, alpha=0.0, k=1).best == 9  # alpha = 0 is Best-of-N
    maj = majority_answer(answers, scores)
    assert maj.survivors == ("17",) and maj.best == 1
    assert maj.frequency["17"] == pytest.approx(0.6)


def test_selection_never_picks_unscored_candidates():
    assert best_of_n([np.nan, 0.2, np.nan], k=3).chosen == (1,)
    with pytest.raises(JuryboxError):
        best_of_majority(["1"], [0.1], alpha=2.0)


def test_flip_flop_strict_majority_and_agreement():
    labels = [["A", "A", "B", "A"], ["A", "B", "B", None], ["A", "B", None, "A"], ["B", "A", "A", "A"]]
    ff = flip_flop(labels, templates=("t1", "t2", "t3", "t4"))
    # rows are templates: item 1 is A,B,B,A (2-2, no strict majority); item 2 is B,B,None,A (2 of 4 is not > 2);
    # item 3 is A,None,A,A (an unreadable answer still counts in K)
    assert ff.consensus == ("A", None, None, "A")
    assert ff.agreement.tolist() == pytest.approx([1.0, 0.5, 1.0, 0.5])
    assert ff.unanimity == 0.0 and ff.consensus_rate == 0.5


def test_flip_flop_margins_settle_confident_unanimous_items():
    labels = [["A", "A"], ["A", "B"], ["A", "A"]]
    lp = np.log(np.array([[[0.9, 0.1], [0.6, 0.4]], [[0.95, 0.05], [0.3, 0.7]], [[0.99, 0.01], [0.7, 0.3]]]))
    ff = flip_flop(labels, logprobs=lp, label_set=("A", "B"), tau=1.0)
    assert ff.consensus == ("A", "A")
    assert ff.median_margin[0] == pytest.approx(np.log(0.95 / 0.05))
    assert ff.settled.tolist() == [True, False]


def test_levenshtein_hand_computed():
    assert levenshtein("ABCD", "ABCD") == 0
    assert levenshtein("ABCD", "BACD") == 2
    assert levenshtein("kitten", "sitting") == 3
    assert normalised_levenshtein([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(1.0)
    rd = ranking_distance([[0, 1, 2], None, [1, 0, 2]], [[0, 1, 2], [0, 1, 2], [0, 1, 2]])
    assert rd.mean == pytest.approx(1 / 3) and rd.n_missing == 1


@given(st.lists(st.integers(0, 5), max_size=8), st.lists(st.integers(0, 5), max_size=8))
def test_levenshtein_is_a_bounded_symmetric_distance(a, b):
    d = levenshtein(a, b)
    assert d == levenshtein(b, a)
    assert abs(len(a) - len(b)) <= d <= max(len(a), len(b))
    assert 0.0 <= normalised_levenshtein(a, b) <= 1.0


def test_coverage_curve_and_abstention():
    pred = ["A", "B", "A", None, "B"]
    conf = [90, 80, 80, 95, 10]
    gold = ["A", "A", "A", "A", "B"]
    c = coverage_curve(pred, conf, gold)
    assert c.threshold.tolist() == [90, 80, 10]
    assert c.coverage.tolist() == pytest.approx([0.2, 0.6, 0.8])
    assert c.accuracy.tolist() == pytest.approx([1.0, 2 / 3, 0.75])
    assert c.n_answered == 4
    assert selective_accuracy(pred, conf, gold, 85) == pytest.approx((1.0, 0.2))
    acc, cov = selective_accuracy(pred, conf, gold, 99)
    assert np.isnan(acc) and cov == 0.0


def test_preference_pairs_skip_undecided_and_write_jsonl(tmp_path: Path):
    items = [{"instruction": f"q{i}", "response_a": f"a{i}", "response_b": f"b{i}", "id": i} for i in range(4)]
    pp = preference_pairs(items, ["A", "B", None, "tie"], [0.9, 0.6, None, 0.5], min_confidence=0.5,
                          keep_fields=("id",))
    assert pp.rows == (0, 1) and pp.n_skipped == 2
    assert pp.pairs[1] == {"prompt": "q1", "chosen": "b1", "rejected": "a1", "confidence": 0.6, "id": 1}
    assert len(preference_pairs(items, ["A", "B", None, "tie"], [0.9, 0.6, None, 0.5], min_confidence=0.7).pairs) == 1
    out = write_preference_pairs(pp, tmp_path / "sub" / "pairs.jsonl")
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["chosen"] for x in lines] == ["a0", "b1"]
    assert not list((tmp_path / "sub").glob("*.tmp"))


def test_order_metrics_reproduce_llmbar_statistics(shared_data: Path):
    root = shared_data / "llmbar"
    for set_name, ev in [("Neighbor", "LLaMA2"), ("MT-Bench", "GPT-4"), ("GPTOut", "ChatGPT")]:
        d = load_llmbar_evaluator(root, set_name, ev)
        m = order_metrics(d.winner_unswapped, d.winner_swapped, d.gold)
        stats_path = {"Neighbor": "LLMBar/Adversarial/Neighbor", "MT-Bench": "Processed/MT-Bench",
                      "GPTOut": "LLMBar/Adversarial/GPTOut"}[set_name]
        s = json.loads((root / stats_path / "evaluators" / ev / "Vanilla_NoRules" / "statistics.json").read_text())
        assert 100 * m.accuracy == pytest.approx(float(s["correct_average"].rstrip("%")), abs=1e-9)
        assert 100 * m.positional_agreement == pytest.approx(float(s["equal"].split("=")[-1].strip().rstrip("%")))
    m = order_metrics(["A", None], ["A", "B"], ["A", "B"])
    assert m.accuracy == 0.75 and m.positional_agreement == 0.5 and m.n_missing == 1
