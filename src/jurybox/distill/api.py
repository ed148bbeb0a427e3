"""Dataset-level entry points: ``distill`` (train a student on labels), ``predict`` (label new
data with a saved student), ``label_with_budget`` (let a selection strategy choose which rows the
LLM teacher labels, through the engine and the store).

See docs/distill.md for the whole loop (taxonomy, labels, threshold, student).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from jurybox.distill.embeddings import Embedder, make_embedder
from jurybox.distill.selection import Selection, check_budget, select_and_label
from jurybox.distill.student import Student, load_student, train_student
from jurybox.distill.threshold import choose_threshold
from jurybox.errors import InputError, JuryboxError
from jurybox.items import load_table, output_names
from jurybox.types import Record

__all__ = ["DistillResult", "LabelledSelection", "distill_dataset", "distill_with_budget", "label_with_budget", "predict",
           "shortlist", "spec_name", "texts_of"]

Data: TypeAlias = pd.DataFrame | str | os.PathLike[str]


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def texts_of(df: pd.DataFrame, text_field: str, source: str | None) -> list[str]:
    """The text column, every value present (an empty one is an error naming its row)."""
    if text_field not in df.columns:
        raise InputError(f"text column '{text_field}' not found; columns present: {', '.join(map(str, df.columns))}",
                         file=source, field=text_field, option="text_field")
    out = []
    for i, v in enumerate(df[text_field].tolist(), start=1):
        if _missing(v):
            raise InputError("empty text", file=source, row=i, field=text_field)
        out.append(str(v))
    return out


def _confidence(v: Any, label: Any) -> float | None:
    """A row's confidence: a number, or the probability of its label in a ``{label: p}`` dict
    (jurybox's ``verdict_probs``, possibly as JSON text)."""
    if _missing(v):
        return None
    if isinstance(v, str):
        import json

        try:
            v = json.loads(v)
        except json.JSONDecodeError:
            try:
                return float(v)
            except ValueError:
                return None
    if isinstance(v, Mapping):
        p = v.get(label)
        return None if p is None else float(p)
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


@dataclass
class DistillResult(Record):
    """What ``distill`` did: the saved folder, rows used and skipped, the threshold when one was chosen."""

    out: str
    n_rows: int
    n_trained: int
    n_unlabelled: int
    n_below_threshold: int
    n_truncated: int
    labels: list[str]
    embedder: str
    threshold: dict[str, Any] | None = None
    train_accuracy: float | None = None


def distill_dataset(
    data: Data,
    *,
    text_field: str = "text",
    label_field: str = "verdict",
    out: str | os.PathLike[str],
    embedder: str | Embedder = "minilm",
    C: float = 10.0,
    confidence_field: str | None = None,
    human_field: str | None = None,
    target_accuracy: float = 0.9,
    conservative: bool = False,
    min_confidence: float | None = None,
    encoding: str | None = None,
) -> tuple[Student, DistillResult]:
    """Train a student on the labels in ``label_field`` (LLM labels: a jurybox ``verdict``
    column, or any labels) and save it to ``out``.

    Rows without a label (an unreadable LLM answer) are left out and counted. With
    ``confidence_field`` (a number, or ``verdict_probs``) and ``human_field`` (human labels on some
    rows), a confidence threshold is chosen on the human-labelled rows from the coverage-accuracy
    curve (:func:`~jurybox.distill.threshold.choose_threshold`) and rows below it are left out of
    training; ``min_confidence`` sets the threshold directly instead."""
    df, source = load_table(data, encoding)
    texts = texts_of(df, text_field, source)
    if label_field not in df.columns:
        raise InputError(f"label column '{label_field}' not found; columns present: {', '.join(map(str, df.columns))}",
                         file=source, field=label_field, option="label_field")
    raw = df[label_field].tolist()
    labels = [None if _missing(v) else str(v).strip() for v in raw]
    conf: list[float | None] | None = None
    if confidence_field is not None:
        if confidence_field not in df.columns:
            raise InputError(f"confidence column '{confidence_field}' not found", file=source, field=confidence_field,
                             option="confidence_field")
        conf = [_confidence(v, y) for v, y in zip(df[confidence_field].tolist(), labels)]
    threshold_info: dict[str, Any] | None = None
    cut = min_confidence
    if human_field is not None:
        if conf is None:
            raise JuryboxError("a human slice chooses a confidence threshold: give confidence_field too",
                               option="human_field")
        if human_field not in df.columns:
            raise InputError(f"human column '{human_field}' not found", file=source, field=human_field,
                             option="human_field")
        gold = [None if _missing(v) else str(v).strip() for v in df[human_field].tolist()]
        choice, _ = choose_threshold(labels, [np.nan if c is None else c for c in conf], gold,
                                     target_accuracy=target_accuracy, conservative=conservative)
        threshold_info = {**choice.to_dict(), "line": choice.line()}
        cut = choice.threshold
    keep = [i for i, y in enumerate(labels) if y is not None]
    n_unlabelled = len(labels) - len(keep)
    n_below = 0
    if cut is not None:
        if conf is None:
            raise JuryboxError("min_confidence needs confidence_field", option="min_confidence")
        above = [i for i in keep if conf[i] is not None and conf[i] >= cut]  # type: ignore[operator]
        n_below = len(keep) - len(above)
        keep = above
    emb = make_embedder(embedder) if isinstance(embedder, str) else embedder
    tr_texts = [texts[i] for i in keep]
    tr_labels = [str(labels[i]) for i in keep]
    X = None
    if len(set(tr_labels)) >= 2:  # else train_student says why in one line, before any embedding
        emb.fit(tr_texts)
        X = emb.embed(tr_texts)
    n_trunc = int(getattr(emb, "n_truncated", 0))
    student = train_student(tr_texts, tr_labels, emb, C=C, X=X, source=source, field_name=label_field, extra_info={
        "source": {"file": source, "text_field": text_field, "label_field": label_field,
                   "confidence_threshold": cut}})
    student.save(out)
    acc = _accuracy(student, X, tr_labels)
    return student, DistillResult(str(out), len(df), len(keep), n_unlabelled, n_below, n_trunc,
                                  list(student.labels), emb.name, threshold_info, acc)


def shortlist(texts: Sequence[str], labels: Sequence[str], *, k: int = 10,
              descriptions: Mapping[str, str] | None = None, embedder: str | Embedder = "minilm",
              text_embeddings: Any = None) -> list[list[str]]:
    """For each text, the ``k`` labels whose name (underscores read as spaces) and description are
    nearest to it in the embedding space (cosine), best first: candidates for ``classify_shortlist``.
    ``text_embeddings``: the texts already embedded by the same embedder."""
    emb = make_embedder(embedder) if isinstance(embedder, str) else embedder
    desc = dict(descriptions or {})
    label_texts = [lab.replace("_", " ") + (f": {desc[lab]}" if desc.get(lab) else "") for lab in labels]
    emb.fit(label_texts + [str(t) for t in texts])
    L = emb.embed(label_texts)
    T = emb.embed(texts) if text_embeddings is None else text_embeddings
    S = np.asarray(T @ L.T.toarray() if hasattr(L, "toarray") else T @ L.T)
    k = min(k, len(labels))
    top = np.argsort(-S, axis=1, kind="stable")[:, :k]
    return [[labels[j] for j in row] for row in top]


def _accuracy(student: Student, X: Any, labels: Sequence[str]) -> float | None:
    """Accuracy of the student on rows already embedded (its training rows: how well it fits)."""
    if X is None or not len(labels):
        return None
    pred = np.array(student.labels)[student.predict_proba_embedded(X).argmax(axis=1)]
    return float(np.mean(pred == np.array(labels)))


def predict(model: str | os.PathLike[str] | Student, data: Data, *, text_field: str = "text",
            encoding: str | None = None) -> tuple[pd.DataFrame, int]:
    """The rows of ``data`` with ``prediction`` and ``prediction_probs`` (``{label: p}``) added
    (prefixed ``jurybox_`` if those names are taken), and the number of texts the embedder cut."""
    student = model if isinstance(model, Student) else load_student(model)
    df, source = load_table(data, encoding)
    texts = texts_of(df, text_field, source)
    probs = student.predict_proba(texts)
    names = output_names(df.columns, ("prediction", "prediction_probs"))
    out = df.copy()
    out[names["prediction"]] = [student.labels[i] for i in probs.argmax(axis=1)]
    out[names["prediction_probs"]] = [{lab: float(p) for lab, p in zip(student.labels, row)} for row in probs]
    return out, int(getattr(student.embedder, "n_truncated", 0))


@dataclass
class LabelledSelection(Record):
    """The rows a strategy sent to the teacher and what it answered (``table``: those rows with
    ``verdict``, ``verdict_probs``, ``verdict_confidence``, ``selected_round``, ``kept``)."""

    selection: Selection
    model_calls: int = 0
    from_store: int = 0
    table: pd.DataFrame | None = field(default=None, repr=False)
    texts: list[str] = field(default_factory=list, repr=False)
    embeddings: Any = field(default=None, repr=False)
    embedder: Any = field(default=None, repr=False)
    source: str | None = None


def label_with_budget(
    data: Data,
    spec: Any,
    *,
    text_field: str = "text",
    budget: int,
    strategy: str = "locle",
    embedder: str | Embedder = "minilm",
    rounds: int = 5,
    init_fraction: float | None = None,
    seed: int = 0,
    C: float = 10.0,
    store: Any = None,
    encoding: str | None = None,
    progress: bool = False,
) -> LabelledSelection:
    """Let ``strategy`` choose ``budget`` rows for the teacher (a classify or multilabel
    :class:`~jurybox.spec.JudgeSpec`, run through the engine and ``store``) and label them."""
    from jurybox.api import run_judge
    from jurybox.store import open_store

    df, source = load_table(data, encoding)
    texts = texts_of(df, text_field, source)
    check_budget(budget, len(texts))
    emb = make_embedder(embedder) if isinstance(embedder, str) else embedder
    emb.fit(texts)
    X = emb.embed(texts)
    calls = {"model": 0, "cached": 0}
    verdict_rows: dict[int, dict[str, Any]] = {}
    with open_store(store) as st:
        def teacher(rows: Sequence[int]) -> tuple[list[str | None], list[float | None]]:
            sub = pd.DataFrame({"text": [texts[r] for r in rows]})
            res = run_judge(sub, spec, store=st, progress=progress)
            calls["model"] += res.stats.model_calls
            calls["cached"] += res.stats.n_cached
            labels: list[str | None] = []
            confs: list[float | None] = []
            for r, v in zip(rows, res.verdicts):
                y = v.label if v.status == "ok" else None
                c = (v.probs or {}).get(y) if y is not None and v.probs else None
                labels.append(y)
                confs.append(None if c is None else float(c))
                verdict_rows[r] = {"verdict": y, "verdict_probs": v.probs, "verdict_confidence": c}
            return labels, confs

        def train_predict(rows: np.ndarray, ys: Sequence[str], ws: np.ndarray | None) -> np.ndarray:
            s = train_student([texts[i] for i in rows], ys, emb, C=C, X=X[rows], sample_weight=ws)
            return s.predict_proba_embedded(X)

        sel = select_and_label(strategy, X, budget, teacher, train_predict, rounds=rounds,
                               init_fraction=init_fraction, seed=seed)
    round_of: list[int] = []
    for r, size in enumerate(sel.rounds):
        round_of.extend([r] * size)
    table = df.iloc[sel.asked].copy()
    names = output_names(table.columns, ("verdict", "verdict_probs", "verdict_confidence", "selected_round", "kept"))
    table[names["verdict"]] = [verdict_rows[r]["verdict"] for r in sel.asked]
    table[names["verdict_probs"]] = [verdict_rows[r]["verdict_probs"] for r in sel.asked]
    table[names["verdict_confidence"]] = [verdict_rows[r]["verdict_confidence"] for r in sel.asked]
    table[names["selected_round"]] = round_of
    table[names["kept"]] = sel.kept
    return LabelledSelection(sel, calls["model"], calls["cached"], table, texts, X, emb, source)


def distill_with_budget(
    data: Data,
    spec: Any,
    *,
    out: str | os.PathLike[str],
    text_field: str = "text",
    budget: int,
    strategy: str = "locle",
    embedder: str | Embedder = "minilm",
    rounds: int = 5,
    init_fraction: float | None = None,
    seed: int = 0,
    C: float = 10.0,
    store: Any = None,
    encoding: str | None = None,
    progress: bool = False,
) -> tuple[Student, DistillResult, LabelledSelection]:
    """:func:`label_with_budget`, then a student trained on the labels the strategy keeps
    (LLKD: weighted by teacher confidence) over the teacher's whole label set, saved to ``out``."""
    lab = label_with_budget(data, spec, text_field=text_field, budget=budget, strategy=strategy, embedder=embedder,
                            rounds=rounds, init_fraction=init_fraction, seed=seed, C=C, store=store,
                            encoding=encoding, progress=progress)
    rows, ys, ws = lab.selection.training_set()
    label_set = list(spec.make_protocol().labels()) if hasattr(spec, "make_protocol") else None
    texts = [lab.texts[i] for i in rows]
    student = train_student(texts, ys, lab.embedder, C=C, X=lab.embeddings[np.array(rows, dtype=np.int64)],
                            sample_weight=ws if strategy == "llkd" else None, label_set=label_set or None,
                            source=lab.source, field_name="teacher labels", extra_info={
                                "source": {"file": lab.source, "text_field": text_field, "teacher": spec_name(spec),
                                           "strategy": strategy, "budget": budget, "rounds": rounds, "seed": seed,
                                           "teacher_calls": lab.model_calls, "from_store": lab.from_store}})
    student.save(out)
    n_unread = sum(1 for y in lab.selection.labels if y is None)
    n_dropped = sum(1 for y, k in zip(lab.selection.labels, lab.selection.kept) if y is not None and not k)
    acc = _accuracy(student, lab.embeddings[np.array(rows, dtype=np.int64)], ys)
    res = DistillResult(str(out), len(lab.texts), len(rows), n_unread, n_dropped,
                        int(getattr(lab.embedder, "n_truncated", 0)), list(student.labels), lab.embedder.name, None, acc)
    return student, res, lab


def spec_name(spec: Any) -> str:
    """A readable name of a teacher spec (protocol and model)."""
    proto = getattr(spec, "protocol_name", None) or getattr(spec, "name", "") or type(spec).__name__
    return f"{proto}@{getattr(spec, 'model', None) or 'default model'}"
