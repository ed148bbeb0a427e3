"""Find the label errors in a dataset, review them, and write a corrected copy.

Core array functions (cleanlab style, vectorised): :func:`find_label_issues`, :func:`label_quality_scores`,
:func:`rank_by_quality`. Confident learning is cleanlab's own (:func:`cleanlab_label_issues`), fed by
out-of-sample probabilities (:func:`cross_val_pred_probs`). The LLM ensemble (models x prompt templates,
Nahum et al. 2025) runs through the engine (:func:`run_ensemble`, :func:`ensemble_relabel`). Signals are
rank-aggregated (:func:`combine_signals`); :func:`find_errors` does it all for a dataset; reviews are
applied with :func:`apply_reviews`; :func:`summarize` and :func:`evaluate_ranking` measure the result.
"""

from jurybox.labelerrors.classifier import clean_probs, cleanlab_label_issues, cross_val_pred_probs
from jurybox.labelerrors.combine import LabelIssues, Signal, combine_signals
from jurybox.labelerrors.ensemble import (
    EnsembleRelabel,
    classify_judges,
    ensemble_relabel,
    run_ensemble,
    verdict_probs,
)
from jurybox.labelerrors.evaluation import (
    HumanVerdicts,
    NoiseRecovery,
    RankingEvaluation,
    evaluate_ranking,
    inject_noise,
    load_mturk,
    noise_recovery,
)
from jurybox.labelerrors.pipeline import FoundErrors, find_errors, flagged_table, label_indices
from jurybox.labelerrors.ranking import find_label_issues, label_quality_scores, rank_by_quality
from jurybox.labelerrors.review import Applied, Review, apply_reviews, read_reviews, reviewed_errors
from jurybox.labelerrors.summary import LabelErrorSummary, summarize, wilson_interval

__all__ = [
    "Applied",
    "EnsembleRelabel",
    "FoundErrors",
    "HumanVerdicts",
    "LabelErrorSummary",
    "LabelIssues",
    "NoiseRecovery",
    "RankingEvaluation",
    "Review",
    "Signal",
    "apply_reviews",
    "classify_judges",
    "clean_probs",
    "cleanlab_label_issues",
    "combine_signals",
    "cross_val_pred_probs",
    "ensemble_relabel",
    "evaluate_ranking",
    "find_errors",
    "find_label_issues",
    "flagged_table",
    "inject_noise",
    "label_indices",
    "label_quality_scores",
    "load_mturk",
    "noise_recovery",
    "rank_by_quality",
    "read_reviews",
    "reviewed_errors",
    "run_ensemble",
    "summarize",
    "verdict_probs",
    "wilson_interval",
]
