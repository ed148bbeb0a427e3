"""Debiasing: a decision threshold on the judge's score calibrated on human labels.

A judge's continuous output s_i (a probability of "correct"/"pass", or an expected rubric score)
becomes a binary decision [s_i >= t]. A lenient judge (Thakur et al. 2024; Hada et al. 2024) puts
too many items above the naive threshold (0.5, or the scale's midpoint). The calibrated threshold
is the t maximising balanced accuracy (mean of the true-positive and true-negative rates, so a
skewed label distribution does not pull t to an extreme) of [s >= t] against the human labels y_i in
{0, 1}; candidates are the midpoints between consecutive distinct scores plus both ends, ties
between candidates go to the one closest to ``default``. Missing scores or labels are dropped.

Because t is fitted to the same labels, the in-sample balanced accuracy is optimistic; ``cv`` gives
the k-fold cross-validated balanced accuracy (t fitted on k-1 folds, scored on the held-out fold).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from jurybox.audit._common import to_jsonable
from jurybox.errors import JuryboxError
from jurybox.stats._validate import as_float, same_length


def _balanced_accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    pos, neg = y == 1, y == 0
    if not pos.any() or not neg.any():
        return float(np.mean(pred == y))
    return float((np.mean(pred[pos] == 1) + np.mean(pred[neg] == 0)) / 2)


def _fit(s: np.ndarray, y: np.ndarray, default: float) -> float:
    u = np.unique(s)
    cands = np.concatenate([[u[0] - 1e-9], (u[:-1] + u[1:]) / 2, [u[-1] + 1e-9]]) if u.size else np.array([default])
    scores = np.array([_balanced_accuracy((s >= t).astype(float), y) for t in cands])
    best = np.flatnonzero(scores >= scores.max() - 1e-12)
    return float(cands[best[np.argmin(np.abs(cands[best] - default))]])


@dataclass(frozen=True)
class ThresholdCalibration:
    """The calibrated threshold, balanced accuracy at it and at ``default``, and its k-fold estimate."""

    threshold: float
    default: float
    balanced_accuracy: float
    balanced_accuracy_default: float
    balanced_accuracy_cv: float
    positive_rate_judge: float
    positive_rate_human: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = to_jsonable(self)
        return out

    def apply(self, scores: Any) -> np.ndarray:
        """Decisions [s >= threshold] (NaN where the score is missing)."""
        s = as_float(scores, "scores")
        return np.where(np.isnan(s), np.nan, (s >= self.threshold).astype(float))


def calibrate_threshold(scores: Any, human: Any, *, default: float = 0.5, cv: int = 5,
                        seed: int = 0) -> ThresholdCalibration:
    """Fit the threshold on (score, human 0/1 label) pairs; see the module docstring."""
    s, y = as_float(scores, "scores"), as_float(human, "human")
    same_length(("scores", s), ("human", y))
    ok = ~np.isnan(s) & ~np.isnan(y)
    s, y = s[ok], y[ok]
    if not np.isin(y, [0.0, 1.0]).all():
        raise JuryboxError("human labels for threshold calibration must be 0/1 (or True/False)")
    if s.size < 2:
        raise JuryboxError(f"threshold calibration needs at least 2 scored, labelled items; got {s.size}")
    t = _fit(s, y, default)
    folds = np.random.default_rng(seed).permutation(s.size) % max(2, min(cv, s.size))
    pred = np.empty(s.size)
    for f in np.unique(folds):
        train, test = folds != f, folds == f
        pred[test] = (s[test] >= _fit(s[train], y[train], default)).astype(float)
    return ThresholdCalibration(
        threshold=t, default=default,
        balanced_accuracy=_balanced_accuracy((s >= t).astype(float), y),
        balanced_accuracy_default=_balanced_accuracy((s >= default).astype(float), y),
        balanced_accuracy_cv=_balanced_accuracy(pred, y),
        positive_rate_judge=float(np.mean(s >= t)), positive_rate_human=float(np.mean(y)), n=int(s.size),
    )
