"""The data that flows through jurybox: prompts, requests, backend results, tasks and verdicts."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from typing import Any, Literal

Status = Literal["ok", "unparsed", "error"]


class Record:
    """Base of the result dataclasses: :meth:`to_dict` is :func:`dataclasses.asdict` (plain
    values, nested records as dicts), ready for JSON."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]  # every Record is a dataclass


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True)
class Prompt:
    """A chat prompt. ``prefill`` starts the assistant's turn; the answer token comes right after it.

    Item-independent text (instructions, rubric, few-shot examples) comes first in the messages so
    that backends can reuse the evaluated prefix across items.
    """

    messages: tuple[Message, ...]
    prefill: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"messages": [{"role": m.role, "content": m.content} for m in self.messages], "prefill": self.prefill}


@dataclass(frozen=True)
class OptionsRequest:
    """Ask for the probability of each answer option as the next token(s) after the prompt."""

    prompt: Prompt
    options: tuple[str, ...]
    kind: Literal["options"] = "options"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "prompt": self.prompt.to_dict(), "options": list(self.options)}

    @cached_property
    def json(self) -> str:
        """Canonical JSON of the request (computed once: it goes into the task key and the store)."""
        return canonical_json(self.to_dict())


@dataclass(frozen=True)
class GenerateRequest:
    """Free-text generation, optionally constrained to JSON matching ``schema``."""

    prompt: Prompt
    schema: str | None = None  # JSON schema as canonical JSON text (hashable)
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int | None = 0
    kind: Literal["generate"] = "generate"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "prompt": self.prompt.to_dict(),
            "schema": self.schema,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
        }

    @cached_property
    def json(self) -> str:
        """Canonical JSON of the request (computed once: it goes into the task key and the store)."""
        return canonical_json(self.to_dict())


@dataclass(frozen=True)
class ContinuationRequest:
    """Ask for the log-likelihood of each continuation text right after the prompt (one forward
    pass of the prompt, reused for every continuation): what likelihood scoring of multiple-choice
    options needs (EleutherAI's lm-evaluation-harness ``loglikelihood`` requests).

    Each continuation is appended to the rendered prompt as text (the prefill included); its
    tokens are those of ``tokenize(context + continuation)`` after the context's own tokens, with
    trailing whitespace of the context moved into the continuation, as the harness encodes a
    context/continuation pair.
    """

    prompt: Prompt
    continuations: tuple[str, ...]
    kind: Literal["continuations"] = "continuations"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "prompt": self.prompt.to_dict(), "continuations": list(self.continuations)}

    @cached_property
    def json(self) -> str:
        """Canonical JSON of the request (computed once: it goes into the task key and the store)."""
        return canonical_json(self.to_dict())


@dataclass(frozen=True)
class InternalsRequest:
    """Ask for what a forward pass computes inside the model (a backend with ``internals``, such
    as ``transformers``): the rendered prompt once, then each of ``continuations`` after it (an
    answer; split from the prompt as :class:`ContinuationRequest` splits it) from the prompt's
    cached keys and values.

    ``marks`` are texts found in order in the rendered prompt (each after the previous one); a
    mark's position is the token holding its last character. ``hidden``: the hidden states of every
    layer (the embeddings, then each layer's output) at the prompt's last token (array
    ``hidden_prompt`` [layers + 1, 1, width]; with ``hidden_at_marks`` also at the marks: [layers +
    1, 1 + marks, width]) and at each continuation's last token
    (``hidden_end`` [layers + 1, continuations, width]); ``qk``: per layer and head, the attention
    logit ``<q of the prompt's last token, k at each mark> * scaling`` (``qk`` [layers, heads,
    marks]); ``options``: their next-token log-probabilities after the prompt (as
    :class:`OptionsRequest` reads them, unnormalised); continuations always give their per-token
    log-probabilities (``token_logprobs``, concatenated).
    """

    prompt: Prompt
    continuations: tuple[str, ...] = ()
    marks: tuple[str, ...] = ()
    hidden: bool = False
    qk: bool = False
    options: tuple[str, ...] = ()
    hidden_at_marks: bool = False
    kind: Literal["internals"] = "internals"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "prompt": self.prompt.to_dict(), "continuations": list(self.continuations),
                "marks": list(self.marks), "hidden": self.hidden, "qk": self.qk, "options": list(self.options),
                "hidden_at_marks": self.hidden_at_marks}

    @cached_property
    def json(self) -> str:
        """Canonical JSON of the request (computed once: it goes into the task key and the store)."""
        return canonical_json(self.to_dict())


Request = OptionsRequest | GenerateRequest | ContinuationRequest | InternalsRequest


@dataclass
class OptionScores:
    """Result of ``option_logprobs``.

    ``logprobs`` are normalised over the options (they exponentiate to probabilities summing to 1);
    ``raw_logprobs`` are the model's unnormalised log-probabilities of each option; ``mass`` is the
    total probability the model gave the options before normalisation (low mass means the model
    wanted to say something else). ``method`` says how the numbers were obtained.
    """

    logprobs: dict[str, float]
    raw_logprobs: dict[str, float]
    mass: float
    method: str = "logprobs"
    text: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class Generation:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"


@dataclass
class ContinuationScores:
    """Result of ``continuation_logprobs``: for each continuation, in request order, the summed
    log-probability of its tokens given the prompt (``loglikelihoods``, unnormalised natural
    logs), how many tokens it has (``token_counts``) and whether greedy decoding would produce it
    (``greedy``: every token the argmax). ``method`` says how they were obtained."""

    loglikelihoods: list[float]
    token_counts: list[int]
    greedy: list[bool]
    method: str = "loglikelihood"
    text: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class Internals:
    """Result of ``internals``: named numpy ``arrays`` (see :class:`InternalsRequest`), the token
    ``positions`` of the prompt's last token and of the marks, the prompt's token count, the
    options' raw next-token log-probabilities, and each continuation's summed log-probability and
    token count. The arrays go to the store's ``arrays`` table, the rest into the verdict."""

    arrays: dict[str, Any]
    positions: list[int]
    n_prompt_tokens: int
    option_logprobs: dict[str, float] = field(default_factory=dict)
    continuation_logprobs: list[float] = field(default_factory=list)
    continuation_tokens: list[int] = field(default_factory=list)
    method: str = "internals"
    text: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0


BackendResult = OptionScores | Generation | ContinuationScores | Internals


@dataclass
class Verdict:
    """A judge's answer to one task (or, combined, to one item).

    ``status`` is "ok" when the answer was read, "unparsed" when the model's answer could not be
    read (the label is then None: never a default label), "error" when the call failed.
    """

    label: str | None
    probs: dict[str, float] | None = None
    status: Status = "ok"
    raw: str = ""
    score: float | None = None  # expected score (score protocol) or probability of the positive label
    extra: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in _VERDICT_FIELDS}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Verdict:
        return cls(**d)


_VERDICT_FIELDS = tuple(f.name for f in fields(Verdict))


@dataclass(frozen=True)
class Task:
    """One model call: an item under one judge and one variant (such as the presentation order)."""

    key: str
    row: int
    judge_name: str  # the Judge's name (the store's `judge` column)
    variant: str
    request: Request


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def stable_hash(obj: Any) -> str:
    """sha256 of the canonical JSON of ``obj``: the same content always gives the same key."""
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()
