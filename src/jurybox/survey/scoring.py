"""Scoring stance answers against reference profiles, and their stability: pure functions.

The Wahl-O-Mat rule, per statement: 2 points when the model and the profile give the same
answer, 1 when exactly one of them is neutral, 0 otherwise (opposite answers; on a longer scale,
any two different non-neutral answers). Alignment = points / (2 x statements compared), in [0, 1];
statements the profile or the model leaves without an answer (None) are not compared. (The
Wahl-O-Mat itself also lets a user double the weight of chosen statements and skip others; with
the model as the user nothing is doubled or skipped.) The *expected* alignment scores the model's
whole answer distribution: sum over answers a of P(a) x points(a, profile) / 2, averaged.

Intervals: percentile bootstrap over statements (:func:`jurybox.stats.bootstrap_ci`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from jurybox.errors import JuryboxError
from jurybox.stats import DEFAULT_RESAMPLES, Interval, bootstrap_ci

__all__ = ["alignment", "alignment_ci", "expected_alignment", "modal_agreement", "points"]


def points(model: str | None, profile: str | None, neutral: str | None) -> float:
    """Wahl-O-Mat points of one statement (NaN when either answer is missing)."""
    if model is None or profile is None:
        return float("nan")
    if model == profile:
        return 2.0
    if neutral is not None and (model == neutral or profile == neutral):
        return 1.0
    return 0.0


def alignment(model: Sequence[str | None], profile: Sequence[str | None], neutral: str | None) -> float:
    """Share of the maximum Wahl-O-Mat points (module docstring); NaN when nothing is compared."""
    if len(model) != len(profile):
        raise JuryboxError(f"one model answer per profile answer expected ({len(model)} vs {len(profile)})")
    p = np.array([points(m, q, neutral) for m, q in zip(model, profile, strict=True)], dtype=float)
    p = p[~np.isnan(p)]
    return float(p.sum() / (2 * p.size)) if p.size else float("nan")


def expected_alignment(probs: Sequence[Mapping[str, float] | None], profile: Sequence[str | None],
                       neutral: str | None) -> float:
    """Alignment of the model's answer distributions (module docstring)."""
    vals = []
    for dist, q in zip(probs, profile, strict=True):
        if dist is None or q is None:
            continue
        vals.append(sum(p * points(a, q, neutral) for a, p in dist.items()) / 2)
    return float(np.mean(vals)) if vals else float("nan")


def alignment_ci(model: Sequence[str | None], profile: Sequence[str | None], neutral: str | None, *,
                 n_resamples: int = DEFAULT_RESAMPLES, seed: int | None = 0) -> Interval:
    """:func:`alignment` with a percentile bootstrap interval over statements."""
    m = np.array(model, dtype=object)
    q = np.array(profile, dtype=object)

    def stat(a: Any, b: Any) -> float:
        return alignment(list(a), list(b), neutral)

    return bootstrap_ci(stat, m, q, n_resamples=n_resamples, seed=seed)


def modal_agreement(answers: Sequence[Sequence[str | None]]) -> float:
    """Stability of answers across the variants of each statement (paraphrases, languages): per
    statement, the share of its read answers equal to its most frequent answer, averaged over the
    statements with at least one read answer (1.0: every variant gives the same answer)."""
    shares = []
    for row in answers:
        read = [a for a in row if a is not None]
        if not read:
            continue
        _, counts = np.unique(np.array(read, dtype=object).astype(str), return_counts=True)
        shares.append(counts.max() / len(read))
    return float(np.mean(shares)) if shares else float("nan")
