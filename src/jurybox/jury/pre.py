"""PRE, the peer-review evaluator (Chu et al., arXiv 2401.15641): qualify judges, then weight them.

Definitions (paper section 3, verified from the PDF):

* Qualification exam: on a small human-labelled exam set, judge l's agreement p_l is the share of
  exam items where its preference equals the human one. Here a missing (unreadable) answer counts as a
  disagreement, and exam items without a human label are left out.
* A judge is qualified (a "reviewer") when p_l > xi; xi = 0.6 in the paper.
* Weight w_l = log(p_l / (1 - p_l)) (the log-odds of the judge being right), p_l clipped to
  [eps, 1 - eps]; unqualified judges get weight 0.
* Pointwise pooling ("chair"): R_x = (1/W) sum_l w_l (r_x^(l) - mu_l) / sigma_l with W = sum_l w_l over
  the judges that scored item x; mu_l and sigma_l are judge l's mean and (population) standard
  deviation over all items it scored. A judge with sigma_l = 0 carries no information and is skipped.
* Pairwise: the response with the larger weighted vote wins (:func:`jurybox.jury.aggregate.weighted_vote`).

Published check: pairwise agreement of PRE 0.7443 vs GPT-4 0.7369 on XSum, 0.7842 vs 0.7815 on
NF-CATS (those data are not available here; tests check the definitions on constructed inputs and
simulated judges whose accuracies are known).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jurybox.errors import JuryboxError
from jurybox.jury.aggregate import PooledScore, agreement_with


@dataclass(frozen=True)
class Qualification:
    """Exam result per judge: agreement p, whether it qualified (p > threshold), and its weight."""

    judges: tuple[str, ...]
    agreement: np.ndarray
    qualified: np.ndarray
    weights: np.ndarray
    threshold: float
    n_exam: int

    def to_dict(self) -> dict[str, Any]:
        return {"judges": list(self.judges), "agreement": self.agreement.tolist(),
                "qualified": self.qualified.tolist(), "weights": self.weights.tolist(),
                "threshold": self.threshold, "n_exam": self.n_exam}


def log_odds_weight(p: Any, eps: float = 1e-3) -> np.ndarray:
    """w = log(p / (1 - p)) with p clipped to [eps, 1 - eps] (so a perfect exam gives a finite weight)."""
    q = np.clip(np.asarray(p, dtype=float), eps, 1.0 - eps)
    return np.asarray(np.log(q / (1.0 - q)))


def qualify(exam_labels: Any, exam_gold: Sequence[Any], *, threshold: float = 0.6,
            judges: Sequence[str] = (), eps: float = 1e-3) -> Qualification:
    """Run the qualification exam: ``exam_labels`` is (judges x exam items), ``exam_gold`` the human labels."""
    if not 0.0 <= threshold < 1.0:
        raise JuryboxError(f"the qualification threshold must be in [0, 1), got {threshold}")
    arr = np.asarray(exam_labels, dtype=object)
    if arr.ndim == 1:
        arr = arr[None, :]
    p = agreement_with(arr, exam_gold)
    if np.isnan(p).any():
        raise JuryboxError("the qualification exam has no item with a human label")
    qualified = p > threshold
    w = np.where(qualified, log_odds_weight(p, eps), 0.0)
    names = tuple(judges) or tuple(f"judge{j}" for j in range(arr.shape[0]))
    if len(names) != arr.shape[0]:
        raise JuryboxError(f"{len(names)} judge names for {arr.shape[0]} judges")
    n_exam = int(sum(1 for g in exam_gold if g is not None and not (isinstance(g, float) and g != g)))
    return Qualification(names, p, qualified, w, threshold, n_exam)


def zscore_pool(scores: Any, weights: Sequence[float] | np.ndarray) -> PooledScore:
    """PRE's pointwise chair: the weighted mean of each judge's z-normalised scores (module docstring)."""
    s = np.asarray(scores, dtype=float)
    if s.ndim == 1:
        s = s[None, :]
    w = np.asarray(weights, dtype=float)
    if w.shape != (s.shape[0],):
        raise JuryboxError(f"weights must have one entry per judge ({s.shape[0]}), got shape {w.shape}")
    if (w < 0).any():
        raise JuryboxError("PRE weights must be >= 0")
    present = ~np.isnan(s)
    mu = np.array([row[m].mean() if m.any() else np.nan for row, m in zip(s, present, strict=True)])
    sd = np.array([row[m].std() if m.any() else np.nan for row, m in zip(s, present, strict=True)])
    usable = (w > 0) & (sd > 0)
    z = np.where(present & usable[:, None], (s - mu[:, None]) / np.where(sd > 0, sd, 1.0)[:, None], 0.0)
    wm = np.where(present & usable[:, None], w[:, None], 0.0)
    total = wm.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0, (wm * z).sum(axis=0) / np.where(total > 0, total, 1.0), np.nan)
    return PooledScore(out, (wm > 0).sum(axis=0), "pre-zscore")
