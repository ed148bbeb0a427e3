"""Listwise ranking distance (MLLM-as-a-Judge batch ranking, Chen et al., arXiv 2402.04788; card 14).

The judge orders a set of responses; its order is compared with the human order by the normalised
Levenshtein distance: the minimum number of single-element insertions, deletions and substitutions
turning one sequence into the other, divided by the length of the longer sequence (0 = identical,
1 = nothing in common; lower is better). An unreadable ranking (None) is left out of the mean and
counted in ``n_missing``. Published check: GPT-4V's batch-ranking distance about 0.36 (secondary);
tests check the distance against hand-computed edit distances.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jurybox.errors import JuryboxError
from jurybox.stats._validate import nan_to_none


def levenshtein(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Edit distance (unit-cost insert, delete, substitute) between two sequences."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        cur = [i] + [0] * len(b)
        for j, y in enumerate(b, start=1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
        prev = cur
    return prev[-1]


def normalised_levenshtein(a: Sequence[Any], b: Sequence[Any]) -> float:
    """levenshtein(a, b) / max(len(a), len(b)); 0.0 for two empty sequences."""
    m = max(len(a), len(b))
    return levenshtein(a, b) / m if m else 0.0


@dataclass(frozen=True)
class RankingDistance:
    distance: np.ndarray
    mean: float
    n_missing: int

    def to_dict(self) -> dict[str, Any]:
        return {"distance": nan_to_none(self.distance), "mean": self.mean,
                "n_missing": self.n_missing}


def ranking_distance(predicted: Sequence[Sequence[Any] | None], human: Sequence[Sequence[Any]]) -> RankingDistance:
    """Per-item normalised Levenshtein distance of the judge's order to the human order, and the mean."""
    if len(predicted) != len(human):
        raise JuryboxError(f"{len(predicted)} predicted rankings but {len(human)} human rankings")
    d = np.array([np.nan if p is None else normalised_levenshtein(list(p), list(h))
                  for p, h in zip(predicted, human, strict=True)])
    ok = ~np.isnan(d)
    return RankingDistance(d, float(d[ok].mean()) if ok.any() else float("nan"), int((~ok).sum()))
