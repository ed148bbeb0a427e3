"""Aggregation on constructed and simulated data where the truth is known."""

from __future__ import annotations

import numpy as np
import pytest

from jurybox.errors import JuryboxError
from jurybox.jury import (
    agreement_with,
    dawid_skene,
    log_odds_weight,
    majority_vote,
    mean_score,
    median_score,
    qualify,
    weighted_vote,
    zscore_pool,
)


def simulate(n: int, acc: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.integers(0, k, n)
    y = np.empty((len(acc), n), dtype=object)
    for j, a in enumerate(acc):
        right = rng.random(n) < a
        wrong = (z + rng.integers(1, k, n)) % k
        y[j] = np.where(right, z, wrong)
    return y, z


def test_majority_vote_ties_and_missing_are_not_labels():
    labels = [["A", "A", None, "B"], ["A", "B", None, "B"], ["B", None, None, "B"]]
    v = majority_vote(labels)
    assert v.label == ("A", None, None, "B")
    assert v.tied.tolist() == [False, True, False, False]
    assert v.n_votes.tolist() == [3, 2, 0, 3]
    assert v.support[0] == pytest.approx(2 / 3)
    assert np.isnan(v.support[2])
    assert v.to_dict()["label"] == ["A", None, None, "B"]


def test_weighted_vote_lets_a_strong_judge_outvote_two_weak_ones():
    labels = [["A"], ["B"], ["B"]]
    assert weighted_vote(labels, [3.0, 1.0, 1.0]).label == ("A",)
    assert weighted_vote(labels, [1.0, 1.0, 1.0]).label == ("B",)
    assert weighted_vote(labels, [0.0, 0.0, 0.0]).label == (None,)
    with pytest.raises(JuryboxError):
        weighted_vote(labels, [-1.0, 1.0, 1.0])


def test_mean_and_median_skip_missing_scores():
    s = [[1.0, np.nan, 5.0], [2.0, np.nan, 1.0], [6.0, np.nan, None]]
    m = mean_score(s)
    assert m.score[0] == pytest.approx(3.0) and np.isnan(m.score[1]) and m.score[2] == pytest.approx(3.0)
    assert median_score(s).score[0] == pytest.approx(2.0)
    assert m.n_scores.tolist() == [3, 0, 2]


def test_dawid_skene_recovers_simulated_accuracies_within_005():
    acc = np.array([0.55, 0.65, 0.75, 0.85, 0.9])
    y, z = simulate(2000, acc, 3, seed=7)
    y[0, :150] = None  # some unreadable answers
    ds = dawid_skene(y)
    assert ds.converged
    assert np.abs(ds.accuracy - acc).max() < 0.05
    # EM weighs judges by their reliability, so it beats the plain vote
    mv = np.array(majority_vote(y).label, dtype=object)
    assert np.mean(np.array(ds.label) == z) > np.mean(mv == z)


def test_dawid_skene_binary_with_asymmetric_judges():
    rng = np.random.default_rng(3)
    n = 2000
    z = (rng.random(n) < 0.3).astype(int)
    y = np.empty((5, n), dtype=object)
    sens = [0.9, 0.8, 0.7, 0.95, 0.6]
    spec = [0.7, 0.85, 0.9, 0.6, 0.8]
    for j in range(5):
        p_yes = np.where(z == 1, sens[j], 1 - spec[j])
        y[j] = (rng.random(n) < p_yes).astype(int)
    ds = dawid_skene(y, label_set=(0, 1))
    assert ds.priors[1] == pytest.approx(0.3, abs=0.04)
    assert np.abs(ds.confusion[:, 1, 1] - sens).max() < 0.06
    assert np.abs(ds.confusion[:, 0, 0] - spec).max() < 0.06


def test_pre_qualification_weights_and_threshold():
    gold = ["A", "B"] * 10
    good = gold.copy()
    ok = gold[:14] + [("B" if g == "A" else "A") for g in gold[14:]]  # 14/20 = 0.7
    coin = [("B" if g == "A" else "A") if i % 2 else g for i, g in enumerate(gold)]  # 0.5
    q = qualify([good, ok, coin], gold, judges=("good", "ok", "coin"))
    assert q.agreement.tolist() == pytest.approx([1.0, 0.7, 0.5])
    assert q.qualified.tolist() == [True, True, False]
    assert q.weights[1] == pytest.approx(np.log(0.7 / 0.3))
    assert q.weights[2] == 0.0
    assert np.isfinite(q.weights[0]) and q.weights[0] > q.weights[1]
    # a missing answer is a disagreement, not skipped
    ok2 = list(ok)
    ok2[0] = None
    assert qualify([ok2], gold).agreement[0] == pytest.approx(0.65)
    assert log_odds_weight(0.5) == pytest.approx(0.0)


def test_pre_weighted_jury_beats_majority_on_simulated_judges():
    acc = np.array([0.9, 0.58, 0.56, 0.55, 0.54])
    y, z = simulate(3000, acc, 2, seed=11)
    exam = np.arange(300)
    q = qualify(y[:, exam], z[exam], threshold=0.5)
    rest = np.arange(300, 3000)
    pre = np.array(weighted_vote(y[:, rest], q.weights).label, dtype=object)
    mv = np.array(majority_vote(y[:, rest]).label, dtype=object)
    assert np.mean(pre == z[rest]) > np.mean(mv == z[rest]) + 0.05


def test_zscore_pool_removes_judge_scale_and_offset():
    rng = np.random.default_rng(0)
    true = rng.normal(size=200)
    s = np.vstack([3 + 0.5 * true, 10 + 20 * true, 1 - true])  # third judge is reversed
    pooled = zscore_pool(s, [1.0, 1.0, 0.0]).score
    z = (true - true.mean()) / true.std()
    assert np.allclose(pooled, z)
    s[1, :5] = np.nan
    out = zscore_pool(s, [1.0, 1.0, 0.0])
    assert out.n_scores[:5].tolist() == [1] * 5 and np.isfinite(out.score).all()


def test_agreement_with_reference_skips_unlabelled_items():
    assert agreement_with([["A", "B", "A"]], ["A", None, "B"]).tolist() == [0.5]
