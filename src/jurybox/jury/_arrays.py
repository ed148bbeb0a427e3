"""Shared input handling for the jury's pure functions: label matrices with missing entries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from jurybox.errors import JuryboxError


def is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def label_codes(labels: Any, label_set: Sequence[Any] | None = None) -> tuple[np.ndarray, tuple[Any, ...]]:
    """Encode a (judges x items) label matrix as integer codes (-1 = missing) and the label set.

    The label set defaults to the sorted distinct non-missing labels.
    """
    arr = np.asarray(labels, dtype=object)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise JuryboxError(f"labels must be a (judges x items) matrix, got shape {arr.shape}")
    if label_set is None:
        seen = {v for v in arr.ravel() if not is_missing(v)}
        label_set = tuple(sorted(seen, key=lambda v: (str(type(v)), v)))
    index = {v: k for k, v in enumerate(label_set)}
    codes = np.full(arr.shape, -1, dtype=np.int64)
    for (j, i), v in np.ndenumerate(arr):
        if is_missing(v):
            continue
        if v not in index:
            raise JuryboxError(f"label {v!r} (judge {j}, item {i}) is not in the label set {list(label_set)}")
        codes[j, i] = index[v]
    return codes, tuple(label_set)


def vote_counts(codes: np.ndarray, k: int, weights: np.ndarray | None = None) -> np.ndarray:
    """(items x k) sum of (weighted) votes per label; missing votes count nothing."""
    j, n = codes.shape
    w = np.ones(j) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (j,):
        raise JuryboxError(f"weights must have one entry per judge ({j}), got shape {w.shape}")
    counts = np.zeros((n, k))
    for jj in range(j):
        ok = codes[jj] >= 0
        np.add.at(counts, (np.nonzero(ok)[0], codes[jj, ok]), w[jj])
    return counts


def nan_to_none(values: Any) -> list[float | None]:
    """A float array as a JSON-ready list, NaN as None."""
    return [None if np.isnan(v) else float(v) for v in np.asarray(values, dtype=float)]
