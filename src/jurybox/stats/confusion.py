"""Confusion matrix and per-class precision, recall and F1 of a judge against human labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jurybox.stats._parts import safe_divide
from jurybox.stats._validate import encode_pair


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts ``matrix[i, j]`` of items with human label ``labels[i]`` and judge label ``labels[j]``.

    Per class k: precision = matrix[k, k] / column total, recall = matrix[k, k] / row total,
    F1 = 2PR / (P + R); NaN where the denominator is 0 (scikit-learn's ``zero_division=np.nan``).
    ``n_missing`` counts items left out because either label was missing.
    """

    labels: tuple[Any, ...]
    matrix: np.ndarray
    precision: tuple[float, ...]
    recall: tuple[float, ...]
    f1: tuple[float, ...]
    support: tuple[int, ...]
    n_missing: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "matrix": self.matrix.tolist(),
            "precision": list(self.precision),
            "recall": list(self.recall),
            "f1": list(self.f1),
            "support": list(self.support),
            "n_missing": self.n_missing,
        }


def confusion_matrix(y_true: Any, y_pred: Any, *, labels: Sequence[Any] | None = None) -> ConfusionMatrix:
    """Confusion matrix with rows = ``y_true`` (human), columns = ``y_pred`` (judge).

    Missing: items where either label is missing are left out and counted in ``n_missing``.
    Checked against: scikit-learn's ``confusion_matrix`` and ``precision_recall_fscore_support``.
    """
    a, b, lab, keep = encode_pair(y_true, y_pred, labels, names=("y_true", "y_pred"))
    k = len(lab)
    m = np.bincount(a * k + b, minlength=k * k).reshape(k, k)
    tp = np.diag(m).astype(float)
    precision = safe_divide(tp, m.sum(axis=0))
    recall = safe_divide(tp, m.sum(axis=1))
    f1 = safe_divide(2 * precision * recall, precision + recall)
    f1 = np.where(np.isnan(precision) | np.isnan(recall), np.nan, f1)
    return ConfusionMatrix(
        labels=tuple(lab),
        matrix=m,
        precision=tuple(float(v) for v in np.atleast_1d(precision)),
        recall=tuple(float(v) for v in np.atleast_1d(recall)),
        f1=tuple(float(v) for v in np.atleast_1d(f1)),
        support=tuple(int(v) for v in m.sum(axis=1)),
        n_missing=int((~keep).sum()),
    )
