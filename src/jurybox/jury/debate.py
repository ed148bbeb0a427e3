"""``run_debate``: two advocates argue for response A and response B over R rounds, then a judge
decides after reading the transcript (Fellowship of the LLMs' LLM-debate evaluator, pairwise).

Round r: both advocates write simultaneously, each seeing the debate of rounds 1..r-1 (its own
turns as "Me", the other's as "The other advocate"); every turn is an engine task
(:class:`~jurybox.protocols.debate.DebateTurn`), so a rerun makes no model calls and a killed run
resumes at the turn it stopped. The judge (:class:`~jurybox.protocols.debate.DebateJudge`) is
asked in both presentation orders. Model calls per item: 2R advocate turns + 2 judge calls. An
item whose advocate turn failed or came back empty is judged without that turn (the transcript
records it); its status is in ``turn_status``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jurybox.backends.base import Backend
from jurybox.engine import Judge, RunStats, evaluate
from jurybox.errors import JuryboxError
from jurybox.protocols.debate import DebateJudge, DebateTurn
from jurybox.store import Store
from jurybox.types import Verdict

__all__ = ["DebateRun", "run_debate"]


@dataclass
class DebateRun:
    """Item verdicts (A/B/tie), per-order verdicts, each item's transcript, the status of every
    advocate turn, and the run statistics (advocates and judge together)."""

    verdicts: list[Verdict]
    variants: list[dict[str, Verdict]]
    transcripts: list[list[dict[str, Any]]]
    turn_status: list[list[str]]
    stats: RunStats
    rounds: int
    calls_per_item: int = 0
    stages: list[RunStats] = field(default_factory=list)


def _history(transcript: Sequence[Mapping[str, Any]], side: str) -> list[dict[str, Any]]:
    return [{"speaker": "Me" if t["for"] == side else "The other advocate", "round": t["round"], "text": t["text"]}
            for t in transcript]


def run_debate(
    items: Sequence[Mapping[str, Any]],
    backend: Backend,
    store: Store,
    *,
    rounds: int = 2,
    judge_backend: Backend | None = None,
    advocate: DebateTurn | None = None,
    judge: DebateJudge | None = None,
    name: str = "debate",
    progress: bool = False,
) -> DebateRun:
    """Debate every item (``instruction``, ``response_a``, ``response_b``) for ``rounds`` rounds
    with advocates on ``backend``, then judge on ``judge_backend`` (default: the same model)."""
    if rounds < 1:
        raise JuryboxError(f"rounds must be at least 1, got {rounds}", option="rounds")
    advocate = advocate or DebateTurn()
    judge = judge or DebateJudge()
    adv = Judge(advocate, backend, f"{name}:advocate")
    transcripts: list[list[dict[str, Any]]] = [[] for _ in items]
    statuses: list[list[str]] = [[] for _ in items]
    total = RunStats()
    stages = []
    for r in range(1, rounds + 1):
        turn_items = []
        for it, tr in zip(items, transcripts, strict=True):
            for side, mine, other in (("A", it["response_a"], it["response_b"]),
                                      ("B", it["response_b"], it["response_a"])):
                turn_items.append({"instruction": it["instruction"], "mine": mine, "other": other,
                                   "history": _history(tr, side)})
        verdicts, _, stats = evaluate(adv, turn_items, store, progress=progress,
                                      description=f"{name} round {r} ({len(turn_items)} turns)")
        stages.append(stats)
        total.merge(stats)
        for i in range(len(items)):
            for k, side in enumerate(("A", "B")):
                v = verdicts[2 * i + k]
                statuses[i].append(v.status)
                if v.status == "ok":
                    transcripts[i].append({"for": side, "round": r, "text": v.raw})
    judged = [{"instruction": it["instruction"], "response_a": it["response_a"], "response_b": it["response_b"],
               "debate": tr} for it, tr in zip(items, transcripts, strict=True)]
    verdicts, variants, stats = evaluate(Judge(judge, judge_backend or backend, f"{name}:judge"), judged, store,
                                         progress=progress, description=f"{name} judge ({len(judged)} items)")
    stages.append(stats)
    total.merge(stats)
    return DebateRun(verdicts, variants, transcripts, statuses, total, rounds,
                     calls_per_item=2 * rounds + len(judge.orders), stages=stages)
