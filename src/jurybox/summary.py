"""Quick agreement figures printed after a judging run (the full statistics live in jurybox.stats)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class QuickAgreement:
    n_items: int
    n_compared: int  # items with both a human label and a parsed verdict
    n_unparsed: int
    accuracy: float
    kappa: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def quick_agreement(human: Sequence[str | None], judged: Sequence[str | None]) -> QuickAgreement:
    """Accuracy and unweighted Cohen's kappa over items that have both labels.

    kappa = (p_o - p_e) / (1 - p_e), with p_e from the two marginal distributions; 0 when p_e = 1
    (both raters constant and equal is perfect agreement with no information).
    """
    pairs = [(h, j) for h, j in zip(human, judged) if h is not None and j is not None]
    n_unparsed = sum(1 for h, j in zip(human, judged) if h is not None and j is None)
    if not pairs:
        return QuickAgreement(len(human), 0, n_unparsed, float("nan"), float("nan"))
    cats = sorted({x for p in pairs for x in p})
    idx = {c: i for i, c in enumerate(cats)}
    m = np.zeros((len(cats), len(cats)))
    for h, j in pairs:
        m[idx[h], idx[j]] += 1
    n = m.sum()
    po = np.trace(m) / n
    pe = float((m.sum(1) / n) @ (m.sum(0) / n))
    kappa = 0.0 if pe == 1.0 else (po - pe) / (1 - pe)
    return QuickAgreement(len(human), len(pairs), n_unparsed, float(po), float(kappa))
