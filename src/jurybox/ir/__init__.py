"""Relevance judgments: TREC qrels/run IO, label agreement, system-ranking and significance agreement."""

from jurybox.ir.agreement import QrelsAgreement, align_qrels, binarised_kappa, qrels_agreement
from jurybox.ir.ranking import (
    RankingAgreement,
    per_query_scores,
    ranking_agreement,
    system_ranking_agreement,
    tau_ap,
)
from jurybox.ir.significance import SignificanceAgreement, significance_agreement
from jurybox.ir.trec import read_qrels, read_run, write_qrels, write_run

__all__ = [
    "QrelsAgreement",
    "RankingAgreement",
    "SignificanceAgreement",
    "align_qrels",
    "binarised_kappa",
    "per_query_scores",
    "qrels_agreement",
    "ranking_agreement",
    "read_qrels",
    "read_run",
    "significance_agreement",
    "system_ranking_agreement",
    "tau_ap",
    "write_qrels",
    "write_run",
]
