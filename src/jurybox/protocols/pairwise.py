"""Pairwise comparison: which of two responses is better, asked in both orders and combined.

Each order is one task. In order ``AB`` response A is shown as "Output (a)"; in ``BA`` it is shown
as "Output (b)". The per-order verdicts are kept; the item verdict combines them.

Combination by log-odds margins (default, ``combine="margin"``): in each order take response A's
log-odds margin over B, logit(A) - logit(B) = log p(A) - log p(B) (the normalised option
log-probabilities of the positions holding A and B). A constant first-position bias adds +b to the
margin in one order and -b in the other, so the *mean* of the two margins cancels it. The item's
probability that A is better is sigmoid(mean margin); a tie is called when |mean margin| is below
``tie_threshold`` (0 by default: no ties). The PRP vote rule (``combine="vote"``) takes each
order's hard choice: agreement gives that response, disagreement a tie (Qin et al., 2024).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from jurybox.errors import InputError
from jurybox.protocols.base import JudgeProtocol
from jurybox.types import BackendResult, OptionsRequest, Request, Status, Verdict

ORDERS = ("AB", "BA")


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


class Pairwise(JudgeProtocol):
    name = "pairwise"
    required = ("instruction", "response_a", "response_b")
    prefill = "Output ("
    options = ("a", "b")

    def __init__(
        self,
        *,
        criteria: str | None = None,
        template: str = "default",
        orders: str = "both",
        combine: str = "margin",
        tie_threshold: float = 0.0,
    ) -> None:
        super().__init__(criteria=criteria, template=template)
        if orders not in ("both", "AB", "BA"):
            raise ValueError(f"orders must be 'both', 'AB' or 'BA', got {orders!r}")
        if combine not in ("margin", "vote"):
            raise ValueError(f"combine must be 'margin' or 'vote', got {combine!r}")
        if tie_threshold < 0:
            raise ValueError("tie_threshold must be >= 0")
        self.orders = ORDERS if orders == "both" else (orders,)
        self.combine_rule = combine
        self.tie_threshold = tie_threshold

    def labels(self) -> tuple[str, ...]:
        return ("A", "B", "tie")

    def params(self) -> dict[str, Any]:
        # The combination rule is applied after the model calls; it is not part of any task key.
        return super().params()

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        out: list[tuple[str, Request]] = []
        for order in self.orders:
            first, second = (item["response_a"], item["response_b"]) if order == "AB" else (
                item["response_b"], item["response_a"])
            text = self.render(instruction=item["instruction"], first=first, second=second)
            out.append((order, OptionsRequest(self.prompt(text), self.options)))
        return out

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        to_label = {"a": "A", "b": "B"} if variant == "AB" else {"a": "B", "b": "A"}
        v = self.option_verdict(result, self.options, to_label)
        lps = v.extra.get("logprobs")
        if lps:
            v.extra["margin"] = lps["A"] - lps["B"]  # response A's log-odds margin over B in this order
        if v.label is not None:
            v.extra["first_position_won"] = (v.label == "A") == (variant == "AB")
        return v

    def combine(self, item: Mapping[str, Any], verdicts: Mapping[str, Verdict]) -> Verdict:
        per_order = {k: verdicts[k].to_dict() for k in verdicts}
        tokens_in = sum(v.prompt_tokens for v in verdicts.values())
        tokens_out = sum(v.completion_tokens for v in verdicts.values())
        latency = sum(v.latency_s for v in verdicts.values())
        bad = [v for v in verdicts.values() if v.status != "ok"]
        if bad:
            status: Status = "error" if any(v.status == "error" for v in bad) else "unparsed"
            return Verdict(label=None, status=status, raw=" | ".join(v.raw for v in verdicts.values()),
                           error="; ".join(v.error for v in bad if v.error) or None,
                           extra={"orders": per_order}, latency_s=latency,
                           prompt_tokens=tokens_in, completion_tokens=tokens_out)
        if len(verdicts) == 1:
            (v,) = verdicts.values()
            out = Verdict(label=v.label, probs=v.probs, raw=v.raw, extra={"orders": per_order})
            if "margin" in v.extra:
                out.extra["margin"] = v.extra["margin"]
        elif self.combine_rule == "margin" and all("margin" in v.extra for v in verdicts.values()):
            margin = sum(v.extra["margin"] for v in verdicts.values()) / len(verdicts)
            p_a = _sigmoid(margin)
            label = "tie" if abs(margin) < self.tie_threshold or margin == 0 else ("A" if margin > 0 else "B")
            out = Verdict(label=label, probs={"A": p_a, "B": 1.0 - p_a}, extra={"margin": margin, "orders": per_order})
        else:  # PRP vote rule (also the fallback when the backend gave no log-probabilities)
            votes = {v.label for v in verdicts.values()}
            vote = votes.pop() if len(votes) == 1 else "tie"
            label = vote if vote is not None else "tie"
            out = Verdict(label=label, extra={"orders": per_order, "rule": "vote"})
        out.raw = " | ".join(f"{k}:{v.raw}" for k, v in verdicts.items())
        out.latency_s, out.prompt_tokens, out.completion_tokens = latency, tokens_in, tokens_out
        if out.probs:
            out.score = out.probs["A"]
        return out

    def normalise_label(self, value: Any, *, file: str | None, row: int, field: str) -> str:
        t = str(value).strip().lower()
        table = {"a": "A", "1": "A", "response_a": "A", "b": "B", "2": "B", "response_b": "B", "tie": "tie",
                 "0": "tie"}
        if t in table:
            return table[t]
        raise InputError(f"preference {value!r} is not A/B/tie (or 1/2)", file=file, row=row, field=field)
