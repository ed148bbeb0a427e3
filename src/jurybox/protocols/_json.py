"""Generating protocols: a shared base, and reading schema-constrained JSON answers."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from jurybox.protocols.base import JudgeProtocol
from jurybox.types import BackendResult, GenerateRequest, Message, Prompt, Verdict


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The JSON object in ``text`` (the first '{' to the last '}'), or None when there is none."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        obj = json.loads(text[start:end + 1])
    except json.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def unparsed(result: BackendResult, why: str) -> Verdict:
    """A verdict recording that the answer could not be read (label None, never a default)."""
    return Verdict(label=None, status="unparsed", raw=result.text, extra={"method": "generate", "why": why},
                   prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)


class GeneratingProtocol(JudgeProtocol):
    """Base for protocols whose answer is generated text (often JSON under a schema), not option scores."""

    prefill = ""
    default_max_tokens: ClassVar[int] = 256

    def __init__(self, *, criteria: str | None = None, template: str = "default", max_tokens: int | None = None) -> None:
        super().__init__(criteria=criteria, template=template)
        self.max_tokens = max_tokens or self.default_max_tokens

    def labels(self) -> tuple[str, ...]:
        return ()

    def generate_request(self, text: str, schema: str | None = None) -> GenerateRequest:
        """A greedy generation request for the rendered prompt ``text`` (the user turn only)."""
        return GenerateRequest(Prompt(messages=(Message("user", text),)), schema=schema, max_tokens=self.max_tokens)
