"""Leniency by slice: mean judge score against mean human score within each slice (language, source...).

Per slice s: mean judge score, mean human score, and leniency = mean(judge - human) over the items of
s with both scores (jurybox.stats.mean_difference; positive = the judge is lenient), with a 95%
bootstrap interval. Hada et al. (2024) found GPT-4 biased towards high scores, more so in
low-resource languages, and advise calibrating per language; this probe shows where.
For a pairwise judge the "score" is 1 when A is preferred and 0 when B is (a tie is 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from jurybox.audit._common import ResultMixin, Row, interval
from jurybox.stats import DEFAULT_RESAMPLES, Interval, mean_difference
from jurybox.stats._validate import as_float, as_object, same_length


@dataclass(frozen=True)
class SliceLeniency:
    slice: str
    mean_judge: float
    mean_human: float
    leniency: Interval
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"slice": self.slice, "mean_judge": self.mean_judge, "mean_human": self.mean_human,
                "leniency": self.leniency.to_dict(), "n": self.n}


@dataclass(frozen=True)
class LeniencyResult(ResultMixin):
    """Leniency overall and per slice."""

    probe: ClassVar[str] = "leniency"
    overall: SliceLeniency
    slices: tuple[SliceLeniency, ...]

    def rows(self) -> Any:
        for s in (self.overall, *self.slices):
            iv = s.leniency
            yield Row(self.probe, f"judge-human[{s.slice}]", iv.estimate, iv.low, iv.high, s.n,
                      f"judge {s.mean_judge:.3f} vs human {s.mean_human:.3f}")


def preference_score(labels: Any) -> np.ndarray:
    """Pairwise labels as numbers: A -> 1, B -> 0, tie -> 0.5, anything else NaN."""
    table = {"A": 1.0, "B": 0.0, "tie": 0.5}
    return np.array([table.get(v, np.nan) if isinstance(v, str) else np.nan for v in labels], dtype=float)


def _one(name: str, h: np.ndarray, j: np.ndarray, n_resamples: int, seed: int | None) -> SliceLeniency:
    ok = ~np.isnan(j) & ~np.isnan(h)
    return SliceLeniency(slice=name, mean_judge=float(j[ok].mean()) if ok.any() else float("nan"),
                         mean_human=float(h[ok].mean()) if ok.any() else float("nan"),
                         leniency=interval(mean_difference, h, j, n_resamples=n_resamples, seed=seed),
                         n=int(ok.sum()))


def leniency_by_slice(human: Any, judge: Any, slices: Any, *, n_resamples: int = DEFAULT_RESAMPLES,
                      seed: int | None = 0) -> LeniencyResult:
    """``human``, ``judge``: numeric scores per item (NaN = missing); ``slices``: the slice of each item."""
    h, j, s = as_float(human, "human"), as_float(judge, "judge"), as_object(slices, "slices")
    same_length(("human", h), ("judge", j), ("slices", s))
    names = sorted({str(v) for v in s})
    key = np.array([str(v) for v in s], dtype=object)
    return LeniencyResult(
        overall=_one("(all)", h, j, n_resamples, seed),
        slices=tuple(_one(n, h[key == n], j[key == n], n_resamples, seed) for n in names),
    )
