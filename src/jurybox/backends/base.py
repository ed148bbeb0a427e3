"""The backend interface.

A backend answers two kinds of request (see :mod:`jurybox.types`):

* ``option_logprobs(OptionsRequest) -> OptionScores``: one forward pass (no sampling) giving the
  log-probability of each answer option as the continuation of the prompt, normalised over the
  options;
* ``generate(GenerateRequest) -> Generation``: free text, or JSON constrained by a schema;
* optionally ``continuation_logprobs(ContinuationRequest) -> ContinuationScores``: the summed
  log-likelihood of each continuation text after the prompt (likelihood scoring of multiple-choice
  options). A backend without it refuses such a request with a one-line
  :class:`~jurybox.errors.BackendConfigError` (:func:`supports_continuations`).

``fingerprint`` identifies everything about the model that can change an answer (for a local
GGUF file its sha256; for a server its URL and model name) and is part of every task key.

A backend that talks to a server is an :class:`AsyncBackend`: it also has ``aexecute`` (a
coroutine answering either kind of request), ``aclose`` (closes the HTTP session of the running
event loop) and ``concurrency`` (how many calls it takes at once). With ``concurrency`` > 1 the
engine streams tasks to it that many at a time (:func:`is_concurrent`).

Every model call the engine or an executor makes goes through :func:`call` or :func:`acall`: they
time the call and turn its result, a :class:`~jurybox.errors.BackendCallError` (recorded as a
failure, retried next run) or a :class:`~jurybox.errors.PromptTooLong` (stops the run) into an
:class:`Outcome`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeGuard, runtime_checkable

from jurybox.errors import BackendCallError, BackendConfigError, ModelError, PromptTooLong
from jurybox.types import (
    BackendResult,
    ContinuationRequest,
    ContinuationScores,
    GenerateRequest,
    Generation,
    Internals,
    InternalsRequest,
    OptionScores,
    OptionsRequest,
    Request,
)


@runtime_checkable
class Backend(Protocol):
    name: str

    def fingerprint(self) -> str: ...

    def option_logprobs(self, request: OptionsRequest) -> OptionScores: ...

    def generate(self, request: GenerateRequest) -> Generation: ...

    def close(self) -> None: ...


@runtime_checkable
class AsyncBackend(Backend, Protocol):
    """A backend that answers concurrently (a server): ``concurrency`` calls of ``aexecute`` at once."""

    concurrency: int

    async def aexecute(self, request: Request) -> BackendResult: ...

    async def aclose(self) -> None: ...


def concurrency(backend: Backend) -> int:
    """How many calls ``backend`` takes at once (1 unless it is an :class:`AsyncBackend`)."""
    return max(1, int(backend.concurrency)) if isinstance(backend, AsyncBackend) else 1


def is_concurrent(backend: Backend) -> TypeGuard[AsyncBackend]:
    """Whether calls to ``backend`` should run concurrently (an async backend with concurrency > 1)."""
    return isinstance(backend, AsyncBackend) and concurrency(backend) > 1


def backend_label(backend: Backend) -> str:
    """A short readable name for a backend in judge names and reports: its ``label`` (the model name,
    such as ``qwen2.5-coder-1.5b`` or ``openai:gpt-4o-mini``) or the start of its fingerprint."""
    label = getattr(backend, "label", None)
    return str(label) if label else backend.fingerprint()[:24]


def supports_continuations(backend: Backend) -> bool:
    """Whether ``backend`` can score continuations (has ``continuation_logprobs``)."""
    return callable(getattr(backend, "continuation_logprobs", None))


def continuation_logprobs(backend: Backend, request: ContinuationRequest) -> ContinuationScores:
    """``backend.continuation_logprobs(request)``, or a one-line error for a backend without it."""
    fn = getattr(backend, "continuation_logprobs", None)
    if not callable(fn):
        raise BackendConfigError(
            f"backend {backend_label(backend)} cannot score continuations (likelihood scoring needs the "
            "log-probabilities of prompt tokens: use the embedded backend or an OpenAI-compatible server with "
            "/v1/completions echo and logprobs, such as llama-cpp-python's server)")
    result: ContinuationScores = fn(request)
    return result


def internals(backend: Backend, request: InternalsRequest) -> Internals:
    """``backend.internals(request)``, or a one-line error for a backend without it."""
    fn = getattr(backend, "internals", None)
    if not callable(fn):
        raise BackendConfigError(
            f"backend {backend_label(backend)} cannot show model internals (hidden states, attention queries and "
            "keys): use the transformers backend (--model transformers:MODEL; pip install 'jurybox[internals]')")
    result: Internals = fn(request)
    return result


def execute(backend: Backend, request: Request) -> BackendResult:
    """Dispatch a request to the matching backend primitive."""
    if isinstance(request, OptionsRequest):
        return backend.option_logprobs(request)
    if isinstance(request, ContinuationRequest):
        return continuation_logprobs(backend, request)
    if isinstance(request, InternalsRequest):
        return internals(backend, request)
    return backend.generate(request)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One timed model call: its ``result``, or the ``error`` of a failed call (a
    :class:`BackendCallError` message), or ``too_long``, the message of a prompt that does not fit
    the context window. Plain data, so it travels between processes (Ray)."""

    result: BackendResult | None
    latency_s: float
    error: str | None = None
    too_long: str | None = None


def call(backend: Backend, request: Request) -> Outcome:
    """Call ``backend`` for ``request`` and time it."""
    s = time.perf_counter()
    try:
        result = execute(backend, request)
    except BackendCallError as exc:
        return Outcome(None, time.perf_counter() - s, error=str(exc))
    except PromptTooLong as exc:
        return Outcome(None, time.perf_counter() - s, too_long=str(exc))
    return Outcome(result, time.perf_counter() - s)


async def acall(backend: AsyncBackend, request: Request) -> Outcome:
    """:func:`call` for an async backend, in the running event loop."""
    s = time.perf_counter()
    try:
        result = await backend.aexecute(request)
    except BackendCallError as exc:
        return Outcome(None, time.perf_counter() - s, error=str(exc))
    except PromptTooLong as exc:
        return Outcome(None, time.perf_counter() - s, too_long=str(exc))
    return Outcome(result, time.perf_counter() - s)


def option_token_variants(option: str, tokenize: Callable[[str], Sequence[int]]) -> list[list[int]]:
    """The token sequences an answer option can come as: ``option`` and `` option`` (a leading space
    tokenises differently), each once; a one-line error when the option tokenises to nothing."""
    seqs: list[list[int]] = []
    for text in (option, " " + option):
        toks = list(tokenize(text))
        if toks and toks not in seqs:
            seqs.append(toks)
    if not seqs:
        raise ModelError(f"answer option {option!r} tokenises to nothing")
    return seqs


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
