"""Dawid-Skene: EM over per-judge confusion matrices, no human labels needed (Dawid & Skene, 1979).

Model: each item i has a latent true class z_i ~ Categorical(pi); judge j, seeing class k, answers l
with probability theta_j[k, l] independently of the other judges. EM:

* initialise the item posteriors T[i, k] with the (soft) majority vote;
* M-step: pi_k = mean_i T[i, k]; theta_j[k, l] = (sum_i T[i, k] [y_ji = l] + a) / (sum_i T[i, k] [j answered i] + K a),
  with additive smoothing a (default 0.01) so an unseen cell is not log(0);
* E-step: log T[i, k] = log pi_k + sum_{j answered i} log theta_j[k, y_ji], normalised over k;
* stop when the largest posterior change is below ``tol`` or after ``max_iter`` rounds.

Missing answers (unreadable verdicts) are left out of the likelihood. A judge's estimated accuracy is
sum_k pi_k theta_j[k, k]. Label switching is avoided by the majority-vote start, which assumes the
jury as a whole is better than chance. Check (tests): on 2,000 simulated items x 5 judges with known
accuracies (0.55 to 0.9), the estimates are within 0.05 of the truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jurybox.errors import JuryboxError
from jurybox.jury._arrays import vote_counts
from jurybox.stats._validate import label_codes


@dataclass(frozen=True)
class DawidSkene:
    """EM result: ``posterior`` (items x K), ``label`` (argmax; None for items nobody answered),
    ``confusion`` (judges x K x K, rows = true class), ``priors`` (K), per-judge ``accuracy``."""

    labels: tuple[Any, ...]
    posterior: np.ndarray
    label: tuple[Any, ...]
    confusion: np.ndarray
    priors: np.ndarray
    accuracy: np.ndarray
    n_iter: int
    converged: bool
    log_likelihood: float

    def to_dict(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "posterior": self.posterior.tolist(), "label": list(self.label),
                "confusion": self.confusion.tolist(), "priors": self.priors.tolist(),
                "accuracy": self.accuracy.tolist(), "n_iter": self.n_iter, "converged": self.converged,
                "log_likelihood": self.log_likelihood}


def dawid_skene(labels: Any, *, label_set: Sequence[Any] | None = None, max_iter: int = 200,
                tol: float = 1e-6, smoothing: float = 0.01) -> DawidSkene:
    """Fit the Dawid-Skene model to a (judges x items) label matrix (module docstring)."""
    codes, lab = label_codes(labels, label_set)
    k = len(lab)
    if k < 2:
        raise JuryboxError(f"Dawid-Skene needs at least two labels, got {list(lab)}")
    if smoothing <= 0:
        raise JuryboxError("smoothing must be > 0")
    n_j, n = codes.shape
    onehot = np.zeros((n_j, n, k))
    jj, ii = np.nonzero(codes >= 0)
    onehot[jj, ii, codes[jj, ii]] = 1.0
    answered = codes >= 0  # (J, N)
    counts = vote_counts(codes, k)
    nobody = counts.sum(axis=1) == 0
    post = np.where(nobody[:, None], 1.0 / k, counts / np.maximum(counts.sum(axis=1, keepdims=True), 1e-300))
    converged = False
    it = 0
    log_lik = float("nan")
    for step in range(1, max_iter + 1):
        it = step
        priors = post.mean(axis=0)
        num = np.einsum("nk,jnl->jkl", post, onehot) + smoothing
        den = np.einsum("nk,jn->jk", post, answered.astype(float))[:, :, None] + k * smoothing
        theta = num / den
        log_t = np.log(np.maximum(priors, 1e-300))[None, :] + np.einsum("jnl,jkl->nk", onehot, np.log(theta))
        m = log_t.max(axis=1, keepdims=True)
        z = np.exp(log_t - m)
        new = z / z.sum(axis=1, keepdims=True)
        log_lik = float((m[:, 0] + np.log(z.sum(axis=1))).sum())
        delta = float(np.abs(new - post).max())
        post = new
        if delta < tol:
            converged = True
            break
    priors = post.mean(axis=0)
    num = np.einsum("nk,jnl->jkl", post, onehot) + smoothing
    den = np.einsum("nk,jn->jk", post, answered.astype(float))[:, :, None] + k * smoothing
    theta = num / den
    acc = np.einsum("k,jkk->j", priors, theta)
    label = tuple(None if nobody[i] else lab[int(post[i].argmax())] for i in range(n))
    return DawidSkene(lab, post, label, theta, priors, acc, it, converged, log_lik)
