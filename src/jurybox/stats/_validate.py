"""Input checks shared by the statistics: turn user arrays into validated numpy arrays.

Missing values are ``None``, ``float('nan')``, ``pandas.NA`` or ``pandas.NaT``. Labels may be
strings or numbers; they are mapped to integer codes ``0..K-1`` in the order of ``labels`` (given,
or the sorted union of observed values).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from jurybox.errors import JuryboxError


def as_1d(values: Any, name: str) -> np.ndarray:
    """A 1-d numpy array, or a clear error naming the argument."""
    arr = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if arr.ndim != 1:
        raise JuryboxError(f"{name} must be one-dimensional (one value per item); got shape {arr.shape}")
    return arr


def missing_mask(arr: np.ndarray) -> np.ndarray:
    """True where a value is missing (None, NaN, pandas.NA)."""
    if arr.dtype.kind in "biu":
        return np.zeros(arr.shape, dtype=bool)
    if arr.dtype.kind in "fc":
        return np.isnan(arr)
    return np.asarray(pd.isna(arr), dtype=bool)


def check_same_length(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    if a.shape[0] != b.shape[0]:
        raise JuryboxError(
            f"{names[0]} and {names[1]} must have one value per item each; "
            f"got {a.shape[0]} and {b.shape[0]} values"
        )


def _sort_key(v: Any) -> tuple[int, Any]:
    if isinstance(v, bool | np.bool_):
        return (0, int(v))
    if isinstance(v, int | float | np.integer | np.floating):
        return (0, float(v))
    return (1, str(v))


def resolve_labels(observed: Sequence[np.ndarray], labels: Sequence[Any] | None) -> list[Any]:
    """The label order: ``labels`` if given, else the sorted union of the observed values."""
    if labels is not None:
        out = list(labels)
        if len(set(out)) != len(out):
            raise JuryboxError(f"labels must not repeat a value; got {out}")
        return out
    seen: set[Any] = set()
    for arr in observed:
        seen.update(arr.tolist())
    return sorted(seen, key=_sort_key)


def encode(arr: np.ndarray, labels: list[Any], name: str) -> np.ndarray:
    """Integer codes of ``arr`` in ``labels`` (``-1`` for missing); unknown values are an error."""
    missing = missing_mask(arr)
    codes = np.full(arr.shape, -1, dtype=np.int64)
    present = arr[~missing]
    if present.size == 0:
        return codes
    if present.dtype.kind in "biuf" and all(
        isinstance(v, int | float | np.integer | np.floating) for v in labels
    ):
        domain = np.asarray(labels, dtype=float)
        order = np.argsort(domain, kind="stable")
        sorted_domain = domain[order]
        vals = present.astype(float)
        pos = np.clip(np.searchsorted(sorted_domain, vals), 0, len(domain) - 1)
        ok = sorted_domain[pos] == vals
        if not ok.all():
            bad = vals[~ok][0]
            raise JuryboxError(f"{name} has value {bad!r}, which is not one of the labels {labels}")
        codes[~missing] = order[pos]
        return codes
    index = {_norm(v): i for i, v in enumerate(labels)}
    out = np.empty(present.shape[0], dtype=np.int64)
    for j, v in enumerate(present.tolist()):
        code = index.get(_norm(v))
        if code is None:
            raise JuryboxError(f"{name} has value {v!r}, which is not one of the labels {labels}")
        out[j] = code
    codes[~missing] = out
    return codes


def _norm(v: Any) -> Any:
    # 1 and 1.0 are the same label; numpy scalars compare as Python scalars.
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def encode_pair(
    a: Any, b: Any, labels: Sequence[Any] | None, names: tuple[str, str] = ("y1", "y2")
) -> tuple[np.ndarray, np.ndarray, list[Any], np.ndarray]:
    """Codes of two raters' labels over a shared label set, items with a missing value removed.

    Returns ``(codes1, codes2, labels, keep)`` where ``keep`` marks the items that were kept.
    """
    x = as_1d(a, names[0])
    y = as_1d(b, names[1])
    check_same_length(x, y, names)
    keep = ~(missing_mask(x) | missing_mask(y))
    x, y = x[keep], y[keep]
    lab = resolve_labels([x, y], labels)
    return encode(x, lab, names[0]), encode(y, lab, names[1]), lab, keep


def as_float_pair(
    a: Any, b: Any, names: tuple[str, str] = ("x", "y")
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two float arrays with the items where either is missing removed (pairwise deletion).

    Returns ``(x, y, keep)`` where ``keep`` marks the items that were kept.
    """
    x = as_1d(a, names[0])
    y = as_1d(b, names[1])
    check_same_length(x, y, names)
    try:
        xf = np.asarray(pd.to_numeric(pd.Series(x), errors="raise"), dtype=float)
        yf = np.asarray(pd.to_numeric(pd.Series(y), errors="raise"), dtype=float)
    except (ValueError, TypeError) as exc:
        raise JuryboxError(f"{names[0]} and {names[1]} must be numbers (or missing); {exc}") from None
    keep = ~(np.isnan(xf) | np.isnan(yf))
    return xf[keep], yf[keep], keep
