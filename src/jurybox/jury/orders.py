"""Accuracy and positional agreement of pairwise verdicts asked in both presentation orders.

Definitions (as in LLMBar, Zeng et al. ICLR 2024, statistics.json of each evaluator):

* accuracy = mean over both orders of [winner == gold], i.e. (correct_AB + correct_BA) / (2 n)
  ("correct_average");
* positional agreement = share of items whose two single-order verdicts name the same response
  ("equal"): :func:`jurybox.stats.positional_agreement` with ``unparsed="disagree"``;
* correct_both = share of items where both orders are right.

Winners are given in terms of the original responses ("A"/"B") in both orders. A missing verdict
(unreadable answer) counts as not correct and as not agreeing; ``n_missing`` reports how many.
Published check: LLMBar statistics.json (e.g. LLaMA2 on Neighbor: correct_average 19.03%, equal 87.31%);
the test reproduces each set's statistics.json from its result.json with these definitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jurybox.errors import JuryboxError
from jurybox.stats import positional_agreement
from jurybox.stats._validate import is_missing


@dataclass(frozen=True)
class OrderMetrics:
    n: int
    accuracy: float
    positional_agreement: float
    correct_both: float
    accuracy_ab: float
    accuracy_ba: float
    n_missing: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def order_metrics(winner_ab: Sequence[Any], winner_ba: Sequence[Any], gold: Sequence[Any]) -> OrderMetrics:
    """Accuracy, positional agreement and correct-in-both-orders (module docstring) over n items."""
    ab, ba, g = list(winner_ab), list(winner_ba), list(gold)
    if not (len(ab) == len(ba) == len(g)):
        raise JuryboxError(f"winner_ab, winner_ba and gold must have equal lengths ({len(ab)}, {len(ba)}, {len(g)})")
    n = len(g)
    if n == 0:
        raise JuryboxError("no items to score")
    ok_ab = np.array([not is_missing(x) and x == y for x, y in zip(ab, g, strict=True)])
    ok_ba = np.array([not is_missing(x) and x == y for x, y in zip(ba, g, strict=True)])
    missing = sum(is_missing(x) for x in ab) + sum(is_missing(x) for x in ba)
    return OrderMetrics(n, float((ok_ab.mean() + ok_ba.mean()) / 2),
                        positional_agreement(ab, ba, unparsed="disagree"),
                        float((ok_ab & ok_ba).mean()), float(ok_ab.mean()), float(ok_ba.mean()), int(missing))
