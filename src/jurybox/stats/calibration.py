"""Calibration of judges that give probabilities: Brier score, ECE, reliability-diagram bins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jurybox.errors import JuryboxError
from jurybox.stats._parts import Parts, decomposable, safe_divide
from jurybox.stats._validate import as_1d, encode, missing_mask


def _confidence_correct(confidence: Any, correct: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c = np.asarray(as_1d(confidence, "confidence"), dtype=float)
    raw = as_1d(correct, "correct")
    if c.shape != raw.shape:
        raise JuryboxError(f"confidence and correct need one value per item; got {c.size} and {raw.size}")
    keep = ~(np.isnan(c) | missing_mask(raw))
    c = c[keep]
    y = np.asarray(raw[keep], dtype=float)
    if c.size and (c.min() < 0 or c.max() > 1):
        raise JuryboxError("confidence must be probabilities between 0 and 1")
    if y.size and not np.isin(y, (0.0, 1.0)).all():
        raise JuryboxError("correct must be 0/1 or True/False")
    return c, y, keep


def _bins(c: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    if n_bins < 1:
        raise JuryboxError(f"n_bins must be at least 1; got {n_bins}")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return edges, np.searchsorted(edges[1:-1], c, side="left")


def _ece_finalize(n_bins: int) -> Any:
    def finalize(sums: np.ndarray) -> np.ndarray:
        s = sums.reshape(sums.shape[:-1] + (3, n_bins))
        count, conf, acc = s[..., 0, :], s[..., 1, :], s[..., 2, :]
        return safe_divide(np.abs(acc - conf).sum(axis=-1), count.sum(axis=-1))

    return finalize


def _ece_parts(confidence: Any, correct: Any, *, n_bins: int = 10) -> Parts:
    c, y, keep = _confidence_correct(confidence, correct)
    _, b = _bins(c, n_bins)
    contrib = np.zeros((c.size, 3 * n_bins))
    rows = np.arange(c.size)
    contrib[rows, b] = 1.0
    contrib[rows, n_bins + b] = c
    contrib[rows, 2 * n_bins + b] = y
    return Parts(size=3 * n_bins, contributions=contrib, keep=keep, finalize=_ece_finalize(n_bins))


@decomposable(_ece_parts)
def expected_calibration_error(confidence: Any, correct: Any, *, n_bins: int = 10) -> float:
    """ECE = sum_m (|B_m| / n) |acc(B_m) - conf(B_m)| (Guo et al. 2017, equal-width bins).

    ``confidence`` is the judge's probability of the label it chose, ``correct`` whether that
    label matches the human one. Bins are (0, 1/M], (1/M, 2/M], ... with 0 in the first bin
    (the binning of scikit-learn's ``calibration_curve``). Missing: items with either value
    missing are left out. Checked against: ``sklearn.calibration.calibration_curve`` bins.
    """
    return _ece_parts(confidence, correct, n_bins=n_bins).value()


@dataclass(frozen=True)
class ReliabilityDiagram:
    """Per-bin count, mean confidence and accuracy (NaN for empty bins), and the ECE."""

    bin_edges: tuple[float, ...]
    count: tuple[int, ...]
    mean_confidence: tuple[float, ...]
    accuracy: tuple[float, ...]
    ece: float

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


def reliability_diagram(confidence: Any, correct: Any, *, n_bins: int = 10) -> ReliabilityDiagram:
    """The bins behind :func:`expected_calibration_error`, for plotting a reliability diagram."""
    c, y, _ = _confidence_correct(confidence, correct)
    edges, b = _bins(c, n_bins)
    count = np.bincount(b, minlength=n_bins)
    conf = safe_divide(np.bincount(b, weights=c, minlength=n_bins), count)
    acc = safe_divide(np.bincount(b, weights=y, minlength=n_bins), count)
    return ReliabilityDiagram(
        bin_edges=tuple(float(e) for e in edges),
        count=tuple(int(v) for v in count),
        mean_confidence=tuple(float(v) for v in conf),
        accuracy=tuple(float(v) for v in acc),
        ece=expected_calibration_error(c, y, n_bins=n_bins),
    )


def _brier_parts(probs: Any, y_true: Any, *, labels: Sequence[Any] | None = None) -> Parts:
    p = np.asarray(probs, dtype=float)
    if p.ndim == 1:  # binary: probability of the positive class, y_true in {0, 1}
        p = np.column_stack([1.0 - p, p])
        labels = [0, 1] if labels is None else labels
    if p.ndim != 2:
        raise JuryboxError(f"probs must be (n_items,) or (n_items, n_labels); got shape {p.shape}")
    if labels is None or len(labels) != p.shape[1]:
        raise JuryboxError(f"labels must name the {p.shape[1]} columns of probs in order")
    y = as_1d(y_true, "y_true")
    if y.shape[0] != p.shape[0]:
        raise JuryboxError(f"probs and y_true need one row per item; got {p.shape[0]} and {y.shape[0]}")
    codes = encode(y, list(labels), "y_true")
    keep = (codes >= 0) & ~np.isnan(p).any(axis=1)
    p, codes = p[keep], codes[keep]
    onehot = np.zeros_like(p)
    onehot[np.arange(p.shape[0]), codes] = 1.0
    err = ((p - onehot) ** 2).sum(axis=1)
    contrib = np.column_stack([np.ones_like(err), err])
    return Parts(
        size=2, contributions=contrib, keep=keep, finalize=lambda s: safe_divide(s[..., 1], s[..., 0])
    )


@decomposable(_brier_parts)
def brier_score(probs: Any, y_true: Any, *, labels: Sequence[Any] | None = None) -> float:
    """Brier score (Brier 1950), mean over items of sum_k (p_k - [y = k])^2.

    ``probs`` is ``(n_items, K)`` with columns in the order of ``labels``, or 1-d for a binary
    judge (probability of label 1; the score is then reported on the two-class sum, i.e. twice
    scikit-learn's ``brier_score_loss``). Lower is better; 0 is perfect. Missing: items with a
    missing label or any missing probability are left out. Checked against: scikit-learn's
    ``brier_score_loss`` in the tests.
    """
    return _brier_parts(probs, y_true, labels=labels).value()


def top_label_confidence(probs: Any, y_true: Any, *, labels: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """For each item, the judge's highest probability and whether that label equals ``y_true``.

    Rows of ``probs`` that are all missing give NaN confidence (and are skipped by the ECE).
    """
    p = np.asarray(probs, dtype=float)
    if p.ndim != 2 or p.shape[1] != len(labels):
        raise JuryboxError(f"probs must be (n_items, {len(labels)}) with columns in the order of labels")
    codes = encode(as_1d(y_true, "y_true"), list(labels), "y_true")
    empty = np.isnan(p).all(axis=1)
    top = np.argmax(np.nan_to_num(p, nan=-1.0), axis=1)
    conf = np.where(empty, np.nan, p[np.arange(p.shape[0]), top])
    correct = np.where((codes < 0) | empty, np.nan, (top == codes).astype(float))
    return conf, correct
