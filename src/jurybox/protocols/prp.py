"""Pairwise ranking prompting, PRP (Qin et al., arXiv 2306.17563, NAACL 2024 Findings; method card 3).

"Given a query q, which of the following two passages is more relevant to the query? Passage A:
d1 Passage B: d2 Output Passage A or Passage B:", read in scoring mode: one forward pass gives the
probability of " A" and " B" after the prefilled "Passage". Every pair is asked in both orders
(variants ``AB``: passage_a shown as Passage A; ``BA``: passage_a shown as Passage B), each its own
task. Combination (the ``combine`` parameter, applied after the calls, so it is not in any key):

* ``vote`` (default, the PRP rule): each order's more probable passage; when both orders pick the
  same passage it wins, when they disagree it is a tie (worth half a point to each in all-pairs).
  A position bias that does not flip an order's answer changes nothing; one that does gives a
  tie, never a win for the other passage.
* ``margin``: the mean over the two orders of passage_a's log-odds margin over passage_b; a
  constant first-position bias adds +b in one order and -b in the other and so cancels exactly.

``extra["consistent"]`` is True when the two orders chose the same passage (position consistency).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jurybox.protocols.pairwise import Pairwise
from jurybox.protocols.registry import register_protocol
from jurybox.types import BackendResult, OptionsRequest, Request, Verdict


@register_protocol
class PRP(Pairwise):
    """Which of ``passage_a`` and ``passage_b`` is more relevant to ``query`` (labels A, B, tie)."""

    name = "prp"
    required = ("query", "passage_a", "passage_b")
    prefill = "Passage"
    options = ("A", "B")

    def __init__(self, *, criteria: str | None = None, template: str = "default", orders: str = "both",
                 combine: str = "vote", tie_threshold: float = 0.0) -> None:
        super().__init__(criteria=criteria, template=template, orders=orders, combine=combine,
                         tie_threshold=tie_threshold)

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        out: list[tuple[str, Request]] = []
        for order in self.orders:
            a, b = item["passage_a"], item["passage_b"]
            first, second = (a, b) if order == "AB" else (b, a)
            text = self.render(query=item["query"], first=first, second=second)
            out.append((order, OptionsRequest(self.prompt(text), self.options)))
        return out

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        to_label = {"A": "A", "B": "B"} if variant == "AB" else {"A": "B", "B": "A"}
        v = self.option_verdict(result, self.options, to_label)
        lps = v.extra.get("logprobs")
        if lps:
            v.extra["margin"] = lps["A"] - lps["B"]  # passage_a's log-odds margin over passage_b in this order
        if v.label is not None:
            v.extra["first_position_won"] = (v.label == "A") == (variant == "AB")
        return v

    def combine(self, item: Mapping[str, Any], verdicts: Mapping[str, Verdict]) -> Verdict:
        out = super().combine(item, verdicts)
        labels = [v.label for v in verdicts.values()]
        if len(labels) == 2 and None not in labels:
            out.extra["consistent"] = labels[0] == labels[1]
        return out
