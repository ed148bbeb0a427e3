"""Reading schema-constrained JSON answers (shared by the generating protocols)."""

from __future__ import annotations

import json
from typing import Any

from jurybox.types import BackendResult, Verdict


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
