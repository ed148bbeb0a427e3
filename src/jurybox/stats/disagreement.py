"""Disagreement mining: the items where the judge most confidently contradicts the human label."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jurybox.errors import JuryboxError
from jurybox.stats._validate import as_1d, encode


@dataclass(frozen=True)
class Disagreements:
    """Items ranked from the most confident contradiction down.

    ``index`` are positions in the caller's arrays; ``human_label_prob`` is the probability the
    judge gave the human's label (the ranking key, ascending), ``judge_confidence`` the
    probability of the judge's own top label.
    """

    index: tuple[int, ...]
    human_label: tuple[Any, ...]
    judge_label: tuple[Any, ...]
    judge_confidence: tuple[float, ...]
    human_label_prob: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.index)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) for k, v in self.__dict__.items()}


def find_disagreements(
    human: Any,
    probs: Any,
    *,
    labels: Sequence[Any],
    min_confidence: float = 0.0,
    top_k: int | None = None,
) -> Disagreements:
    """Rank items whose judge top label differs from the human label by p_judge(human label).

    The lower the probability the judge gave the human's label, the more confident the
    contradiction (the "self-confidence" score of Northcutt et al. 2021, cleanlab). Ties are broken
    by the judge's top probability (higher first), then by position. Only items where the judge's
    top label differs and its top probability is at least ``min_confidence`` are returned.
    Missing: items with no human label or no probabilities are skipped.
    """
    p = np.asarray(probs, dtype=float)
    lab = list(labels)
    if p.ndim != 2 or p.shape[1] != len(lab):
        raise JuryboxError(f"probs must be (n_items, {len(lab)}) with columns in the order of labels")
    h = encode(as_1d(human, "human"), lab, "human")
    if h.shape[0] != p.shape[0]:
        raise JuryboxError(f"human and probs need one row per item; got {h.shape[0]} and {p.shape[0]}")
    usable = (h >= 0) & ~np.isnan(p).all(axis=1)
    pz = np.nan_to_num(p, nan=0.0)
    top = np.argmax(pz, axis=1)
    conf = pz[np.arange(p.shape[0]), top]
    p_human = pz[np.arange(p.shape[0]), np.clip(h, 0, None)]
    candidates = np.flatnonzero(usable & (top != h) & (conf >= min_confidence))
    order = candidates[np.lexsort((candidates, -conf[candidates], p_human[candidates]))]
    if top_k is not None:
        order = order[:top_k]
    return Disagreements(
        index=tuple(int(i) for i in order),
        human_label=tuple(lab[h[i]] for i in order),
        judge_label=tuple(lab[top[i]] for i in order),
        judge_confidence=tuple(float(conf[i]) for i in order),
        human_label_prob=tuple(float(p_human[i]) for i in order),
    )
