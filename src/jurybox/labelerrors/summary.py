"""How many labels are wrong: estimated error rate with an interval, per class, precision by confidence.

Definitions (N rows, F flagged, R of the flagged reviewed, E of those confirmed errors = relabel or drop):

* flag rate            F / N, with a Wilson score interval
* review precision     E / R, with a Wilson score interval (reviewed flags only)
* estimated error rate without reviews: F / N (every flag counted as an error: an upper estimate for the
  flagged set); with reviews: (F / N) x (E / R), interval (F / N) x the precision's interval. Errors among
  unflagged rows are not counted (recall is unknown without reviewing them), so with reviews this is a
  lower estimate of the true error rate.
* precision by confidence bin: reviewed flags grouped by the detector's confidence in its suggested
  label, bins (lo, hi] with the first bin closed; Nahum et al. (2025) report this probability rising with
  ensemble confidence.

Every interval is the Wilson score interval of :func:`jurybox.stats.wilson_interval` (re-exported
here for existing callers); agreement statistics live in :mod:`jurybox.stats`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jurybox.errors import JuryboxError
from jurybox.stats import DEFAULT_CONFIDENCE, Interval, wilson_interval
from jurybox.types import Record

DEFAULT_BINS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@dataclass(frozen=True)
class ClassBreakdown(Record):
    label: str
    n: int
    n_flagged: int
    flag_rate: float
    n_reviewed: int
    n_confirmed: int


@dataclass(frozen=True)
class ConfidenceBin(Record):
    low: float
    high: float
    n_reviewed: int
    n_confirmed: int
    precision: float


@dataclass(frozen=True)
class LabelErrorSummary(Record):
    n: int
    n_flagged: int
    flag_rate: float
    flag_rate_interval: Interval
    n_reviewed: int
    n_confirmed: int
    precision: float
    precision_interval: Interval
    error_rate: float
    error_rate_interval: Interval
    confidence: float
    per_class: tuple[ClassBreakdown, ...]
    by_confidence: tuple[ConfidenceBin, ...]

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["per_class"] = [c.to_dict() for c in self.per_class]
        d["by_confidence"] = [b.to_dict() for b in self.by_confidence]
        return d


def summarize(
    given: Any,
    flagged: Any,
    labels: Sequence[str],
    *,
    flag_confidence: Any = None,
    reviewed_error: Any = None,
    bins: Sequence[float] = DEFAULT_BINS,
    confidence: float = DEFAULT_CONFIDENCE,
) -> LabelErrorSummary:
    """Summarise flags (and reviews, when any) over N rows.

    ``given``: N label indices; ``flagged``: N bools; ``flag_confidence``: N floats (the detector's
    confidence in its suggestion, NaN where none); ``reviewed_error``: N values, 1.0 = reviewed and
    confirmed an error, 0.0 = reviewed and kept, NaN = not reviewed.
    """
    y = np.asarray(given, dtype=np.int64)
    f = np.asarray(flagged, dtype=bool)
    n = y.shape[0]
    if f.shape != (n,):
        raise JuryboxError(f"flagged must have one value per row ({n}), got shape {f.shape}")
    conf = np.full(n, np.nan) if flag_confidence is None else np.asarray(flag_confidence, dtype=np.float64)
    rev = np.full(n, np.nan) if reviewed_error is None else np.asarray(reviewed_error, dtype=np.float64)
    if conf.shape != (n,) or rev.shape != (n,):
        raise JuryboxError(f"flag_confidence and reviewed_error must have one value per row ({n})")
    edges = np.asarray(bins, dtype=np.float64)
    if edges.ndim != 1 or edges.shape[0] < 2 or np.any(np.diff(edges) <= 0):
        raise JuryboxError(f"bins must be increasing edges, got {list(bins)}")
    n_flag = int(f.sum())
    reviewed = f & ~np.isnan(rev)
    n_rev = int(reviewed.sum())
    n_conf = int((rev[reviewed] > 0.5).sum())
    flag_rate = n_flag / n if n else float("nan")
    fr_int = wilson_interval(n_flag, n, confidence)
    precision = n_conf / n_rev if n_rev else float("nan")
    p_int = wilson_interval(n_conf, n_rev, confidence)
    if n_rev:
        err = flag_rate * precision
        err_int = Interval(err, flag_rate * p_int.low, flag_rate * p_int.high, confidence, 0, 0, n, "item")
    else:
        err, err_int = flag_rate, fr_int
    per_class = []
    for k, lab in enumerate(labels):
        m = y == k
        nk = int(m.sum())
        per_class.append(
            ClassBreakdown(
                lab,
                nk,
                int((f & m).sum()),
                float((f & m).sum() / nk) if nk else float("nan"),
                int((reviewed & m).sum()),
                int((rev[reviewed & m] > 0.5).sum()),
            )
        )
    by_conf = []
    for b, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        in_bin = reviewed & ~np.isnan(conf) & (conf <= hi) & ((conf > lo) | (b == 0) & (conf >= lo))
        nb = int(in_bin.sum())
        cb = int((rev[in_bin] > 0.5).sum())
        by_conf.append(ConfidenceBin(float(lo), float(hi), nb, cb, cb / nb if nb else float("nan")))
    return LabelErrorSummary(
        n,
        n_flag,
        flag_rate,
        fr_int,
        n_rev,
        n_conf,
        precision,
        p_int,
        err,
        err_int,
        confidence,
        tuple(per_class),
        tuple(by_conf),
    )
