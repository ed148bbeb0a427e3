"""Contextual calibration (Zhao, Wallace, Feng, Klein and Singh, "Calibrate Before Use", ICML 2021).

A judge asked about a *content-free* input (the item's fields replaced by ``"N/A"``, ``""`` or
``"[MASK]"``) should be indifferent between its options; whatever it prefers there is a bias of
the prompt (its wording, the order of the options, the few-shot examples), not of the item.
With p_cf the option distribution averaged over the content-free inputs (each renormalised,
then averaged, then renormalised again), Zhao et al. set W = diag(p_cf)^-1 and b = 0, so an
item's calibrated distribution is

    q = W p / sum(W p),   that is q_k proportional to p_k / p_cf_k,

in log space log q = log p - log p_cf + c. A content-free input itself is mapped to the uniform
distribution. Pure functions of arrays; the content-free calls themselves are ordinary tasks of
:class:`jurybox.calibration.protocol.CalibratedProtocol` (through the engine and the store).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jurybox.errors import JuryboxError

__all__ = ["CONTENT_FREE", "content_free_distribution", "contextual_calibrate"]

#: the content-free strings of Zhao et al. (2021), each substituted for every field of the item
CONTENT_FREE = ("N/A", "", "[MASK]")

_FLOOR = 1e-12  # a probability of exactly 0 on a content-free input would divide by zero


def _rows(p: Any, what: str) -> np.ndarray:
    a = np.asarray(p, dtype=float)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] < 2:
        raise JuryboxError(f"{what} must be probabilities over at least 2 options (rows x options)")
    if np.isnan(a).any() or (a < 0).any():
        raise JuryboxError(f"{what} must be non-negative numbers without NaN")
    s = a.sum(axis=1, keepdims=True)
    if (s <= 0).any():
        raise JuryboxError(f"{what}: a row has no probability mass")
    return a / s


def content_free_distribution(probs: Any) -> np.ndarray:
    """p_cf: the mean of the content-free inputs' option distributions (rows x options), each row
    renormalised first; the result sums to 1."""
    a = _rows(probs, "content-free probabilities")
    m = a.mean(axis=0)
    return m / m.sum()


def contextual_calibrate(probs: Any, p_cf: Any) -> np.ndarray:
    """q = diag(p_cf)^-1 p, renormalised per row (rows x options; a 1-D ``probs`` gives one row
    back as 1-D). ``p_cf`` is floored at 1e-12 so an option the content-free input never chose
    does not divide by zero."""
    one = np.ndim(probs) == 1
    p = _rows(probs, "probabilities")
    cf = np.asarray(p_cf, dtype=float).ravel()
    if cf.shape[0] != p.shape[1]:
        raise JuryboxError(f"the content-free distribution has {cf.shape[0]} options, the probabilities "
                           f"{p.shape[1]}")
    q = p / np.maximum(cf, _FLOOR)
    q = q / q.sum(axis=1, keepdims=True)
    return q[0] if one else q
