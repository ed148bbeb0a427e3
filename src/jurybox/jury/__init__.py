"""Juries: several judges over the same items, aggregated; and the judging methods built on them.

Pure analysis functions (arrays in, frozen dataclasses out) plus runners (:func:`run_jury`,
:func:`run_tick`, :func:`reference_guided`) that make every model call through the engine and the store.
Importing this package registers the protocols checklist_writer, checklist, listwise, certainty and answer.
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
from jurybox.jury.coverage import CoverageCurve, coverage_curve, selective_accuracy
from jurybox.jury.dawid_skene import DawidSkene, dawid_skene
from jurybox.jury.flipflop import FlipFlop, flip_flop
from jurybox.jury.listwise import RankingDistance, levenshtein, normalised_levenshtein, ranking_distance
from jurybox.jury.orders import OrderMetrics, order_metrics
from jurybox.jury.pre import Qualification, log_odds_weight, qualify, zscore_pool
from jurybox.jury.preferences import PreferencePairs, preference_pairs, write_preference_pairs
from jurybox.jury.reference import ReferenceRun, reference_guided
from jurybox.jury.runner import JuryRun, label_matrix, run_jury, score_matrix, variant_label_matrix
from jurybox.jury.selection import Selection, best_of_majority, best_of_n, majority_answer, normalise_answer
from jurybox.jury.tick import TickRun, best_by_pass_rate, run_tick
from jurybox.protocols import certainty as _certainty  # noqa: F401  (registers the protocol)
from jurybox.protocols import listwise as _listwise  # noqa: F401

__all__ = [
    "CoverageCurve", "DawidSkene", "FlipFlop", "JuryRun", "OrderMetrics", "PooledScore", "PreferencePairs",
    "Qualification", "RankingDistance", "ReferenceRun", "Selection", "TickRun", "Vote", "agreement_with",
    "best_by_pass_rate", "best_of_majority", "best_of_n", "coverage_curve", "dawid_skene", "flip_flop",
    "label_matrix", "levenshtein", "log_odds_weight", "majority_answer", "majority_vote", "mean_score",
    "median_score", "normalise_answer", "normalised_levenshtein", "order_metrics", "preference_pairs", "qualify",
    "ranking_distance", "reference_guided", "run_jury", "run_tick", "score_matrix", "selective_accuracy",
    "variant_label_matrix", "weighted_vote", "write_preference_pairs", "zscore_pool",
]
