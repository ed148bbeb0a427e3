"""The one home of jurybox's input checks: missing values, label encoding, numeric arrays, probabilities.

Every statistic in ``stats``, ``ir``, ``jury``, ``audit`` and ``labelerrors`` reads its inputs
through these functions, so one rule holds library-wide.

**Missing values.** A value is missing when it is ``None``, a floating-point NaN (Python ``float``
or any numpy floating scalar), ``pandas.NA``, ``pandas.NaT`` or a numpy ``NaT``. Nothing else is
missing: the empty string ``""``, ``0`` and ``False`` are values (a judge's verdict that could not be
read is ``None``, not ``""``). :func:`is_missing` (one value) and :func:`missing_mask` (an array)
apply the same rule.

**Labels.** Labels are compared as Python compares them once numpy scalars are turned into Python
scalars: ``1``, ``1.0``, ``numpy.int64(1)`` and ``True`` are one label (``1 == 1.0 == True``, as in a
Python ``set``), while ``"1"`` and ``1`` are two. A float with a whole value is stored as the int.
Without a given label set, the labels are the sorted distinct observed values: numbers (bools count
as 0/1) in numeric order first, then everything else by its ``str``. A given label set must not
repeat a label under this rule (``[1, 1.0]`` repeats). Labels are encoded as integer codes
``0..K-1`` in label-set order, ``-1`` for missing; a value outside the label set is an error.

**Numbers.** :func:`as_float` turns missing values into NaN and numbers (and numeric strings) into
floats; anything else is an error naming the argument. On the way out, :func:`nan_to_none` turns a
float array into a JSON-ready list with None for NaN.

**Class indices and probabilities** (``labelerrors``): :func:`check_labels` takes integer class
indices ``0..K-1`` (whole floats accepted), :func:`check_probs` / :func:`check_prob_values` an
``(N, K)`` probability matrix within :data:`PROB_TOLERANCE`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from jurybox.errors import JuryboxError

#: Rows of ``pred_probs`` may miss summing to 1, or step outside [0, 1], by this much (float32 noise,
#: as in the published IMDB probabilities whose largest entry is 1.00001); larger deviations are errors.
PROB_TOLERANCE = 1e-3


# -- missing values ---------------------------------------------------------------------------


def is_missing(v: Any) -> bool:
    """True when ``v`` is missing: None, NaN, pandas.NA, pandas.NaT or numpy NaT (module docstring)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float | np.floating):
        return bool(v != v)
    if isinstance(v, np.datetime64 | np.timedelta64):
        return bool(np.isnat(v))
    return False


def missing_mask(arr: Any) -> np.ndarray:
    """True where a value of ``arr`` is missing (the rule of :func:`is_missing`, vectorised)."""
    arr = np.asarray(arr) if not isinstance(arr, np.ndarray) else arr
    if arr.dtype.kind in "biuUS":
        return np.zeros(arr.shape, dtype=bool)
    if arr.dtype.kind in "fc":
        return np.isnan(arr)
    if arr.dtype.kind in "mM":
        return np.isnat(arr)
    return np.asarray(pd.isna(arr), dtype=bool)


# -- shapes -------------------------------------------------------------------------------------


def as_1d(values: Any, name: str) -> np.ndarray:
    """A 1-d numpy array (object dtype unless already an array), or a clear error naming the argument."""
    if isinstance(values, np.ndarray):
        arr = values
    elif isinstance(values, list | tuple | str | bytes | pd.Series | pd.Index) or not hasattr(values, "__iter__"):
        arr = np.asarray(values, dtype=object)
    else:  # a generator, dict view, map...
        arr = np.asarray(list(values), dtype=object)
    if arr.ndim != 1:
        raise JuryboxError(f"{name} must be one-dimensional (one value per item); got shape {arr.shape}")
    return arr


def as_object(values: Any, name: str) -> np.ndarray:
    """A 1-d object array (labels may be missing, e.g. None for an unread verdict)."""
    arr = as_1d(values, name)
    return arr if arr.dtype == object else arr.astype(object)


def as_float(values: Any, name: str) -> np.ndarray:
    """A 1-d float array; missing values become NaN; numbers and numeric strings become floats."""
    arr = as_1d(values, name)
    if arr.dtype.kind in "biuf":
        return arr.astype(float)
    arr = arr.astype(object)
    miss = missing_mask(arr)
    out = np.full(arr.shape, np.nan)
    try:
        out[~miss] = np.asarray(arr[~miss], dtype=float)
    except (TypeError, ValueError) as exc:
        raise JuryboxError(f"{name} must hold numbers (or missing values); {exc}") from None
    return out


def nan_to_none(values: Any) -> list[float | None]:
    """A float array as a JSON-ready list, NaN as None."""
    return [None if np.isnan(v) else float(v) for v in np.asarray(values, dtype=float)]


def check_same_length(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    """An error naming both arguments when they do not have one value per item each."""
    if a.shape[0] != b.shape[0]:
        raise JuryboxError(
            f"{names[0]} and {names[1]} must have one value per item each; "
            f"got {a.shape[0]} and {b.shape[0]} values"
        )


def same_length(*named: tuple[str, Any]) -> None:
    """:func:`check_same_length` for any number of ``(name, array)`` pairs."""
    n = {len(a) for _, a in named}
    if len(n) > 1:
        desc = ", ".join(f"{k} {len(a)}" for k, a in named)
        raise JuryboxError(f"the inputs must have one value per item each; got {desc}")


# -- labels -------------------------------------------------------------------------------------


def label_key(v: Any) -> Any:
    """The value labels are compared by: numpy scalars as Python scalars, a whole float as the int."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _sort_key(v: Any) -> tuple[int, Any]:
    if isinstance(v, bool | np.bool_):
        return (0, int(v))
    if isinstance(v, int | float | np.integer | np.floating):
        return (0, float(v))
    return (1, str(v))


def resolve_labels(observed: Sequence[Any], labels: Sequence[Any] | None) -> list[Any]:
    """The label order: ``labels`` if given (no repeats), else the sorted distinct observed values.

    ``observed`` holds arrays of values; missing values in them are skipped.
    """
    if labels is not None:
        out = list(labels)
        if len({label_key(v) for v in out}) != len(out):
            raise JuryboxError(f"labels must not repeat a value; got {out}")
        return out
    seen: dict[Any, Any] = {}
    for arr in observed:
        a = np.asarray(arr, dtype=object).ravel()
        for v in a[~missing_mask(a)].tolist():
            seen.setdefault(label_key(v), label_key(v))
    return sorted(seen.values(), key=_sort_key)


def encode(arr: Any, labels: Sequence[Any], name: str) -> np.ndarray:
    """Integer codes of ``arr`` (any shape) in ``labels`` (``-1`` for missing); unknown values are an error."""
    arr = np.asarray(arr) if not isinstance(arr, np.ndarray) else arr
    labels = list(labels)
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
            bad = label_key(vals[~ok][0])
            raise JuryboxError(f"{name} has value {bad!r}, which is not one of the labels {labels}")
        codes[~missing] = order[pos]
        return codes
    index = {label_key(v): i for i, v in enumerate(labels)}
    out = np.empty(present.shape[0], dtype=np.int64)
    for j, v in enumerate(present.tolist()):
        code = index.get(label_key(v))
        if code is None:
            raise JuryboxError(f"{name} has value {v!r}, which is not one of the labels {labels}")
        out[j] = code
    codes[~missing] = out
    return codes


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


def label_codes(labels: Any, label_set: Sequence[Any] | None = None) -> tuple[np.ndarray, tuple[Any, ...]]:
    """Encode a (raters x items) label matrix as integer codes (-1 = missing) and the label set.

    A 1-d input is one rater. The label set defaults to the sorted distinct non-missing labels.
    """
    arr = np.asarray(labels, dtype=object)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise JuryboxError(f"labels must be a (judges x items) matrix, got shape {arr.shape}")
    lab = resolve_labels([arr], label_set)
    return encode(arr, lab, "labels"), tuple(lab)


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


# -- class indices and probability matrices (labelerrors) ----------------------------------------


def check_labels(labels: Any, n_classes: int | None = None, *, name: str = "labels") -> np.ndarray:
    """Integer class indices 0..K-1 as a 1-D int64 array (without a copy when already int64).

    Whole floats are accepted (1.0 is class 1); a missing value is an error here.
    """
    y = np.asarray(labels)
    if y.ndim != 1:
        raise JuryboxError(f"{name} must be a 1-D array of class indices, got shape {y.shape}")
    if y.size == 0:
        raise JuryboxError(f"{name} is empty")
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise JuryboxError(
                f"{name} must hold integer class indices 0..K-1, got dtype {y.dtype} "
                "(map label names to indices first)"
            )
    y = y.astype(np.int64, copy=False)
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or (n_classes is not None and hi >= n_classes):
        bad = int(np.flatnonzero((y < 0) | (y >= (n_classes or hi + 1)))[0])
        raise JuryboxError(
            f"{name}[{bad}] = {int(y[bad])} is not a class index in 0..{(n_classes or hi + 1) - 1}"
        )
    return y


def check_probs(pred_probs: Any, n: int | None = None, *, name: str = "pred_probs") -> np.ndarray:
    """A float (N, K) matrix of per-row class probabilities, K >= 2 (not copied when already float)."""
    p = np.asarray(pred_probs)
    if p.ndim != 2 or p.shape[1] < 2:
        raise JuryboxError(f"{name} must be an (N, K) matrix with K >= 2 classes, got shape {p.shape}")
    if n is not None and p.shape[0] != n:
        raise JuryboxError(f"{name} has {p.shape[0]} rows but there are {n} labels; give one row per example")
    if not np.issubdtype(p.dtype, np.floating):
        p = p.astype(np.float64)
    return p


def check_prob_values(p: np.ndarray, *, name: str = "pred_probs") -> None:
    """Every entry finite, in [0, 1] and every row summing to 1, all within :data:`PROB_TOLERANCE`."""
    if not np.all(np.isfinite(p)):
        bad = int(np.flatnonzero(~np.all(np.isfinite(p), axis=1))[0])
        raise JuryboxError(f"{name} row {bad} has a missing or infinite value")
    if p.min() < -PROB_TOLERANCE or p.max() > 1 + PROB_TOLERANCE:
        bad = int(np.flatnonzero((p.min(axis=1) < -PROB_TOLERANCE) | (p.max(axis=1) > 1 + PROB_TOLERANCE))[0])
        raise JuryboxError(f"{name} row {bad} has a value outside [0, 1]; pass probabilities, not logits")
    sums = p.sum(axis=1)
    off = np.abs(sums - 1.0) > PROB_TOLERANCE * p.shape[1]
    if off.any():
        bad = int(np.flatnonzero(off)[0])
        raise JuryboxError(f"{name} row {bad} sums to {sums[bad]:.4f}, not 1; pass normalised probabilities")
