"""acc, acc_norm, acc_bytes and acc_mutual_info as EleutherAI's lm-evaluation-harness defines them,
on a hand-worked example where every normalisation picks a different option."""

from __future__ import annotations

import numpy as np
import pytest

from jurybox.errors import JuryboxError
from jurybox.mcqa.metrics import (
    NORMALISATIONS,
    accuracy_table,
    harness_predictions,
    letter_bias,
    route_by_confidence,
)

CHOICES = ["Paris", "the city of Lyon", "Zürich"]  # 5, 16 and 6 characters; Zürich is 7 UTF-8 bytes
LLS = [-3.5, -9.6, -3.9]
TOKENS = [1, 4, 3]
UNCONDITIONAL = [-2.0, -9.0, -1.0]


def harness_process_results(lls, choices, gold, lls_unconditional):
    """The lines of lm_eval/api/task.py (EleutherAI/lm-evaluation-harness @ 4e7e0d47f,
    ConfigurableTask.process_results, output_type multiple_choice), copied as they are."""
    completion_len = np.array([float(len(i)) for i in choices])
    byte_length = np.array([float(len(i.encode("utf-8"))) for i in choices])
    pred = np.argmax(lls)
    pred_norm = np.argmax(lls / completion_len)
    pred_byte = np.argmax(lls / byte_length)
    acc = 1.0 if pred == gold else 0.0
    acc_norm = 1.0 if pred_norm == gold else 0.0
    acc_bytes = 1.0 if pred_byte == gold else 0.0
    lls_mutual_info = [ll_c - ll_u for ll_c, ll_u in zip(lls, lls_unconditional, strict=True)]
    acc_mutual_info = 1.0 if np.argmax(lls_mutual_info) == gold else 0.0
    return {"acc": acc, "acc_norm": acc_norm, "acc_bytes": acc_bytes, "acc_mutual_info": acc_mutual_info}


def test_hand_worked_example():
    # by hand: raw   [-3.5, -9.6, -3.9]                   -> Paris (0)
    #          chars [-3.5/5, -9.6/16, -3.9/6] = [-0.70, -0.60, -0.65]  -> Lyon (1)
    #          bytes [-3.5/5, -9.6/16, -3.9/7] = [-0.70, -0.60, -0.557] -> Zürich (2)
    #          tokens [-3.5/1, -9.6/4, -3.9/3] = [-3.5, -2.4, -1.3]     -> Zürich (2)
    #          mutual info [-1.5, -0.6, -2.9]                            -> Lyon (1)
    p = harness_predictions(LLS, CHOICES, token_counts=TOKENS, unconditional=UNCONDITIONAL)
    assert p == {"acc": 0, "acc_norm": 1, "acc_bytes": 2, "acc_token_norm": 2, "acc_mutual_info": 1}


@pytest.mark.parametrize("gold", [0, 1, 2])
def test_equals_the_harness_lines(gold):
    ours = harness_predictions(LLS, CHOICES, unconditional=UNCONDITIONAL)
    theirs = harness_process_results(np.array(LLS), CHOICES, gold, UNCONDITIONAL)
    for metric, value in theirs.items():
        assert (1.0 if ours[metric] == gold else 0.0) == value, metric


def test_random_agreement_with_the_harness_lines():
    rng = np.random.default_rng(1)
    words = ["a", "bb", "ccc dd", "éé", "long option text here", "x y"]
    for _ in range(300):
        n = int(rng.integers(2, 6))
        choices = [str(rng.choice(words)) + "" for _ in range(n)]
        lls = -rng.gamma(2.0, 3.0, size=n)
        unc = -rng.gamma(2.0, 3.0, size=n)
        ours = harness_predictions(lls, choices, unconditional=unc)
        for gold in range(n):
            theirs = harness_process_results(lls, choices, gold, unc)
            for metric, value in theirs.items():
                assert (1.0 if ours[metric] == gold else 0.0) == value


def test_normalisations_are_named():
    assert "characters" in NORMALISATIONS["acc_norm"] and "harness" in NORMALISATIONS["acc_norm"]
    assert "tokens" in NORMALISATIONS["acc_token_norm"] and "not a harness metric" in NORMALISATIONS["acc_token_norm"]


def test_bad_arrays():
    with pytest.raises(JuryboxError):
        harness_predictions([-1.0], ["a", "b"])
    with pytest.raises(JuryboxError):
        harness_predictions([-1.0, -2.0], ["a", ""])


def test_accuracy_table_wilson():
    t = accuracy_table([True, True, False, True], ["x", "x", "y", "y"])
    assert t.n == 4 and t.correct == 3
    assert t.overall.estimate == 0.75 and 0.3 < t.overall.low < 0.75 < t.overall.high < 1.0
    assert t.groups["x"].estimate == 1.0 and t.group_n["y"] == 2


def test_letter_bias():
    b = letter_bias(["A", "A", "A", None], ["A", "B", "C", "A"], ["A", "B", "C", "D"])
    assert b.predicted_share["A"] == 0.75 and b.gold_share["A"] == 0.5
    assert b.recall["A"].estimate == 0.5 and b.recall["B"].estimate == 0.0
    assert np.isnan(b.recall["D"].estimate)


def test_routing():
    routed, r = route_by_confidence([0.9, 0.4, None, 0.8], 0.5, [True, False, False, False])
    assert routed == [False, True, True, False]
    assert r.n_routed == 2 and r.coverage == 0.5
    assert r.auto_accuracy.estimate == 0.5 and r.routed_accuracy.estimate == 0.0
    assert r.errors_routed == pytest.approx(2 / 3)
    with pytest.raises(JuryboxError):
        route_by_confidence([0.5], 1.5)
