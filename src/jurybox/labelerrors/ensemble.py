"""LLM-ensemble relabelling (Nahum et al., "Are LLMs Better than Reported?", arXiv 2410.18889).

Every example is labelled by J judges = models x prompt templates, each giving a probability per label
(from option log-probabilities). Definitions, for row i and label k:

* ensemble probability   q_i[k] = mean over the judges that answered row i of p_ij[k]
* ensemble label         e_i = argmax_k q_i[k] (first label on ties); confidence c_i = q_i[e_i]
* flag (nominal labels)  q_i[y_i] < q_i[e_i]: the ensemble label differs from the given label y_i
* flag (ordinal labels)  |pos(e_i) - pos(y_i)| > threshold (default 1), positions in the label order;
  the paper flags SummEval Likert scores only for gaps of more than one point.

Flagged rows are ranked by confidence, highest first (ties by row order): the paper reports that the
chance a flag is a real error rises with ensemble confidence. A judge whose answer could not be read
(status unparsed/error) is left out of that row's mean, never mapped to a label; a judge that answered
with a label but no probabilities counts as probability 1 on that label. A row no judge answered has
``n_judges = 0``, no ensemble label (-1) and is never flagged.

Published check numbers (paper, 4 LLMs x 4 prompts): LLM disagreement / estimated error rate MNBM
39.4/16.9%, BEGIN 34.4/21.2%, VitaminC 17.5/8.1%, PAWS 22.5/6.2%. Those datasets are not available
here; the tests check the definitions above on constructed probabilities and an end-to-end run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jurybox.backends.base import Backend, backend_label
from jurybox.engine import Judge, RunStats, evaluate
from jurybox.errors import JuryboxError
from jurybox.spec import JudgeSpec
from jurybox.stats._validate import check_labels, nan_to_none
from jurybox.store import Store
from jurybox.types import Verdict


@dataclass(frozen=True)
class EnsembleRelabel:
    """The ensemble's reading of every row (arrays of length N; ``probs`` is N x K)."""

    labels: tuple[str, ...]
    judges: tuple[str, ...]
    given: np.ndarray
    probs: np.ndarray
    n_judges: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    gap: np.ndarray
    flagged: np.ndarray
    ranking: np.ndarray
    ordinal: bool
    threshold: int

    @property
    def disagreement_rate(self) -> float:
        """Share of rows with at least one judge's answer where the ensemble flags the given label."""
        answered = self.n_judges > 0
        return float(self.flagged[answered].mean()) if answered.any() else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "judges": list(self.judges),
            "given": self.given.tolist(),
            "probs": np.where(np.isnan(self.probs), np.asarray(None, dtype=object), self.probs).tolist(),
            "n_judges": self.n_judges.tolist(),
            "predicted": self.predicted.tolist(),
            "confidence": nan_to_none(self.confidence),
            "gap": self.gap.tolist(),
            "flagged": self.flagged.tolist(),
            "ranking": self.ranking.tolist(),
            "ordinal": self.ordinal,
            "threshold": self.threshold,
            "disagreement_rate": self.disagreement_rate,
        }


def ensemble_relabel(
    given: Any,
    judge_probs: Any,
    labels: Sequence[str],
    *,
    judges: Sequence[str] = (),
    ordinal: bool = False,
    threshold: int = 1,
) -> EnsembleRelabel:
    """Combine per-judge probabilities into the ensemble label, confidence and flags (module docstring).

    ``given``: N label indices into ``labels``; ``judge_probs``: (J, N, K) probabilities with NaN rows
    where a judge gave no readable answer.
    """
    p = np.asarray(judge_probs, dtype=np.float64)
    if p.ndim != 3 or p.shape[2] != len(labels):
        raise JuryboxError(f"judge_probs must be (judges, rows, {len(labels)} labels), got shape {p.shape}")
    if threshold < 0:
        raise JuryboxError(f"threshold must be >= 0, got {threshold}")
    y = check_labels(given, len(labels), name="given labels")
    if y.shape[0] != p.shape[1]:
        raise JuryboxError(f"{y.shape[0]} given labels but judge_probs has {p.shape[1]} rows")
    answered = np.asarray(~np.isnan(p).any(axis=2))  # (J, N)
    n_judges = answered.sum(axis=0)
    total = np.where(answered[:, :, None], p, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = total / n_judges[:, None]
    has = n_judges > 0
    predicted = np.where(has, np.argmax(np.where(has[:, None], q, 0.0), axis=1), -1)
    rows = np.arange(y.shape[0])
    confidence = np.where(has, q[rows, np.maximum(predicted, 0)], np.nan)
    given_p = np.where(has, q[rows, y], np.nan)
    if ordinal:
        gap = np.where(has, np.abs(predicted - y), 0)
        flagged = has & (gap > threshold)
    else:
        gap = np.where(has & (given_p < confidence), 1, 0)
        flagged = gap.astype(bool)
    hit = np.flatnonzero(flagged)
    ranking = hit[np.argsort(-confidence[hit], kind="stable")]
    names = tuple(judges) if judges else tuple(f"judge{j}" for j in range(p.shape[0]))
    return EnsembleRelabel(
        tuple(labels), names, y, q, n_judges, predicted, confidence, gap, flagged, ranking, ordinal, threshold
    )


def verdict_probs(v: Verdict, labels: Sequence[str]) -> np.ndarray:
    """A verdict as a probability vector over ``labels`` (NaN when it has no readable answer).

    Probabilities the judge put on answers outside ``labels`` (a pairwise "tie", say) are dropped and the
    rest renormalised; a label without probabilities is one-hot.
    """
    out = np.full(len(labels), np.nan)
    if v.status != "ok":
        return out
    if v.probs:
        vals = np.array([float(v.probs.get(lab, 0.0)) for lab in labels])
        s = vals.sum()
        if s > 0:
            return vals / s
        return out
    if v.label is not None and v.label in labels:
        out[:] = 0.0
        out[list(labels).index(v.label)] = 1.0
    return out


def classify_judges(
    models: Sequence[str | Backend | None],
    templates: Sequence[str],
    labels: Sequence[str],
    *,
    examples: Sequence[Mapping[str, str]] = (),
    descriptions: Mapping[str, str] | None = None,
    criteria: str | None = None,
    backend_options: Mapping[str, Any] | None = None,
) -> list[Judge]:
    """The judges models x templates of the classify protocol (templates: names in prompts/classify),
    each from a :class:`JudgeSpec`; one backend per model, shared by its templates
    (``backend_options`` apply to models given by name or path)."""
    if not models or not templates:
        raise JuryboxError("the ensemble needs at least one model and one prompt template")
    params: dict[str, Any] = {"labels": list(labels), "examples": list(examples), "descriptions": descriptions}
    if criteria is not None:
        params["criteria"] = criteria
    judges = []
    for m in models:
        options = dict(backend_options or {}) if m is None or isinstance(m, str | os.PathLike) else {}
        backend = JudgeSpec("classify", params, model=m, backend_options=options).make_backend()
        for t in templates:
            name = f"{t}@{m if isinstance(m, str) else backend_label(backend)}"
            judges.append(JudgeSpec("classify", params, t, m, options, name).make_judge(backend))
    return judges


def run_ensemble(
    judges: Sequence[Judge],
    items: Sequence[Mapping[str, Any]],
    given: Any,
    labels: Sequence[str],
    store: Store,
    *,
    ordinal: bool = False,
    threshold: int = 1,
    progress: bool = False,
) -> tuple[EnsembleRelabel, RunStats]:
    """Ask every judge about every item through the engine (stored, resumable), then combine.

    ``labels`` are the judges' label names (for classify, its ``labels``; for pairwise, "A"/"B");
    ``given`` the dataset's labels as indices into them.
    """
    stats = RunStats()
    probs = np.full((len(judges), len(items), len(labels)), np.nan)
    for j, judge in enumerate(judges):
        verdicts, _, st = evaluate(
            judge,
            items,
            store,
            progress=progress,
            description=f"label errors: {judge.name} ({len(items)} items)",
        )
        stats.merge(st)
        for i, v in enumerate(verdicts):
            probs[j, i] = verdict_probs(v, labels)
    res = ensemble_relabel(
        given, probs, labels, judges=[jd.name for jd in judges], ordinal=ordinal, threshold=threshold
    )
    return res, stats
