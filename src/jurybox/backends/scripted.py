"""A scripted backend for fast engine tests: answers come from a Python function, not a model.

Like httpx's MockTransport: it exercises everything around the model (prompts, keys, the store,
combination, output) in milliseconds. End-to-end tests use the real embedded models instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from jurybox.backends.base import execute, normalise
from jurybox.errors import BackendCallError, JuryboxError
from jurybox.types import (
    BackendResult,
    ContinuationRequest,
    ContinuationScores,
    GenerateRequest,
    Generation,
    OptionScores,
    OptionsRequest,
    Prompt,
    Request,
)


def prompt_text(prompt: Prompt) -> str:
    return "\n\n".join(m.content for m in prompt.messages) + "\n" + prompt.prefill


class ScriptedBackend:
    """``options(text, options) -> {option: probability}``; ``generate(text) -> str``.

    ``continuations(text, continuations) -> [(loglikelihood, n_tokens), ...]`` answers
    continuation requests (default: minus the number of characters, one token per word).
    ``fail(text) -> str | None`` makes a call fail with that message (a BackendCallError).
    ``concurrency`` > 1 makes the engine stream tasks to it as to a server (``aexecute`` answers
    in the event loop). ``get_backend("scripted")`` or ``"scripted:IDENTITY"`` gives one with the
    default answers (uniform option probabilities, empty generations).
    """

    name = "scripted"
    concurrency = 1

    def __init__(
        self,
        options: Callable[[str, tuple[str, ...]], Mapping[str, float]] | None = None,
        generate: Callable[[str], str] | None = None,
        *,
        fail: Callable[[str], str | None] | None = None,
        continuations: Callable[[str, tuple[str, ...]], Sequence[tuple[float, int]]] | None = None,
        identity: str = "scripted-v1",
        concurrency: int | None = None,
    ) -> None:
        if concurrency is not None:  # else the class's (a subclass may set its own)
            if concurrency < 1:
                raise JuryboxError(f"concurrency must be >= 1, got {concurrency}")
            self.concurrency = int(concurrency)
        self._options = options or (lambda text, opts: {o: 1.0 / len(opts) for o in opts})
        self._generate = generate or (lambda text: "")
        self._fail = fail
        self._continuations = continuations or (
            lambda text, conts: [(-float(len(c)), max(1, len(c.split()))) for c in conts])
        self.identity = identity
        self.calls = 0
        self.seen: list[str] = []

    @property
    def label(self) -> str:
        return f"scripted:{self.identity}"

    def fingerprint(self) -> str:
        return f"scripted:{self.identity}"

    def _check(self, text: str) -> None:
        self.calls += 1
        self.seen.append(text)
        if self._fail is not None:
            msg = self._fail(text)
            if msg:
                raise BackendCallError(msg)

    def option_logprobs(self, request: OptionsRequest) -> OptionScores:
        text = prompt_text(request.prompt)
        self._check(text)
        probs = self._options(text, request.options)
        raw = {o: (math.log(probs[o]) if probs.get(o, 0.0) > 0 else float("-inf")) for o in request.options}
        norm, mass = normalise(raw)
        top = max(norm, key=lambda k: norm[k])
        return OptionScores(norm, raw, mass, "scripted", top, prompt_tokens=len(text.split()))

    def continuation_logprobs(self, request: ContinuationRequest) -> ContinuationScores:
        text = prompt_text(request.prompt)
        self._check(text)
        scored = list(self._continuations(text, request.continuations))
        if len(scored) != len(request.continuations):
            raise JuryboxError(f"the scripted continuations function returned {len(scored)} scores for "
                               f"{len(request.continuations)} continuations")
        lls = [float(ll) for ll, _ in scored]
        best = max(range(len(lls)), key=lambda i: lls[i])
        return ContinuationScores(lls, [int(n) for _, n in scored], [i == best for i in range(len(lls))],
                                  "scripted", request.continuations[best], prompt_tokens=len(text.split()))

    def generate(self, request: GenerateRequest) -> Generation:
        text = prompt_text(request.prompt)
        self._check(text)
        out = self._generate(text)
        return Generation(out, prompt_tokens=len(text.split()), completion_tokens=len(out.split()))

    async def aexecute(self, request: Request) -> BackendResult:
        return execute(self, request)

    async def aclose(self) -> None:
        pass

    def close(self) -> None:
        pass
