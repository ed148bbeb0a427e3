"""Logistic regression by iteratively reweighted least squares (Newton's method), in numpy."""

from __future__ import annotations

import numpy as np

RIDGE = 1e-3  # L2 penalty on the non-intercept coefficients: keeps separable resamples finite


def fit_logistic(x: np.ndarray, y: np.ndarray, *, ridge: float = RIDGE, max_iter: int = 50,
                 tol: float = 1e-10) -> np.ndarray:
    """Coefficients maximising sum_i [y_i log p_i + (1 - y_i) log(1 - p_i)] - ridge/2 * |beta_1:|^2.

    ``x`` is n x k with the intercept column first (not penalised); ``y`` in [0, 1] (fractional
    responses are allowed: the quasi-likelihood of a fractional logit). NaN if n is 0.
    """
    n, k = x.shape
    if n == 0:
        return np.full(k, np.nan)
    beta = np.zeros(k)
    pen = np.full(k, ridge)
    pen[0] = 0.0
    for _ in range(max_iter):
        eta = x @ beta
        p = 1.0 / (1.0 + np.exp(-eta))
        w = np.clip(p * (1.0 - p), 1e-12, None)
        grad = x.T @ (y - p) - pen * beta
        hess = (x * w[:, None]).T @ x + np.diag(pen) + 1e-12 * np.eye(k)
        step = np.linalg.solve(hess, grad)
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            break
    return beta


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))
