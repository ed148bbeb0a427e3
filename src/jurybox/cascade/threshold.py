"""The cascade's threshold from a labelled slice (pure: arrays in, results out).

A cascade answers an item with the cheap judge when the cheap judge's confidence c (its largest
label probability) is at least the threshold t, and asks the large judge otherwise (an unread
cheap answer has no confidence and is always escalated). On a slice where both judges' answers and
the human labels are known, for every candidate t:

* share escalated e(t) = #{c_i < t or c_i missing} / n;
* accuracy a(t) = (#{kept and cheap right} + #{escalated and large right}) / n, a missing answer
  being wrong.

The candidates are the distinct cheap confidences (from :func:`jurybox.jury.coverage.coverage_curve`,
which gives the cheap judge's accuracy on the items it keeps at each one), plus "escalate every item"
(:data:`ESCALATE_ALL`, a threshold above any probability). :func:`choose_threshold` takes the
candidate with the smallest share escalated whose accuracy reaches the target: an absolute
``target`` accuracy, or the large judge's accuracy on the slice minus ``within``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jurybox.errors import JuryboxError
from jurybox.jury.coverage import coverage_curve
from jurybox.stats._validate import is_missing, nan_to_none

__all__ = ["ESCALATE_ALL", "CascadeCurve", "cascade_curve", "choose_threshold", "escalated"]

#: a threshold above every probability: every item goes to the large judge
ESCALATE_ALL = 1.01


def escalated(confidence: Sequence[Any] | np.ndarray, threshold: float) -> np.ndarray:
    """Which items a cascade with ``threshold`` sends to the large judge (confidence below it, or none)."""
    c = np.array([np.nan if is_missing(x) else float(x) for x in confidence], dtype=float)
    return ~(c >= threshold)


@dataclass(frozen=True)
class CascadeCurve:
    """Accuracy against share escalated at each candidate threshold (lowest share first)."""

    threshold: np.ndarray
    escalated: np.ndarray
    accuracy: np.ndarray
    cheap_accuracy: float
    large_accuracy: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"threshold": self.threshold.tolist(), "escalated": self.escalated.tolist(),
                "accuracy": nan_to_none(self.accuracy), "cheap_accuracy": self.cheap_accuracy,
                "large_accuracy": self.large_accuracy, "n": self.n}

    def at(self, threshold: float) -> tuple[float, float]:
        """(accuracy, share escalated) of the candidate ``threshold``."""
        k = int(np.argmin(np.abs(self.threshold - threshold)))
        if not np.isclose(self.threshold[k], threshold):
            raise JuryboxError(f"{threshold} is not a candidate threshold of this curve")
        return float(self.accuracy[k]), float(self.escalated[k])


def _right(pred: Sequence[Any], gold: Sequence[Any]) -> np.ndarray:
    return np.array([not is_missing(p) and p == g for p, g in zip(pred, gold, strict=True)], dtype=float)


def cascade_curve(cheap: Sequence[Any], confidence: Sequence[Any], large: Sequence[Any],
                  gold: Sequence[Any]) -> CascadeCurve:
    """The curve over the items with a gold label (module docstring)."""
    n_all = len(gold)
    if not (len(cheap) == len(confidence) == len(large) == n_all):
        raise JuryboxError(f"cheap, confidence, large and gold differ in length "
                           f"({len(cheap)}, {len(confidence)}, {len(large)}, {n_all})")
    keep = [i for i in range(n_all) if not is_missing(gold[i])]
    if not keep:
        raise JuryboxError("no item of the slice has a human label")
    g = [gold[i] for i in keep]
    ch = [cheap[i] for i in keep]
    la = [large[i] for i in keep]
    c = np.array([np.nan if is_missing(confidence[i]) else float(confidence[i]) for i in keep], dtype=float)
    n = len(keep)
    right_cheap, right_large = _right(ch, g), _right(la, g)
    cov = coverage_curve(ch, c, g)  # thresholds highest first: coverage grows
    ts, shares, accs = [ESCALATE_ALL], [1.0], [float(right_large.mean())]
    for t, covered, acc_kept in zip(cov.threshold, cov.coverage, cov.accuracy, strict=True):
        kept = ~escalated(c, float(t)) & np.array([not is_missing(p) for p in ch])
        # the cheap judge's right answers on the kept items, as the coverage curve counts them
        n_kept = int(round(covered * n))
        assert n_kept == int(kept.sum())
        correct = acc_kept * n_kept + float(right_large[~kept].sum())
        ts.append(float(t))
        shares.append(1.0 - n_kept / n)
        accs.append(correct / n)
    order = np.argsort(shares, kind="stable")
    return CascadeCurve(np.array(ts)[order], np.array(shares)[order], np.array(accs)[order],
                        float(right_cheap.mean()), float(right_large.mean()), n)


def choose_threshold(curve: CascadeCurve, *, target: float | None = None, within: float | None = None) -> float:
    """The threshold with the smallest share escalated whose slice accuracy is at least ``target``
    (or at least the large judge's accuracy minus ``within``); :data:`ESCALATE_ALL` when only
    escalating every item reaches it."""
    if (target is None) == (within is None):
        raise JuryboxError("give exactly one of target (an accuracy) or within (points below the large judge)")
    goal = float(target) if target is not None else curve.large_accuracy - float(within)  # type: ignore[arg-type]
    if not 0.0 <= goal <= 1.0 and target is not None:
        raise JuryboxError(f"target accuracy must be between 0 and 1, got {target}")
    ok = np.flatnonzero(curve.accuracy >= goal - 1e-12)
    if ok.size == 0:
        return ESCALATE_ALL
    return float(curve.threshold[ok[0]])
