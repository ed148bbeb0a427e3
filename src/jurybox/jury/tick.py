"""TICK end to end through the engine: write a checklist per instruction, then answer it per response.

:func:`run_tick` generates each distinct instruction's checklist once (``checklist_writer``), then
asks every question about every response (``checklist``); both steps are ordinary engine runs, so
their verdicts are stored and reused. An item whose checklist could not be read gets an unparsed
verdict (no questions, no pass rate). The pass rate is soft (mean P(YES), see
:mod:`jurybox.protocols.checklist`); :func:`best_by_pass_rate` is STICK's Best-of-N selection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jurybox.backends.base import Backend
from jurybox.engine import Judge, RunStats, evaluate
from jurybox.jury.runner import evaluate_with
from jurybox.jury.selection import Selection, best_of_n
from jurybox.protocols.checklist import Checklist, ChecklistWriter
from jurybox.store import Store
from jurybox.types import Verdict


@dataclass
class TickRun:
    """Per item: its checklist (None when unreadable) and its checklist verdict (score = pass rate)."""

    questions: list[list[str] | None]
    verdicts: list[Verdict]
    stats: RunStats

    @property
    def pass_rate(self) -> np.ndarray:
        """Soft pass rate per item: mean P(YES) over its answered questions (NaN when unreadable)."""
        return np.array([v.score if v.status == "ok" and v.score is not None else np.nan for v in self.verdicts])

    @property
    def hard_pass_rate(self) -> np.ndarray:
        """TICK's hard pass rate: the share of questions whose most probable answer is YES."""
        return np.array([v.extra["hard_pass_rate"] if v.status == "ok" else np.nan for v in self.verdicts])


def run_tick(items: Sequence[Mapping[str, Any]], backend: Backend, store: Store, *,
             judge_backend: Backend | None = None, max_questions: int = 6, criteria: str | None = None,
             progress: bool = False) -> TickRun:
    """Items need ``instruction`` and ``response``; the checklist writer and the judge may differ."""
    writer = Judge(ChecklistWriter(criteria=criteria, max_questions=max_questions), backend)
    instructions = list(dict.fromkeys(str(it["instruction"]) for it in items))
    written, _, stats = evaluate(writer, [{"instruction": s} for s in instructions], store, progress=progress,
                                 description="tick: write checklists")
    by_instr = {s: (v.extra.get("questions") if v.status == "ok" else None) for s, v in zip(instructions, written,
                                                                                            strict=True)}
    questions = [by_instr[str(it["instruction"])] for it in items]
    checker = Judge(Checklist(criteria=criteria), judge_backend or backend)
    verdicts = evaluate_with(checker, items, "questions", questions, store, stats, why="no checklist",
                             progress=progress, description="tick: answer checklists")
    return TickRun(questions, verdicts, stats)


def best_by_pass_rate(pass_rates: Any, *, k: int = 1) -> Selection:
    """Best-of-N among N candidate responses by checklist pass rate (unreadable ones never chosen)."""
    return best_of_n(pass_rates, k=k)
