"""LLM relevance judgments as TREC qrels: grade a pool of (query, passage) pairs, fill a run's holes.

:func:`judge_pool` grades every pair with the ``relevance`` protocol (0-3, UMBRELA style, one
forward pass; see :mod:`jurybox.protocols.relevance`) through the engine and store, and turns the
verdicts into qrels: ``grade="expected"`` (default) writes the expected grade rounded half up
(floor(E[g] + 0.5)), ``grade="argmax"`` the most probable grade. A pair whose answer could not be
read or whose call failed gets no qrels line (it is counted, never given a default grade).

:func:`fill_holes` judges only the pairs a run retrieved in its top ``depth`` that the human qrels
lack, adds them to the human qrels, and reports the run's nDCG@10 under the human qrels and under
the augmented ones (``ir-measures``; unjudged documents count as non-relevant, as in trec_eval;
the mean is over the run's queries that the human qrels judge).

A pool is a table (JSONL, CSV, Parquet or a DataFrame) with ``query_id``, ``query``, ``doc_id``,
``passage`` (other names mapped with ``fields``), or a candidates file in any layout
:func:`jurybox.rank.read_candidates` reads (rank_llm JSON, one query a row), flattened to pairs.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from jurybox.errors import InputError, OptionError
from jurybox.ir.ranking import per_query_scores
from jurybox.ir.trec import QRELS_COLUMNS
from jurybox.spec import JudgeSpec, ModelSpec, as_spec
from jurybox.store import Store, open_store

__all__ = ["HoleFill", "PoolJudgments", "fill_holes", "judge_pool", "read_pool", "to_qrels"]

GRADE_RULES = ("expected", "argmax")


def _candidates_layout(path: Path) -> bool:
    if path.suffix.lower() not in (".json", ".jsonl", ".ndjson"):
        return False
    with path.open(encoding="utf-8-sig", errors="replace") as fh:
        head = fh.read(4096)
    return head.lstrip().startswith("[") or '"hits"' in head or '"candidates"' in head


def read_pool(data: pd.DataFrame | str | os.PathLike[str], *, fields: Sequence[str] | Mapping[str, str] | None = None,
              encoding: str | None = None) -> tuple[pd.DataFrame, str | None]:
    """The pool as a table with query_id, query, doc_id, passage (plus the file's other columns),
    and its source name; a (query, document) pair twice is an error naming both rows."""
    from jurybox.items import load_table, parse_field_map

    source: str | None
    if isinstance(data, str | os.PathLike) and Path(data).is_file() and _candidates_layout(Path(data)):
        from jurybox.rank.candidates import read_candidates

        qs = read_candidates(data, encoding=encoding)
        df = pd.DataFrame([(q.query_id, q.query, c.doc_id, c.text) for q in qs for c in q.candidates],
                          columns=["query_id", "query", "doc_id", "passage"])
        return df, str(data)
    df, source = load_table(data, encoding)
    fmap = parse_field_map(fields)
    unknown = [k for k in fmap if k not in ("query_id", "query", "doc_id", "passage")]
    if unknown:
        raise OptionError(f"fields names unknown pool field(s) {unknown}; a pool has query_id, query, doc_id, "
                          "passage", option="fields")
    cols = [str(c) for c in df.columns]
    rename = {}
    for name in ("query_id", "query", "doc_id", "passage"):
        col = fmap.get(name, name)
        if col not in cols:
            hint = f" (map it to a column: {name}=COLUMN)" if name not in fmap else ""
            raise InputError(f"missing column '{col}'{hint}; columns present: {', '.join(cols)}", file=source,
                             field=col, option="fields")
        rename[col] = name
    out = df.rename(columns=rename)
    out["query_id"] = out["query_id"].map(str)
    out["doc_id"] = out["doc_id"].map(str)
    dup = out.duplicated(["query_id", "doc_id"], keep=False)
    if dup.any():
        rows = [i + 1 for i in out.index[dup]]
        q, d = out.loc[out.index[dup][0], ["query_id", "doc_id"]]
        raise InputError(f"query {q} document {d} appears twice (rows {rows[0]} and {rows[1]})", file=source,
                         row=rows[1], field="doc_id")
    return out.reset_index(drop=True), source


def to_qrels(query_ids: Sequence[str], doc_ids: Sequence[str], labels: Sequence[str | None],
             scores: Sequence[float | None], grade: str = "expected") -> pd.DataFrame:
    """Qrels rows (query_id, doc_id, relevance) from per-pair verdicts; unread pairs left out."""
    if grade not in GRADE_RULES:
        raise OptionError(f"grade must be one of {', '.join(GRADE_RULES)}, got {grade!r}", option="grade")
    rows = []
    for q, d, lab, s in zip(query_ids, doc_ids, labels, scores, strict=True):
        if lab is None:
            continue
        if grade == "argmax" or s is None or (isinstance(s, float) and math.isnan(s)):
            g = int(lab)
        else:
            g = int(math.floor(float(s) + 0.5))
        rows.append((str(q), str(d), g))
    return pd.DataFrame(rows, columns=QRELS_COLUMNS)


@dataclass
class PoolJudgments:
    """The LLM qrels of a pool, the pool table with the verdict columns, and the run statistics."""

    qrels: pd.DataFrame
    table: pd.DataFrame
    stats: Any
    n_unread: int
    grade: str

    def summary(self) -> dict[str, Any]:
        s = self.stats
        return {"pairs": len(self.table), "qrels": len(self.qrels), "unread": self.n_unread, "grade": self.grade,
                "tasks": s.n_tasks, "cached": s.n_cached, "model_calls": s.model_calls, "failed": s.n_failed,
                "prompt_tokens": s.prompt_tokens, "wall_s": round(s.wall_s, 2)}


def judge_pool(
    pool: pd.DataFrame | str | os.PathLike[str],
    *,
    spec: JudgeSpec | None = None,
    model: ModelSpec = None,
    fields: Sequence[str] | Mapping[str, str] | None = None,
    grade: str = "expected",
    store: Store | str | os.PathLike[str] | None = None,
    progress: bool = False,
    encoding: str | None = None,
    **protocol_params: Any,
) -> PoolJudgments:
    """Grade every (query, passage) pair of ``pool`` 0-3 and build qrels (module docstring)."""
    if grade not in GRADE_RULES:
        raise OptionError(f"grade must be one of {', '.join(GRADE_RULES)}, got {grade!r}", option="grade")
    table, source = read_pool(pool, fields=fields, encoding=encoding)
    return _judge_table(table, source, spec, model, protocol_params, grade, store, progress)


def _judge_table(table: pd.DataFrame, source: str | None, spec: JudgeSpec | None, model: ModelSpec,
                 protocol_params: Mapping[str, Any], grade: str, store: Store | str | os.PathLike[str] | None,
                 progress: bool) -> PoolJudgments:
    from jurybox.engine import Judge, evaluate
    from jurybox.items import extract_items

    spec = spec if spec is not None else as_spec("relevance", model, dict(protocol_params))
    if spec.protocol_name != "relevance":
        raise OptionError(f"qrels are graded by the relevance protocol, not {spec.protocol_name}", option="protocol")
    proto = spec.make_protocol()
    items = extract_items(table, proto.required, (), None, source=source) if len(table) else []
    with open_store(store) as st:
        judge = Judge(proto, spec.make_backend(), spec.name)
        verdicts, _, stats = evaluate(judge, items, st, progress=progress,
                                      description=f"relevance ({len(items)} pairs)")
    out = table.copy()
    out["grade"] = [v.label for v in verdicts]
    out["expected_grade"] = [v.score for v in verdicts]
    out["grade_probs"] = [v.probs for v in verdicts]
    out["verdict_status"] = [v.status for v in verdicts]
    out["latency_s"] = [v.latency_s for v in verdicts]  # as stored: the model time the pair took when judged
    qrels = to_qrels(out["query_id"].tolist(), out["doc_id"].tolist(), [v.label for v in verdicts],
                     [v.score for v in verdicts], grade)
    return PoolJudgments(qrels, out, stats, sum(v.label is None for v in verdicts), grade)


@dataclass
class HoleFill:
    """What filling a run's holes did: the pairs judged, the augmented qrels, nDCG@10 both ways."""

    holes: pd.DataFrame
    judged: PoolJudgments
    augmented: pd.DataFrame
    ndcg_human: float
    ndcg_augmented: float
    per_query: pd.DataFrame
    depth: int

    def summary(self) -> dict[str, Any]:
        return {"holes": len(self.holes), "depth": self.depth, "added": len(self.judged.qrels),
                "augmented_qrels": len(self.augmented), "ndcg@10_human": self.ndcg_human,
                "ndcg@10_augmented": self.ndcg_augmented, **{f"judging_{k}": v for k, v in
                                                              self.judged.summary().items()}}


def fill_holes(
    run: pd.DataFrame | str | os.PathLike[str],
    human: pd.DataFrame | str | os.PathLike[str],
    pool: pd.DataFrame | str | os.PathLike[str],
    *,
    depth: int = 10,
    spec: JudgeSpec | None = None,
    model: ModelSpec = None,
    fields: Sequence[str] | Mapping[str, str] | None = None,
    grade: str = "expected",
    store: Store | str | os.PathLike[str] | None = None,
    progress: bool = False,
    encoding: str | None = None,
    **protocol_params: Any,
) -> HoleFill:
    """Judge the (query, document) pairs in ``run``'s top ``depth`` that ``human`` lacks (texts from
    ``pool``), add them to the human qrels and compare the run's nDCG@10 under both."""
    from jurybox.ir.trec import read_qrels, read_run

    if depth < 1:
        raise OptionError(f"depth must be at least 1, got {depth}", option="depth")
    run_df = run if isinstance(run, pd.DataFrame) else read_run(run)
    human_df = human if isinstance(human, pd.DataFrame) else read_qrels(human, grades=range(4))
    if isinstance(human, pd.DataFrame):
        bad = human_df[~human_df["relevance"].isin([0, 1, 2, 3])]
        if len(bad):
            raise InputError(f"relevance grade {bad['relevance'].iloc[0]} is outside the scale (0, 1, 2, 3)",
                             row=int(bad.index[0]) + 1, field="relevance")
    run_df = run_df.astype({"query_id": str, "doc_id": str})
    ranked = run_df.sort_values(["query_id", "score"], ascending=[True, False], kind="mergesort")
    top = ranked.groupby("query_id", sort=False).head(depth)
    judged = set(zip(human_df["query_id"].map(str), human_df["doc_id"].map(str), strict=True))
    judged_queries = set(human_df["query_id"].map(str))
    holes = top[[(q, d) not in judged and q in judged_queries for q, d in zip(top["query_id"], top["doc_id"],
                                                                              strict=True)]]
    table, source = read_pool(pool, fields=fields, encoding=encoding)
    texts = table.set_index(["query_id", "doc_id"])
    missing = [(q, d) for q, d in zip(holes["query_id"], holes["doc_id"], strict=True) if (q, d) not in texts.index]
    if missing:
        q, d = missing[0]
        raise InputError(f"query {q} document {d} of the run is unjudged and has no text in the pool "
                         f"({len(missing)} such pairs)", file=source)
    want = pd.MultiIndex.from_frame(holes[["query_id", "doc_id"]])
    sub = texts.loc[want].reset_index() if len(want) else table.iloc[0:0]
    result = _judge_table(sub, source, spec, model, protocol_params, grade, store, progress)
    augmented = pd.concat([human_df[QRELS_COLUMNS], result.qrels], ignore_index=True)
    in_run = set(run_df["query_id"])  # the run's queries: a query the run did not answer is not its score
    scores_h = per_query_scores(human_df[human_df["query_id"].map(str).isin(in_run)], {"run": run_df})
    scores_a = per_query_scores(augmented[augmented["query_id"].map(str).isin(in_run)], {"run": run_df})
    per_query = pd.DataFrame({"human": scores_h.loc["run"], "augmented": scores_a.loc["run"]})
    return HoleFill(holes[["query_id", "doc_id"]].reset_index(drop=True), result, augmented,
                    float(scores_h.loc["run"].mean()), float(scores_a.loc["run"].mean()), per_query, depth)
