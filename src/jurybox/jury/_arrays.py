"""Vote counting for the jury's pure functions (missing values and label codes: jurybox.stats._validate)."""

from __future__ import annotations

import numpy as np

from jurybox.errors import JuryboxError


def vote_counts(codes: np.ndarray, k: int, weights: np.ndarray | None = None) -> np.ndarray:
    """(items x k) sum of (weighted) votes per label; missing votes count nothing."""
    j, n = codes.shape
    w = np.ones(j) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (j,):
        raise JuryboxError(f"weights must have one entry per judge ({j}), got shape {w.shape}")
    counts = np.zeros((n, k))
    for jj in range(j):
        ok = codes[jj] >= 0
        np.add.at(counts, (np.nonzero(ok)[0], codes[jj, ok]), w[jj])
    return counts

