"""Agreement figures printed after a judging run, computed with :mod:`jurybox.stats`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jurybox.stats import bootstrap_ci, cohen_kappa, percent_agreement
from jurybox.types import Record

__all__ = ["QuickAgreement", "quick_agreement"]


@dataclass(frozen=True)
class QuickAgreement(Record):
    n_items: int
    n_compared: int  # items with both a human label and a parsed verdict
    n_unparsed: int  # items with a human label whose verdict could not be read (left out, never guessed)
    accuracy: float
    accuracy_low: float
    accuracy_high: float
    kappa: float
    kappa_low: float
    kappa_high: float

    def line(self) -> str:
        return (f"accuracy {self.accuracy:.3f} [{self.accuracy_low:.3f}, {self.accuracy_high:.3f}]  "
                f"Cohen's kappa {self.kappa:.3f} [{self.kappa_low:.3f}, {self.kappa_high:.3f}]  "
                f"(95% bootstrap intervals; {self.n_compared} items compared, {self.n_unparsed} unparsed)")


def quick_agreement(human: Sequence[str | None], judged: Sequence[str | None], *, seed: int = 0) -> QuickAgreement:
    """Accuracy (percent agreement) and unweighted Cohen's kappa of the judge against human labels.

    Items missing either label are left out (listwise deletion); the count of items whose verdict
    was unparsed is reported beside the figures. Intervals: 1,000-resample percentile bootstrap.
    """
    h = list(human)
    j = list(judged)
    n_compared = sum(1 for a, b in zip(h, j) if a is not None and b is not None)
    n_unparsed = sum(1 for a, b in zip(h, j) if a is not None and b is None)
    if n_compared == 0:
        nan = float("nan")
        return QuickAgreement(len(h), 0, n_unparsed, nan, nan, nan, nan, nan, nan)
    acc = bootstrap_ci(percent_agreement, h, j, seed=seed)
    kap = bootstrap_ci(cohen_kappa, h, j, seed=seed)
    return QuickAgreement(len(h), n_compared, n_unparsed, acc.estimate, acc.low, acc.high,
                          kap.estimate, kap.low, kap.high)
