"""Leniency: does the judge score higher than the humans do?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from jurybox.stats._parts import Parts, decomposable, safe_divide
from jurybox.stats._validate import as_float_pair
from jurybox.types import Record


def _diff_parts(human: Any, judge: Any, column: int) -> Parts:
    h, j, keep = as_float_pair(human, judge, names=("human", "judge"))
    d = j - h
    contrib = np.column_stack([np.ones_like(d), d, (d > 0).astype(float), (d < 0).astype(float)])
    return Parts(
        size=4, contributions=contrib, keep=keep, finalize=lambda s: safe_divide(s[..., column], s[..., 0])
    )


def _mean_difference_parts(human: Any, judge: Any) -> Parts:
    return _diff_parts(human, judge, 1)


def _share_higher_parts(human: Any, judge: Any) -> Parts:
    return _diff_parts(human, judge, 2)


@decomposable(_mean_difference_parts)
def mean_difference(human: Any, judge: Any) -> float:
    """Mean signed difference, mean(judge - human). Positive: the judge is lenient.

    Level: interval (numeric scores). Missing: pairwise deletion. NaN with no items.
    Checked against: numpy's mean of the differences (there is no published number).
    """
    return _mean_difference_parts(human, judge).value()


@decomposable(_share_higher_parts)
def share_judge_higher(human: Any, judge: Any) -> float:
    """Share of items where the judge's score is strictly higher than the human's.

    Level: ordinal. Ties (equal scores) count as not higher. Missing: pairwise deletion.
    """
    return _share_higher_parts(human, judge).value()


@dataclass(frozen=True)
class Leniency(Record):
    """Mean judge-minus-human difference and the shares of items scored higher/equal/lower."""

    mean_difference: float
    share_higher: float
    share_equal: float
    share_lower: float
    n: int


def leniency(human: Any, judge: Any) -> Leniency:
    """Leniency summary of numeric scores (see :func:`mean_difference`, :func:`share_judge_higher`)."""
    sums = _mean_difference_parts(human, judge).totals()
    n = sums[0]
    higher, lower = safe_divide(sums[2], n), safe_divide(sums[3], n)
    return Leniency(
        mean_difference=float(safe_divide(sums[1], n)),
        share_higher=float(higher),
        share_equal=float(1.0 - higher - lower) if n else float("nan"),
        share_lower=float(lower),
        n=int(n),
    )
