"""Classifier signal: out-of-sample probabilities and cleanlab's confident learning.

jurybox does not re-implement confident learning (Northcutt, Jiang & Chuang, JAIR 2021): with
probabilities from a classifier, :func:`cleanlab_label_issues` calls ``cleanlab.filter.find_label_issues``.
The probabilities must be out-of-sample (each row predicted by a model that did not train on it);
:func:`cross_val_pred_probs` produces them with a TF-IDF + logistic-regression classifier and k-fold
``cross_val_predict``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from jurybox.errors import JuryboxError
from jurybox.labelerrors.ranking import RANK_METHODS, RankBy
from jurybox.stats._validate import PROB_TOLERANCE, check_labels, check_prob_values, check_probs

FILTERS = ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given")


def clean_probs(pred_probs: Any) -> np.ndarray:
    """Check probabilities and clip float noise (up to :data:`PROB_TOLERANCE`) back into [0, 1], rows summing to 1.

    The published IMDB probabilities, for instance, reach 1.00001 (float32 rounding) and cleanlab
    rejects them as they are.
    """
    p = check_probs(pred_probs)
    check_prob_values(p)
    if p.min() >= 0 and p.max() <= 1:
        return p
    q = np.clip(p, 0.0, 1.0)
    return q / q.sum(axis=1, keepdims=True)


def cleanlab_label_issues(
    labels: Any,
    pred_probs: Any,
    *,
    filter_by: str = "prune_by_noise_rate",
    rank_by: RankBy = "self_confidence",
) -> np.ndarray:
    """Confident-learning label issues via ``cleanlab.filter.find_label_issues``, ranked indices.

    ``filter_by`` is cleanlab's (default ``prune_by_noise_rate``); ``rank_by`` is passed as
    ``return_indices_ranked_by``. Every class must appear among ``labels`` (a cleanlab requirement).
    """
    if filter_by not in FILTERS:
        raise JuryboxError(f"filter_by must be one of {', '.join(FILTERS)}, got {filter_by!r}")
    if rank_by not in RANK_METHODS:
        raise JuryboxError(f"rank_by must be one of {', '.join(RANK_METHODS)}, got {rank_by!r}")
    p = clean_probs(pred_probs)
    y = check_labels(labels, p.shape[1])
    if y.shape[0] != p.shape[0]:
        raise JuryboxError(f"pred_probs has {p.shape[0]} rows but there are {y.shape[0]} labels")
    missing = np.setdiff1d(np.arange(p.shape[1]), y)
    if missing.size:
        raise JuryboxError(
            f"class index {int(missing[0])} never occurs among the given labels; cleanlab needs "
            "every class of pred_probs to have at least one example (drop the unused column)"
        )
    try:
        from cleanlab.filter import find_label_issues as cl_find
    except ImportError as exc:  # pragma: no cover - cleanlab is a dependency
        raise JuryboxError("cleanlab is not installed (pip install cleanlab)") from exc
    out = cl_find(y, p, filter_by=filter_by, return_indices_ranked_by=rank_by)
    return np.asarray(out, dtype=np.int64)


def cross_val_pred_probs(
    texts: Sequence[str], labels: Any, *, n_classes: int | None = None, n_splits: int = 5, seed: int = 0
) -> np.ndarray:
    """Out-of-sample class probabilities from TF-IDF (word 1-2 grams, sublinear tf) + logistic regression.

    Each row's probabilities come from the model trained on the other ``n_splits - 1`` folds
    (stratified, shuffled with ``seed``), via scikit-learn's ``cross_val_predict(method="predict_proba")``.
    Every class needs at least ``n_splits`` examples. Returns an (N, K) float64 matrix, K =
    ``n_classes`` or the number of classes seen.
    """
    y = check_labels(labels, n_classes)
    if len(texts) != y.shape[0]:
        raise JuryboxError(f"{len(texts)} texts but {y.shape[0]} labels")
    k = n_classes if n_classes is not None else int(y.max()) + 1
    counts = np.bincount(y, minlength=k)
    present = np.flatnonzero(counts)
    if present.size < 2:
        raise JuryboxError("the cross-validated classifier needs at least two classes among the labels")
    if counts[present].min() < n_splits:
        c = int(present[np.argmin(counts[present])])
        raise JuryboxError(
            f"class index {c} has {int(counts[c])} examples; the {n_splits}-fold cross-validated "
            f"classifier needs at least {n_splits} per class (fewer folds, or give --probs)"
        )
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
        from sklearn.pipeline import make_pipeline
    except ImportError as exc:  # pragma: no cover
        raise JuryboxError(
            "scikit-learn is needed for the cross-validated classifier (pip install scikit-learn)"
        ) from exc
    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        LogisticRegression(max_iter=2000, C=4.0),
    )
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    seen = cross_val_predict(model, [str(t) for t in texts], y, cv=folds, method="predict_proba")
    out = np.zeros((y.shape[0], k))
    out[:, present] = seen  # classes absent from the labels get probability 0
    return out


__all__ = ["FILTERS", "PROB_TOLERANCE", "clean_probs", "cleanlab_label_issues", "cross_val_pred_probs"]
