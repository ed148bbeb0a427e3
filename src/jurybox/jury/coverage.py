"""Accuracy against coverage for a judge that states its confidence (selective judging).

Dong, Hu & Collier, "Can LLM be a Personalized Judge?" (arXiv 2406.11657; method card 15): the judge
gives a verbal certainty (0-100); keep only the items with certainty >= a threshold (80 in the paper)
and report accuracy on them beside coverage. The same curve can be drawn from logprob confidence
(the probability of the chosen label).

Definitions, over the n items with a gold label:

* an item is answered when the judge gave a readable label and a confidence; an abstention or an
  unreadable answer is never answered at any threshold (it is not mapped to a label);
* coverage(t) = (answered items with confidence >= t) / n;
* accuracy(t) = share correct among those items (NaN when there are none).

:func:`coverage_curve` evaluates every distinct confidence as a threshold (highest first), so the curve
runs from the most confident item to full answered coverage; :func:`selective_accuracy` gives one
threshold. Published check: above 80% agreement on high-certainty items for strong judges
(OpinionQA 79.2% on certain items); tests check the definitions on constructed data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jurybox.errors import JuryboxError
from jurybox.stats._validate import is_missing, nan_to_none


@dataclass(frozen=True)
class CoverageCurve:
    threshold: np.ndarray
    coverage: np.ndarray
    accuracy: np.ndarray
    n: int
    n_answered: int

    def to_dict(self) -> dict[str, Any]:
        return {"threshold": self.threshold.tolist(), "coverage": self.coverage.tolist(),
                "accuracy": nan_to_none(self.accuracy),
                "n": self.n, "n_answered": self.n_answered}


def _prepare(predicted: Sequence[Any], confidence: Any, gold: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, int]:
    pred, g = list(predicted), list(gold)
    c = np.array([np.nan if is_missing(x) else float(x) for x in confidence], dtype=float)
    if not (len(pred) == len(c) == len(g)):
        raise JuryboxError(f"predicted, confidence and gold differ in length ({len(pred)}, {len(c)}, {len(g)})")
    keep = [i for i in range(len(g)) if not is_missing(g[i])]
    if not keep:
        raise JuryboxError("no item has a gold label")
    answered = np.array([not is_missing(pred[i]) and not np.isnan(c[i]) for i in keep])
    correct = np.array([not is_missing(pred[i]) and pred[i] == g[i] for i in keep])
    conf = np.where(answered, c[keep], -np.inf)
    return conf, correct & answered, len(keep)


def selective_accuracy(predicted: Sequence[Any], confidence: Any, gold: Sequence[Any], threshold: float) -> tuple[float, float]:
    """(accuracy, coverage) over the items answered with confidence >= ``threshold``."""
    conf, correct, n = _prepare(predicted, confidence, gold)
    sel = conf >= threshold
    return (float(correct[sel].mean()) if sel.any() else float("nan")), float(sel.sum() / n)


def coverage_curve(predicted: Sequence[Any], confidence: Any, gold: Sequence[Any]) -> CoverageCurve:
    """Accuracy and coverage at every distinct confidence threshold, highest first."""
    conf, correct, n = _prepare(predicted, confidence, gold)
    fin = np.isfinite(conf)
    ts = np.unique(conf[fin])[::-1]
    order = np.argsort(-conf, kind="stable")
    cs, cc = conf[order], np.cumsum(correct[order])
    cov, acc = [], []
    for t in ts:
        m = int(np.searchsorted(-cs, -t, side="right"))
        cov.append(m / n)
        acc.append(cc[m - 1] / m)
    return CoverageCurve(ts.astype(float), np.array(cov, dtype=float), np.array(acc, dtype=float), n, int(fin.sum()))
