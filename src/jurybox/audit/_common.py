"""Shared helpers for the audit statistics: effects with intervals, table rows.

Missing values and array checks: :mod:`jurybox.stats._validate`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields, is_dataclass
from typing import Any, ClassVar

import numpy as np

from jurybox.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, Interval, bootstrap_ci


def interval(statistic: Callable[..., float], *data: Any, n_resamples: int = DEFAULT_RESAMPLES,
             confidence: float = DEFAULT_CONFIDENCE, seed: int | None = 0, **kwargs: Any) -> Interval:
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


__all__ = ["Row", "ResultMixin", "asdict", "interval", "to_jsonable"]
