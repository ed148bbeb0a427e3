"""TICK checklists (Cook et al., arXiv 2410.03608; method card 17).

Two protocols, both run through the engine:

* ``checklist_writer``: from the instruction alone, generate instruction-specific YES/NO questions,
  each targeting one requirement, as schema-constrained JSON ``{"questions": [...]}`` (1 to
  ``max_questions`` questions); an answer that is not such a list is unparsed.
* ``checklist``: for an item with ``instruction``, ``response`` and ``questions``, ask each question
  about the response (one task per question, variant ``q0``, ``q1``...; option log-probabilities of
  "YES"/"NO"). The item verdict's ``score`` is the soft pass rate: the mean over answered questions
  of P(YES) from the judge's option distribution; ``label`` is ``"k/n"`` with k the questions whose
  most probable answer is YES, and ``extra["hard_pass_rate"]`` = k/n is TICK's original hard rate.
  Unreadable answers are left out and counted in ``extra["n_unparsed"]``; if no question was
  answered the verdict is unparsed.

Why soft: a small judge answers YES to almost every question (qwen2.5-coder-1.5b gave a good haiku
and an off-topic sentence the same hard rate, 3/3), yet its P(YES) still separates them (0.92 vs
0.57 on the test in tests/jury/test_e2e.py). Averaging probabilities keeps that information, as
reading option probabilities does for every other protocol here.

Best-of-N by pass rate: :func:`jurybox.jury.selection.best_of_n` on the pass rates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jurybox.protocols._json import GeneratingProtocol, parse_json_object, unparsed
from jurybox.protocols.base import JudgeProtocol
from jurybox.protocols.registry import register_protocol
from jurybox.types import BackendResult, OptionsRequest, Request, Verdict

QUESTION_PATTERN = '^Does the response [^"\\\\]{4,180}[?]$'


def questions_schema(max_questions: int) -> str:
    """JSON schema of a checklist: 1..max_questions questions, each "Does the response ...?".

    The fixed opening keeps every question about the response: without it the 1.5B writer asked
    the user ("Do you have a routine...?") or about the instruction ("Is the instruction asking
    for...?"), questions a judge cannot answer from the response.
    """
    return json.dumps({
        "type": "object",
        "properties": {"questions": {"type": "array", "items": {"type": "string", "pattern": QUESTION_PATTERN},
                                     "minItems": 1, "maxItems": max_questions}},
        "required": ["questions"],
    }, sort_keys=True)


@register_protocol
class ChecklistWriter(GeneratingProtocol):
    name = "checklist_writer"
    required = ("instruction",)
    default_max_tokens = 320

    def __init__(self, *, criteria: str | None = None, template: str = "default", max_questions: int = 6,
                 max_tokens: int | None = None) -> None:
        super().__init__(criteria=criteria, template=template, max_tokens=max_tokens)
        if not 1 <= max_questions <= 20:
            raise ValueError(f"max_questions must be between 1 and 20, got {max_questions}")
        self.max_questions = max_questions

    def params(self) -> dict[str, Any]:
        return {**super().params(), "max_questions": self.max_questions}

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        text = self.render(instruction=item["instruction"], max_questions=self.max_questions)
        return [("", self.generate_request(text, questions_schema(self.max_questions)))]

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        obj = parse_json_object(result.text)
        qs = obj.get("questions") if obj else None
        if not isinstance(qs, list) or not qs or not all(isinstance(q, str) and q.strip() for q in qs):
            return unparsed(result, "no list of questions")
        # the small writer repeats itself ("Does the response contain exactly three lines?" twice):
        # a repeated question would count one requirement twice
        qs = list(dict.fromkeys(" ".join(q.split()) for q in qs))[: self.max_questions]
        return Verdict(label=f"{len(qs)} questions", raw=result.text, extra={"questions": qs, "method": "generate"},
                       prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)


@register_protocol
class Checklist(JudgeProtocol):
    name = "checklist"
    required = ("instruction", "response", "questions")
    prefill = "Answer:"
    options = ("YES", "NO")

    def labels(self) -> tuple[str, ...]:
        return ()

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        qs = item["questions"]
        if isinstance(qs, str):
            qs = [qs]
        out: list[tuple[str, Request]] = []
        for k, q in enumerate(qs):
            text = self.render(instruction=item["instruction"], response=item["response"], question=q)
            out.append((f"q{k}", OptionsRequest(self.prompt(text), self.options)))
        return out

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        v = self.option_verdict(result, self.options)
        if v.probs:
            v.score = v.probs["YES"]
        return v

    def combine(self, item: Mapping[str, Any], verdicts: Mapping[str, Verdict]) -> Verdict:
        ok = [v for v in verdicts.values() if v.status == "ok" and v.label is not None]
        n_bad = len(verdicts) - len(ok)
        answers = {k: (v.label if v.status == "ok" else None) for k, v in verdicts.items()}
        tokens = (sum(v.prompt_tokens for v in verdicts.values()), sum(v.completion_tokens for v in verdicts.values()))
        extra: dict[str, Any] = {"answers": answers, "n_unparsed": n_bad, "n_questions": len(verdicts)}
        if not ok:
            return Verdict(label=None, status="unparsed", extra=extra, prompt_tokens=tokens[0],
                           completion_tokens=tokens[1])
        n_yes = sum(v.label == "YES" for v in ok)
        soft = [v.score for v in ok if v.score is not None]
        extra["hard_pass_rate"] = n_yes / len(ok)
        extra["soft_pass_rate"] = sum(soft) / len(soft) if soft else None
        score = extra["soft_pass_rate"] if soft else extra["hard_pass_rate"]
        return Verdict(label=f"{n_yes}/{len(ok)}", score=score, extra=extra,
                       raw=" | ".join(f"{k}:{v.raw}" for k, v in verdicts.items()),
                       prompt_tokens=tokens[0], completion_tokens=tokens[1])
