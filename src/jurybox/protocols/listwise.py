"""Listwise ranking (MLLM-as-a-Judge batch ranking, Chen et al., arXiv 2402.04788; method card 14).

The judge sees an instruction and n responses (numbered 1..n) and orders them best first, as
schema-constrained JSON ``{"ranking": [3, 1, 2]}``. The answer is read only when it is a permutation
of 1..n; anything else (repeats, missing numbers) is unparsed. The verdict's label is the order
written "3>1>2"; ``extra["ranking"]`` holds the 0-based indices, best first. Compare with a human order
by :func:`jurybox.jury.listwise.ranking_distance` (normalised Levenshtein).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from jurybox.errors import InputError
from jurybox.protocols._json import GeneratingProtocol, parse_json_object, unparsed
from jurybox.protocols.registry import register_protocol
from jurybox.types import BackendResult, GenerateRequest, Request, Status, Verdict


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


_ARROWS = re.compile(r"^\s*\[\s*\d+\s*\](\s*>\s*\[\s*\d+\s*\])*\s*$")


def parse_permutation(text: str, n: int) -> tuple[list[int] | None, str]:
    """The 1-based permutation of 1..n in an answer, strictly: ``{"ranking": [...]}`` (the schema's
    form) or RankGPT's ``[2] > [1] > [3]``. Anything else (a repeat, a number missing or out of
    range, extra text in the arrow form) gives ``(None, why)``: never a repaired guess."""
    obj = parse_json_object(text)
    if obj is not None:
        r = obj.get("ranking")
        if not isinstance(r, list) or any(not isinstance(x, int) or isinstance(x, bool) for x in r):
            return None, "no integer list under 'ranking'"
    elif _ARROWS.match(text):
        r = [int(x) for x in re.findall(r"\d+", text)]
    else:
        return None, "neither {\"ranking\": [...]} nor [i] > [j] > ..."
    if sorted(r) != list(range(1, n + 1)):
        seen = set(r)
        missing = [i for i in range(1, n + 1) if i not in seen]
        repeated = sorted({x for x in r if r.count(x) > 1})
        return None, (f"not a permutation of 1..{n}" + (f"; missing {missing}" if missing else "")
                      + (f"; repeated {repeated}" if repeated else ""))
    return r, ""


@register_protocol
class PassageListwise(GeneratingProtocol):
    """Listwise reranking of passages for a query (RankGPT, Sun et al., EMNLP 2023): the judge sees
    ``query`` and ``passages`` numbered [1]..[n] and generates their order, most relevant first.

    The answer is read only when it is a full permutation (:func:`parse_permutation`); otherwise
    the verdict is unparsed with the reason in ``extra["why"]``, and the ranking layer keeps the
    window in its input order. ``orders="both"`` also shows the window reversed (a second call):
    ``extra["consistent"]`` then says whether both presentations put the same passage first, and
    the order is by mean position over the orders that were read (ties: the forward order's).
    ``extra["ranking"]`` is the 0-based indices into ``passages``, best first."""

    name = "listwise-passages"
    required = ("query", "passages")
    default_max_tokens = 0  # 0: 4 tokens per passage + 16, enough for the JSON answer

    def __init__(self, *, criteria: str | None = None, template: str = "default", max_tokens: int | None = None,
                 orders: str = "forward") -> None:
        super().__init__(criteria=criteria, template=template, max_tokens=max_tokens)
        if orders not in ("forward", "both"):
            raise ValueError(f"orders must be 'forward' or 'both', got {orders!r}")
        self.orders = ("fwd",) if orders == "forward" else ("fwd", "rev")

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        passages = list(item["passages"])
        n = len(passages)
        if n < 2:
            raise InputError(f"listwise ranking needs at least 2 passages, got {n}", field="passages")
        out: list[tuple[str, Request]] = []
        for order in self.orders:
            shown = passages if order == "fwd" else passages[::-1]
            text = self.render(query=item["query"], passages=shown)
            req = self.generate_request(text, ranking_schema(n))
            if not self.max_tokens:
                req = GenerateRequest(req.prompt, schema=req.schema, max_tokens=4 * n + 16)
            out.append((f"{order}:{n}", req))
        return out

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        order, _, size = variant.partition(":")
        n = int(size)
        r, why = parse_permutation(result.text, n)
        if r is None:
            return unparsed(result, why)
        ranking = [x - 1 for x in r] if order == "fwd" else [n - x for x in r]
        return Verdict(label=">".join(str(i + 1) for i in ranking), raw=result.text,
                       extra={"ranking": ranking, "method": "generate"},
                       prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)

    def combine(self, item: Mapping[str, Any], verdicts: Mapping[str, Verdict]) -> Verdict:
        if len(verdicts) == 1:
            (v,) = verdicts.values()
            return v
        read = {k: v for k, v in verdicts.items() if v.status == "ok"}
        tokens_in = sum(v.prompt_tokens for v in verdicts.values())
        tokens_out = sum(v.completion_tokens for v in verdicts.values())
        raw = " | ".join(f"{k}:{v.raw}" for k, v in verdicts.items())
        per = {k: v.to_dict() for k, v in verdicts.items()}
        if not read:
            status: Status = "error" if any(v.status == "error" for v in verdicts.values()) else "unparsed"
            return Verdict(label=None, status=status, raw=raw, extra={"orders": per},
                           prompt_tokens=tokens_in, completion_tokens=tokens_out)
        rankings = [v.extra["ranking"] for v in read.values()]
        n = len(rankings[0])
        pos = [{d: p for p, d in enumerate(r)} for r in rankings]
        first = pos[0]
        ranking = sorted(range(n), key=lambda d: (sum(p[d] for p in pos) / len(pos), first[d]))
        extra: dict[str, Any] = {"ranking": ranking, "orders": per, "n_read": len(read)}
        extra["consistent"] = len(read) == len(verdicts) and len({r[0] for r in rankings}) == 1
        return Verdict(label=">".join(str(i + 1) for i in ranking), raw=raw, extra=extra,
                       prompt_tokens=tokens_in, completion_tokens=tokens_out)
