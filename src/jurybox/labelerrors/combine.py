"""Combine label-error signals (LLM ensemble, classifier + cleanlab, ...) by rank aggregation.

Each :class:`Signal` scores every row (lower = the given label is more suspect; NaN = no opinion) and
flags some rows. Definitions:

* per-signal normalised rank  r_s(i) = (rank of score_s(i) among the rows s has an opinion on - 0.5) / n_s,
  in (0, 1); ties get their average rank (``scipy.stats.rankdata(method="average")``)
* combined score              R(i) = mean of r_s(i) over the signals with an opinion on row i
  (the Borda count, normalised so signals covering different numbers of rows weigh the same)
* flagged                     any signal flagged the row; ``flagged_by`` names which ones
* ranking                     flagged rows by R ascending, ties by row order
* suggested label             that of the flagging signal with the lowest r_s(i)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import rankdata

from jurybox.errors import JuryboxError
from jurybox.stats._validate import nan_to_none


@dataclass(frozen=True)
class Signal:
    """One detector's output over N rows.

    ``scores``: lower = more suspect, NaN = no opinion; ``flagged``: bool; ``suggested``: the label
    index the detector would give (-1 = none); ``confidence``: its probability for that label (NaN = none).
    """

    name: str
    scores: np.ndarray
    flagged: np.ndarray
    suggested: np.ndarray
    confidence: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "scores": nan_to_none(self.scores),
            "flagged": self.flagged.tolist(),
            "suggested": self.suggested.tolist(),
            "confidence": nan_to_none(self.confidence),
        }


@dataclass(frozen=True)
class LabelIssues:
    """The combined result: ranked flagged rows, who flagged them, and each row's combined score."""

    n: int
    signals: tuple[str, ...]
    ranking: np.ndarray
    combined: np.ndarray
    flagged_by: tuple[tuple[str, ...], ...]
    suggested: np.ndarray
    confidence: np.ndarray

    @property
    def flagged(self) -> np.ndarray:
        mask = np.zeros(self.n, dtype=bool)
        mask[self.ranking] = True
        return mask

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "signals": list(self.signals),
            "ranking": self.ranking.tolist(),
            "combined": nan_to_none(self.combined),
            "flagged_by": [list(f) for f in self.flagged_by],
            "suggested": self.suggested.tolist(),
            "confidence": nan_to_none(self.confidence),
        }


def normalised_ranks(scores: np.ndarray) -> np.ndarray:
    """(average rank - 0.5) / n over the non-NaN scores, NaN elsewhere."""
    out = np.full(scores.shape[0], np.nan)
    ok = ~np.isnan(scores)
    n = int(ok.sum())
    if n:
        out[ok] = (rankdata(scores[ok], method="average") - 0.5) / n
    return out


def combine_signals(signals: Sequence[Signal]) -> LabelIssues:
    """Rank-aggregate the signals (module docstring); every signal must cover the same N rows."""
    if not signals:
        raise JuryboxError(
            "no label-error signal to combine: give an LLM ensemble, probabilities or a classifier"
        )
    n = signals[0].scores.shape[0]
    names = [s.name for s in signals]
    if len(set(names)) != len(names):
        raise JuryboxError(f"signal names must be distinct, got {names}")
    for s in signals:
        if (
            s.scores.shape != (n,)
            or s.flagged.shape != (n,)
            or s.suggested.shape != (n,)
            or s.confidence.shape != (n,)
        ):
            raise JuryboxError(f"signal {s.name!r} does not cover the same {n} rows as {names[0]!r}")
    ranks = np.vstack([normalised_ranks(np.asarray(s.scores, dtype=np.float64)) for s in signals])
    flags = np.vstack([s.flagged for s in signals])
    with np.errstate(invalid="ignore"):
        have = ~np.isnan(ranks)
        combined = np.where(
            have.any(axis=0), np.nansum(ranks, axis=0) / np.maximum(have.sum(axis=0), 1), np.nan
        )
    any_flag = flags.any(axis=0)
    hit = np.flatnonzero(any_flag)
    ranking = hit[np.argsort(combined[hit], kind="stable")]
    # the flagging signal that finds the row most suspect gives the suggestion
    masked = np.where(flags & have, ranks, np.inf)
    best = np.argmin(masked, axis=0)
    cols = np.arange(n)
    suggested = np.where(any_flag, np.vstack([s.suggested for s in signals])[best, cols], -1)
    confidence = np.where(any_flag, np.vstack([s.confidence for s in signals])[best, cols], np.nan)
    flagged_by = tuple(tuple(names[j] for j in np.flatnonzero(flags[:, i])) for i in range(n))
    return LabelIssues(n, tuple(names), ranking, combined, flagged_by, suggested.astype(np.int64), confidence)
