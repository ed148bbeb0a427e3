"""A per-label bias fitted by maximum likelihood: the calibrated threshold generalised to K labels.

The judge gives each item (or each presentation order of an item) log-probabilities z over K
labels. The calibrated distribution adds one bias per label and renormalises:

    q_ik = softmax(z_i + b)_k.

b is fitted on a small labelled set by maximising the multinomial log-likelihood of the human
labels with a small L2 penalty,

    L(b) = sum_i sum_k t_ik log softmax(z_i + b)_k - l2 * ||b||^2,

where t_i is the one-hot human label (or, for several raters, their label distribution: soft
targets). L is concave; it is maximised by Newton's method (gradient sum_i (t_i - q_i) - 2 l2 b,
Hessian -sum_i (diag q_i - q_i q_i^T) - 2 l2 I) with step halving. Softmax ignores a constant
added to b; the penalty picks the b with sum_k b_k = 0. With K = 2 this is a shift of the
log-odds, i.e. a decision threshold on p(label 1) fitted by likelihood rather than by balanced
accuracy (:func:`jurybox.audit.calibrate.calibrate_threshold`).

Because b is fitted to the same labels, in-sample numbers are optimistic: :func:`cross_validate`
fits b on k-1 folds and applies it to the held-out fold (folds over ``groups``, so both orders
of one pairwise item stay together), giving out-of-fold calibrated log-probabilities to score.
Rows with a missing label (all-zero target) are left out of the fit. Pure functions of arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jurybox.errors import JuryboxError

__all__ = ["BiasFit", "apply_bias", "cross_validate", "fit_bias", "targets"]

DEFAULT_L2 = 1.0


def _log_softmax(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=1, keepdims=True)
    s = z - m
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


def targets(labels: Sequence[Any], label_set: Sequence[Any]) -> np.ndarray:
    """One-hot rows (n x K) for ``labels`` over ``label_set``; a label that is None or not in the
    set gives an all-zero row (left out of a fit)."""
    index = {lab: k for k, lab in enumerate(label_set)}
    t = np.zeros((len(labels), len(label_set)))
    for i, lab in enumerate(labels):
        k = index.get(lab)
        if k is not None:
            t[i, k] = 1.0
    return t


def _check(z: Any, t: Any) -> tuple[np.ndarray, np.ndarray]:
    za = np.asarray(z, dtype=float)
    ta = np.asarray(t, dtype=float)
    if za.ndim != 2 or za.shape[1] < 2:
        raise JuryboxError("log-probabilities must be a rows x labels array with at least 2 labels")
    if ta.shape != za.shape:
        raise JuryboxError(f"targets have shape {ta.shape}, the log-probabilities {za.shape}")
    if not np.isfinite(za).all():
        raise JuryboxError("log-probabilities must be finite (floor -inf before fitting)")
    if (ta < 0).any():
        raise JuryboxError("targets must be non-negative")
    return za, ta


@dataclass(frozen=True)
class BiasFit:
    """The fitted bias ``b`` (one per label, summing to 0), the penalised log-likelihood at it and
    at b = 0, the number of labelled rows and Newton iterations."""

    bias: np.ndarray
    loglik: float
    loglik_zero: float
    n: int
    iterations: int
    l2: float


def fit_bias(z: Any, t: Any, *, l2: float = DEFAULT_L2, tol: float = 1e-10, max_iter: int = 100) -> BiasFit:
    """Maximise L(b) (module docstring) for log-probabilities ``z`` (n x K) and targets ``t``
    (n x K; one-hot, soft, or all-zero for an unlabelled row that is left out)."""
    za, ta = _check(z, t)
    if l2 < 0:
        raise JuryboxError(f"l2 must be >= 0, got {l2}")
    keep = ta.sum(axis=1) > 0
    za, ta = za[keep], ta[keep] / ta[keep].sum(axis=1, keepdims=True)
    k = za.shape[1]
    if za.shape[0] == 0:
        raise JuryboxError("no labelled rows to fit the bias on")
    ridge = max(l2, 1e-9)  # a tiny ridge keeps the Hessian invertible (the softmax's flat direction)

    def objective(b: np.ndarray) -> float:
        return float((ta * _log_softmax(za + b)).sum() - l2 * b @ b)

    b = np.zeros(k)
    f = objective(b)
    f0 = f
    it = 0
    while it < max_iter:
        it += 1
        q = np.exp(_log_softmax(za + b))
        g = (ta - q).sum(axis=0) - 2 * l2 * b
        h = np.einsum("ik,kl->kl", q, np.eye(k)) - q.T @ q + 2 * ridge * np.eye(k)
        step = np.linalg.solve(h, g)
        s = 1.0
        while True:
            nb = b + s * step
            nf = objective(nb)
            if nf >= f - 1e-12 or s < 1e-8:
                break
            s /= 2
        converged = abs(nf - f) < tol and np.abs(g).max() < 1e-6
        b, f = nb, nf
        if converged:
            break
    b = b - b.mean()  # the same distributions; the penalty's minimum-norm representative
    return BiasFit(bias=b, loglik=objective(b), loglik_zero=f0, n=int(za.shape[0]), iterations=it, l2=l2)


def apply_bias(z: Any, bias: Any) -> np.ndarray:
    """log softmax(z + b) per row (n x K, or one row as 1-D)."""
    one = np.ndim(z) == 1
    za = np.atleast_2d(np.asarray(z, dtype=float))
    b = np.asarray(bias, dtype=float).ravel()
    if b.shape[0] != za.shape[1]:
        raise JuryboxError(f"the bias has {b.shape[0]} labels, the log-probabilities {za.shape[1]}")
    out = _log_softmax(za + b)
    return out[0] if one else out


def cross_validate(z: Any, t: Any, *, groups: Any = None, folds: int = 5, seed: int = 0,
                   l2: float = DEFAULT_L2) -> np.ndarray:
    """Out-of-fold calibrated log-probabilities: for each of ``folds`` folds (over ``groups``,
    one id per row, default each row its own group), b fitted on the other folds' labelled rows
    and applied to this fold's rows. A fold whose training part has no labelled row keeps z."""
    za, ta = _check(z, t)
    g = np.arange(za.shape[0]) if groups is None else np.asarray(groups)
    if g.shape[0] != za.shape[0]:
        raise JuryboxError(f"groups has {g.shape[0]} entries, the log-probabilities {za.shape[0]} rows")
    uniq, inv = np.unique(g, return_inverse=True)
    n_folds = max(2, min(folds, uniq.size))
    fold_of_group = np.random.default_rng(seed).permutation(uniq.size) % n_folds
    fold = fold_of_group[inv]
    out = _log_softmax(za.copy())
    for f in range(n_folds):
        test, train = fold == f, fold != f
        if not (ta[train].sum(axis=1) > 0).any():
            continue
        out[test] = apply_bias(za[test], fit_bias(za[train], ta[train], l2=l2).bias)
    return out
