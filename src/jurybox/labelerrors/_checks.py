"""Boundary checks for label arrays and probability matrices (messages say what was expected)."""

from __future__ import annotations

from typing import Any

import numpy as np

from jurybox.errors import JuryboxError

#: Rows of ``pred_probs`` may miss summing to 1, or step outside [0, 1], by this much (float32 noise,
#: as in the published IMDB probabilities whose largest entry is 1.00001); larger deviations are errors.
PROB_TOLERANCE = 1e-3


def check_labels(labels: Any, n_classes: int | None = None, *, name: str = "labels") -> np.ndarray:
    """Integer class indices 0..K-1 as a 1-D int64 array (without a copy when already int64)."""
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
