"""Reference-guided grading (No Free Labels, Krumdick et al., arXiv 2503.05061; method card 16).

The ``answer`` protocol asks the judge model to answer a question itself (free text, greedy); with
:func:`jurybox.jury.reference.reference_guided` that answer becomes the reference ("self") for the
correctness protocol, beside a human reference ("human") or none ("none"), on the same items.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jurybox.protocols._json import GeneratingProtocol, unparsed
from jurybox.protocols.registry import register_protocol
from jurybox.types import BackendResult, Request, Verdict


@register_protocol
class Answer(GeneratingProtocol):
    """The judge's own answer to a question (for a "self" reference). Empty output is unparsed."""

    name = "answer"
    required = ("question",)

    def params(self) -> dict[str, Any]:
        return {**super().params(), "max_tokens": self.max_tokens}

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        text = self.render(question=item["question"])
        return [("", self.generate_request(text))]

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        text = result.text.strip()
        if not text:
            return unparsed(result, "empty answer")
        return Verdict(label="answered", raw=result.text, extra={"answer": text, "method": "generate"},
                       prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)
