"""Shared helpers for the audit statistics: missing values, effects with intervals, table rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields, is_dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from jurybox.errors import JuryboxError
from jurybox.stats import Interval, bootstrap_ci

N_RESAMPLES = 1000
CONFIDENCE = 0.95


def as_object(values: Any, name: str) -> np.ndarray:
    """A 1-d object array (labels may be None for an unread verdict)."""
    arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=object)
    if arr.ndim != 1:
        raise JuryboxError(f"{name} must be one-dimensional (one value per item); got shape {arr.shape}")
    return arr


def as_float(values: Any, name: str) -> np.ndarray:
    """A 1-d float array; None and pandas.NA become NaN."""
    arr = np.asarray([np.nan if v is None or v is pd.NA else v for v in values], dtype=float)
    if arr.ndim != 1:
        raise JuryboxError(f"{name} must be one-dimensional (one value per item); got shape {arr.shape}")
    return arr


def is_missing(arr: np.ndarray) -> np.ndarray:
    return np.asarray(pd.isna(arr), dtype=bool)


def same_length(*named: tuple[str, np.ndarray]) -> None:
    n = {len(a) for _, a in named}
    if len(n) > 1:
        desc = ", ".join(f"{k} {len(a)}" for k, a in named)
        raise JuryboxError(f"the inputs must have one value per item each; got {desc}")


def interval(statistic: Callable[..., float], *data: Any, n_resamples: int = N_RESAMPLES,
             confidence: float = CONFIDENCE, seed: int | None = 0, **kwargs: Any) -> Interval:
    """95% percentile bootstrap interval over items (jurybox.stats.bootstrap_ci); NaN when no data."""
    if len(data[0]) == 0:
        nan = float("nan")
        return Interval(nan, nan, nan, confidence, n_resamples, 0, 0, "item")
    return bootstrap_ci(statistic, *data, n_resamples=n_resamples, confidence=confidence, seed=seed, **kwargs)


def _fmt(v: float) -> str:
    return "nan" if v != v else f"{v:.3f}"


@dataclass(frozen=True)
class Row:
    """One line of the audit table."""

    probe: str
    statistic: str
    estimate: float
    low: float
    high: float
    n: int
    note: str = ""

    def text(self) -> tuple[str, ...]:
        return (self.probe, self.statistic, _fmt(self.estimate), f"[{_fmt(self.low)}, {_fmt(self.high)}]",
                str(self.n), self.note)


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, numpy values and intervals as plain JSON values (NaN stays a float)."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


class ResultMixin:
    """``to_dict()`` and ``rows()`` for frozen result dataclasses whose Interval fields are effects."""

    probe: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = to_jsonable(self)
        return out

    def rows(self) -> Iterator[Row]:
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if isinstance(v, Interval):
                yield Row(self.probe, f.name, v.estimate, v.low, v.high, v.n_units)


__all__ = ["Row", "ResultMixin", "as_float", "as_object", "asdict", "interval", "is_missing", "same_length"]
