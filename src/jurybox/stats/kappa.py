"""Chance-corrected agreement of two raters on categories, and Fleiss' kappa for many raters.

Vocabulary (as in scikit-learn): ``y1``/``y2`` are the two raters' labels (e.g. human, judge),
one per item; ``labels`` fixes the category set and its order (default: the sorted union of the
observed values). Items where either rater's label is missing (None/NaN) are left out
(listwise deletion); the caller reports how many. A statistic whose chance term leaves a zero
denominator (for example both raters always use one and the same category) is NaN, not 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from jurybox.errors import JuryboxError
from jurybox.stats._parts import Parts, decomposable, safe_divide, table_parts
from jurybox.stats._validate import encode, missing_mask, resolve_labels

Weights = Literal["linear", "quadratic"] | None


def _pair_parts(y1: Any, y2: Any, labels: Sequence[Any] | None, finalize_table: Any) -> Parts:
    from jurybox.stats._validate import encode_pair

    a, b, lab, keep = encode_pair(y1, y2, labels)
    return table_parts(a, b, (len(lab), len(lab)), keep, finalize_table)


def _po(table: np.ndarray) -> np.ndarray:
    n = table.sum(axis=(-2, -1))
    return safe_divide(np.trace(table, axis1=-2, axis2=-1), n)


def _chance_corrected(po: np.ndarray, pe: np.ndarray) -> np.ndarray:
    return safe_divide(po - pe, 1.0 - pe)


def _mean_marginals(table: np.ndarray) -> np.ndarray:
    n = table.sum(axis=(-2, -1))[..., None]
    return safe_divide(table.sum(axis=-1) + table.sum(axis=-2), 2.0 * n)


def _disagreement_weights(k: int, weights: Weights) -> np.ndarray:
    i, j = np.indices((k, k))
    if weights is None:
        return (i != j).astype(float)
    if weights == "linear":
        return np.abs(i - j).astype(float)
    if weights == "quadratic":
        return ((i - j) ** 2).astype(float)
    raise JuryboxError(f"weights must be None, 'linear' or 'quadratic'; got {weights!r}")


def percent_agreement_from_table(table: np.ndarray) -> np.ndarray:
    """Share of items on the diagonal of a ``(..., K, K)`` confusion table."""
    return _po(table)


def cohen_kappa_from_table(table: np.ndarray, weights: Weights = None) -> np.ndarray:
    """Cohen's kappa of ``(..., K, K)`` confusion tables (rows: rater 1, columns: rater 2)."""
    k = table.shape[-1]
    w = _disagreement_weights(k, weights)
    n = table.sum(axis=(-2, -1))
    expected = table.sum(axis=-1)[..., :, None] * table.sum(axis=-2)[..., None, :]
    expected = safe_divide(expected, n[..., None, None])
    observed_d = (table * w).sum(axis=(-2, -1))
    expected_d = (expected * w).sum(axis=(-2, -1))
    return 1.0 - safe_divide(observed_d, expected_d)


def scott_pi_from_table(table: np.ndarray) -> np.ndarray:
    pi = _mean_marginals(table)
    return _chance_corrected(_po(table), (pi**2).sum(axis=-1))


def gwet_ac1_from_table(table: np.ndarray) -> np.ndarray:
    k = table.shape[-1]
    pi = _mean_marginals(table)
    pe = safe_divide((pi * (1.0 - pi)).sum(axis=-1), np.asarray(k - 1.0))
    return _chance_corrected(_po(table), pe)


def _percent_agreement_parts(y1: Any, y2: Any, *, labels: Sequence[Any] | None = None) -> Parts:
    return _pair_parts(y1, y2, labels, percent_agreement_from_table)


@decomposable(_percent_agreement_parts)
def percent_agreement(y1: Any, y2: Any, *, labels: Sequence[Any] | None = None) -> float:
    """Raw agreement p_o: the share of items on which the two raters give the same label.

    Level: nominal. Missing: items with either label missing are left out. Equals accuracy when
    ``y1`` is the gold label. NaN when no item is left. Checked against: LLMBar ``correct_*`` and
    ``equal`` fields (accuracy and positional agreement of 4 evaluators on 7 sets, 28/28 exact).
    """
    return _percent_agreement_parts(y1, y2, labels=labels).value()


def _cohen_parts(y1: Any, y2: Any, *, weights: Weights = None, labels: Sequence[Any] | None = None) -> Parts:
    _disagreement_weights(1, weights)  # validate early
    return _pair_parts(y1, y2, labels, lambda t: cohen_kappa_from_table(t, weights))


@decomposable(_cohen_parts)
def cohen_kappa(y1: Any, y2: Any, *, weights: Weights = None, labels: Sequence[Any] | None = None) -> float:
    """Cohen's kappa, kappa = 1 - sum(w * O) / sum(w * E) (Cohen 1960; weighted: Cohen 1968).

    O is the K x K table of observed proportions, E = outer(row marginals, column marginals) the
    table expected by chance with each rater's own marginals, and w the disagreement weights:
    ``None`` (nominal, w = 1 off the diagonal, giving (p_o - p_e)/(1 - p_e)), ``"linear"``
    (|i - j|) or ``"quadratic"`` ((i - j)^2), where i, j are the positions of the labels in
    ``labels`` (ordinal level; the numeric values themselves are not used), as in scikit-learn.
    Missing: listwise deletion. Ties: not applicable. NaN when the chance disagreement is 0 (for
    example both raters use one category only).
    Checked against: LLMJudge paper (Rahmani et al. 2025) Table 3 unweighted kappa of 33 label
    sets vs TREC DL 2023 qrels, and scikit-learn's ``cohen_kappa_score`` on random data.
    """
    return _cohen_parts(y1, y2, weights=weights, labels=labels).value()


def _scott_parts(y1: Any, y2: Any, *, labels: Sequence[Any] | None = None) -> Parts:
    return _pair_parts(y1, y2, labels, scott_pi_from_table)


@decomposable(_scott_parts)
def scott_pi(y1: Any, y2: Any, *, labels: Sequence[Any] | None = None) -> float:
    """Scott's pi (1955): (p_o - p_e) / (1 - p_e) with p_e = sum_k pi_k^2.

    pi_k is the share of category k among both raters' labels pooled (one shared marginal,
    unlike Cohen's kappa). Level: nominal. Missing: listwise deletion. NaN when p_e = 1.
    Checked against: the identity with Krippendorff's nominal alpha for two raters and no missing
    data, alpha = 1 - (2n - 1)/(2n) * (1 - pi), with alpha from the ``krippendorff`` package.
    """
    return _scott_parts(y1, y2, labels=labels).value()


def _gwet_parts(y1: Any, y2: Any, *, labels: Sequence[Any] | None = None) -> Parts:
    return _pair_parts(y1, y2, labels, gwet_ac1_from_table)


@decomposable(_gwet_parts)
def gwet_ac1(y1: Any, y2: Any, *, labels: Sequence[Any] | None = None) -> float:
    """Gwet's AC1 (Gwet 2008): (p_o - p_e) / (1 - p_e), p_e = sum_k pi_k (1 - pi_k) / (K - 1).

    pi_k is the pooled share of category k over both raters; K is the number of categories
    (``len(labels)``, so pass ``labels`` when a category may go unused). Stays high when one
    class dominates and agreement is high, where kappa collapses. Level: nominal. Missing:
    listwise deletion. NaN when K = 1. Checked against: a worked 2x2 example computed by hand
    from Gwet's formula in the tests (no published table is in the shared data).
    """
    return _gwet_parts(y1, y2, labels=labels).value()


def _rating_counts(ratings: Any, labels: Sequence[Any] | None) -> tuple[np.ndarray, list[Any]]:
    arr = np.asarray(ratings, dtype=object) if not isinstance(ratings, np.ndarray) else ratings
    if arr.ndim != 2:
        raise JuryboxError(f"ratings must be 2-d (n_items, n_raters); got shape {arr.shape}")
    flat = arr.reshape(-1)
    lab = resolve_labels([flat[~missing_mask(flat)]], labels)
    codes = encode(flat, lab, "ratings").reshape(arr.shape)
    n_items = arr.shape[0]
    rows = np.repeat(np.arange(n_items), arr.shape[1])
    ok = codes.reshape(-1) >= 0
    counts = np.bincount(rows[ok] * len(lab) + codes.reshape(-1)[ok], minlength=n_items * len(lab)).reshape(
        n_items, len(lab)
    )
    return counts, lab


def _fleiss_finalize(sums: np.ndarray) -> np.ndarray:
    # sums: [n_items, sum_i P_i, then per-category total counts]
    n_items, p_sum, cat = sums[..., 0], sums[..., 1], sums[..., 2:]
    p_bar = safe_divide(p_sum, n_items)
    pj = safe_divide(cat, cat.sum(axis=-1)[..., None])
    pe = (pj**2).sum(axis=-1)
    return _chance_corrected(p_bar, pe)


def _fleiss_parts(ratings: Any, *, labels: Sequence[Any] | None = None) -> Parts:
    counts, _ = _rating_counts(ratings, labels)
    m = counts.sum(axis=1)
    keep = m >= 2
    counts, m = counts[keep], m[keep].astype(float)
    p_i = ((counts**2).sum(axis=1) - m) / (m * (m - 1.0))
    contrib = np.column_stack([np.ones_like(m), p_i, counts.astype(float)])
    return Parts(size=contrib.shape[1], contributions=contrib, keep=keep, finalize=_fleiss_finalize)


@decomposable(_fleiss_parts)
def fleiss_kappa(ratings: Any, *, labels: Sequence[Any] | None = None) -> float:
    """Fleiss' kappa (1971) for many raters: (P_bar - P_e) / (1 - P_e).

    ``ratings`` is ``(n_items, n_raters)``; rater identity does not matter. For item i with m_i
    ratings and n_ij of them in category j, P_i = (sum_j n_ij^2 - m_i) / (m_i (m_i - 1)); P_bar is
    the mean of P_i and P_e = sum_j p_j^2 with p_j the share of all ratings in category j.
    Level: nominal. Missing: ratings may be missing; items with fewer than 2 ratings are left
    out, and with unequal m_i this is the usual generalisation (equal m_i gives Fleiss' formula).
    With 2 raters it equals Scott's pi. NaN when P_e = 1.
    Checked against: the worked example of Fleiss (1971) as reproduced on Wikipedia (10 items,
    14 raters, 5 categories: kappa = 0.210).
    """
    return _fleiss_parts(ratings, labels=labels).value()
