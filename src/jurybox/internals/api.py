"""Dataset-level entry points of the internals capability (``jurybox internals ...``).

* :func:`exam`: QK-score heads and CLUE on a keyed multiple-choice exam (files :func:`read_mcqa`
  reads), one stored forward pass per question on the transformers backend;
* :func:`implicit_preferences`: SPA / Selfie preference labels for pairwise items
  (``instruction``, ``response_a``, ``response_b``) from a policy and a reference model, with the
  accuracy against a gold column when there is one and DPO pairs written with their confidence.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jurybox.backends.base import Backend
from jurybox.errors import InputError
from jurybox.internals.exam import ExamFeatures, ExamReport, exam_features, exam_report
from jurybox.internals.spa import FIELDS, pair_logprobs, spa_pairs, spa_preferences
from jurybox.mcqa.data import read_mcqa
from jurybox.store import Store, open_store
from jurybox.types import Record

__all__ = ["ExamResult", "PreferenceResult", "exam", "implicit_preferences", "internals_backend"]


def internals_backend(model: str | None = None, *, dtype: str = "bfloat16", chat: bool | None = None) -> Backend:
    """The transformers backend for a model name or GGUF path (loaded once per process)."""
    from jurybox.backends.registry import get_backend

    spec = model if model and model.startswith("transformers:") else f"transformers:{model or ''}"
    opts: dict[str, Any] = {"dtype": dtype}
    if chat is not None:
        opts["chat"] = chat
    return get_backend(spec, **opts)


@dataclass
class ExamResult(Record):
    report: ExamReport
    questions: int
    model: str
    model_calls: int
    n_cached: int
    wall_s: float


def exam(data: Sequence[str | os.PathLike[str]] | str | os.PathLike[str], *, model: str | Backend | None = None,
         dtype: str = "bfloat16", store: Store | str | os.PathLike[str] | None = None, val_fraction: float = 0.3,
         seed: int = 0, heads: Sequence[int] = (1, 3, 10), k: int = 8,
         top: Sequence[int] = (1, 2, 4), limit: int | None = None, subject: str | None = None,
         progress: bool = False) -> tuple[ExamResult, ExamFeatures]:
    """QK-score against letter scoring and CLUE against the letter probability on ``data`` (see
    :mod:`jurybox.internals.exam`); ``limit`` keeps the first N questions."""
    md = read_mcqa(data, subject=subject, require_answer=True)
    if limit is not None:
        md.items, md.answers = md.items[:limit], md.answers[:limit]
        md.sources, md.rows = md.sources[:limit], md.rows[:limit]
    backend = model if model is not None and not isinstance(model, str) else internals_backend(model, dtype=dtype)
    with open_store(store) as st:
        feats, stats = exam_features(md, backend, st, progress=progress)
    rep = exam_report(feats, val_fraction=val_fraction, seed=seed, heads=heads, k=k, top=top)
    label = str(getattr(backend, "label", backend.fingerprint()[:24]))
    return ExamResult(report=rep, questions=len(md.items), model=label, model_calls=stats.model_calls,
                      n_cached=stats.n_cached, wall_s=stats.wall_s), feats


@dataclass
class PreferenceResult(Record):
    n_items: int
    winners: list[str | None]
    p_first: list[float]
    accuracy: dict[str, Any] | None = None
    n_pairs: int = 0
    model_calls: int = 0
    stats: dict[str, Any] = field(default_factory=dict)


def implicit_preferences(items: Sequence[Mapping[str, Any]], policy: Backend, reference: Backend | None, *,
                         store: Store | str | os.PathLike[str] | None = None, beta: float = 0.1,
                         gold: Sequence[Any] | None = None, pairs_out: str | os.PathLike[str] | None = None,
                         min_confidence: float = 0.0, progress: bool = False) -> PreferenceResult:
    """P(A > B) from the implicit reward of ``policy`` against ``reference`` (None: the policy's
    likelihood alone) for each item; with ``gold`` ("A"/"B" per item) the accuracy with its Wilson
    interval; with ``pairs_out`` the DPO pairs (prompt, chosen, rejected, confidence)."""
    from jurybox.stats import wilson_interval

    for i, it in enumerate(items):
        for f in FIELDS:
            if f not in it:
                raise InputError(f"field '{f}' missing", row=i + 1, field=f)
    with open_store(store) as st:
        lp_pol, s1 = pair_logprobs(items, policy, st, progress=progress)
        calls = s1.model_calls
        lp_ref = None
        if reference is not None:
            lp_ref, s2 = pair_logprobs(items, reference, st, progress=progress)
            calls += s2.model_calls
    prefs = spa_preferences(lp_pol, lp_ref, beta=beta)
    out = PreferenceResult(n_items=len(items), winners=list(prefs.winner), p_first=[float(p) for p in prefs.p_first],
                           model_calls=calls)
    if gold is not None:
        g = [str(x).strip().upper() if x is not None else None for x in gold]
        bad = [i for i, x in enumerate(g) if x not in ("A", "B")]
        if bad:
            raise InputError(f"gold must be A or B, got {gold[bad[0]]!r}", row=bad[0] + 1, field="gold")
        hit = np.array([w == x for w, x in zip(prefs.winner, g, strict=True)])
        out.accuracy = wilson_interval(int(hit.sum()), len(hit)).to_dict()
    if pairs_out is not None:
        out.n_pairs = len(spa_pairs(items, prefs, pairs_out, min_confidence=min_confidence).pairs)
    return out
