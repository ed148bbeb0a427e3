"""Setwise comparison: the most relevant of c passages (Zhuang et al., SIGIR 2024, "A Setwise Approach
to Effective and Highly Efficient Zero-shot Ranking with Large Language Models").

The passages are labelled A, B, C, ... and the answer is read from one forward pass: the
probability of each label after the prefilled "Passage". To measure and cancel position bias the
set is shown under several permutations (the ``permutations`` parameter), each its own task:

* ``reverse`` (default): the given order and its reverse (2 calls). Cancels a position bias that
  is linear in the position (and, for two passages, any bias);
* ``cyclic``: every cyclic rotation (c calls); each passage takes each position once, so any
  constant per-position bias b_k is cancelled exactly;
* ``none``: the given order only (1 call; no consistency measured).

A variant's name is the permutation, ``"2,0,1"``: the item's passage shown at each position. The
item verdict averages each passage's normalised log-probability over the permutations that were
read; ``label`` is the winner's index in the item's list (as text), ``extra["best"]`` the same as
an int, ``probs`` the softmax of the mean log-probabilities, and ``extra["consistent"]`` whether
every permutation chose the same passage. A permutation whose answer cannot be read is left out;
when none can be read the verdict is unparsed.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from typing import Any

from jurybox.errors import InputError
from jurybox.protocols.base import JudgeProtocol
from jurybox.protocols.registry import register_protocol
from jurybox.types import BackendResult, OptionsRequest, Request, Status, Verdict

PERMUTATIONS = ("reverse", "cyclic", "none")
MAX_SET = 10


def permutations_of(n: int, how: str) -> list[tuple[int, ...]]:
    """The presentation orders of ``n`` passages under ``how`` (see the module docstring)."""
    ident = tuple(range(n))
    if how == "none" or n == 1:
        return [ident]
    if how == "reverse":
        return [ident, tuple(reversed(ident))]
    return [tuple((i + r) % n for i in range(n)) for r in range(n)]


@register_protocol
class Setwise(JudgeProtocol):
    """Which of ``passages`` (a list of 2..10 texts) is the most relevant to ``query``."""

    name = "setwise"
    required = ("query", "passages")
    prefill = "Passage"

    def __init__(self, *, criteria: str | None = None, template: str = "default",
                 permutations: str = "reverse") -> None:
        super().__init__(criteria=criteria, template=template)
        if permutations not in PERMUTATIONS:
            raise ValueError(f"permutations must be one of {', '.join(PERMUTATIONS)}, got {permutations!r}")
        self.permutations = permutations

    def labels(self) -> tuple[str, ...]:
        return tuple(str(i) for i in range(MAX_SET))

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        passages = list(item["passages"])
        n = len(passages)
        if not 2 <= n <= MAX_SET:
            raise InputError(f"setwise compares 2 to {MAX_SET} passages, got {n}", field="passages")
        letters = tuple(string.ascii_uppercase[:n])
        out: list[tuple[str, Request]] = []
        for perm in permutations_of(n, self.permutations):
            shown = [{"label": letters[k], "text": passages[i]} for k, i in enumerate(perm)]
            text = self.render(query=item["query"], passages=shown)
            out.append((",".join(map(str, perm)), OptionsRequest(self.prompt(text), letters)))
        return out

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        perm = [int(x) for x in variant.split(",")]
        letters = tuple(string.ascii_uppercase[:len(perm)])
        to_label = {letters[k]: str(i) for k, i in enumerate(perm)}
        v = self.option_verdict(result, letters, to_label)
        if v.label is not None:
            v.extra["first_position_won"] = v.label == str(perm[0])
        return v

    def combine(self, item: Mapping[str, Any], verdicts: Mapping[str, Verdict]) -> Verdict:
        n = len(item["passages"])
        read = [v for v in verdicts.values() if v.status == "ok" and v.label is not None]
        tokens_in = sum(v.prompt_tokens for v in verdicts.values())
        tokens_out = sum(v.completion_tokens for v in verdicts.values())
        latency = sum(v.latency_s for v in verdicts.values())
        per = {k: v.to_dict() for k, v in verdicts.items()}
        raw = " | ".join(f"{k}:{v.raw}" for k, v in verdicts.items())
        if not read:
            status: Status = "error" if any(v.status == "error" for v in verdicts.values()) else "unparsed"
            return Verdict(label=None, status=status, raw=raw, extra={"permutations": per}, latency_s=latency,
                           prompt_tokens=tokens_in, completion_tokens=tokens_out)
        choices = {v.label for v in read}
        if all(v.extra.get("logprobs") for v in read):
            mean = {str(i): sum(v.extra["logprobs"][str(i)] for v in read) / len(read) for i in range(n)}
            top = max(mean.values())
            z = sum(math.exp(x - top) for x in mean.values())
            soft = {k: math.exp(x - top) / z for k, x in mean.items()}
            best = max(range(n), key=lambda i: (soft[str(i)], -i))  # an exact tie: the earlier passage
            probs: dict[str, float] | None = soft
        else:  # hard choices only: the most frequent, ties to the earlier passage
            probs = None
            counts = {i: sum(v.label == str(i) for v in read) for i in range(n)}
            best = max(range(n), key=lambda i: (counts[i], -i))
        extra: dict[str, Any] = {"best": best, "permutations": per, "n_read": len(read)}
        if len(verdicts) > 1:
            extra["consistent"] = len(choices) == 1 and len(read) == len(verdicts)
        return Verdict(label=str(best), probs=probs, raw=raw, extra=extra, latency_s=latency,
                       prompt_tokens=tokens_in, completion_tokens=tokens_out,
                       score=probs[str(best)] if probs else None)
