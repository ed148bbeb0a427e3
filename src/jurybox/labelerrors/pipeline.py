"""Find label errors in a dataset: the LLM ensemble and/or classifier probabilities, combined.

This is the I/O layer over the pure functions: it reads the dataset, maps label values to indices,
runs the judges through the engine (every verdict stored; a rerun makes no model calls), calls cleanlab
on classifier probabilities, combines the signals and builds the table a reviewer fills in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from jurybox.backends.base import Backend
from jurybox.engine import RunStats
from jurybox.errors import InputError, JuryboxError
from jurybox.items import load_table
from jurybox.labelerrors.classifier import clean_probs, cleanlab_label_issues, cross_val_pred_probs
from jurybox.labelerrors.combine import LabelIssues, Signal, combine_signals
from jurybox.labelerrors.ensemble import EnsembleRelabel, classify_judges, run_ensemble
from jurybox.labelerrors.ranking import RankBy, label_quality_scores
from jurybox.labelerrors.summary import LabelErrorSummary, summarize
from jurybox.store import Store, open_store

__all__ = ["FLAG_COLUMNS", "FoundErrors", "classifier_signal", "ensemble_signal", "find_errors",
           "flagged_table", "label_indices", "label_text"]

#: Columns jurybox adds to the flagged file (a reviewer fills in ``review``).
FLAG_COLUMNS = (
    "rank",
    "row",
    "given_label",
    "suggested_label",
    "confidence",
    "flagged_by",
    "score",
    "review",
)


@dataclass
class FoundErrors:
    """Everything a search produced. ``table`` is the flagged file's content, most suspect first."""

    table: pd.DataFrame
    issues: LabelIssues
    labels: tuple[str, ...]
    given: np.ndarray
    summary: LabelErrorSummary
    ensemble: EnsembleRelabel | None = None
    pred_probs: np.ndarray | None = None
    stats: RunStats = field(default_factory=RunStats)


def label_text(value: Any) -> str | None:
    """A label value as text: 3.0 -> "3", " pos " -> "pos"; None for missing values."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if hasattr(value, "item") and not isinstance(value, str):
        return label_text(value.item())
    t = str(value).strip()
    return t or None


def _numeric_order(values: Sequence[str]) -> list[str]:
    try:
        return sorted(values, key=float)
    except ValueError:
        return sorted(values)


def label_indices(
    df: pd.DataFrame,
    label_field: str,
    labels: Sequence[str] | None,
    *,
    source: str | None,
    ordinal: bool = False,
) -> tuple[tuple[str, ...], np.ndarray]:
    """The label set (given, or the sorted distinct values) and each row's label index."""
    if label_field not in df.columns:
        raise InputError(
            f"label column '{label_field}' not found; columns present: {', '.join(map(str, df.columns))}",
            file=source,
            field=label_field,
        )
    texts = [label_text(v) for v in df[label_field].tolist()]
    for i, t in enumerate(texts, start=1):
        if t is None:
            raise InputError("empty label", file=source, row=i, field=label_field)
    if labels is None:
        found = sorted({t for t in texts if t is not None})
        labels = _numeric_order(found) if ordinal else found
    labels = tuple(str(x).strip() for x in labels)
    if len(labels) < 2 or len(set(labels)) != len(labels):
        raise JuryboxError(f"need at least two distinct labels, got {list(labels)}")
    pos = {lab: k for k, lab in enumerate(labels)}
    lower = {lab.lower(): k for k, lab in enumerate(labels)}
    out = np.empty(len(texts), dtype=np.int64)
    for i, t in enumerate(texts):
        k = pos.get(t) if t is not None else None
        if k is None and t is not None:
            k = lower.get(t.lower())
        if k is None:
            raise InputError(
                f"label {t!r} is not in the label set ({', '.join(labels)})",
                file=source,
                row=i + 1,
                field=label_field,
            )
        out[i] = k
    return labels, out


def classifier_signal(
    given: np.ndarray,
    pred_probs: np.ndarray,
    *,
    filter_by: str = "prune_by_noise_rate",
    rank_by: RankBy = "self_confidence",
) -> Signal:
    """cleanlab's confident-learning flags, scored by label quality over every row."""
    issues = cleanlab_label_issues(given, pred_probs, filter_by=filter_by, rank_by=rank_by)
    flagged = np.zeros(given.shape[0], dtype=bool)
    flagged[issues] = True
    p = clean_probs(pred_probs)
    others = p.copy()
    others[np.arange(given.shape[0]), given] = -1.0  # suggest the best *other* label
    suggested = np.argmax(others, axis=1)
    conf = p[np.arange(given.shape[0]), suggested]
    return Signal("classifier", label_quality_scores(given, p, rank_by=rank_by), flagged, suggested, conf)


def ensemble_signal(res: EnsembleRelabel) -> Signal:
    """The ensemble's flags, scored by its probability of the given label (self-confidence)."""
    rows = np.arange(res.given.shape[0])
    scores = np.where(res.n_judges > 0, res.probs[rows, res.given], np.nan)
    return Signal("llm", scores, res.flagged, res.predicted, res.confidence)


def flagged_table(
    df: pd.DataFrame, issues: LabelIssues, labels: Sequence[str], given: np.ndarray
) -> pd.DataFrame:
    """Flagged rows, most suspect first: jurybox's columns (``row`` is the 1-based data row), then the
    dataset's columns (renamed ``data.<name>`` if they collide), ``review`` empty for the reviewer."""
    idx = issues.ranking
    out = pd.DataFrame(
        {
            "rank": np.arange(1, idx.shape[0] + 1),
            "row": idx + 1,
            "given_label": [labels[k] for k in given[idx]],
            "suggested_label": [labels[k] if k >= 0 else None for k in issues.suggested[idx]],
            "confidence": np.round(issues.confidence[idx], 6),
            "flagged_by": [",".join(issues.flagged_by[i]) for i in idx],
            "score": np.round(issues.combined[idx], 6),
        }
    )
    data = df.iloc[idx].reset_index(drop=True)
    for c in data.columns:
        name = str(c)
        out[f"data.{name}" if name in FLAG_COLUMNS else name] = data[c].to_numpy()
    out["review"] = ""
    return out


def find_errors(
    data: pd.DataFrame | str | os.PathLike[str],
    *,
    label_field: str,
    text_field: str = "text",
    labels: Sequence[str] | None = None,
    models: Sequence[str | Backend | None] = (),
    templates: Sequence[str] = ("default",),
    examples: Sequence[Mapping[str, str]] = (),
    descriptions: Mapping[str, str] | None = None,
    pred_probs: Any = None,
    classifier: bool = False,
    n_splits: int = 5,
    ordinal: bool = False,
    threshold: int = 1,
    filter_by: str = "prune_by_noise_rate",
    rank_by: RankBy = "self_confidence",
    store: Store | str | os.PathLike[str] | None = None,
    progress: bool = False,
    backend_options: Mapping[str, Any] | None = None,
    encoding: str | None = None,
) -> FoundErrors:
    """Rank the rows of ``data`` whose ``label_field`` is likely wrong.

    Signals: ``models`` x ``templates`` (classify judges over ``text_field``; the LLM ensemble),
    ``pred_probs`` ((N, K) out-of-sample probabilities, columns in ``labels`` order) or
    ``classifier=True`` (jurybox trains TF-IDF + logistic regression with ``n_splits``-fold
    cross-validation); the last two go through cleanlab. With several signals the ranking is their
    rank aggregate and ``flagged_by`` names the signals that flagged each row. ``backend_options``
    are given to every model named by a spec (``{"concurrency": 8}``); ``encoding`` is the text
    encoding of a CSV/JSONL ``data`` file (default UTF-8).
    """
    df, source = load_table(data, encoding)
    names, given = label_indices(df, label_field, labels, source=source, ordinal=ordinal)
    if not models and pred_probs is None and not classifier:
        raise JuryboxError(
            "nothing to find label errors with: give models (an LLM ensemble), predicted "
            "probabilities, or ask for the cross-validated classifier"
        )
    if pred_probs is not None and classifier:
        raise JuryboxError("give predicted probabilities or ask for the classifier, not both")
    signals: list[Signal] = []
    stats = RunStats()
    ens: EnsembleRelabel | None = None
    texts: list[str] | None = None
    if models or classifier:
        if text_field not in df.columns:
            raise InputError(
                f"text column '{text_field}' not found (choose it with text_field); columns present: "
                f"{', '.join(map(str, df.columns))}",
                file=source,
                field=text_field,
                option="text_field",
            )
        texts = []
        for i, v in enumerate(df[text_field].tolist(), start=1):
            if v is None or (isinstance(v, float) and np.isnan(v)) or not str(v).strip():
                raise InputError("empty text", file=source, row=i, field=text_field)
            texts.append(str(v))
    if models:
        assert texts is not None
        judges = classify_judges(models, templates, names, examples=examples, descriptions=descriptions,
                                 backend_options=backend_options)
        with open_store(store) as st:
            ens, stats = run_ensemble(
                judges,
                [{"text": t} for t in texts],
                given,
                names,
                st,
                ordinal=ordinal,
                threshold=threshold,
                progress=progress,
            )
        signals.append(ensemble_signal(ens))
    probs: np.ndarray | None = None
    if pred_probs is not None:
        probs = clean_probs(pred_probs)
        if probs.shape != (given.shape[0], len(names)):
            raise JuryboxError(
                f"predicted probabilities have shape {probs.shape}; expected ({given.shape[0]} rows, "
                f"{len(names)} labels in the order {', '.join(names)})"
            )
    elif classifier:
        assert texts is not None
        probs = cross_val_pred_probs(texts, given, n_classes=len(names), n_splits=n_splits)
    if probs is not None:
        signals.append(classifier_signal(given, probs, filter_by=filter_by, rank_by=rank_by))
    issues = combine_signals(signals)
    table = flagged_table(df, issues, names, given)
    summary = summarize(given, issues.flagged, names, flag_confidence=issues.confidence)
    return FoundErrors(table, issues, names, given, summary, ens, probs, stats)
