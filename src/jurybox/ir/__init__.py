"""Relevance judgments: TREC qrels/run IO, label agreement, system-ranking and significance agreement."""

from jurybox.ir.agreement import QrelsAgreement, align_qrels, binarised_kappa, qrels_agreement
from jurybox.ir.judging import HoleFill, PoolJudgments, fill_holes, judge_pool, read_pool, to_qrels
from jurybox.ir.ranking import (
    RankingAgreement,
    per_query_scores,
    ranking_agreement,
    system_ranking_agreement,
    tau_ap,
)
from jurybox.ir.significance import SignificanceAgreement, significance_agreement
from jurybox.ir.trec import read_qrels, read_run, read_run_rows, write_qrels, write_run

__all__ = [
    "HoleFill",
    "PoolJudgments",
    "QrelsAgreement",
    "RankingAgreement",
    "SignificanceAgreement",
    "align_qrels",
    "binarised_kappa",
    "fill_holes",
    "judge_pool",
    "per_query_scores",
    "qrels_agreement",
    "ranking_agreement",
    "read_pool",
    "read_qrels",
    "read_run",
    "read_run_rows",
    "significance_agreement",
    "system_ranking_agreement",
    "tau_ap",
    "to_qrels",
    "write_qrels",
    "write_run",
]
