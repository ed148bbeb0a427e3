"""Rank rows whose given label the predicted probabilities contradict: vectorised, chunked, O(N K).

Definitions, for row i with given class y_i and predicted probabilities p_i (a row of an (N, K)
matrix of *out-of-sample* probabilities, from a cross-validated classifier or an LLM ensemble):

* self-confidence      s_i = p_i[y_i]                                   (in [0, 1])
* normalized margin    m_i = (p_i[y_i] - max_{k != y_i} p_i[k] + 1) / 2  (in [0, 1], cleanlab's scale)

Lower means the given label is more likely wrong. A row is *flagged* when some other class is strictly
more probable than the given one (p_i[y_i] < max_k p_i[k]), i.e. the predicted label differs from the
given label; a tie with the given label is not a flag. Rankings sort ascending by score and break ties
by row order (stable), so they are deterministic.

Checked against Northcutt et al. (2021), "Pervasive Label Errors in Test Sets": with the published
out-of-sample probabilities, the 93 lowest normalized margins of the 20news test set are exactly the
93 items sent to MTurk, and the 1,310 lowest of IMDB exactly the 1,310 (tests/labelerrors).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from jurybox.errors import JuryboxError
from jurybox.stats._validate import check_labels, check_probs

RankBy = Literal["self_confidence", "normalized_margin"]
RANK_METHODS: tuple[str, ...] = ("self_confidence", "normalized_margin")

_CHUNK = 1 << 16  # rows per block: bounds the temporary memory to about CHUNK x K values


def _method(rank_by: str) -> str:
    if rank_by not in RANK_METHODS:
        raise JuryboxError(f"rank_by must be one of {', '.join(RANK_METHODS)}, got {rank_by!r}")
    return rank_by


def _block(p: np.ndarray, y: np.ndarray, rank_by: str, all_rows: bool) -> tuple[np.ndarray, np.ndarray]:
    """(scores, flagged) for one block of rows. With ``all_rows`` False, scores are only valid where flagged."""
    rows = np.arange(p.shape[0])
    given = p[rows, y]
    top = p.max(axis=1)
    flagged = given < top
    if rank_by == "self_confidence":
        return given.astype(np.float64, copy=False), flagged
    other = top.astype(np.float64, copy=True)  # for flagged rows the best other class is the overall max
    if all_rows:
        keep = ~flagged
        if keep.any():
            sub = p[keep].astype(np.float64, copy=True)
            sub[np.arange(sub.shape[0]), y[keep]] = -np.inf
            other[keep] = sub.max(axis=1)
    return (given - other + 1.0) / 2.0, flagged


def label_quality_scores(
    labels: Any, pred_probs: Any, *, rank_by: RankBy = "normalized_margin"
) -> np.ndarray:
    """Per-row label quality (self-confidence or normalized margin, see the module docstring).

    ``labels``: N integer class indices; ``pred_probs``: (N, K) probabilities. Returns a float64 array
    of N scores; lower = the given label is more likely an error. Same ordering as cleanlab's
    ``get_label_quality_scores`` with the same method.
    """
    method = _method(rank_by)
    p = check_probs(pred_probs)
    y = check_labels(labels, p.shape[1])
    if y.shape[0] != p.shape[0]:
        raise JuryboxError(f"pred_probs has {p.shape[0]} rows but there are {y.shape[0]} labels")
    out = np.empty(y.shape[0], dtype=np.float64)
    for s in range(0, y.shape[0], _CHUNK):
        out[s : s + _CHUNK] = _block(p[s : s + _CHUNK], y[s : s + _CHUNK], method, True)[0]
    return out


def rank_by_quality(
    labels: Any, pred_probs: Any, *, rank_by: RankBy = "normalized_margin", top_k: int | None = None
) -> np.ndarray:
    """Indices of all rows sorted by label quality, lowest first (ties by row order); the first ``top_k``."""
    scores = label_quality_scores(labels, pred_probs, rank_by=rank_by)
    if top_k is not None and top_k < 0:
        raise JuryboxError(f"top_k must be >= 0, got {top_k}")
    order = np.argsort(scores, kind="stable")
    return order if top_k is None else order[:top_k]


def find_label_issues(
    labels: Any, pred_probs: Any, *, rank_by: RankBy = "self_confidence", return_mask: bool = False
) -> np.ndarray:
    """Rows whose predicted label differs from the given label, most suspicious first.

    The flag rule is ``argmax_k p_i[k] != y_i`` (strictly: ties with the given label are not flagged),
    the "predicted_neq_given" rule of cleanlab; the ranking is by ``rank_by`` ascending, ties by row
    order. Returns ranked indices, or a boolean mask with ``return_mask=True``. Runs in blocks of
    65,536 rows, so the extra memory is O(K x 65,536 + number flagged), whatever N is.
    For confident learning (per-class thresholds, pruning by noise rate) use
    :func:`jurybox.labelerrors.cleanlab_label_issues`, which calls cleanlab itself.
    """
    method = _method(rank_by)
    p = check_probs(pred_probs)
    y = check_labels(labels, p.shape[1])
    if y.shape[0] != p.shape[0]:
        raise JuryboxError(f"pred_probs has {p.shape[0]} rows but there are {y.shape[0]} labels")
    idx_parts: list[np.ndarray] = []
    score_parts: list[np.ndarray] = []
    mask = np.zeros(y.shape[0], dtype=bool) if return_mask else None
    for s in range(0, y.shape[0], _CHUNK):
        scores, flagged = _block(p[s : s + _CHUNK], y[s : s + _CHUNK], method, False)
        if mask is not None:
            mask[s : s + _CHUNK] = flagged
            continue
        hit = np.flatnonzero(flagged)
        idx_parts.append(hit + s)
        score_parts.append(scores[hit])
    if mask is not None:
        return mask
    idx = np.concatenate(idx_parts) if idx_parts else np.empty(0, dtype=np.int64)
    sc = np.concatenate(score_parts) if score_parts else np.empty(0)
    return idx[np.argsort(sc, kind="stable")]
