"""Statistics that are a function of per-item sums, the shape that makes bootstrapping fast.

Most agreement statistics are ``finalize(sum over items of c_i)`` for a per-item contribution
vector ``c_i``: the kappa family depends only on the confusion table (``c_i`` is the one-hot cell
of item ``i``), Krippendorff's alpha only on the coincidence matrix, Pearson's r only on the
sums of x, y, x^2, y^2 and xy. A bootstrap resample is then a weighted sum of contributions,
and a thousand resamples are one matrix product instead of a thousand calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Parts:
    """Per-item contributions of a statistic and the function that turns their sums into it.

    Exactly one of ``cells`` (an int per item: its contribution is the one-hot vector of that
    cell among ``size`` cells) or ``contributions`` (a dense ``(n_items, size)`` array) is set.
    ``finalize`` maps sums of shape ``(..., size)`` to statistics of shape ``(...)``.
    ``keep`` marks which of the caller's items were used (the others had a missing value).
    """

    size: int
    finalize: Callable[[np.ndarray], np.ndarray]
    keep: np.ndarray
    cells: np.ndarray | None = None
    contributions: np.ndarray | None = None

    def totals(self) -> np.ndarray:
        if self.cells is not None:
            return np.bincount(self.cells, minlength=self.size).astype(float)
        assert self.contributions is not None
        return self.contributions.sum(axis=0)

    def value(self) -> float:
        return float(self.finalize(self.totals()))

    def grouped(self, groups: np.ndarray) -> np.ndarray:
        """Sums of contributions per group: ``(n_groups, size)`` for integer group codes."""
        n_groups = int(groups.max()) + 1 if groups.size else 0
        if self.cells is not None:
            flat = groups * self.size + self.cells
            return (
                np.bincount(flat, minlength=n_groups * self.size).reshape(n_groups, self.size).astype(float)
            )
        assert self.contributions is not None
        out = np.zeros((n_groups, self.size))
        np.add.at(out, groups, self.contributions)
        return out


def table_parts(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int], keep: np.ndarray,
                finalize_table: Callable[[np.ndarray], Any]) -> Parts:
    """Parts of a statistic of the ``(A, B)`` joint frequency table: item i counts one in cell
    ``(rows[i], cols[i])``; ``finalize_table`` gets the ``(..., A, B)`` tables."""
    a, b = shape
    return Parts(
        size=a * b,
        cells=rows * b + cols,
        keep=keep,
        finalize=lambda sums: finalize_table(sums.reshape(sums.shape[:-1] + (a, b))),
    )


def decomposable(parts: Callable[..., Parts | None]) -> Callable[[F], F]:
    """Mark a statistic as computable from :class:`Parts` (its bootstrap is then vectorised).

    ``parts`` may return None for data it cannot decompose; the bootstrap then loops.
    """

    def mark(func: F) -> F:
        func.__jurybox_parts__ = parts  # type: ignore[attr-defined]
        return func

    return mark


def parts_of(statistic: Callable[..., Any]) -> Callable[..., Parts | None] | None:
    return getattr(statistic, "__jurybox_parts__", None)


def safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with NaN (not a warning) where ``den`` is 0."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out if out.ndim else out[()]
