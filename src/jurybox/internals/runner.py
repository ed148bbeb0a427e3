"""Model internals through the engine and the store.

Each :class:`~jurybox.types.InternalsRequest` is a task like any verdict: its key hashes the
backend's fingerprint (weights, dtype, template mode), the purpose and the request, so a rerun
finds it in the store and makes no model call. The result's arrays (hidden states, QK-scores,
per-token log-probabilities) are written to the store's ``arrays`` table as one ``.npz`` blob under
the task key, before the verdict; the verdict keeps the rest (positions, token counts, the
options' log-probabilities, the continuation's log-probability) in ``extra``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jurybox.backends.base import Backend, backend_label
from jurybox.engine import RunStats, run_tasks, task_key
from jurybox.errors import StoreError
from jurybox.store import Store
from jurybox.types import (
    BackendResult,
    ContinuationRequest,
    ContinuationScores,
    Internals,
    InternalsRequest,
    Request,
    Task,
    Verdict,
    canonical_json,
)

__all__ = ["Features", "encode_arrays", "decode_arrays", "run_continuations", "run_internals"]


@dataclass
class Features:
    """One request's stored result: the verdict's ``extra`` fields and the arrays."""

    key: str
    positions: list[int]
    n_prompt_tokens: int
    option_logprobs: dict[str, float]
    continuation_logprobs: list[float]
    continuation_tokens: list[int]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


def encode_arrays(arrays: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})  # type: ignore[arg-type]
    return buf.getvalue()


def decode_arrays(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _tasks(backend: Backend, purpose: str, requests: Sequence[Request], judge: str) -> list[Task]:
    fp = backend.fingerprint()
    params = canonical_json({"protocol": "internals", "purpose": purpose})
    return [Task(key=task_key(fp, params, req, ""), row=i, judge_name=judge, variant="", request=req)
            for i, req in enumerate(requests)]


def run_internals(backend: Backend, store: Store, requests: Sequence[InternalsRequest], *, purpose: str = "internals",
                  progress: bool = False) -> tuple[list[Features], RunStats]:
    """Every request's :class:`Features`, computing only those the store lacks (one forward pass
    each). ``purpose`` names the capability in the task key and the judge column."""
    judge = f"internals:{purpose}@{backend_label(backend)}"
    tasks = _tasks(backend, purpose, requests, judge)

    def interpret(task: Task, result: BackendResult) -> Verdict:
        if not isinstance(result, Internals):
            raise StoreError(f"the backend answered an internals request with a {type(result).__name__}")
        store.put_arrays(task.key, encode_arrays(result.arrays))
        return Verdict(label=None, status="ok", extra={
            "method": result.method, "positions": list(result.positions),
            "n_prompt_tokens": result.n_prompt_tokens, "option_logprobs": dict(result.option_logprobs),
            "continuation_logprobs": list(result.continuation_logprobs),
            "continuation_tokens": list(result.continuation_tokens),
            "arrays": {k: list(np.shape(v)) for k, v in result.arrays.items()}},
            prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)

    verdicts, stats = run_tasks(tasks, backend, store, interpret, description=judge, progress=progress)
    failed = [t for t in tasks if verdicts[t.key].status == "error"]
    if failed:
        t = failed[0]
        raise StoreError(f"{len(failed)} internals call(s) failed (first: request {t.row + 1}: "
                         f"{verdicts[t.key].error}); rerun to retry them")
    blobs = store.get_arrays([t.key for t in tasks])
    out = []
    for t in tasks:
        v = verdicts[t.key]
        if t.key not in blobs:
            raise StoreError(f"the store at {store.path} has the verdict of internals task {t.key[:12]} but not its "
                             "arrays; move the store aside and rerun")
        e = v.extra
        out.append(Features(key=t.key, positions=list(e["positions"]), n_prompt_tokens=int(e["n_prompt_tokens"]),
                            option_logprobs=dict(e["option_logprobs"]),
                            continuation_logprobs=list(e["continuation_logprobs"]),
                            continuation_tokens=list(e["continuation_tokens"]),
                            arrays=decode_arrays(blobs[t.key])))
    return out, stats


def run_continuations(backend: Backend, store: Store, requests: Sequence[ContinuationRequest], *,
                      purpose: str = "continuations",
                      progress: bool = False) -> tuple[list[tuple[list[float], list[int]]], RunStats]:
    """The summed log-probability and token count of each request's continuations (any backend with
    ``continuation_logprobs``: embedded, transformers, an OpenAI-compatible server with echo),
    through the engine and store."""
    judge = f"internals:{purpose}@{backend_label(backend)}"
    tasks = _tasks(backend, purpose, requests, judge)

    def interpret(task: Task, result: BackendResult) -> Verdict:
        if not isinstance(result, ContinuationScores):
            raise StoreError(f"the backend answered a continuation request with a {type(result).__name__}")
        return Verdict(label=None, status="ok", raw=result.text,
                       extra={"method": result.method, "loglikelihoods": [float(x) for x in result.loglikelihoods],
                              "token_counts": list(result.token_counts)},
                       prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)

    verdicts, stats = run_tasks(tasks, backend, store, interpret, description=judge, progress=progress)
    failed = [t for t in tasks if verdicts[t.key].status == "error"]
    if failed:
        t = failed[0]
        raise StoreError(f"{len(failed)} continuation call(s) failed (first: request {t.row + 1}: "
                         f"{verdicts[t.key].error}); rerun to retry them")
    return [(list(verdicts[t.key].extra["loglikelihoods"]), list(verdicts[t.key].extra["token_counts"]))
            for t in tasks], stats
