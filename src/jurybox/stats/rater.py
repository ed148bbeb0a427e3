"""The judge as one more rater (ACORN, Brassard et al., COLM 2024): pure functions of arrays.

``human`` is an ``(n_items, n_raters)`` array of ratings (NaN for a missing rating), ``judge`` one
rating per item. Three protocols:

(a) :func:`replace_rater_alpha`: replace one human rater's ratings with the judge's and recompute
    Krippendorff's alpha, for every choice of the replaced rater; compared with the humans' own
    alpha. The difference (alpha with the judge - alpha of the humans) is bootstrapped over items
    with both computed on the same resample (paired).
(b) :func:`judge_vs_humans`: Spearman's rho between the judge and the per-item aggregate of the
    humans (``aggregate="mean"``: the mean rating, as JUDGE-BENCH correlates with; ``"majority"``:
    the most frequent rating, ties broken towards the median of the tied values).
(c) :func:`reduced_pool`: for a pool of k humans (every k-subset of the raters), Spearman's rho of
    the pool's aggregate with the full pool's aggregate (ACORN's comparison; the full pool contains
    the reduced one), the same for the pool plus the judge as one more rater, and, since the full
    pool shares raters with the reduced one, both again against the aggregate of the *held-out*
    raters only (jurybox's addition; not defined when k is the whole pool). Values are averaged
    over the k-subsets; intervals are percentile bootstraps over items (every subset recomputed
    on each resample).

Intervals: percentile bootstrap over items (:func:`jurybox.stats.bootstrap_ci`), seed 0 unless
given, 1,000 resamples by default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

import numpy as np

from jurybox.errors import JuryboxError
from jurybox.stats.alpha import krippendorff_alpha
from jurybox.stats.bootstrap import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, Interval, bootstrap_ci
from jurybox.stats.correlation import spearman
from jurybox.types import Record

__all__ = ["PoolComparison", "RaterReplacement", "aggregate_ratings", "judge_vs_humans", "reduced_pool",
           "replace_rater_alpha"]

Aggregate = Literal["mean", "majority"]


def _arrays(human: Any, judge: Any) -> tuple[np.ndarray, np.ndarray]:
    h = np.asarray(human, dtype=float)
    j = np.asarray(judge, dtype=float)
    if h.ndim != 2 or h.shape[1] < 2:
        raise JuryboxError(f"human ratings must be (items, raters) with at least 2 raters; got shape {h.shape}")
    if j.shape != (h.shape[0],):
        raise JuryboxError(f"the judge needs one rating per item ({h.shape[0]}); got shape {j.shape}")
    return h, j


def aggregate_ratings(ratings: Any, how: Aggregate = "mean") -> np.ndarray:
    """Per-item aggregate of ``(n_items, n_raters)`` ratings, ignoring NaN (NaN when an item has
    none). ``majority``: the most frequent value; a tie between values is broken towards the
    median of the tied values (the lower of two)."""
    r = np.asarray(ratings, dtype=float)
    if r.ndim == 1:
        r = r[:, None]
    if how == "mean":
        out = np.full(r.shape[0], np.nan)
        ok = ~np.isnan(r).all(axis=1)
        out[ok] = np.nanmean(r[ok], axis=1)
        return out
    if how != "majority":
        raise JuryboxError(f"aggregate must be 'mean' or 'majority', got {how!r}")
    out = np.full(r.shape[0], np.nan)
    for i, row in enumerate(r):
        vals = row[~np.isnan(row)]
        if vals.size == 0:
            continue
        u, c = np.unique(vals, return_counts=True)
        tied = np.sort(u[c == c.max()])
        out[i] = tied[(len(tied) - 1) // 2]
    return out


@dataclass(frozen=True)
class RaterReplacement(Record):
    """Protocol (a). ``humans``: alpha of the human raters; ``replaced[r]``: alpha with rater r's
    ratings replaced by the judge's; ``mean_replaced``: their mean; ``difference``: mean_replaced -
    humans (paired bootstrap); ``level``: the alpha level of measurement."""

    humans: Interval
    replaced: list[Interval]
    mean_replaced: Interval
    difference: Interval
    level: str
    n_items: int


def _swap(h: np.ndarray, j: np.ndarray, r: int) -> np.ndarray:
    out = h.copy()
    out[:, r] = j
    return out


def replace_rater_alpha(human: Any, judge: Any, *, level: str = "interval", n_resamples: int = DEFAULT_RESAMPLES,
                        confidence: float = DEFAULT_CONFIDENCE, seed: int | None = 0) -> RaterReplacement:
    """Protocol (a): Krippendorff's alpha of the humans and with each rater replaced by the judge
    (module docstring)."""
    h, j = _arrays(human, judge)
    n_r = h.shape[1]
    stacked = np.column_stack([h, j])

    def alpha_h(m: np.ndarray) -> float:
        return krippendorff_alpha(m[:, :n_r], level=level)  # type: ignore[arg-type]

    def alpha_r(m: np.ndarray, r: int) -> float:
        return krippendorff_alpha(_swap(m[:, :n_r], m[:, n_r], r), level=level)  # type: ignore[arg-type]

    def mean_r(m: np.ndarray) -> float:
        return float(np.mean([alpha_r(m, r) for r in range(n_r)]))

    def diff(m: np.ndarray) -> float:
        return mean_r(m) - alpha_h(m)

    kw: dict[str, Any] = {"n_resamples": n_resamples, "confidence": confidence, "seed": seed}
    return RaterReplacement(
        humans=bootstrap_ci(alpha_h, stacked, **kw),
        replaced=[bootstrap_ci(lambda m, r=r: alpha_r(m, r), stacked, **kw) for r in range(n_r)],
        mean_replaced=bootstrap_ci(mean_r, stacked, **kw),
        difference=bootstrap_ci(diff, stacked, **kw),
        level=level,
        n_items=h.shape[0],
    )


def judge_vs_humans(human: Any, judge: Any, *, aggregate: Aggregate = "mean", n_resamples: int = DEFAULT_RESAMPLES,
                    confidence: float = DEFAULT_CONFIDENCE, seed: int | None = 0) -> Interval:
    """Protocol (b): Spearman's rho of the judge with the humans' per-item aggregate."""
    h, j = _arrays(human, judge)
    agg = aggregate_ratings(h, aggregate)
    return bootstrap_ci(spearman, j, agg, n_resamples=n_resamples, confidence=confidence, seed=seed)


@dataclass(frozen=True)
class PoolComparison(Record):
    """Protocol (c) for pools of ``k`` humans (averaged over the ``n_subsets`` k-subsets):
    Spearman's rho with the full pool's aggregate of the reduced pool alone (``pool``) and with
    the judge added as one more rater (``pool_judge``), the gain (``gain`` = pool_judge - pool,
    paired), and the same three against the held-out raters (None when k is the whole pool)."""

    k: int
    n_subsets: int
    pool: Interval
    pool_judge: Interval
    gain: Interval
    heldout_pool: Interval | None
    heldout_pool_judge: Interval | None
    heldout_gain: Interval | None
    aggregate: str


def _pool_stats(m: np.ndarray, n_r: int, k: int, how: Aggregate) -> tuple[float, float, float, float]:
    h, j = m[:, :n_r], m[:, n_r]
    full = aggregate_ratings(h, how)
    a = b = c = d = 0.0
    subsets = list(combinations(range(n_r), k))
    for s in subsets:
        pool = h[:, list(s)]
        pj = np.column_stack([pool, j])
        a += spearman(aggregate_ratings(pool, how), full)
        b += spearman(aggregate_ratings(pj, how), full)
        if k < n_r:
            rest = aggregate_ratings(h[:, [r for r in range(n_r) if r not in s]], how)
            c += spearman(aggregate_ratings(pool, how), rest)
            d += spearman(aggregate_ratings(pj, how), rest)
    n = len(subsets)
    return a / n, b / n, c / n, d / n


def _vector_bootstrap(stat: Any, m: np.ndarray, n_resamples: int, confidence: float,
                      seed: int | None) -> list[Interval]:
    """Percentile bootstrap over the rows of ``m`` of a statistic returning several values, all
    computed on the same resamples (as :func:`bootstrap_ci` computes one)."""
    if not 0.0 < confidence < 1.0:
        raise JuryboxError(f"confidence must be between 0 and 1 (e.g. 0.95); got {confidence}")
    estimate = np.asarray(stat(m), dtype=float)
    rng = np.random.default_rng(seed)
    n = m.shape[0]
    values = np.array([stat(m[rng.integers(0, n, size=n)]) for _ in range(n_resamples)], dtype=float)
    out = []
    for i, e in enumerate(estimate):
        v = values[:, i]
        v = v[~np.isnan(v)]
        low, high = np.quantile(v, [(1 - confidence) / 2, (1 + confidence) / 2]) if v.size else (np.nan, np.nan)
        out.append(Interval(float(e), float(low), float(high), confidence, n_resamples, int(v.size), n, "item"))
    return out


def reduced_pool(human: Any, judge: Any, *, sizes: Sequence[int] = (1, 2), aggregate: Aggregate = "mean",
                 n_resamples: int = DEFAULT_RESAMPLES, confidence: float = DEFAULT_CONFIDENCE,
                 seed: int | None = 0) -> list[PoolComparison]:
    """Protocol (c): a reduced human pool with and without the judge against the full pool and
    against the held-out raters (module docstring), for each pool size in ``sizes``."""
    h, j = _arrays(human, judge)
    n_r = h.shape[1]
    stacked = np.column_stack([h, j])
    out = []
    for k in sizes:
        if not 1 <= k <= n_r:
            raise JuryboxError(f"a reduced pool has 1 to {n_r} raters, got {k}")

        def stat(m: np.ndarray, k: int = k) -> list[float]:
            a, b, c, d = _pool_stats(m, n_r, k, aggregate)
            return [a, b, b - a, c, d, d - c]

        ci = _vector_bootstrap(stat, stacked, n_resamples, confidence, seed)
        held: list[Interval | None] = list(ci[3:]) if k < n_r else [None, None, None]
        out.append(PoolComparison(k, len(list(combinations(range(n_r), k))), ci[0], ci[1], ci[2], held[0], held[1],
                                  held[2], aggregate))
    return out
