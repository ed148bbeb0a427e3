"""Implicit-reward preferences (Selfie / SPA: Kim et al., arXiv 2406.04412; method card 20). Pure
functions of log-probabilities.

The DPO implicit reward of a response is ``r(x, y) = beta * (log p(y|x) - log p_ref(y|x))``, the
summed log-probability of the response's tokens under a policy minus that under a reference; for
two responses ``P(y1 > y2) = sigmoid(r(x, y1) - r(x, y2))``. No judge prompt and no reward model:
four likelihoods per pair (two responses under two models), each one forward pass. The pair is
decided by the sign of the reward difference; ``beta`` only scales the confidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from jurybox.errors import JuryboxError

__all__ = ["Preferences", "implicit_reward", "preferences"]


def _vec(x: Sequence[float] | np.ndarray, name: str, n: int | None = None) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or (n is not None and a.shape[0] != n):
        raise JuryboxError(f"{name} must be one log-probability per item" + (f" ({n})" if n is not None else "")
                           + f"; got shape {a.shape}")
    if not np.isfinite(a).all():
        raise JuryboxError(f"{name} has missing (NaN or infinite) values")
    return a


def implicit_reward(logp_policy: Sequence[float] | np.ndarray, logp_ref: Sequence[float] | np.ndarray | None,
                    beta: float = 0.1) -> np.ndarray:
    """``beta * (log p - log p_ref)`` per response (without a reference: ``beta * log p``)."""
    if not beta > 0:
        raise JuryboxError(f"beta must be positive; got {beta}")
    lp = _vec(logp_policy, "logp_policy")
    lr = np.zeros_like(lp) if logp_ref is None else _vec(logp_ref, "logp_ref", len(lp))
    return float(beta) * (lp - lr)


@dataclass(frozen=True)
class Preferences:
    """Per pair: ``p_first`` = P(y1 > y2), ``winner`` "A" (y1), "B" (y2) or None for an exact tie,
    and ``confidence`` = the winner's probability (max(p, 1 - p))."""

    p_first: np.ndarray
    winner: tuple[str | None, ...]
    confidence: np.ndarray
    margin: np.ndarray


def preferences(policy_a: Sequence[float] | np.ndarray, policy_b: Sequence[float] | np.ndarray,
                ref_a: Sequence[float] | np.ndarray | None = None, ref_b: Sequence[float] | np.ndarray | None = None,
                *, beta: float = 0.1) -> Preferences:
    """P(A > B) = sigmoid(r(x, A) - r(x, B)) for each pair, from the responses' summed
    log-probabilities under the policy and (optionally) the reference."""
    if (ref_a is None) != (ref_b is None):
        raise JuryboxError("give the reference log-probabilities of both responses, or of neither")
    ra = implicit_reward(policy_a, ref_a, beta)
    rb = implicit_reward(policy_b, ref_b, beta)
    if ra.shape != rb.shape:
        raise JuryboxError(f"responses A and B differ in number: {ra.shape[0]} vs {rb.shape[0]}")
    margin = ra - rb
    p = 1.0 / (1.0 + np.exp(-margin))
    winner = tuple("A" if m > 0 else ("B" if m < 0 else None) for m in margin)
    return Preferences(p_first=p, winner=winner, confidence=np.maximum(p, 1.0 - p), margin=margin)
