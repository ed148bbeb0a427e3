"""A confidence threshold for LLM labels, chosen on a small human-labelled slice.

The coverage-accuracy curve is :func:`jurybox.jury.coverage.coverage_curve` (accuracy of the LLM
labels whose confidence is at least t, against the share of items kept). :func:`choose_threshold`
takes the lowest threshold (the largest coverage) at which the accuracy on the slice reaches
``target_accuracy``; with ``conservative=True`` it asks the lower end of the Wilson 95% interval
of that accuracy to reach the target instead (fewer items kept, more confidence that the kept
ones are as accurate as asked). The accuracy at the chosen threshold is reported with its Wilson
interval over the kept slice items; when no threshold reaches the target, the highest-accuracy
point is reported with ``met=False`` (never a silent default).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jurybox.errors import JuryboxError
from jurybox.jury.coverage import CoverageCurve, coverage_curve
from jurybox.stats import wilson_interval
from jurybox.stats.bootstrap import Interval
from jurybox.types import Record

__all__ = ["ThresholdChoice", "choose_threshold"]


@dataclass(frozen=True)
class ThresholdChoice(Record):
    threshold: float
    coverage: float
    accuracy: Interval
    target_accuracy: float
    met: bool
    n_slice: int
    n_kept: int
    conservative: bool

    def line(self) -> str:
        a = self.accuracy
        verdict = "reaches" if self.met else "does NOT reach"
        return (f"confidence >= {self.threshold:.3f} keeps {self.coverage:.1%} of the {self.n_slice} human-labelled "
                f"items with accuracy {a.estimate:.3f} [{a.low:.3f}, {a.high:.3f}] (Wilson 95%); {verdict} the target "
                f"{self.target_accuracy:.2f}")


def choose_threshold(predicted: Sequence[Any], confidence: Any, gold: Sequence[Any], *,
                     target_accuracy: float = 0.9, conservative: bool = False) -> tuple[ThresholdChoice, CoverageCurve]:
    """The threshold (module docstring) and the curve it was read from."""
    if not 0 < target_accuracy <= 1:
        raise JuryboxError(f"target_accuracy must be in (0, 1], got {target_accuracy}", option="target_accuracy")
    curve = coverage_curve(predicted, confidence, gold)
    if len(curve.threshold) == 0:
        raise JuryboxError("no human-labelled item has an LLM label with a confidence; cannot choose a threshold")
    kept = np.rint(curve.coverage * curve.n).astype(int)
    correct = np.rint(curve.accuracy * kept).astype(int)
    ivs = [wilson_interval(int(c), int(k)) for c, k in zip(correct, kept)]
    score = np.array([iv.low if conservative else iv.estimate for iv in ivs])
    ok = np.flatnonzero(score >= target_accuracy - 1e-12)
    if len(ok):
        j = int(ok[-1])  # thresholds run from high to low: the last one that qualifies keeps the most
        met = True
    else:
        j = int(np.argmax(score))
        met = False
    choice = ThresholdChoice(float(curve.threshold[j]), float(curve.coverage[j]), ivs[j], target_accuracy, met,
                             curve.n, int(kept[j]), conservative)
    return choice, curve
