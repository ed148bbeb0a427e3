"""Listwise ranking (MLLM-as-a-Judge batch ranking, Chen et al., arXiv 2402.04788; method card 14).

The judge sees an instruction and n responses (numbered 1..n) and orders them best first, as
schema-constrained JSON ``{"ranking": [3, 1, 2]}``. The answer is read only when it is a permutation
of 1..n; anything else (repeats, missing numbers) is unparsed. The verdict's label is the order
written "3>1>2"; ``extra["ranking"]`` holds the 0-based indices, best first. Compare with a human order
by :func:`jurybox.jury.listwise.ranking_distance` (normalised Levenshtein).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jurybox.errors import InputError
from jurybox.protocols._json import GeneratingProtocol, parse_json_object, unparsed
from jurybox.protocols.registry import register_protocol
from jurybox.types import BackendResult, Request, Verdict


def ranking_schema(n: int) -> str:
    return json.dumps({
        "type": "object",
        "properties": {"ranking": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": n},
                                   "minItems": n, "maxItems": n}},
        "required": ["ranking"],
    }, sort_keys=True)


@register_protocol
class Listwise(GeneratingProtocol):
    name = "listwise"
    required = ("instruction", "responses")
    default_max_tokens = 64

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        responses = list(item["responses"])
        if len(responses) < 2:
            raise InputError(f"listwise ranking needs at least 2 responses, got {len(responses)}", field="responses")
        text = self.render(instruction=item["instruction"], responses=responses)
        return [(str(len(responses)), self.generate_request(text, ranking_schema(len(responses))))]

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        n = int(variant)
        obj = parse_json_object(result.text)
        r = obj.get("ranking") if obj else None
        if not isinstance(r, list) or sorted(x for x in r if isinstance(x, int)) != list(range(1, n + 1)):
            return unparsed(result, f"not a permutation of 1..{n}")
        return Verdict(label=">".join(str(x) for x in r), raw=result.text,
                       extra={"ranking": [x - 1 for x in r], "method": "generate"},
                       prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)
