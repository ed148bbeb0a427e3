from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, precision_recall_fscore_support
from sklearn.metrics import confusion_matrix as sk_confusion

from jurybox.errors import JuryboxError
from jurybox.stats import (
    agreement_report,
    bootstrap_ci,
    bootstrap_distribution,
    brier_score,
    cohen_kappa,
    confusion_matrix,
    expected_calibration_error,
    find_disagreements,
    krippendorff_alpha,
    leniency,
    pearson,
    reliability_diagram,
    top_label_confidence,
)
from jurybox.stats.bootstrap import _looped_distribution


def _labels(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3, n)
    b = np.where(rng.random(n) < 0.7, a, rng.integers(0, 3, n))
    return a, b


def test_vectorised_bootstrap_matches_looped_in_distribution() -> None:
    a, b = _labels(400)
    fast, _, _ = bootstrap_distribution(cohen_kappa, a, b, n_resamples=2000, seed=1)
    slow, _, _ = _looped_distribution(cohen_kappa, (a, b), {}, None, 2000, np.random.default_rng(2))
    assert abs(fast.mean() - slow.mean()) < 0.005
    assert abs(fast.std() - slow.std()) < 0.1 * slow.std()


def test_bootstrap_interval_properties() -> None:
    a, b = _labels(500)
    iv = bootstrap_ci(cohen_kappa, a, b, n_resamples=500, seed=3)
    assert iv.low < iv.estimate < iv.high and iv.n_valid == 500 and iv.unit == "item"
    assert iv == bootstrap_ci(cohen_kappa, a, b, n_resamples=500, seed=3)  # deterministic
    wide = bootstrap_ci(cohen_kappa, a[:50], b[:50], n_resamples=500, seed=3)
    assert wide.high - wide.low > iv.high - iv.low
    assert iv.to_dict()["n_units"] == 500


def test_cluster_bootstrap_resamples_groups_and_is_wider_with_correlated_clusters() -> None:
    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(20), 50)
    good = rng.random(20) < 0.5  # whole clusters agree or not: strong within-cluster correlation
    a = rng.integers(0, 2, 1000)
    b = np.where(good[groups], a, 1 - a)
    item = bootstrap_ci(cohen_kappa, a, b, n_resamples=400)
    clus = bootstrap_ci(cohen_kappa, a, b, groups=groups, n_resamples=400)
    assert clus.unit == "group" and clus.n_units == 20
    assert clus.high - clus.low > 2 * (item.high - item.low)
    looped, n_units, unit = _looped_distribution(
        cohen_kappa, (a, b), {}, groups, 400, np.random.default_rng(0)
    )
    assert (
        unit == "group"
        and n_units == 20
        and abs(
            np.std(looped)
            - np.std(bootstrap_distribution(cohen_kappa, a, b, groups=groups, n_resamples=400)[0])
        )
        < 0.3 * np.std(looped)
    )


def test_bootstrap_alpha_and_pearson_and_missing() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, (300, 3)).astype(float)
    x[rng.random(x.shape) < 0.2] = np.nan
    iv = bootstrap_ci(krippendorff_alpha, x, level="ordinal", n_resamples=300)
    assert iv.estimate == krippendorff_alpha(x, level="ordinal") and iv.low <= iv.estimate <= iv.high
    u = rng.normal(size=200)
    v = u + rng.normal(size=200)
    v[:10] = np.nan
    iv = bootstrap_ci(pearson, u, v, n_resamples=300)
    assert iv.n_units == 190 and iv.low < iv.estimate < iv.high
    with pytest.raises(JuryboxError, match="confidence"):
        bootstrap_ci(pearson, u, v, confidence=95)


def test_confusion_matrix_matches_sklearn() -> None:
    a, b = _labels(200)
    cm = confusion_matrix(a, b)
    assert (cm.matrix == sk_confusion(a, b)).all()
    p, r, f, s = precision_recall_fscore_support(a, b, zero_division=np.nan)
    assert np.allclose(cm.precision, p) and np.allclose(cm.recall, r) and np.allclose(cm.f1, f)
    assert cm.support == tuple(s) and cm.n_missing == 0
    assert confusion_matrix(["x", None], ["x", "y"]).n_missing == 1


def test_calibration_matches_sklearn() -> None:
    rng = np.random.default_rng(0)
    conf = rng.random(1000)
    correct = (rng.random(1000) < conf**2).astype(float)
    diagram = reliability_diagram(conf, correct, n_bins=10)
    prob_true, prob_pred = calibration_curve(correct, conf, n_bins=10)
    filled = np.array(diagram.count) > 0
    assert np.allclose(np.array(diagram.accuracy)[filled], prob_true)
    assert np.allclose(np.array(diagram.mean_confidence)[filled], prob_pred)
    counts = np.array(diagram.count)[filled]
    assert expected_calibration_error(conf, correct) == pytest.approx(
        float((counts * np.abs(prob_true - prob_pred)).sum() / counts.sum())
    )
    assert brier_score(conf, correct) == pytest.approx(2 * brier_score_loss(correct, conf))
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [np.nan] * 3])
    assert brier_score(probs, ["a", "b", "a"], labels=["a", "b", "c"]) == pytest.approx(
        ((0.09 + 0.04 + 0.01) + (0.01 + 0.81 + 0.64)) / 2
    )
    c, ok = top_label_confidence(probs, ["a", "b", "a"], labels=["a", "b", "c"])
    assert c[0] == 0.7 and ok[0] == 1 and ok[1] == 0 and np.isnan(c[2])


def test_disagreements_ranked_by_probability_of_the_human_label() -> None:
    probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.02, 0.98], [0.45, 0.55], [np.nan, np.nan]])
    d = find_disagreements(["a", "a", "a", "a", "b"], probs, labels=["a", "b"])
    assert d.index == (2, 1, 3) and d.judge_label == ("b", "b", "b")
    assert find_disagreements(["a"] * 4 + ["b"], probs, labels=["a", "b"], min_confidence=0.6).index == (2, 1)


def test_leniency() -> None:
    lv = leniency([1, 2, 3, 4, None], [2, 2, 4, 3, 5])
    assert lv.n == 4 and lv.mean_difference == pytest.approx(0.25)
    assert (lv.share_higher, lv.share_equal, lv.share_lower) == pytest.approx((0.5, 0.25, 0.25))


def test_agreement_report_counts_missing_verdicts() -> None:
    h = np.array([1, 2, 3, 1, 2, 3, 1, None], dtype=object)
    j = np.array([1, 2, 3, 1, None, None, 2, 1], dtype=object)
    rep = agreement_report(h, j, level="ordinal", n_resamples=200)
    assert (rep.n_items, rep.n_used, rep.n_missing_judge, rep.n_missing_human) == (8, 5, 2, 1)
    assert rep.statistics["accuracy"].estimate == pytest.approx(0.8)
    assert {"cohen_kappa_quadratic", "spearman", "krippendorff_alpha"} <= set(rep.statistics)
    assert rep.to_dict()["labels"] == [1, 2, 3]
    interval = agreement_report([1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 4.0, 3.0], level="interval", n_resamples=50)
    assert interval.statistics["mean_difference"].estimate == pytest.approx(0.25)
