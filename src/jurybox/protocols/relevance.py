"""Relevance grading of a (query, passage) pair on the TREC 0-3 scale (UMBRELA / Bing style).

Grades: 0 irrelevant, 1 related, 2 highly relevant, 3 perfectly relevant (the TREC DL scale; the
prompt follows UMBRELA's zero-shot Bing prompt, Upadhyay et al. 2024, with the instructions first
so that every pair shares that prefix, and the reasoning steps left out: the answer is read from
one forward pass). The verdict's ``probs`` is the judge's distribution over the four grades,
``label`` its most probable grade (argmax) and ``score`` the expected grade
sum_g g * p(g), which orders candidates (pointwise reranking) more finely than the argmax.
An answer without option scores (a generating backend) is read as a grade or recorded unparsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jurybox.errors import InputError
from jurybox.protocols.base import JudgeProtocol
from jurybox.protocols.registry import register_protocol
from jurybox.protocols.simple import expected_grade, grade_of, graded_verdict
from jurybox.types import BackendResult, OptionsRequest, Request, Verdict

__all__ = ["GRADES", "GRADE_NAMES", "Relevance", "expected_grade"]

GRADES = ("0", "1", "2", "3")
GRADE_NAMES = {"0": "irrelevant", "1": "related", "2": "highly relevant", "3": "perfectly relevant"}


@register_protocol
class Relevance(JudgeProtocol):
    """The 0-3 relevance grade of ``passage`` for ``query``; ``score`` is the expected grade."""

    name = "relevance"
    required = ("query", "passage")
    prefill = "##final score:"

    def labels(self) -> tuple[str, ...]:
        return GRADES

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        text = self.render(query=item["query"], passage=item["passage"])
        return [("", OptionsRequest(self.prompt(text), GRADES))]

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        return graded_verdict(self.option_verdict(result, GRADES))

    def normalise_label(self, value: Any, *, file: str | None, row: int, field: str) -> str:
        grade = grade_of(value, range(len(GRADES)))
        if grade is not None:
            return grade
        raise InputError(f"relevance grade {value!r} is not one of 0, 1, 2, 3", file=file, row=row, field=field)
