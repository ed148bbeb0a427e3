"""The judgment detector's dataset-level entry points: read judgments (a table, or TREC qrels by
humans and LLMs), add text and optional LLM-extracted candidate properties, measure held-out
AUROC by group size and the features that carry it."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jurybox.detect.detector import (
    Importance,
    Judgments,
    Model,
    SizeResult,
    evaluate_detector,
    feature_importance,
    with_consensus,
)
from jurybox.detect.features import FAMILIES, text_properties
from jurybox.errors import InputError, JuryboxError
from jurybox.types import Record

_HUMAN = {"human", "0", "false", "no", "person"}
_LLM = {"llm", "1", "true", "yes", "model", "ai"}


def _producer(v: Any, file: str | None, row: int, field: str) -> int:
    if isinstance(v, bool | np.bool_):
        return int(v)
    if isinstance(v, int | np.integer) and v in (0, 1):
        return int(v)
    t = str(v).strip().lower()
    if t in _HUMAN:
        return 0
    if t in _LLM:
        return 1
    raise InputError(f"expected 'human' or 'llm' (or 0/1), got {v!r}", file=file, row=row, field=field)


def judgments_from_table(
    data: pd.DataFrame | str | os.PathLike[str],
    *,
    judge: str = "judge",
    producer: str = "producer",
    key: str = "group",
    item: str = "item",
    score: str = "score",
    text: str | None = None,
    properties: Sequence[str] = (),
    family: str | None = None,
    encoding: str | None = None,
) -> tuple[Judgments, list[str] | None]:
    """Judgments from a JSONL/CSV/Parquet table, one row per (judge, item): who judged, whether
    that judge is a human or an LLM (``producer``), the item's group (``key``: a query, a paper),
    the item and the score, optionally the candidate's text and numeric property columns. Returns
    the judgments and the texts (None without a text column). A bad value is an error naming the
    file, the 1-based row and the field."""
    from jurybox.items import load_table

    df, source = load_table(data, encoding)
    wanted = [judge, producer, key, item, score, *([text] if text else []), *properties, *([family] if family else [])]
    for c in wanted:
        if c not in df.columns:
            raise InputError(f"column '{c}' not found; columns present: {', '.join(map(str, df.columns))}",
                             file=source, field=c)
    if df.empty:
        raise InputError("no rows", file=source)
    for c in (judge, key, item, *([family] if family else [])):
        miss = df[c].isna() | (df[c].astype(str).str.strip() == "")
        if miss.any():
            raise InputError("missing value", file=source, row=int(np.flatnonzero(miss.to_numpy())[0]) + 1, field=c)

    def numbers(c: str, *, allow_missing: bool) -> np.ndarray:
        vals = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        blank = df[c].isna().to_numpy() | (df[c].astype(str).str.strip() == "").to_numpy()
        bad = ~np.isfinite(vals) & (~blank | (not allow_missing))
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise InputError(f"expected a number, got {df[c].iloc[r]!r}", file=source, row=r + 1, field=c)
        return vals

    s = numbers(score, allow_missing=False)
    props = np.column_stack([numbers(c, allow_missing=True) for c in properties]) if properties else None
    y = np.array([_producer(v, source, r + 1, producer) for r, v in enumerate(df[producer].tolist())])
    jd = df[judge].astype(str).to_numpy()
    kinds = pd.Series(y).groupby(jd).nunique()
    if (kinds > 1).any():
        name = kinds.index[kinds > 1][0]
        r = int(np.flatnonzero(jd == name)[np.flatnonzero(y[jd == name] != y[jd == name][0])[0]]) + 1
        raise InputError(f"judge {name!r} is marked both human and llm", file=source, row=r, field=producer)
    dup = df.duplicated([judge, key, item])
    if dup.any():
        r = int(np.flatnonzero(dup.to_numpy())[0]) + 1
        raise InputError(f"judge {df[judge].iloc[r - 1]!r} scores item {df[item].iloc[r - 1]!r} twice", file=source,
                         row=r, field=item)
    texts = None
    if text:
        texts = ["" if pd.isna(t) else str(t) for t in df[text].tolist()]
    j = Judgments(jd, y, df[key].astype(str).to_numpy(), df[item].astype(str).to_numpy(), s, props,
                  tuple(properties), df[family].astype(str).to_numpy() if family else None)
    return j, texts


def judgments_from_qrels(human: Sequence[str | os.PathLike[str]], llm: Sequence[str | os.PathLike[str]], *,
                         clip: tuple[int, int] | None = (0, 3),
                         family: Mapping[str, str] | None = None) -> Judgments:
    """Judgments from TREC qrels files (``qid iter docid grade``), one judge per file (its name is
    the file's stem); ``clip`` limits grades to a scale (LLMJudge has a stray 10 and two 5s);
    ``family`` maps a judge to its family (default: the part of the name before the first '-')."""
    from jurybox.ir.trec import read_qrels

    frames = []
    for is_llm, files in ((0, human), (1, llm)):
        for f in files:
            q = read_qrels(f)
            name = Path(f).stem
            q["judge"], q["is_llm"] = name, is_llm
            frames.append(q)
    if not any(True for _ in human) or not any(True for _ in llm):
        raise JuryboxError("detection needs at least one human and one LLM qrels file")
    df = pd.concat(frames, ignore_index=True)
    rel = df.relevance.to_numpy(dtype=float)
    if clip is not None:
        rel = np.clip(rel, *clip)
    names = df.judge.to_numpy(dtype=object)
    fam = np.array([(family or {}).get(n, n.split("-")[0]) for n in names], dtype=object)
    return Judgments(names, df.is_llm.to_numpy(), df.query_id.to_numpy(dtype=object),
                     df.doc_id.to_numpy(dtype=object), rel, None, (), fam)


def with_properties(j: Judgments, properties: np.ndarray, names: Sequence[str]) -> Judgments:
    """The judgments with extra per-row property columns appended."""
    p = np.asarray(properties, dtype=float)
    if p.ndim != 2 or p.shape[0] != len(j) or p.shape[1] != len(names):
        raise JuryboxError(f"properties must be ({len(j)}, {len(names)}); got {p.shape}")
    old = j.properties if j.properties is not None else np.zeros((len(j), 0))
    return Judgments(j.judge, j.is_llm, j.key, j.item, j.score, np.hstack([old, p]), (*j.prop_names, *names),
                     j.family)


#: the candidate properties an LLM is asked about by default (each one a 1-5 score)
LLM_PROPERTIES = {
    "polish": "How polished, fluent and well-written the text is, regardless of its content.",
    "specificity": "How specific and detailed the text is: concrete facts, numbers and names.",
}


def llm_properties(texts: Sequence[str], judge: Any = "score", *, properties: Mapping[str, str] | None = None,
                   store: Any = None, model: Any = None, progress: bool = False) -> tuple[np.ndarray, tuple[str, ...],
                                                                                         dict[str, Any]]:
    """Candidate properties scored by an LLM (J-Detector's F_LLM): each distinct text is scored 1-5
    on each property by the ``score`` protocol through the engine and the store (a rerun makes no
    calls). An unparsed answer stays NaN (the featuriser imputes the training mean; the count is
    returned). Returns ``(values (n, P), names, stats)``."""
    from jurybox.api import run_judge

    props = dict(properties or LLM_PROPERTIES)
    uniq = list(dict.fromkeys(texts))
    pos = {t: i for i, t in enumerate(uniq)}
    frame = pd.DataFrame({"response": uniq})
    out = np.full((len(texts), len(props)), np.nan)
    stats: dict[str, Any] = {"distinct_texts": len(uniq)}
    for c, (name, criteria) in enumerate(props.items()):
        res = run_judge(frame, judge, model=model, store=store, progress=progress, criteria=criteria, name=name)
        col = "verdict_score" if "verdict_score" in res.table.columns else "jurybox_verdict_score"
        vals = pd.to_numeric(res.table[col], errors="coerce").to_numpy(dtype=float)
        out[:, c] = vals[[pos[t] for t in texts]]
        stats[name] = {"model_calls": res.stats.model_calls, "from_store": res.stats.n_cached,
                       "unparsed": int(np.isnan(vals).sum())}
    return out, tuple(props), stats


@dataclass(frozen=True)
class DetectionReport(Record):
    """What :func:`detect_judgments` measured."""

    by_group_size: list[SizeResult]
    importance: list[Importance]
    importance_group_size: int
    n_judgments: int
    n_judges_human: int
    n_judges_llm: int
    n_llm_families: int
    n_keys: int
    features: list[str]
    model: str


def detect_judgments(data: Judgments | pd.DataFrame | str | os.PathLike[str], *, texts: Sequence[str] | None = None,
                     columns: Mapping[str, Any] | None = None, group_sizes: Sequence[int] = (1, 2, 4, 8, 16),
                     n_folds: int = 5, model: Model = "logreg", importance_size: int | None = None,
                     families: Sequence[str] = FAMILIES, seed: int = 0, train_repeats: int = 1,
                     n_resamples: int = 1000, consensus: bool = False) -> DetectionReport:
    """Held-out AUROC of the detector by group size, and the features that carry it at
    ``importance_size`` (default: the middle group size; 0 skips the importance). ``texts`` (one
    per row) adds the simple text properties (length, readability, lexical diversity);
    ``consensus`` the reference-LLM property (:func:`jurybox.detect.detector.consensus_property`).

    ``data`` is :class:`Judgments` or a table (DataFrame or JSONL/CSV/Parquet path) read by
    :func:`judgments_from_table` with ``columns`` (its keyword arguments: ``judge``, ``producer``,
    ``key``, ``item``, ``score``, ``text``, ``properties``, ``family``); a ``text`` column gives the texts."""
    if isinstance(data, Judgments):
        j = data
    else:
        j, table_texts = judgments_from_table(data, **dict(columns or {}))
        texts = texts if texts is not None else table_texts
    if texts is not None:
        if len(texts) != len(j):
            raise JuryboxError(f"texts has {len(texts)} values for {len(j)} judgments")
        tp, names = text_properties(texts)
        j = with_properties(j, tp, names)
    sizes = [int(g) for g in group_sizes]
    res = evaluate_detector(j, sizes, n_folds=n_folds, model=model, families=families, seed=seed,
                            train_repeats=train_repeats, n_resamples=n_resamples, consensus=consensus)
    g_imp = sizes[len(sizes) // 2] if importance_size is None else importance_size
    imp = feature_importance(j, g_imp, n_folds=n_folds, model=model, seed=seed, train_repeats=train_repeats,
                             consensus=consensus) if g_imp else []
    from jurybox.detect.features import GroupFeaturizer

    jc = with_consensus(j, None) if consensus else j
    fz = GroupFeaturizer().fit(jc.score, jc.properties, jc.prop_names)
    is_llm = np.asarray(j.is_llm).astype(int)
    return DetectionReport(res, imp, g_imp, len(j), len(set(j.judge[is_llm == 0])), len(set(j.judge[is_llm == 1])),
                           len(set(j.families[is_llm == 1])), len(set(j.key)), fz.names()[0], model)
