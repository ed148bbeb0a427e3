"""Debate protocols (Fellowship of the LLMs: judge vs jury vs debate).

* ``debate-turn``: one advocate's turn. The advocate sees the instruction, the response it
  defends ("my response"), the other one, and the debate so far, and writes an argument (free
  text, ``GenerateRequest``; each turn one task). Responses are never called by letter, so the
  same transcript can be shown to the judge in either presentation order.
* ``debate-pairwise``: the pairwise judge (:class:`~jurybox.protocols.pairwise.Pairwise`: both
  orders, the same combination rules) reading the transcript after the two outputs; in each order
  every argument is labelled with the output letter its response has in that order.

The rounds are run by :func:`jurybox.jury.debate.run_debate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jurybox.protocols.base import JudgeProtocol
from jurybox.protocols.pairwise import Pairwise
from jurybox.protocols.registry import register_protocol
from jurybox.types import BackendResult, GenerateRequest, Message, OptionsRequest, Prompt, Request, Verdict

__all__ = ["DebateJudge", "DebateTurn"]


@register_protocol
class DebateTurn(JudgeProtocol):
    """One advocate's argument (module docstring). Fields: ``instruction``, ``mine``, ``other``,
    optional ``history`` (a list of ``{"speaker", "round", "text"}``)."""

    name = "debate-turn"
    required = ("instruction", "mine", "other")
    optional = ("history",)
    prefill = ""

    def __init__(self, *, criteria: str | None = None, template: str = "default", max_tokens: int = 96,
                 temperature: float = 0.0) -> None:
        super().__init__(criteria=criteria, template=template)
        if max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        self.max_tokens = int(max_tokens)
        self.temperature = float(temperature)

    def labels(self) -> tuple[str, ...]:
        return ("argument",)

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        text = self.render(instruction=item["instruction"], mine=item["mine"], other=item["other"],
                           history=item.get("history") or [])
        prompt = Prompt(messages=(Message("user", text),))
        return [("", GenerateRequest(prompt, max_tokens=self.max_tokens, temperature=self.temperature))]

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        text = result.text.strip()
        if not text:  # an empty argument is recorded as such, not replaced by anything
            return Verdict(label=None, status="unparsed", raw=result.text, prompt_tokens=result.prompt_tokens,
                           completion_tokens=result.completion_tokens)
        return Verdict(label="argument", raw=text, prompt_tokens=result.prompt_tokens,
                       completion_tokens=result.completion_tokens)


@register_protocol
class DebateJudge(Pairwise):
    """The pairwise judge reading a debate transcript. Fields: ``instruction``, ``response_a``,
    ``response_b``, ``debate`` (a list of ``{"for": "A"|"B", "round": r, "text"}``)."""

    name = "debate-pairwise"
    required = ("instruction", "response_a", "response_b", "debate")  # type: ignore[assignment]

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        out: list[tuple[str, Request]] = []
        turns = list(item["debate"])
        for order in self.orders:
            first, second = (item["response_a"], item["response_b"]) if order == "AB" else (
                item["response_b"], item["response_a"])
            letter = {"A": "a", "B": "b"} if order == "AB" else {"A": "b", "B": "a"}
            shown = sorted(({"side": letter[t["for"]], "round": t["round"], "text": t["text"]} for t in turns),
                           key=lambda t: (t["round"], t["side"]))
            text = self.render(instruction=item["instruction"], first=first, second=second, debate=shown)
            out.append((order, OptionsRequest(self.prompt(text), self.options)))
        return out
