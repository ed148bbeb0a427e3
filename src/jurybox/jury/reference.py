"""Reference-guided correctness grading with a human, self or no reference (No Free Labels; card 16).

Modes, on the same items (``question``, ``answer``, optional human ``reference``):

* "none": the correctness judge sees no reference;
* "human": the item's own reference answer;
* "self": the judge model's own answer, generated first through the engine (protocol ``answer``)
  and then used as the reference. An item whose self-answer is unreadable gets no "self" verdict.

Krumdick et al. report Cohen's kappa against human correctness labels, split by whether the judge
answered the question correctly itself (GPT-4o, self reference, pairwise: 0.86 when it was right,
0.16 when wrong; BFF single grading: kappa 0.333/0.085 with none vs 0.512/0.531 with human
references). :func:`reference_guided` returns each mode's verdicts; agreement comes from
:func:`jurybox.stats.cohen_kappa`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jurybox.backends.base import Backend
from jurybox.engine import Judge, RunStats, evaluate
from jurybox.errors import JuryboxError
from jurybox.jury.runner import evaluate_with
from jurybox.protocols.reference import Answer
from jurybox.protocols.simple import Correctness
from jurybox.store import Store
from jurybox.types import Verdict

MODES = ("none", "self", "human")


@dataclass
class ReferenceRun:
    """Per mode, each item's correctness verdict; the self answers (None where unreadable)."""

    verdicts: dict[str, list[Verdict]]
    self_answers: list[str | None] | None
    stats: RunStats = field(default_factory=RunStats)


def reference_guided(items: Sequence[Mapping[str, Any]], backend: Backend, store: Store, *,
                     modes: Sequence[str] = MODES, criteria: str | None = None, template: str = "default",
                     answer_backend: Backend | None = None, answer_max_tokens: int = 256,
                     progress: bool = False) -> ReferenceRun:
    """Grade every item under each reference mode (module docstring); all calls go through the engine."""
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise JuryboxError(f"unknown reference mode(s) {bad} (use none, self, human)")
    if "human" in modes:
        missing = [i + 1 for i, it in enumerate(items) if not it.get("reference")]
        if missing:
            raise JuryboxError(f"reference mode 'human' needs a reference on every item; missing on row(s) "
                               f"{', '.join(map(str, missing[:5]))}")
    stats = RunStats()
    judge = Judge(Correctness(criteria=criteria, template=template), backend)
    out: dict[str, list[Verdict]] = {}
    self_answers: list[str | None] | None = None
    for mode in modes:
        if mode == "self":
            answerer = Judge(Answer(max_tokens=answer_max_tokens), answer_backend or backend)
            ans, _, s = evaluate(answerer, items, store, progress=progress, description="reference: self answers")
            stats.merge(s)
            self_answers = [v.extra.get("answer") if v.status == "ok" else None for v in ans]
            out[mode] = evaluate_with(judge, items, "reference", self_answers, store, stats, why="no self answer",
                                      progress=progress, description="reference: self")
        else:
            rows = [{k: v for k, v in it.items() if k != "reference"} if mode == "none" else dict(it) for it in items]
            vs, _, s = evaluate(judge, rows, store, progress=progress, description=f"reference: {mode}")
            stats.merge(s)
            out[mode] = vs
    return ReferenceRun(out, self_answers, stats)
