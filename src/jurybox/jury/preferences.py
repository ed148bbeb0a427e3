"""Preference pairs for DPO-style trainers, from pairwise jury verdicts.

Each item with a decided verdict becomes ``{"prompt", "chosen", "rejected", "confidence"}``: the
layout TRL's DPOTrainer (and most DPO/ORPO/KTO-pair trainers) read from JSONL. ``confidence`` is the
jury's support for the winner (vote share, or posterior probability from Dawid-Skene). Items whose
verdict is None (no majority, unreadable) or "tie" are skipped, never turned into a pair; pairs below
``min_confidence`` are skipped too. :func:`write_preference_pairs` writes to a temporary file and
renames it, so a failed write leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jurybox.atomic import atomic_write
from jurybox.errors import JuryboxError
from jurybox.stats._validate import is_missing


@dataclass(frozen=True)
class PreferencePairs:
    pairs: tuple[dict[str, Any], ...]
    rows: tuple[int, ...]
    n_skipped: int

    def to_dict(self) -> dict[str, Any]:
        return {"pairs": list(self.pairs), "rows": list(self.rows), "n_skipped": self.n_skipped}


def preference_pairs(items: Sequence[Mapping[str, Any]], winners: Sequence[Any], confidence: Any = None, *,
                     min_confidence: float = 0.0, keep_fields: Sequence[str] = ()) -> PreferencePairs:
    """Build (prompt, chosen, rejected, confidence) pairs from items with instruction/response_a/response_b
    and a winner "A"/"B" per item."""
    if len(items) != len(winners):
        raise JuryboxError(f"{len(items)} items but {len(winners)} verdicts")
    conf = np.full(len(items), np.nan) if confidence is None else np.array(
        [np.nan if is_missing(c) else float(c) for c in confidence], dtype=float)
    if len(conf) != len(items):
        raise JuryboxError(f"{len(items)} items but {len(conf)} confidences")
    pairs, rows = [], []
    for i, (item, w) in enumerate(zip(items, winners, strict=True)):
        if w not in ("A", "B"):
            continue
        c = conf[i]
        if not np.isnan(c) and c < min_confidence:
            continue
        a, b = item["response_a"], item["response_b"]
        pair = {"prompt": item["instruction"], "chosen": a if w == "A" else b, "rejected": b if w == "A" else a,
                "confidence": None if np.isnan(c) else float(c)}
        for f in keep_fields:
            pair[f] = item.get(f)
        pairs.append(pair)
        rows.append(i)
    return PreferencePairs(tuple(pairs), tuple(rows), len(items) - len(pairs))


def write_preference_pairs(pairs: PreferencePairs, path: str | os.PathLike[str]) -> Path:
    """Write the pairs as JSONL (atomically: temporary file, then rename)."""
    out = Path(path)
    with atomic_write(out) as f:
        for p in pairs.pairs:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    return out
