"""The backend interface.

A backend answers two kinds of request (see :mod:`jurybox.types`):

* ``option_logprobs(OptionsRequest) -> OptionScores``: one forward pass (no sampling) giving the
  log-probability of each answer option as the continuation of the prompt, normalised over the
  options;
* ``generate(GenerateRequest) -> Generation``: free text, or JSON constrained by a schema.

``fingerprint`` identifies everything about the model that can change an answer (for a local
GGUF file its sha256; for a server its URL and model name) and is part of every task key.

Backends that talk to servers may also implement the ``async`` variants ``aexecute`` and set
``concurrency`` > 1; the engine then runs tasks concurrently.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from jurybox.types import BackendResult, GenerateRequest, Generation, OptionScores, OptionsRequest, Request


@runtime_checkable
class Backend(Protocol):
    name: str

    def fingerprint(self) -> str: ...

    def option_logprobs(self, request: OptionsRequest) -> OptionScores: ...

    def generate(self, request: GenerateRequest) -> Generation: ...

    def close(self) -> None: ...


def backend_label(backend: Backend) -> str:
    """A short readable name for a backend in judge names and reports: its ``label`` (the model name,
    such as ``qwen2.5-coder-1.5b`` or ``openai:gpt-4o-mini``) or the start of its fingerprint."""
    label = getattr(backend, "label", None)
    return str(label) if label else backend.fingerprint()[:24]


def execute(backend: Backend, request: Request) -> BackendResult:
    """Dispatch a request to the matching backend primitive."""
    if isinstance(request, OptionsRequest):
        return backend.option_logprobs(request)
    return backend.generate(request)


def normalise(raw: dict[str, float]) -> tuple[dict[str, float], float]:
    """Normalise option log-probabilities over the options; return (normalised, total mass)."""
    import math

    finite = [v for v in raw.values() if v != float("-inf")]
    if not finite:
        n = len(raw)
        return {k: -math.log(n) for k in raw}, 0.0
    m = max(finite)
    total = sum(math.exp(v - m) for v in finite)
    log_z = m + math.log(total)
    return {k: (v - log_z if v != float("-inf") else float("-inf")) for k, v in raw.items()}, math.exp(log_z)
