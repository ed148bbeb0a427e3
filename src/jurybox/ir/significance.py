"""Significance agreement (Otero, Parapar & Barreiro, SIGIR 2025): do two sets of qrels lead to the
same significance decisions for every pair of systems?"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

from jurybox.errors import JuryboxError

Test = Literal["t", "wilcoxon"]


@dataclass(frozen=True)
class SignificanceAgreement:
    """Counts over all system pairs, taking the reference (human) decisions as the truth.

    ``agree_significant``: significant under both, same direction; ``false_positives``:
    significant under the estimate only; ``false_negatives``: under the reference only;
    ``direction_flips``: significant under both but in opposite directions;
    ``agree_not_significant``: significant under neither.
    """

    n_pairs: int
    significant_reference: int
    significant_estimate: int
    agree_significant: int
    agree_not_significant: int
    false_positives: int
    false_negatives: int
    direction_flips: int
    test: str
    alpha: float

    @property
    def false_positive_rate(self) -> float:
        """Share of the estimate's significant pairs that are not significant under the reference."""
        return self.false_positives / self.significant_estimate if self.significant_estimate else float("nan")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["false_positive_rate"] = self.false_positive_rate
        return d


def _pair_decisions(scores: pd.DataFrame, test: Test, alpha: float) -> dict[tuple[str, str], int]:
    """+1 / -1 when system a is significantly better / worse than b, 0 when not significant."""
    out = {}
    for a, b in combinations(sorted(scores.index), 2):
        x = scores.loc[a].to_numpy(dtype=float)
        y = scores.loc[b].to_numpy(dtype=float)
        d = x - y
        if np.allclose(d, 0.0):
            out[(a, b)] = 0
            continue
        p = sps.ttest_rel(x, y).pvalue if test == "t" else sps.wilcoxon(x, y, zero_method="wilcox").pvalue
        out[(a, b)] = int(np.sign(d.mean())) if p < alpha else 0
    return out


def significance_agreement(
    reference: pd.DataFrame, estimate: pd.DataFrame, *, test: Test = "t", alpha: float = 0.05
) -> SignificanceAgreement:
    """Compare paired-test decisions for every pair of systems under two qrels.

    ``reference`` and ``estimate`` are per-query score tables (systems x queries, e.g. from
    :func:`jurybox.ir.ranking.per_query_scores`); each pair is tested over the queries of its own
    table with a two-sided paired t-test (``"t"``, scipy's ``ttest_rel``) or Wilcoxon signed-rank
    test (``"wilcoxon"``) at level ``alpha``; the direction is the sign of the mean difference.
    No correction for multiple comparisons (as in the paper's counting of decisions).
    Checked against: synthetic score tables with known decisions (no published counts available).
    """
    if test not in ("t", "wilcoxon"):
        raise JuryboxError(f"test must be 't' or 'wilcoxon'; got {test!r}")
    common = sorted(set(reference.index) & set(estimate.index))
    if len(common) < 2:
        raise JuryboxError("significance agreement needs at least 2 systems scored under both qrels")
    ref = _pair_decisions(reference.loc[common], test, alpha)
    est = _pair_decisions(estimate.loc[common], test, alpha)
    r = np.array([ref[k] for k in ref])
    e = np.array([est[k] for k in ref])
    return SignificanceAgreement(
        n_pairs=len(r),
        significant_reference=int((r != 0).sum()),
        significant_estimate=int((e != 0).sum()),
        agree_significant=int(((r != 0) & (r == e)).sum()),
        agree_not_significant=int(((r == 0) & (e == 0)).sum()),
        false_positives=int(((r == 0) & (e != 0)).sum()),
        false_negatives=int(((r != 0) & (e == 0)).sum()),
        direction_flips=int(((r != 0) & (e != 0) & (r != e)).sum()),
        test=test,
        alpha=alpha,
    )
