"""Run a jury: several judges (models x prompt templates) over the same items, through the engine.

Every judge goes through :func:`jurybox.engine.evaluate`, so each verdict is cached in the store
under the same key any other run of that judge would use (a jury member's verdicts are shared with
single-judge runs and bias audits of the same judge). :func:`label_matrix` and
:func:`variant_label_matrix` turn the result into the (judges x items) label arrays the pure
aggregation functions in :mod:`jurybox.jury.aggregate` take. Unreadable answers stay ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jurybox.engine import Executor, Judge, RunStats, evaluate
from jurybox.errors import JuryboxError
from jurybox.store import Store
from jurybox.types import Verdict


@dataclass
class JuryRun:
    """Each judge's item verdicts and per-variant verdicts, in judge order, plus merged run stats."""

    judges: tuple[str, ...]
    verdicts: list[list[Verdict]]
    variants: list[list[dict[str, Verdict]]]
    stats: RunStats = field(default_factory=RunStats)

    @property
    def n_items(self) -> int:
        return len(self.verdicts[0]) if self.verdicts else 0


def run_jury(
    judges: Sequence[Judge],
    items: Sequence[Mapping[str, Any]],
    store: Store,
    *,
    progress: bool = False,
    executor: Executor | None = None,
) -> JuryRun:
    """Evaluate every judge on every item (judge by judge, so each judge's prompts share a prefix)."""
    if not judges:
        raise JuryboxError("a jury needs at least one judge")
    names = [j.name for j in judges]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise JuryboxError(f"jury judges must have distinct names; repeated: {', '.join(dup)}")
    stats = RunStats()
    all_v: list[list[Verdict]] = []
    all_var: list[list[dict[str, Verdict]]] = []
    for j in judges:
        v, var, s = evaluate(j, items, store, progress=progress, description=f"jury: {j.name}", executor=executor)
        all_v.append(v)
        all_var.append(var)
        stats.merge(s)
    return JuryRun(tuple(names), all_v, all_var, stats)


def label_matrix(verdicts: Sequence[Sequence[Verdict]]) -> np.ndarray:
    """(judges x items) object array of labels; None where the answer was unparsed or failed."""
    out = np.empty((len(verdicts), len(verdicts[0]) if verdicts else 0), dtype=object)
    for j, vs in enumerate(verdicts):
        for i, v in enumerate(vs):
            out[j, i] = v.label if v.status == "ok" else None
    return out


def variant_label_matrix(variants: Sequence[Sequence[Mapping[str, Verdict]]], variant: str) -> np.ndarray:
    """(judges x items) labels of one variant (for pairwise: the order "AB" or "BA")."""
    return label_matrix([[vs[variant] for vs in judge] for judge in variants])


def score_matrix(verdicts: Sequence[Sequence[Verdict]]) -> np.ndarray:
    """(judges x items) float array of verdict scores; NaN where there is none."""
    out = np.full((len(verdicts), len(verdicts[0]) if verdicts else 0), np.nan)
    for j, vs in enumerate(verdicts):
        for i, v in enumerate(vs):
            if v.status == "ok" and v.score is not None:
                out[j, i] = float(v.score)
    return out


def evaluate_with(judge: Judge, items: Sequence[Mapping[str, Any]], field_name: str, values: Sequence[Any],
                  store: Store, stats: RunStats, *, why: str, progress: bool = False,
                  description: str | None = None) -> list[Verdict]:
    """Evaluate ``judge`` on each item with ``field_name`` set to its value from an earlier step.

    Items whose earlier step gave nothing (None or empty) are not asked; they get an unparsed verdict
    with ``extra["why"] = why`` (the earlier answer was unreadable, so this one cannot exist).
    Adds the run's statistics to ``stats``.
    """
    ready = [i for i, v in enumerate(values) if v]
    done, _, s = evaluate(judge, [{**items[i], field_name: values[i]} for i in ready], store, progress=progress,
                          description=description)
    stats.merge(s)
    out = [Verdict(label=None, status="unparsed", extra={"why": why}) for _ in items]
    for i, v in zip(ready, done, strict=True):
        out[i] = v
    return out
