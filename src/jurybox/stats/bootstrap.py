"""Percentile bootstrap confidence intervals for any statistic, resampling items or clusters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jurybox.errors import JuryboxError
from jurybox.stats._parts import Parts, parts_of
from jurybox.types import Record

#: The number of bootstrap resamples every interval in jurybox uses unless told otherwise.
DEFAULT_RESAMPLES = 1000
#: The confidence level of every interval in jurybox unless told otherwise.
DEFAULT_CONFIDENCE = 0.95

_MAX_WEIGHT_CELLS = 10_000_000  # resamples x units held in memory at once
_MULTINOMIAL_COST = 10  # a multinomial draw per distinct row costs about 10 index draws per unit


@dataclass(frozen=True)
class Interval(Record):
    """A point estimate with its percentile bootstrap interval.

    ``n_valid`` counts the resamples where the statistic was defined (not NaN); the interval is
    taken over those. ``unit`` says what was resampled: ``"item"`` or ``"group"``.
    """

    estimate: float
    low: float
    high: float
    confidence: float
    n_resamples: int
    n_valid: int
    n_units: int
    unit: str


def _group_codes(groups: Any, n: int) -> np.ndarray:
    g = np.asarray(groups, dtype=object) if not isinstance(groups, np.ndarray) else groups
    if g.ndim != 1 or g.shape[0] != n:
        raise JuryboxError(f"groups must give one group per item ({n} items); got shape {g.shape}")
    if pd.isna(g).any():
        raise JuryboxError("groups must not have missing values")
    codes, _ = pd.factorize(g, sort=False)
    return codes.astype(np.int64)


def _resample_sums(
    rows: np.ndarray, counts: np.ndarray, n_resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """Sums of ``rows`` over bootstrap resamples of N = counts.sum() units.

    Unit u is present ``counts[u]`` times; a resample draws N units with replacement, so the
    number of draws of each distinct row is multinomial(N, counts / N). Exact, not approximate.
    """
    n = int(counts.sum())
    u = rows.shape[0]
    out = np.empty((n_resamples, rows.shape[1]))
    if u * _MULTINOMIAL_COST <= n:
        w = rng.multinomial(n, counts / n, size=n_resamples).astype(float)
        return w @ rows
    expanded = rows if np.all(counts == 1) else np.repeat(rows, counts.astype(np.int64), axis=0)
    chunk = max(1, _MAX_WEIGHT_CELLS // max(n, 1))
    for start in range(0, n_resamples, chunk):
        b = min(chunk, n_resamples - start)
        idx = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
        w = np.bincount(idx.ravel(), minlength=b * n).reshape(b, n).astype(float)
        out[start : start + b] = w @ expanded
    return out


def _decomposed_distribution(
    parts: Parts, groups: np.ndarray | None, n_resamples: int, rng: np.random.Generator
) -> tuple[np.ndarray, int, str]:
    if groups is not None:
        g = groups[parts.keep]
        _, g = np.unique(g, return_inverse=True)
        rows = parts.grouped(g)
        counts = np.ones(rows.shape[0])
        unit = "group"
    elif parts.cells is not None:
        cell_counts = np.bincount(parts.cells, minlength=parts.size).astype(float)
        used = np.flatnonzero(cell_counts)
        rows = np.eye(parts.size)[used]
        counts = cell_counts[used]
        unit = "item"
    else:
        assert parts.contributions is not None
        contrib = parts.contributions
        rows, counts = contrib, np.ones(contrib.shape[0])
        if contrib.shape[1] <= 64 and contrib.shape[0] > _MULTINOMIAL_COST:
            distinct, distinct_counts = np.unique(contrib, axis=0, return_counts=True)
            if distinct.shape[0] * _MULTINOMIAL_COST <= contrib.shape[0]:  # few distinct items
                rows, counts = distinct, distinct_counts.astype(float)
        unit = "item"
    n_units = int(counts.sum())
    if n_units == 0:
        return np.full(n_resamples, np.nan), 0, unit
    sums = _resample_sums(rows, counts, n_resamples, rng)
    return np.asarray(parts.finalize(sums), dtype=float), n_units, unit


def _looped_distribution(
    statistic: Callable[..., float],
    data: tuple[Any, ...],
    kwargs: dict[str, Any],
    groups: np.ndarray | None,
    n_resamples: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, int, str]:
    arrays = [d.to_numpy() if isinstance(d, pd.Series | pd.DataFrame) else np.asarray(d) for d in data]
    n = arrays[0].shape[0]
    out = np.empty(n_resamples)
    if groups is None:
        for b in range(n_resamples):
            idx = rng.integers(0, n, size=n)
            out[b] = statistic(*(a[idx] for a in arrays), **kwargs)
        return out, n, "item"
    members = [np.flatnonzero(groups == g) for g in range(int(groups.max()) + 1)]
    for b in range(n_resamples):
        pick = rng.integers(0, len(members), size=len(members))
        idx = np.concatenate([members[p] for p in pick])
        out[b] = statistic(*(a[idx] for a in arrays), **kwargs)
    return out, len(members), "group"


def bootstrap_distribution(
    statistic: Callable[..., float],
    *data: Any,
    groups: Any = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int | None = 0,
    **kwargs: Any,
) -> tuple[np.ndarray, int, str]:
    """The statistic on ``n_resamples`` bootstrap resamples: ``(values, n_units, unit)``.

    Statistics built from per-item sums (the kappa family, alpha, Pearson, ECE, Brier...) are
    resampled in one vectorised step; others are called once per resample.
    """
    if n_resamples < 1:
        raise JuryboxError(f"n_resamples must be at least 1; got {n_resamples}")
    if not data:
        raise JuryboxError("bootstrap needs the statistic's data arrays")
    rng = np.random.default_rng(seed)
    n = len(data[0])
    codes = _group_codes(groups, n) if groups is not None else None
    make_parts = parts_of(statistic)
    parts = make_parts(*data, **kwargs) if make_parts is not None else None
    if parts is not None:
        return _decomposed_distribution(parts, codes, n_resamples, rng)
    return _looped_distribution(statistic, data, kwargs, codes, n_resamples, rng)


def bootstrap_ci(
    statistic: Callable[..., float],
    *data: Any,
    groups: Any = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int | None = 0,
    **kwargs: Any,
) -> Interval:
    """Percentile bootstrap interval (Efron & Tibshirani 1993, ch. 13) of ``statistic(*data, **kwargs)``.

    Resamples items with replacement, or whole clusters when ``groups`` (one group id per item,
    e.g. the query of each query-document pair) is given, since items in a cluster are not
    independent. The interval is the (1-confidence)/2 and (1+confidence)/2 quantiles of the
    resampled statistic, over the resamples where it is defined; items with missing values are
    dropped by the statistic in each resample as on the full data. Deterministic for a ``seed``.
    """
    if not 0.0 < confidence < 1.0:
        raise JuryboxError(f"confidence must be between 0 and 1 (e.g. 0.95); got {confidence}")
    estimate = float(statistic(*data, **kwargs))
    values, n_units, unit = bootstrap_distribution(
        statistic, *data, groups=groups, n_resamples=n_resamples, seed=seed, **kwargs
    )
    valid = values[~np.isnan(values)]
    if valid.size:
        low, high = np.quantile(valid, [(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0])
    else:
        low = high = float("nan")
    return Interval(
        estimate=estimate,
        low=float(low),
        high=float(high),
        confidence=confidence,
        n_resamples=n_resamples,
        n_valid=int(valid.size),
        n_units=n_units,
        unit=unit,
    )
