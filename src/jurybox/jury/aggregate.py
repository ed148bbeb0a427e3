"""Jury aggregation: majority vote, weighted vote, mean and median score.

Inputs are (judges x items) matrices; a missing verdict (None/NaN: the judge's answer could not be
read or the call failed) is left out of that item's aggregate, never counted as a label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jurybox.errors import JuryboxError
from jurybox.jury._arrays import vote_counts
from jurybox.stats._validate import is_missing, label_codes, nan_to_none


@dataclass(frozen=True)
class Vote:
    """A jury vote per item.

    ``label[i]`` is the label with the largest (weighted) vote total, or None when no judge answered
    or the top total is tied (``tied[i]``); ``support[i]`` is the winning total over all votes cast
    on the item (the jury's confidence; NaN when no vote); ``counts`` is (items x labels).
    """

    labels: tuple[Any, ...]
    label: tuple[Any, ...]
    support: np.ndarray
    n_votes: np.ndarray
    tied: np.ndarray
    counts: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels), "label": list(self.label),
            "support": nan_to_none(self.support),
            "n_votes": self.n_votes.tolist(), "tied": self.tied.tolist(), "counts": self.counts.tolist(),
        }


def weighted_vote(labels: Any, weights: Sequence[float] | np.ndarray | None = None, *,
                  label_set: Sequence[Any] | None = None) -> Vote:
    """Plurality vote with one weight per judge: label_i = argmax_k sum_j w_j [y_ji = k].

    Judges with weight 0 do not vote. Ties of the top total give no label (``tied``), so the caller
    decides (PRE's chair, for instance, breaks no ties either). Weights must be >= 0.
    """
    codes, lab = label_codes(labels, label_set)
    w = None if weights is None else np.asarray(weights, dtype=float)
    if w is not None and (w < 0).any():
        raise JuryboxError("vote weights must be >= 0 (drop a judge by giving it weight 0)")
    counts = vote_counts(codes, len(lab), w)
    n_votes = (codes >= 0).sum(axis=0) if w is None else ((codes >= 0) * (w[:, None] > 0)).sum(axis=0)
    total = counts.sum(axis=1)
    top = counts.max(axis=1) if len(lab) else np.zeros(codes.shape[1])
    n_top = (np.isclose(counts, top[:, None]) & (counts > 0)).sum(axis=1) if len(lab) else np.zeros(codes.shape[1])
    tied = n_top > 1
    winner = counts.argmax(axis=1) if len(lab) else np.zeros(codes.shape[1], dtype=int)
    label = tuple(None if (total[i] <= 0 or tied[i]) else lab[winner[i]] for i in range(codes.shape[1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        support = np.where(total > 0, top / np.where(total > 0, total, 1), np.nan)
    return Vote(lab, label, support, n_votes, tied, counts)


def majority_vote(labels: Any, *, label_set: Sequence[Any] | None = None) -> Vote:
    """Unweighted plurality vote (each judge one vote; ties and items nobody answered get None).

    With two labels and an odd number of answering judges this is the strict majority.
    """
    return weighted_vote(labels, None, label_set=label_set)


@dataclass(frozen=True)
class PooledScore:
    """Per-item pooled scores over the judges that scored the item (NaN where none did)."""

    score: np.ndarray
    n_scores: np.ndarray
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {"score": nan_to_none(self.score),
                "n_scores": self.n_scores.tolist(), "method": self.method}


def _scores(scores: Any) -> np.ndarray:
    arr = np.asarray([[np.nan if is_missing(v) else float(v) for v in row] for row in np.atleast_2d(
        np.asarray(scores, dtype=object))], dtype=float)
    return arr


def mean_score(scores: Any) -> PooledScore:
    """Mean of the available judge scores per item: s_i = mean_{j: s_ji present} s_ji."""
    s = _scores(scores)
    n = (~np.isnan(s)).sum(axis=0)
    with np.errstate(invalid="ignore"):
        out = np.where(n > 0, np.nansum(s, axis=0) / np.maximum(n, 1), np.nan)
    return PooledScore(out, n, "mean")


def median_score(scores: Any) -> PooledScore:
    """Median of the available judge scores per item (the mean of the two middle ones for even counts)."""
    s = _scores(scores)
    n = (~np.isnan(s)).sum(axis=0)
    out = np.full(s.shape[1], np.nan)
    has = n > 0
    if has.any():
        out[has] = np.nanmedian(s[:, has], axis=0)
    return PooledScore(out, n, "median")


def agreement_with(labels: Any, reference: Sequence[Any]) -> np.ndarray:
    """Per judge: share of items where the judge's label equals the reference label.

    Items with no reference label are left out; a judge's missing answer on an item with a reference
    counts as a disagreement (an unreadable answer is not a correct one). NaN when no item has a reference.
    """
    arr = np.asarray(labels, dtype=object)
    if arr.ndim == 1:
        arr = arr[None, :]
    ref = list(reference)
    if arr.shape[1] != len(ref):
        raise JuryboxError(f"labels cover {arr.shape[1]} items but the reference has {len(ref)}")
    keep = [i for i, r in enumerate(ref) if not is_missing(r)]
    if not keep:
        return np.full(arr.shape[0], np.nan)
    return np.array([np.mean([(not is_missing(arr[j, i])) and arr[j, i] == ref[i] for i in keep])
                     for j in range(arr.shape[0])])
