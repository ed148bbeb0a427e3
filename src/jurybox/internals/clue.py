"""CLUE: a hidden-state verifier from verified experience (Liang et al., arXiv 2510.01591; method
card 9). Pure functions of arrays; no training.

An answer's feature is ``delta = h_end - h_start`` per layer, shape [layers, width]: for a
reasoning model the hidden states at the end of ``<think>`` and of ``</think>``; for a
non-reasoning model, as jurybox uses it, the prompt's last token (where the answer starts) and the
answer's last token. The experience step averages the deltas of verified-correct answers
(``V_succ``) and verified-incorrect ones (``V_fail``); the distance of two [layers, width] arrays is
the mean over layers of the L2 distance of their rows. An answer is classified correct when it is
nearer ``V_succ`` than ``V_fail``; candidates are reranked by their distance to ``V_succ``
(ascending), and ``top-maj@k`` is the majority vote over the ``k`` best-ranked candidates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from jurybox.errors import JuryboxError

__all__ = ["Centroids", "centroids", "classify", "correctness_score", "deltas", "distance", "majority", "top_maj"]


def _arr(x: np.ndarray, name: str, ndim: int) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != ndim:
        raise JuryboxError(f"{name} must have {ndim} dimensions; got shape {a.shape}")
    if not np.isfinite(a).all():
        raise JuryboxError(f"{name} has missing (NaN or infinite) values")
    return a


def deltas(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """``end - start`` for hidden states of shape [answers, layers, width] (or one [layers, width])."""
    s, e = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
    if s.shape != e.shape:
        raise JuryboxError(f"start and end hidden states differ in shape: {s.shape} vs {e.shape}")
    return e - s


@dataclass(frozen=True)
class Centroids:
    """``succ`` and ``fail``: the mean delta of the verified-correct and verified-incorrect
    experience ([layers, width] each), and how many answers each mean is over."""

    succ: np.ndarray
    fail: np.ndarray
    n_succ: int
    n_fail: int


def centroids(experience: np.ndarray, correct: Sequence[bool] | np.ndarray) -> Centroids:
    """The element-wise means of the deltas of correct and of incorrect answers."""
    d = _arr(experience, "experience deltas [answers, layers, width]", 3)
    c = np.asarray(correct)
    if c.shape != (d.shape[0],) or c.dtype != bool:
        raise JuryboxError(f"one True/False correctness per answer expected ({d.shape[0]}); got {c.dtype} {c.shape}")
    if c.all() or not c.any():
        raise JuryboxError("the experience needs both verified-correct and verified-incorrect answers; got "
                           f"{int(c.sum())} correct of {len(c)}")
    return Centroids(succ=d[c].mean(axis=0), fail=d[~c].mean(axis=0), n_succ=int(c.sum()), n_fail=int((~c).sum()))


def distance(x: np.ndarray, centroid: np.ndarray) -> np.ndarray:
    """Mean over layers of the L2 distance: [answers] for x [answers, layers, width] (a float for
    one [layers, width])."""
    a = np.asarray(x, dtype=np.float64)
    c = _arr(centroid, "centroid [layers, width]", 2)
    if a.shape[-2:] != c.shape:
        raise JuryboxError(f"deltas {a.shape} and centroid {c.shape} differ in [layers, width]")
    return np.linalg.norm(a - c, axis=-1).mean(axis=-1)


def correctness_score(x: np.ndarray, cents: Centroids) -> np.ndarray:
    """``d(x, V_fail) - d(x, V_succ)``: positive means nearer the correct centroid (for AUROC)."""
    return distance(x, cents.fail) - distance(x, cents.succ)


def classify(x: np.ndarray, cents: Centroids) -> np.ndarray:
    """True where an answer is nearer ``V_succ`` than ``V_fail`` (classified correct)."""
    return correctness_score(x, cents) > 0


def majority(answers: Sequence[Hashable | None]) -> Hashable | None:
    """The most frequent answer (None answers, unparsed, are left out; a tie goes to the answer
    seen first); None when there is none."""
    seen = [a for a in answers if a is not None]
    if not seen:
        return None
    counts = Counter(seen)
    best = max(counts.values())
    return next(a for a in seen if counts[a] == best)


def top_maj(answers: Sequence[Hashable | None], dist_succ: Sequence[float] | np.ndarray, k: int) -> Hashable | None:
    """Majority vote over the ``k`` candidates nearest ``V_succ`` (stable order for equal
    distances); unparsed candidates (None) still take a place in the ranking but get no vote."""
    d = np.asarray(dist_succ, dtype=np.float64)
    if d.shape != (len(answers),):
        raise JuryboxError(f"one distance per candidate expected ({len(answers)}); got shape {d.shape}")
    if k < 1:
        raise JuryboxError(f"k must be at least 1; got {k}")
    order = np.argsort(d, kind="stable")[:k]
    return majority([answers[i] for i in order])
