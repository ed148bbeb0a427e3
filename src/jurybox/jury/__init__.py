"""Juries: several judges over the same items, aggregated; and the judging methods built on them.

Pure analysis functions (arrays in, frozen dataclasses out) plus :func:`run_jury`, which runs the
judges through the engine and the store.
"""

from jurybox.jury.aggregate import (
    PooledScore,
    Vote,
    agreement_with,
    majority_vote,
    mean_score,
    median_score,
    weighted_vote,
)
from jurybox.jury.orders import OrderMetrics, order_metrics
from jurybox.jury.pre import Qualification, log_odds_weight, qualify, zscore_pool
from jurybox.jury.runner import JuryRun, label_matrix, run_jury, score_matrix, variant_label_matrix

__all__ = [
    "JuryRun",
    "OrderMetrics",
    "PooledScore",
    "Qualification",
    "Vote",
    "agreement_with",
    "label_matrix",
    "log_odds_weight",
    "majority_vote",
    "mean_score",
    "median_score",
    "order_metrics",
    "qualify",
    "run_jury",
    "score_matrix",
    "variant_label_matrix",
    "weighted_vote",
    "zscore_pool",
]
