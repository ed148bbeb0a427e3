"""Implicit-reward preference labels on pairwise items (Selfie / SPA, method card 20) through the
engine and store.

For an item (``instruction``, ``response_a``, ``response_b``) each model scores both responses as
continuations of the instruction: one :class:`~jurybox.types.ContinuationRequest` per item and
model (any backend with ``continuation_logprobs``: embedded llama.cpp, transformers, a server with
echoed logprobs). The policy reads the instruction through its chat template (the user turn, the
assistant's turn open); a model in plain mode reads ``instruction + "\\nResponse:"``. Either way the
scored text is a newline and the response, so every model scores the same characters.

Pairs of the local models that make sense (the tokenisers may differ: the log-probability of
the same text is compared, not of the same tokens):

* ``qwen2.5-coder-1.5b`` chat (policy) against itself in plain mode (reference): no SFT base ships,
  and the instruction-tuned model with and without its template is the nearest pair to DPO's
  policy/reference (what the template's turn adds to the response's probability);
* ``qwen2.5-coder-1.5b`` chat against ``gemma-3-270m`` (a base model, plain): a generic language
  model as the reference, which divides out how probable the text is as text (length, fluency);
* the policy alone (no reference): the plain likelihood preference, the baseline the ratio must beat.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jurybox.backends.base import Backend
from jurybox.engine import RunStats
from jurybox.errors import InputError
from jurybox.internals.reward import Preferences, preferences
from jurybox.internals.runner import run_continuations
from jurybox.jury.preferences import PreferencePairs, preference_pairs, write_preference_pairs
from jurybox.store import Store
from jurybox.types import ContinuationRequest, Message, Prompt

__all__ = ["PairLogprobs", "pair_logprobs", "spa_pairs", "spa_preferences", "spa_request"]

PLAIN_PREFILL = "Response:\n"
FIELDS = ("instruction", "response_a", "response_b")


def spa_request(item: Mapping[str, Any], chat: bool) -> ContinuationRequest:
    """The request that scores an item's two responses (see the module docstring)."""
    prompt = Prompt((Message("user", str(item["instruction"])),), prefill="" if chat else PLAIN_PREFILL)
    return ContinuationRequest(prompt, (str(item["response_a"]), str(item["response_b"])))


def _check(items: Sequence[Mapping[str, Any]]) -> None:
    for i, it in enumerate(items):
        for f in FIELDS:
            v = it.get(f)
            if not isinstance(v, str) or not v.strip():
                raise InputError("missing or empty text", row=i + 1, field=f)


@dataclass
class PairLogprobs:
    """Summed log-probabilities of responses A and B and their token counts, per item, under one model."""

    a: np.ndarray
    b: np.ndarray
    tokens_a: np.ndarray
    tokens_b: np.ndarray


def pair_logprobs(items: Sequence[Mapping[str, Any]], backend: Backend, store: Store, *,
                  progress: bool = False) -> tuple[PairLogprobs, RunStats]:
    """Each item's two responses scored under ``backend`` (its chat mode decides the prompt);
    stored tasks are not asked again."""
    _check(items)
    chat = bool(getattr(backend, "chat", True))
    reqs = [spa_request(it, chat) for it in items]
    out, stats = run_continuations(backend, store, reqs, purpose="spa", progress=progress)
    lls = np.array([o[0] for o in out], dtype=np.float64).reshape(-1, 2)
    toks = np.array([o[1] for o in out], dtype=np.int64).reshape(-1, 2)
    return PairLogprobs(lls[:, 0], lls[:, 1], toks[:, 0], toks[:, 1]), stats


def spa_preferences(policy: PairLogprobs, reference: PairLogprobs | None, *, beta: float = 0.1) -> Preferences:
    """P(A > B) from the implicit reward of the policy against the reference (pure)."""
    if reference is None:
        return preferences(policy.a, policy.b, beta=beta)
    return preferences(policy.a, policy.b, reference.a, reference.b, beta=beta)


def spa_pairs(items: Sequence[Mapping[str, Any]], prefs: Preferences, path: str | os.PathLike[str] | None = None, *,
              min_confidence: float = 0.0) -> PreferencePairs:
    """DPO pairs (prompt, chosen, rejected, confidence) from the preferences, through jurybox's
    preference-pair writer (written atomically to ``path`` when given); exact ties are skipped."""
    pairs = preference_pairs(items, list(prefs.winner), prefs.confidence, min_confidence=min_confidence)
    if path is not None:
        write_preference_pairs(pairs, Path(path))
    return pairs
