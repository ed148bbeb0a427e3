"""Krippendorff's alpha for any number of raters, missing ratings, and four levels of measurement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from jurybox.errors import JuryboxError
from jurybox.stats._parts import Parts, decomposable, safe_divide
from jurybox.stats._validate import encode, missing_mask, resolve_labels

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS = ("nominal", "ordinal", "interval", "ratio")


def _item_counts(codes: np.ndarray, k: int) -> np.ndarray:
    n_items = codes.shape[0]
    ok = codes >= 0
    rows = np.broadcast_to(np.arange(n_items)[:, None], codes.shape)[ok]
    return np.bincount(rows * k + codes[ok], minlength=n_items * k).reshape(n_items, k)


def _counts(ratings: Any, values: Sequence[Any] | None, level: str) -> tuple[np.ndarray, Any]:
    """Per-item counts of each value, ``(n_items, K)``, and the ordered value domain."""
    if isinstance(ratings, pd.DataFrame):
        ratings = ratings.to_numpy()
    arr = ratings if isinstance(ratings, np.ndarray) else np.asarray(ratings, dtype=object)
    if arr.ndim != 2:
        raise JuryboxError(f"ratings must be 2-d (n_items, n_raters); got shape {arr.shape}")
    if arr.dtype.kind in "biuf":  # fast numeric path
        x = arr.astype(float, copy=False)
        present = ~np.isnan(x)
        if values is None:
            domain = np.sort(pd.unique(x[present]))
        else:
            domain = np.asarray(values, dtype=float)
            if level != "nominal" and np.any(np.diff(domain) <= 0):
                raise JuryboxError(
                    "values must be given in increasing order for ordinal, interval and ratio data"
                )
        if domain.size <= 32:  # one vectorised comparison per value beats sorting
            counts = (
                np.stack([(x == v).sum(axis=1) for v in domain], axis=1)
                if domain.size
                else (np.zeros((x.shape[0], 0), dtype=np.int64))
            )
            if int(counts.sum()) != int(present.sum()):
                raise JuryboxError(f"ratings contain a value that is not in values={domain.tolist()}")
            return counts, domain
        order = np.argsort(domain, kind="stable")
        sdom = domain[order]
        codes = np.full(x.shape, -1, dtype=np.int64)
        pos = np.clip(np.searchsorted(sdom, x[present]), 0, sdom.size - 1)
        if not np.all(sdom[pos] == x[present]):
            raise JuryboxError(f"ratings contain a value that is not in values={domain.tolist()}")
        codes[present] = order[pos]
        return _item_counts(codes, domain.size), domain
    flat = arr.reshape(-1)
    lab = resolve_labels([flat[~missing_mask(flat)]], values)
    if level in ("interval", "ratio") and not all(isinstance(v, int | float | np.number) for v in lab):
        raise JuryboxError(f"{level} alpha needs numeric ratings; got values {lab[:5]}")
    return _item_counts(encode(flat, lab, "ratings").reshape(arr.shape), len(lab)), lab


def _distance(level: str, domain: Any, marginals: np.ndarray) -> np.ndarray:
    """delta^2 of Krippendorff (2011), batched over leading axes of ``marginals`` (..., K)."""
    k = marginals.shape[-1]
    i, j = np.indices((k, k))
    if level == "nominal":
        return (i != j).astype(float)
    if level == "ordinal":
        cs = np.cumsum(marginals, axis=-1)
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        between = cs[..., hi] - cs[..., lo] + marginals[..., lo]
        return (between - (marginals[..., i] + marginals[..., j]) / 2.0) ** 2
    v = np.asarray(domain, dtype=float)
    if level == "interval":
        return (v[:, None] - v[None, :]) ** 2
    s = v[:, None] + v[None, :]
    return safe_divide(v[:, None] - v[None, :], s) ** 2  # ratio; 0/0 (both zero) -> 0 below


def _finalizer(level: str, domain: Any, k: int) -> Any:
    def finalize(sums: np.ndarray) -> np.ndarray:
        o = sums.reshape(sums.shape[:-1] + (k, k))
        n_c = o.sum(axis=-1)
        n = n_c.sum(axis=-1)
        d = np.nan_to_num(_distance(level, domain, n_c))
        observed = (o * d).sum(axis=(-2, -1))
        expected = (n_c[..., :, None] * n_c[..., None, :] * d).sum(axis=(-2, -1))
        return 1.0 - (n - 1.0) * safe_divide(observed, expected)

    return finalize


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise JuryboxError(f"level must be one of {', '.join(LEVELS)}; got {level!r}")


def _pairable(ratings: Any, values: Sequence[Any] | None,
              level: Level) -> tuple[np.ndarray, Any, np.ndarray, np.ndarray]:
    """Each item's count of every value (as floats), the value domain, each item's number of
    ratings, and which items are pairable (two ratings or more)."""
    _check_level(level)
    counts, domain = _counts(ratings, values, level)
    counts = counts.astype(float)
    m = counts.sum(axis=1)
    return counts, domain, m, m >= 2


def _alpha_parts(ratings: Any, *, level: Level = "nominal", values: Sequence[Any] | None = None) -> Parts:
    counts, domain, m, keep = _pairable(ratings, values, level)
    k = len(domain)
    counts, m = counts[keep], m[keep]
    w = 1.0 / (m - 1.0)
    coinc = counts[:, :, None] * counts[:, None, :]
    coinc[:, np.arange(k), np.arange(k)] -= counts
    contrib = (coinc * w[:, None, None]).reshape(len(m), k * k)
    return Parts(size=k * k, contributions=contrib, keep=keep, finalize=_finalizer(level, domain, k))


@decomposable(_alpha_parts)
def krippendorff_alpha(
    ratings: Any, *, level: Level = "nominal", values: Sequence[Any] | None = None
) -> float:
    """Krippendorff's alpha, alpha = 1 - (n - 1) * sum_ck o_ck d_ck / sum_ck n_c n_k d_ck.

    ``ratings`` is ``(n_items, n_raters)`` (a DataFrame works; note the ``krippendorff`` package
    takes the transpose), missing ratings as NaN/None. Items with fewer than 2 ratings are not
    pairable and are left out. o is the coincidence matrix, o_ck = sum_u sum_{i != j} [v_ui = c]
    [v_uj = k] / (m_u - 1); n_c its marginals, n their total (Krippendorff 2011, "Computing
    Krippendorff's alpha-reliability"). ``level`` sets the squared distance d_ck:
    nominal [c != k]; ordinal (sum_{g=c..k} n_g - (n_c + n_k)/2)^2, using the order of
    ``values`` only; interval (c - k)^2; ratio ((c - k)/(c + k))^2. ``values`` is the value
    domain in order (default: the sorted observed values); unobserved values add nothing.
    Ties: equal ratings coincide on the diagonal (distance 0). Computed in closed form, O(n).
    NaN when there is no disagreement possible (every pairable rating has one value) or no
    pairable item.
    Checked against: LLMJudge paper Table 3 ordinal alpha (33 label sets vs TREC DL 2023 qrels,
    values 0..3), and the ``krippendorff`` package on random data at every level.
    """
    counts, domain, m, keep = _pairable(ratings, values, level)
    k = len(domain)
    if not keep.all():
        counts, m = counts[keep], m[keep]
    weighted = counts / (m - 1.0)[:, None]
    coinc = weighted.T @ counts
    coinc[np.arange(k), np.arange(k)] -= weighted.sum(axis=0)
    return float(_finalizer(level, domain, k)(coinc.reshape(-1)))
