"""Property tests against independent implementations: scikit-learn, krippendorff, scipy."""

from __future__ import annotations

import warnings

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats as sps
from sklearn.metrics import cohen_kappa_score

from jurybox.stats import (
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    kendall_tau_b,
    krippendorff_alpha,
    pearson,
    percent_agreement,
    scott_pi,
    spearman,
)

FAST = settings(max_examples=60, deadline=None)


def _same(a: float, b: float) -> bool:
    return (np.isnan(a) and np.isnan(b)) or abs(a - b) < 1e-9


pairs = st.integers(1, 40).flatmap(
    lambda n: st.tuples(
        arrays(np.int64, n, elements=st.integers(0, 4)), arrays(np.int64, n, elements=st.integers(0, 4))
    )
)


@FAST
@given(pairs, st.sampled_from([None, "linear", "quadratic"]))
def test_cohen_kappa_matches_sklearn(data: tuple[np.ndarray, np.ndarray], weights: str | None) -> None:
    a, b = data
    labels = sorted(set(a) | set(b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = cohen_kappa_score(a, b, weights=weights, labels=labels)
    assert _same(cohen_kappa(a, b, weights=weights), float(expected))


def test_cohen_kappa_degenerate_cases() -> None:
    assert np.isnan(cohen_kappa([1, 1, 1], [1, 1, 1]))  # one class only: chance agreement is 1
    assert cohen_kappa([0, 1, 0, 1], [0, 1, 0, 1]) == 1.0
    assert cohen_kappa([0, 1, 0, 1], [1, 0, 1, 0]) == -1.0
    assert np.isnan(cohen_kappa([None, 1], [1, None]))  # nothing left after dropping missing
    # missing values are dropped pairwise, same as computing on the complete pairs
    assert cohen_kappa([0, 1, None, 2, 1], [0, 1, 2, np.nan, 0]) == pytest.approx(
        cohen_kappa([0, 1, 1], [0, 1, 0])
    )


def test_percent_agreement_strings_and_labels() -> None:
    assert percent_agreement(["a", "b", "c"], ["a", "b", "b"]) == pytest.approx(2 / 3)
    with pytest.raises(Exception, match="not one of the labels"):
        percent_agreement(["a", "z"], ["a", "a"], labels=["a", "b"])


rating_matrix = st.tuples(st.integers(1, 25), st.integers(1, 5)).flatmap(
    lambda s: arrays(np.float64, s, elements=st.one_of(st.integers(0, 3).map(float), st.just(np.nan)))
)


@FAST
@given(rating_matrix, st.sampled_from(["nominal", "ordinal", "interval"]))
def test_krippendorff_alpha_matches_package(ratings: np.ndarray, level: str) -> None:
    ours = krippendorff_alpha(ratings, level=level, values=[0, 1, 2, 3])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = float(
                krippendorff.alpha(ratings.T, level_of_measurement=level, value_domain=[0, 1, 2, 3])
            )
    except (ValueError, ZeroDivisionError):
        theirs = float("nan")  # the package refuses data with no pairable values
    assert _same(ours, theirs), (ours, theirs)


def test_krippendorff_alpha_degenerate_cases() -> None:
    one_rater = np.array([[1.0], [2.0], [3.0]])
    assert np.isnan(krippendorff_alpha(one_rater))  # a single rater per item: nothing pairable
    assert np.isnan(krippendorff_alpha([[1, 1], [1, 1]]))  # one value only: no disagreement possible
    # string labels with missing, nominal: agrees with the package on the coded data
    r = [["a", "b"], ["a", "a"], [None, "b"], ["b", "b"]]
    coded = np.array([[0, 1], [0, 0], [np.nan, 1], [1, 1]])
    assert krippendorff_alpha(r) == pytest.approx(krippendorff.alpha(coded.T, level_of_measurement="nominal"))
    with pytest.raises(Exception, match="level must be one of"):
        krippendorff_alpha([[1, 2]], level="cardinal")  # type: ignore[arg-type]


@FAST
@given(pairs)
def test_scott_pi_identity_with_nominal_alpha(data: tuple[np.ndarray, np.ndarray]) -> None:
    # two raters, no missing: alpha = 1 - (2n - 1) / (2n) * (1 - pi)
    a, b = data
    n = len(a)
    pi = scott_pi(a, b)
    alpha = krippendorff_alpha(np.column_stack([a, b]).astype(float), level="nominal")
    assert _same(alpha, 1 - (2 * n - 1) / (2 * n) * (1 - pi))
    assert _same(fleiss_kappa(np.column_stack([a, b])), pi)  # Fleiss with two raters is Scott's pi


def test_fleiss_kappa_published_example() -> None:
    # Fleiss (1971) example as on Wikipedia: 10 items, 14 raters, 5 categories -> kappa = 0.210
    counts = np.array(
        [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
         [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    )  # fmt: skip
    ratings = np.array([np.repeat(np.arange(5), row) for row in counts])
    assert round(fleiss_kappa(ratings), 3) == 0.210
    assert round(fleiss_kappa(ratings), 4) == 0.2099


def test_gwet_ac1_worked_example() -> None:
    # 2x2 table [[40, 5], [5, 0]] (n = 50): p_o = 0.8, pooled pi = (0.9, 0.1),
    # p_e = 2 * 0.9 * 0.1 / 1 = 0.18, AC1 = (0.8 - 0.18) / 0.82 = 0.756098; kappa is -0.111
    a = [0] * 45 + [1] * 5
    b = [0] * 40 + [1] * 5 + [0] * 5
    assert gwet_ac1(a, b) == pytest.approx(0.62 / 0.82)
    assert cohen_kappa(a, b) == pytest.approx(-1 / 9)
    assert np.isnan(gwet_ac1([1, 1], [1, 1]))  # K = 1


numeric_pairs = st.integers(0, 40).flatmap(
    lambda n: st.tuples(
        arrays(np.float64, n, elements=st.integers(-3, 3).map(float)),
        arrays(np.float64, n, elements=st.floats(-10, 10, allow_nan=False).map(lambda v: round(v, 1))),
    )
)


def _scipy(fn, x: np.ndarray, y: np.ndarray) -> float:  # type: ignore[no-untyped-def]
    if len(x) < 2:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(fn(x, y).statistic)


@FAST
@given(numeric_pairs)
def test_correlations_match_scipy(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = data
    for ours, theirs in ((pearson, sps.pearsonr), (spearman, sps.spearmanr), (kendall_tau_b, sps.kendalltau)):
        expected = _scipy(theirs, x, y)
        got = ours(x, y)
        assert (np.isnan(got) and np.isnan(expected)) or got == pytest.approx(expected, abs=1e-9), (
            ours.__name__
        )


def test_correlations_missing_and_constant() -> None:
    assert np.isnan(pearson([1, 1, 1], [1, 2, 3]))
    assert np.isnan(kendall_tau_b([1, 2, 3], [5, 5, 5]))
    assert kendall_tau_b([1, None, 2, 3], [1, 9, 2, np.nan]) == 1.0
    rng = np.random.default_rng(0)
    x = rng.normal(size=3000)
    y = x + rng.normal(size=3000)
    assert kendall_tau_b(x, y) == pytest.approx(sps.kendalltau(x, y).statistic, abs=1e-12)
