"""Agreement of system rankings under two sets of qrels (e.g. human and LLM judgments).

Per-query effectiveness (nDCG@10 and any other measure) is computed by the ``ir-measures``
library (trec_eval / pytrec_eval underneath), not by jurybox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jurybox.errors import JuryboxError
from jurybox.stats import kendall_tau_b, spearman
from jurybox.types import Record


def _ir_measures() -> Any:
    try:
        import ir_measures
    except ImportError:  # pragma: no cover - declared dependency
        raise JuryboxError(
            "system-ranking agreement needs the ir-measures package: pip install ir-measures"
        ) from None
    return ir_measures


def per_query_scores(
    qrels: pd.DataFrame, runs: Mapping[str, pd.DataFrame], *, measure: str = "nDCG@10"
) -> pd.DataFrame:
    """Per-query effectiveness, a DataFrame with one row per system and one column per query.

    Every query in ``qrels`` gets a value for every system: a query the run did not answer
    scores 0 (as trec_eval's ``-c`` option). Queries not in ``qrels`` are ignored.
    """
    irm = _ir_measures()
    try:
        m = irm.parse_measure(measure)
    except Exception as exc:  # the library raises various types for unknown measures
        raise JuryboxError(
            f"unknown IR measure {measure!r} (examples: nDCG@10, P@10, AP, RR): {exc}"
        ) from None
    q = qrels.rename(columns={"relevance": "relevance"})[["query_id", "doc_id", "relevance"]]
    q = q.astype({"query_id": str, "doc_id": str, "relevance": int})
    queries = sorted(q["query_id"].unique())
    rows = {}
    for name, run in runs.items():
        r = run[["query_id", "doc_id", "score"]].astype({"query_id": str, "doc_id": str, "score": float})
        values = dict.fromkeys(queries, 0.0)
        for metric in irm.iter_calc([m], q, r):
            if metric.query_id in values:
                values[metric.query_id] = float(metric.value)
        rows[name] = values
    return pd.DataFrame.from_dict(rows, orient="index", columns=queries)


def tau_ap(reference: Mapping[str, float], estimate: Mapping[str, float]) -> float:
    """AP rank correlation tau_AP (Yilmaz, Aslam & Robertson, SIGIR 2008).

    tau_AP = 2/(N-1) * sum_{i=2..N} C(i)/(i-1) - 1, where systems are ordered by ``estimate``
    (best first) and C(i) counts the systems above position i that are also above it in the
    ``reference`` order. Swaps near the top cost more than swaps near the bottom; it is not
    symmetric. Ties in either score are broken by system name (the definition assumes none).
    Checked against: hand-worked examples in the tests (no published value in the shared data).
    """
    names = sorted(set(reference) & set(estimate))
    n = len(names)
    if n < 2:
        return float("nan")
    est_order = sorted(names, key=lambda s: (-estimate[s], s))
    ref_pos = {s: i for i, s in enumerate(sorted(names, key=lambda s: (-reference[s], s)))}
    pos = np.array([ref_pos[s] for s in est_order])
    total = 0.0
    for i in range(1, n):
        total += float(np.sum(pos[:i] < pos[i])) / i
    return 2.0 * total / (n - 1) - 1.0


@dataclass(frozen=True)
class RankingAgreement(Record):
    """Correlation of the system scores (means over queries) under reference and estimated qrels."""

    n_systems: int
    kendall_tau: float
    tau_ap: float
    spearman: float


def ranking_agreement(reference: Mapping[str, float], estimate: Mapping[str, float]) -> RankingAgreement:
    """Kendall tau-b, tau_AP and Spearman rho between two mappings system -> score.

    Only systems present in both are compared. Checked against: synthetic runs in the tests
    (the LLMJudge system-ranking tau/rho need the TREC DL 2023 runs, which are not available).
    """
    names = sorted(set(reference) & set(estimate))
    a = [reference[s] for s in names]
    b = [estimate[s] for s in names]
    return RankingAgreement(
        n_systems=len(names),
        kendall_tau=kendall_tau_b(a, b),
        tau_ap=tau_ap(reference, estimate),
        spearman=spearman(a, b),
    )


def system_ranking_agreement(
    reference_qrels: pd.DataFrame,
    estimate_qrels: pd.DataFrame,
    runs: Mapping[str, pd.DataFrame],
    *,
    measure: str = "nDCG@10",
) -> RankingAgreement:
    """Rank the ``runs`` by mean ``measure`` under each qrels and compare the two rankings."""
    ref = per_query_scores(reference_qrels, runs, measure=measure).mean(axis=1)
    est = per_query_scores(estimate_qrels, runs, measure=measure).mean(axis=1)
    return ranking_agreement(ref.to_dict(), est.to_dict())
