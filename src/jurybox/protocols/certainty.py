"""Verbal certainty with abstention (Dong, Hu & Collier, arXiv 2406.11657; method card 15).

A binary choice between two responses (fields of the pairwise protocol, shown in one order: ``AB``
by default or ``BA``) where the judge also states how certain it is, from 0 to 100, as
schema-constrained JSON ``{"choice": "a"|"b"|"abstain", "certainty": 0-100}``. The verdict's label is
"A"/"B" in terms of the original responses; ``score`` is certainty / 100; a choice of "abstain" is a
readable answer with label None and ``extra["abstained"] = True`` (an abstention is not unparsed and
never becomes a label). Filter by certainty and plot accuracy against coverage with
:func:`jurybox.jury.coverage.coverage_curve`; the same curve from logprob confidence comes from the
pairwise protocol's probabilities.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jurybox.protocols._json import GeneratingProtocol, parse_json_object, unparsed
from jurybox.protocols.registry import register_protocol
from jurybox.types import BackendResult, Request, Verdict

SCHEMA = json.dumps({
    "type": "object",
    "properties": {"choice": {"type": "string", "enum": ["a", "b", "abstain"]},
                   "certainty": {"type": "integer", "minimum": 0, "maximum": 100}},
    "required": ["choice", "certainty"],
}, sort_keys=True)


@register_protocol
class Certainty(GeneratingProtocol):
    name = "certainty"
    required = ("instruction", "response_a", "response_b")
    optional = ("persona",)
    default_max_tokens = 32

    def __init__(self, *, criteria: str | None = None, template: str = "default", order: str = "AB",
                 allow_abstain: bool = True, max_tokens: int | None = None) -> None:
        super().__init__(criteria=criteria, template=template, max_tokens=max_tokens)
        if order not in ("AB", "BA"):
            raise ValueError(f"order must be 'AB' or 'BA', got {order!r}")
        self.order = order
        self.allow_abstain = allow_abstain

    def labels(self) -> tuple[str, ...]:
        return ("A", "B")

    def params(self) -> dict[str, Any]:
        return {**super().params(), "allow_abstain": self.allow_abstain}

    def _schema(self) -> str:
        if self.allow_abstain:
            return SCHEMA
        obj = json.loads(SCHEMA)
        obj["properties"]["choice"]["enum"] = ["a", "b"]
        return json.dumps(obj, sort_keys=True)

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        first, second = (item["response_a"], item["response_b"]) if self.order == "AB" else (
            item["response_b"], item["response_a"])
        text = self.render(instruction=item["instruction"], first=first, second=second,
                           persona=item.get("persona"), allow_abstain=self.allow_abstain)
        return [(self.order, self.generate_request(text, self._schema()))]

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        obj = parse_json_object(result.text)
        if obj is None:
            return unparsed(result, "no JSON object")
        choice, cert = obj.get("choice"), obj.get("certainty")
        valid = ("a", "b", "abstain") if self.allow_abstain else ("a", "b")
        if choice not in valid or not isinstance(cert, int | float) or isinstance(cert, bool) or not 0 <= cert <= 100:
            return unparsed(result, "choice or certainty out of range")
        base = {"certainty": float(cert), "method": "generate", "order": variant}
        if choice == "abstain":
            return Verdict(label=None, status="ok", score=float(cert) / 100.0, raw=result.text,
                           extra={**base, "abstained": True},
                           prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)
        to_label = {"a": "A", "b": "B"} if variant == "AB" else {"a": "B", "b": "A"}
        return Verdict(label=to_label[str(choice)], score=float(cert) / 100.0, raw=result.text,
                       extra={**base, "abstained": False},
                       prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)
