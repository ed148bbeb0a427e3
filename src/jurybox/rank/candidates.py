"""Candidate lists to rank: one query, its text and its candidates (document id, text, first-stage score).

Three ways in (:func:`read_candidates`):

* a TREC run file (``qid Q0 docid rank score tag``) with a passages file (MS MARCO collection TSV
  ``docid<TAB>text``, or JSONL/CSV/Parquet with ``doc_id`` and ``text``) and a queries file (TSV
  ``qid<TAB>query``, or a table with ``query_id`` and ``query``); candidates keep the run's order;
* a JSON/JSONL file with one query a row: ``{query_id, query, candidates: [{doc_id, text, score}]}``
  (``hits`` with ``docid``/``content`` are read too: the rank_llm layout
  ``{query, hits: [{qid, docid, content, rank, score}]}``), or a JSON list of such rows;
* Python: a list of such dicts, or a DataFrame with one row per (query, document): ``query_id``,
  ``query``, ``doc_id``, ``text`` (optionally ``score``), in rank order.

Checked at the boundary, each a one-line :class:`~jurybox.errors.InputError` naming file, row and
field: a document the run names that the passages file lacks, a (query, document) pair twice, a
query with fewer than two candidates, an empty text, a query missing from the queries file.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from jurybox.errors import InputError
from jurybox.items import read_table

__all__ = ["Candidate", "QueryCandidates", "from_records", "read_candidates", "read_passages", "read_queries"]


@dataclass(frozen=True)
class Candidate:
    doc_id: str
    text: str
    score: float | None = None


@dataclass
class QueryCandidates:
    """One query and its candidates in their input (first-stage) order."""

    query_id: str
    query: str
    candidates: list[Candidate] = field(default_factory=list)


def _text(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    s = str(v)
    return s if s.strip() else None


def _check(queries: list[QueryCandidates], source: str | None, rows: Mapping[tuple[str, str], int] | None = None
           ) -> list[QueryCandidates]:
    if not queries:
        raise InputError("no queries to rank", file=source)
    seen_q: dict[str, int] = {}
    for n, q in enumerate(queries, start=1):
        if q.query_id in seen_q:
            raise InputError(f"query {q.query_id} appears twice (rows {seen_q[q.query_id]} and {n})", file=source,
                             row=n, field="query_id")
        seen_q[q.query_id] = n
        if len(q.candidates) < 2:
            raise InputError(f"query {q.query_id} has {len(q.candidates)} candidate(s); ranking needs at least 2",
                             file=source, row=(rows or {}).get((q.query_id, ""), n))
        docs: set[str] = set()
        for c in q.candidates:
            if c.doc_id in docs:
                row = (rows or {}).get((q.query_id, c.doc_id))
                raise InputError(f"query {q.query_id} lists document {c.doc_id} twice", file=source,
                                 row=row if row is not None else n, field="doc_id")
            docs.add(c.doc_id)
    return queries


def _score(v: Any) -> float | None:
    try:
        return None if v is None else float(v)
    except (TypeError, ValueError):
        return None


def _row_to_query(obj: Mapping[str, Any], row: int, source: str | None) -> QueryCandidates:
    hits = obj.get("candidates", obj.get("hits"))
    if not isinstance(hits, list):
        raise InputError("expected a list under 'candidates' (or 'hits')", file=source, row=row, field="candidates")
    query = _text(obj.get("query"))
    if query is None:
        raise InputError("empty or missing query text", file=source, row=row, field="query")
    qid = obj.get("query_id", obj.get("qid"))
    if qid is None and hits and isinstance(hits[0], Mapping):
        qid = hits[0].get("qid")
    if qid is None:
        raise InputError("no query id (query_id, or qid in the hits)", file=source, row=row, field="query_id")
    cands = []
    for h in hits:
        if not isinstance(h, Mapping):
            raise InputError("a candidate must be an object", file=source, row=row, field="candidates")
        doc = h.get("doc_id", h.get("docid"))
        text = _text(h.get("text", h.get("content")))
        if doc is None:
            raise InputError(f"query {qid}: a candidate has no doc_id", file=source, row=row, field="doc_id")
        if text is None:
            raise InputError(f"query {qid}: document {doc} has an empty text", file=source, row=row, field="text")
        cands.append(Candidate(str(doc), text, _score(h.get("score"))))
    return QueryCandidates(str(qid), query, cands)


def from_records(records: Iterable[Mapping[str, Any]], source: str | None = None) -> list[QueryCandidates]:
    """Queries from dicts in the JSONL layout (``candidates`` or rank_llm ``hits``)."""
    return _check([_row_to_query(r, i, source) for i, r in enumerate(records, start=1)], source)


def from_frame(df: pd.DataFrame, source: str | None = None) -> list[QueryCandidates]:
    """Queries from one row per (query, document): query_id, query, doc_id, text[, score]."""
    need = {"query_id", "query", "doc_id", "text"}
    missing = sorted(need - set(map(str, df.columns)))
    if missing:
        raise InputError(f"missing column(s) {missing}; a candidates table needs query_id, query, doc_id, text",
                         file=source, field=missing[0])
    by: dict[str, QueryCandidates] = {}
    rows: dict[tuple[str, str], int] = {}
    for i, rec in enumerate(df.to_dict(orient="records"), start=1):
        qid, doc, text = str(rec["query_id"]), str(rec["doc_id"]), _text(rec["text"])
        if text is None:
            raise InputError("empty text", file=source, row=i, field="text")
        if (qid, doc) in rows:
            raise InputError(f"query {qid} document {doc} appears twice (rows {rows[(qid, doc)]} and {i})",
                             file=source, row=i, field="doc_id")
        rows[(qid, doc)] = i
        rows.setdefault((qid, ""), i)
        q = by.setdefault(qid, QueryCandidates(qid, str(rec["query"])))
        q.candidates.append(Candidate(doc, text, _score(rec.get("score"))))
    return _check(list(by.values()), source, rows)


def _tsv_pairs(path: Path, what: str, encoding: str | None) -> dict[str, tuple[str, int]]:
    out: dict[str, tuple[str, int]] = {}
    try:
        with path.open(encoding=encoding or "utf-8-sig", newline="") as fh:
            for row, parts in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
                if not parts or not "".join(parts).strip():
                    continue
                if len(parts) < 2:
                    raise InputError(f"expected 'id<TAB>{what}'", file=str(path), row=row)
                key = parts[0].strip()
                if key in out:
                    raise InputError(f"id {key} appears twice (rows {out[key][1]} and {row})", file=str(path), row=row)
                out[key] = ("\t".join(parts[1:]), row)
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid {encoding or 'UTF-8'} text ({exc.reason})", file=str(path)) from None
    return out


def _id_text_table(path: Path, id_col: str, text_col: str, encoding: str | None) -> dict[str, tuple[str, int]]:
    df = read_table(path, encoding=encoding)
    for col in (id_col, text_col):
        if col not in df.columns:
            raise InputError(f"missing column '{col}'; columns present: {', '.join(map(str, df.columns))}",
                             file=str(path), field=col)
    out: dict[str, tuple[str, int]] = {}
    for row, (k, v) in enumerate(zip(df[id_col].tolist(), df[text_col].tolist(), strict=True), start=1):
        key = str(k)
        if key in out:
            raise InputError(f"{id_col} {key} appears twice (rows {out[key][1]} and {row})", file=str(path), row=row,
                             field=id_col)
        out[key] = ("" if _text(v) is None else str(v), row)
    return out


def read_passages(path: str | os.PathLike[str], encoding: str | None = None) -> dict[str, tuple[str, int]]:
    """doc_id -> (text, row) from a collection TSV (``docid<TAB>text``) or a table with doc_id, text."""
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", file=str(p))
    if p.suffix.lower() in (".tsv", ".txt", ""):
        return _tsv_pairs(p, "text", encoding)
    return _id_text_table(p, "doc_id", "text", encoding)


def read_queries(path: str | os.PathLike[str], encoding: str | None = None) -> dict[str, tuple[str, int]]:
    """query_id -> (query, row) from a TSV (``qid<TAB>query``) or a table with query_id, query."""
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", file=str(p))
    if p.suffix.lower() in (".tsv", ".txt", ""):
        return _tsv_pairs(p, "query", encoding)
    return _id_text_table(p, "query_id", "query", encoding)


def from_run(run_path: str | os.PathLike[str], passages: str | os.PathLike[str],
             queries: str | os.PathLike[str], encoding: str | None = None) -> list[QueryCandidates]:
    """Queries from a TREC run (candidates in the run's rank order) with passage and query texts."""
    from jurybox.ir.trec import read_run_rows

    texts = read_passages(passages, encoding)
    qtexts = read_queries(queries, encoding)
    by: dict[str, QueryCandidates] = {}
    rows: dict[tuple[str, str], int] = {}
    ranks: dict[tuple[str, str], int] = {}
    src = str(run_path)
    for row, qid, doc, rank, score in read_run_rows(run_path):
        if (qid, doc) in rows:
            raise InputError(f"query {qid} document {doc} appears twice (rows {rows[(qid, doc)]} and {row})",
                             file=src, row=row, field="docid")
        rows[(qid, doc)] = row
        rows.setdefault((qid, ""), row)
        if doc not in texts:
            raise InputError(f"document {doc} is not in the passages file {passages}", file=src, row=row,
                             field="docid")
        text = texts[doc][0]
        if _text(text) is None:
            raise InputError(f"document {doc} has an empty text", file=str(passages), row=texts[doc][1])
        if qid not in by:
            if qid not in qtexts or _text(qtexts[qid][0]) is None:
                raise InputError(f"query {qid} is not in the queries file {queries}", file=src, row=row, field="qid")
            by[qid] = QueryCandidates(qid, qtexts[qid][0])
        by[qid].candidates.append(Candidate(doc, text, score))
        ranks[(qid, doc)] = rank
    for q in by.values():  # the run's own rank order (stable: equal ranks keep the file's order)
        q.candidates.sort(key=lambda c, qid=q.query_id: ranks[(qid, c.doc_id)])  # type: ignore[misc]
    return _check(list(by.values()), src, rows)


def _json_rows(p: Path, encoding: str | None) -> list[dict[str, Any]]:
    try:
        with p.open(encoding=encoding or "utf-8-sig") as fh:
            head = fh.read(1)
            while head and head.isspace():
                head = fh.read(1)
            if head != "[":
                return read_table(p, encoding=encoding).to_dict(orient="records")
            fh.seek(0)
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON (line {exc.lineno}: {exc.msg})", file=str(p)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid {encoding or 'UTF-8'} text ({exc.reason})", file=str(p)) from None
    if not all(isinstance(x, dict) for x in data):
        raise InputError("expected a JSON list of objects, one per query", file=str(p))
    return list(data)


def read_candidates(
    data: str | os.PathLike[str] | pd.DataFrame | Sequence[Mapping[str, Any]] | Sequence[QueryCandidates],
    *,
    passages: str | os.PathLike[str] | None = None,
    queries: str | os.PathLike[str] | None = None,
    encoding: str | None = None,
) -> list[QueryCandidates]:
    """The queries to rank from any of the inputs in the module docstring."""
    if isinstance(data, pd.DataFrame):
        return from_frame(data.reset_index(drop=True))
    if not isinstance(data, str | os.PathLike):
        rows = list(data)
        if rows and all(isinstance(r, QueryCandidates) for r in rows):
            return _check([r for r in rows if isinstance(r, QueryCandidates)], None)
        return from_records(rows)
    p = Path(data)
    if not p.is_file():
        raise InputError("file not found", file=str(p))
    if passages is not None or queries is not None:
        if passages is None or queries is None:
            raise InputError("a TREC run needs both a passages file and a queries file", file=str(p),
                             option="passages" if passages is None else "queries")
        return from_run(p, passages, queries, encoding)
    if p.suffix.lower() in (".json", ".jsonl", ".ndjson"):
        rows = _json_rows(p, encoding)
        if rows and ("candidates" in rows[0] or "hits" in rows[0]):
            return from_records(rows, str(p))
        return from_frame(pd.DataFrame.from_records(rows), str(p))
    if p.suffix.lower() in (".csv", ".parquet", ".pq") or p.suffix.lower() == ".tsv":
        return from_frame(read_table(p, encoding=encoding), str(p))
    raise InputError("a TREC run file needs passages= and queries= (--passages, --queries) for the texts",
                     file=str(p), option="passages")
