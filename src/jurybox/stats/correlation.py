"""Correlation of judge scores with human scores: Pearson, Spearman, Kendall tau-b.

All three use pairwise deletion (an item with either value missing is left out) and return NaN
when fewer than 2 items remain or either variable is constant (the coefficient is undefined).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jurybox.stats._parts import Parts, decomposable, safe_divide, table_parts
from jurybox.stats._validate import as_float_pair


def _pearson_finalize(sums: np.ndarray) -> np.ndarray:
    n, sx, sy, sxx, syy, sxy = (sums[..., i] for i in range(6))
    cov = sxy - safe_divide(sx * sy, n)
    vx = sxx - safe_divide(sx * sx, n)
    vy = syy - safe_divide(sy * sy, n)
    den = np.sqrt(np.clip(vx, 0, None) * np.clip(vy, 0, None))
    # a variance that is zero up to rounding means a constant variable: undefined, not +-1
    scale = np.sqrt(np.abs(sxx * syy)) * 1e-12
    r = safe_divide(cov, np.where(den > scale, den, 0.0))
    return np.asarray(np.clip(r, -1.0, 1.0))  # rounding can push |r| a hair above 1; NaN stays NaN


def _pearson_parts(x: Any, y: Any) -> Parts:
    xf, yf, keep = as_float_pair(x, y)
    if xf.size:
        xf, yf = xf - xf.mean(), yf - yf.mean()  # centring keeps the sums well conditioned
    contrib = np.column_stack([np.ones_like(xf), xf, yf, xf * xf, yf * yf, xf * yf])
    return Parts(size=6, contributions=contrib, keep=keep, finalize=_pearson_finalize)


@decomposable(_pearson_parts)
def pearson(x: Any, y: Any) -> float:
    """Pearson's r = sum (x - mx)(y - my) / sqrt(sum (x - mx)^2 sum (y - my)^2).

    Level: interval. Missing: pairwise deletion. NaN if n < 2 or a variable is constant.
    Checked against: ``scipy.stats.pearsonr`` on random data (property test).
    """
    return _pearson_parts(x, y).value()


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n with tied values given the mean of the ranks they span."""
    n = values.size
    order = np.argsort(values, kind="mergesort")
    sorted_vals = values[order]
    new_group = np.empty(n, dtype=bool)
    if n:
        new_group[0] = True
        new_group[1:] = sorted_vals[1:] != sorted_vals[:-1]
    group = np.cumsum(new_group) - 1
    starts = np.flatnonzero(new_group)
    ends = np.append(starts[1:], n)
    mean_rank = (starts + ends + 1) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(n)
    ranks[order] = mean_rank[group]
    return ranks


_MAX_TABLE_CELLS = 250_000


def _table_parts(x: Any, y: Any, finalize_table: Any) -> Parts | None:
    """Parts over the joint table of distinct values, when the data has few distinct values."""
    xf, yf, keep = as_float_pair(x, y)
    xv, xc = np.unique(xf, return_inverse=True)
    yv, yc = np.unique(yf, return_inverse=True)
    a, b = max(len(xv), 1), max(len(yv), 1)
    if a * b > _MAX_TABLE_CELLS:
        return None  # continuous data: the bootstrap falls back to resampling items one by one
    return table_parts(xc, yc, (a, b), keep, finalize_table)


def _mid_ranks(totals: np.ndarray) -> np.ndarray:
    return np.cumsum(totals, axis=-1) - totals + (totals + 1.0) / 2.0


def spearman_from_table(table: np.ndarray) -> np.ndarray:
    """Spearman's rho of a ``(..., A, B)`` joint frequency table of ordered values."""
    r, c = table.sum(axis=-1), table.sum(axis=-2)
    n = r.sum(axis=-1)
    rx, ry = _mid_ranks(r), _mid_ranks(c)
    mx = safe_divide((r * rx).sum(axis=-1), n)
    my = safe_divide((c * ry).sum(axis=-1), n)
    dx, dy = rx - mx[..., None], ry - my[..., None]
    cov = (table * dx[..., :, None] * dy[..., None, :]).sum(axis=(-2, -1))
    vx, vy = (r * dx**2).sum(axis=-1), (c * dy**2).sum(axis=-1)
    return safe_divide(cov, np.sqrt(vx * vy))


def kendall_tau_b_from_table(table: np.ndarray) -> np.ndarray:
    """Kendall's tau-b of a ``(..., A, B)`` joint frequency table of ordered values."""
    # below_right[i, j] = sum of table[i' > i, j' > j]; below_left[i, j] = table[i' > i, j' < j]
    rev = table[..., ::-1, :]
    after_rows = np.cumsum(rev, axis=-2)[..., ::-1, :] - table  # rows i' > i
    right = np.cumsum(after_rows[..., ::-1], axis=-1)[..., ::-1] - after_rows
    left = np.cumsum(after_rows, axis=-1) - after_rows
    s = (table * (right - left)).sum(axis=(-2, -1))
    r, c = table.sum(axis=-1), table.sum(axis=-2)
    n = r.sum(axis=-1)
    n0 = n * (n - 1) / 2.0
    n1 = (r * (r - 1) / 2.0).sum(axis=-1)
    n2 = (c * (c - 1) / 2.0).sum(axis=-1)
    return safe_divide(s, np.sqrt((n0 - n1) * (n0 - n2)))


def _spearman_parts(x: Any, y: Any) -> Parts | None:
    return _table_parts(x, y, spearman_from_table)


@decomposable(_spearman_parts)
def spearman(x: Any, y: Any) -> float:
    """Spearman's rho: Pearson's r of the ranks, ties given their average rank.

    Level: ordinal. Missing: pairwise deletion, then ranking. NaN if n < 2 or a variable is
    constant. Checked against: ``scipy.stats.spearmanr`` on random data with ties.
    """
    xf, yf, _ = as_float_pair(x, y)
    return pearson(average_ranks(xf), average_ranks(yf))


def _tie_pairs(values: np.ndarray) -> int:
    _, counts = np.unique(values, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())


def count_inversions(y: np.ndarray) -> int:
    """Number of pairs i < j with y[i] > y[j] (ties are not inversions), O(n log^2 n)."""
    n = y.size
    total = 0
    width = 1
    idx = np.arange(n)
    while width < n:
        block = idx // (2 * width)
        is_left = (idx // width) % 2 == 0
        # within a block, by value; on equal values left-half elements first (ties are no inversion)
        order = np.lexsort((~is_left, y, block))
        left_sorted = is_left[order]
        block_sorted = block[order]
        lefts_before = np.cumsum(left_sorted) - left_sorted
        block_start = np.searchsorted(block_sorted, block_sorted, side="left")
        lefts_before_in_block = lefts_before - lefts_before[block_start]
        lefts_in_block = np.bincount(block, weights=is_left)[block_sorted]
        right = ~left_sorted
        total += int((lefts_in_block[right] - lefts_before_in_block[right]).sum())
        width *= 2
    return total


def _kendall_parts(x: Any, y: Any) -> Parts | None:
    return _table_parts(x, y, kendall_tau_b_from_table)


@decomposable(_kendall_parts)
def kendall_tau_b(x: Any, y: Any) -> float:
    """Kendall's tau-b = (n_c - n_d) / sqrt((n0 - n1)(n0 - n2)) (Kendall 1945).

    n_c, n_d: concordant and discordant pairs; n0 = n(n-1)/2; n1, n2: pairs tied on x, on y.
    Pairs tied on either variable are neither concordant nor discordant. Level: ordinal.
    Missing: pairwise deletion. NaN if n < 2 or a variable is constant. Computed with Knight's
    algorithm (sort by x then y, count inversions of y), O(n log^2 n).
    Checked against: ``scipy.stats.kendalltau`` (variant b) on random data with ties.
    """
    xf, yf, _ = as_float_pair(x, y)
    n = xf.size
    if n < 2:
        return float("nan")
    order = np.lexsort((yf, xf))
    xs, ys = xf[order], yf[order]
    n0 = n * (n - 1) // 2
    n1, n2 = _tie_pairs(xs), _tie_pairs(ys)
    n3 = _joint_tie_pairs(xs, ys)
    _, y_codes = np.unique(ys, return_inverse=True)
    discordant = count_inversions(y_codes.astype(np.int64))
    s = n0 - n1 - n2 + n3 - 2 * discordant
    den = np.sqrt(float(n0 - n1) * float(n0 - n2))
    return float(s / den) if den > 0 else float("nan")


def _joint_tie_pairs(xs: np.ndarray, ys: np.ndarray) -> int:
    _, counts = np.unique(np.column_stack([xs, ys]), axis=0, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())
