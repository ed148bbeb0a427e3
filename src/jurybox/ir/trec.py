"""Read and write TREC qrels (``qid iter docid rel``) and run files (``qid Q0 docid rank score tag``)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from jurybox.atomic import atomic_write
from jurybox.errors import InputError

QRELS_COLUMNS = ["query_id", "doc_id", "relevance"]
RUN_COLUMNS = ["query_id", "doc_id", "rank", "score", "tag"]


def _lines(path: str | os.PathLike[str]) -> list[tuple[int, list[str]]]:
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", file=str(p))
    out = []
    with p.open(encoding="utf-8") as fh:
        for row, line in enumerate(fh, start=1):
            parts = line.split()
            if parts:
                out.append((row, parts))
    return out


def read_qrels(path: str | os.PathLike[str], *, grades: Sequence[int] | None = None) -> pd.DataFrame:
    """Qrels as a DataFrame ``query_id, doc_id, relevance`` (str, str, int).

    Lines are whitespace-separated ``qid iteration docid relevance``; the iteration column is
    ignored. A repeated (query, doc) pair or a non-integer relevance is an error naming the row;
    with ``grades`` (e.g. ``range(4)`` for the TREC 0-3 scale) so is a grade outside them.
    """
    records = []
    for row, parts in _lines(path):
        if len(parts) != 4:
            raise InputError(
                f"expected 4 fields 'qid iter docid relevance', got {len(parts)}", file=str(path), row=row
            )
        try:
            rel = int(float(parts[3]))
        except ValueError:
            raise InputError(
                f"relevance must be an integer, got {parts[3]!r}", file=str(path), row=row, field="relevance"
            ) from None
        if grades is not None and rel not in grades:
            allowed = ", ".join(str(g) for g in grades)
            raise InputError(f"relevance grade {parts[3]} is outside the scale ({allowed})", file=str(path),
                             row=row, field="relevance")
        records.append((parts[0], parts[2], rel, row))
    df = pd.DataFrame(records, columns=[*QRELS_COLUMNS, "_row"])
    dup = df.duplicated(["query_id", "doc_id"])
    if dup.any():
        first = df[dup].iloc[0]
        raise InputError(
            f"query {first.query_id} document {first.doc_id} is judged twice",
            file=str(path),
            row=int(first._row),
        )
    return df[QRELS_COLUMNS].reset_index(drop=True)


def _run_lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, list[str], int, float]]:
    """A run's lines checked: ``(row, fields, rank, score)`` (row: the 1-based line number)."""
    for row, parts in _lines(path):
        if len(parts) != 6:
            raise InputError(
                f"expected 6 fields 'qid Q0 docid rank score tag', got {len(parts)}", file=str(path), row=row
            )
        try:
            rank, score = int(parts[3]), float(parts[4])
        except ValueError:
            raise InputError("rank must be an integer and score a number", file=str(path), row=row) from None
        yield row, parts, rank, score


def read_run_rows(path: str | os.PathLike[str]) -> list[tuple[int, str, str, int, float]]:
    """A run's lines as ``(row, query_id, doc_id, rank, score)`` (row: the 1-based line number)."""
    return [(row, parts[0], parts[2], rank, score) for row, parts, rank, score in _run_lines(path)]


def read_run(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A run as a DataFrame ``query_id, doc_id, rank, score, tag`` from ``qid Q0 docid rank score tag``."""
    records = [(parts[0], parts[2], rank, score, parts[5]) for _, parts, rank, score in _run_lines(path)]
    return pd.DataFrame(records, columns=RUN_COLUMNS)


def _atomic_write(path: str | os.PathLike[str], text: str) -> None:
    with atomic_write(path, mkdir=False) as fh:
        fh.write(text)


def write_qrels(qrels: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write ``query_id, doc_id, relevance`` as TREC qrels (iteration 0), atomically."""
    lines = [f"{q} 0 {d} {int(r)}\n" for q, d, r in qrels[QRELS_COLUMNS].itertuples(index=False)]
    _atomic_write(path, "".join(lines))


def write_run(run: pd.DataFrame, path: str | os.PathLike[str], *, tag: str | None = None) -> None:
    """Write a run (``query_id, doc_id, score`` and optionally ``rank``, ``tag``) atomically.

    Without a ``rank`` column, ranks are assigned per query by descending score.
    """
    df = run.copy()
    if "rank" not in df:
        df = df.sort_values(["query_id", "score"], ascending=[True, False], kind="mergesort")
        df["rank"] = df.groupby("query_id").cumcount() + 1
    if tag is not None or "tag" not in df:
        df["tag"] = tag or "jurybox"
    lines = [
        f"{q} Q0 {d} {int(k)} {float(s):.6g} {t}\n"
        for q, d, k, s, t in df[["query_id", "doc_id", "rank", "score", "tag"]].itertuples(index=False)
    ]
    _atomic_write(path, "".join(lines))
