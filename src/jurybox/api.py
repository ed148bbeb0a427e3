"""The Python API: ``jurybox.judge(df, protocol=..., model=...)`` returns a DataFrame."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from jurybox.backends.base import Backend
from jurybox.backends.registry import get_backend
from jurybox.engine import Executor, Judge, RunStats, evaluate
from jurybox.errors import InputError, PromptTooLong, redact
from jurybox.items import check_columns, extract_items, output_names, parse_field_map, read_table
from jurybox.protocols.base import JudgeProtocol
from jurybox.protocols.registry import make_protocol
from jurybox.store import Store
from jurybox.types import Verdict


@dataclass
class JudgeResult:
    """What a judging run produced: the output table, item verdicts, per-variant verdicts, stats."""

    table: pd.DataFrame
    verdicts: list[Verdict]
    variants: list[dict[str, Verdict]]
    stats: RunStats
    human: list[str | None] | None = None
    columns: dict[str, str] = field(default_factory=dict)


def load(data: pd.DataFrame | str | os.PathLike[str], encoding: str | None = None) -> tuple[pd.DataFrame, str | None]:
    if isinstance(data, pd.DataFrame):
        check_columns(data.columns, None)
        return data.reset_index(drop=True), None
    return read_table(data, encoding=encoding), str(data)


def _locate(exc: InputError, items: Sequence[Mapping[str, Any]], source: str | None,
            field_map: Mapping[str, str]) -> InputError:
    """An engine error that names only the row (a prompt longer than the context window), with the
    file added and, for a prompt too long, the item's longest field named."""
    row = exc.row
    cause = exc.__cause__
    too_long = isinstance(cause, PromptTooLong) or "context window" in str(exc)
    message = str(cause) if isinstance(cause, PromptTooLong) else str(exc).removeprefix(f"row {row}: ")
    field = exc.field
    if too_long and field is None:
        item = items[row - 1] if row is not None and 0 < row <= len(items) else {}
        sizes = {k: len(str(v)) for k, v in item.items() if v is not None}
        if sizes:
            longest = max(sizes, key=lambda k: sizes[k])
            field = field_map.get(longest, longest)  # the user's column name
            message += f" (its longest field, '{field}', has {sizes[longest]} characters)"
    return InputError(message, file=source, row=row, field=field)


def human_labels(df: pd.DataFrame, column: str, protocol: JudgeProtocol, source: str | None) -> list[str | None]:
    """Read and validate a column of human labels against the protocol's label set."""
    if column not in df.columns:
        raise InputError(f"human label column '{column}' not found; columns present: "
                         f"{', '.join(map(str, df.columns))}", file=source, field=column)
    out: list[str | None] = []
    for i, v in enumerate(df[column].tolist(), start=1):
        if v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip()):
            out.append(None)
        else:
            out.append(protocol.normalise_label(v, file=source, row=i, field=column))
    return out


def run_judge(
    data: pd.DataFrame | str | os.PathLike[str],
    protocol: str | JudgeProtocol = "score",
    *,
    model: str | os.PathLike[str] | Backend | None = None,
    store: Store | str | os.PathLike[str] | None = None,
    fields: Sequence[str] | Mapping[str, str] | None = None,
    human: str | None = None,
    progress: bool = False,
    name: str = "",
    executor: Executor | None = None,
    encoding: str | None = None,
    **protocol_params: Any,
) -> JudgeResult:
    """Judge a dataset and return everything the run produced (see :func:`judge` for the table only).

    ``encoding`` is the text encoding of a CSV/TSV/JSONL file (default UTF-8, byte-order mark allowed)."""
    df, source = load(data, encoding)
    proto = make_protocol(protocol, **protocol_params)
    field_map = parse_field_map(fields)
    items = extract_items(df, proto.required, proto.optional, field_map, source=source)
    labels = human_labels(df, human, proto, source) if human else None
    own_store = not isinstance(store, Store)
    st = store if isinstance(store, Store) else Store(store)  # opened first: a bad store fails before a model loads
    try:
        backend = get_backend(model)
        try:
            verdicts, variants, stats = evaluate(Judge(proto, backend, name), items, st, progress=progress,
                                                 description=f"{proto.name} ({len(items)} items)",
                                                 executor=executor)
        except InputError as exc:
            if exc.file is None and exc.row is not None:
                raise _locate(exc, items, source, field_map) from exc
            raise
    finally:
        if own_store:
            st.close()
    names = output_names(df.columns)
    out = df.copy()
    out[names["verdict"]] = [v.label for v in verdicts]
    out[names["verdict_probs"]] = [v.probs for v in verdicts]
    out[names["verdict_score"]] = [v.score for v in verdicts]
    out[names["verdict_status"]] = [v.status for v in verdicts]
    out[names["verdict_raw"]] = [v.raw for v in verdicts]
    out[names["verdict_error"]] = [redact(v.error) if v.error else v.error for v in verdicts]
    return JudgeResult(out, verdicts, variants, stats, labels, names)


def judge(
    data: pd.DataFrame | str | os.PathLike[str],
    protocol: str | JudgeProtocol = "score",
    *,
    model: str | os.PathLike[str] | Backend | None = None,
    store: Store | str | os.PathLike[str] | None = None,
    fields: Sequence[str] | Mapping[str, str] | None = None,
    progress: bool = False,
    encoding: str | None = None,
    **protocol_params: Any,
) -> pd.DataFrame:
    """Judge every row of ``data`` and return it with the judge's columns added.

    ``data`` is a DataFrame or a JSONL/CSV/Parquet path; ``protocol`` one of score, pairwise,
    classify, correctness (or a protocol instance); ``model`` an embedded model name, a GGUF path,
    or a backend; ``fields`` maps protocol fields to your column names
    (``{"response_a": "output_1"}``); further keywords configure the protocol (``criteria``,
    ``labels``, ``scale``, ``orders``, ``combine``...). Verdicts are stored in ``store`` (default
    ``.jurybox/verdicts.sqlite``), so a rerun makes no model calls.

    The result keeps your columns and rows in order and adds ``verdict`` (label, None when the
    answer could not be read), ``verdict_probs``, ``verdict_score``, ``verdict_status``
    ("ok"/"unparsed"/"error"), ``verdict_raw`` and ``verdict_error`` (prefixed ``jurybox_`` when
    your data already has such a column). ``result.attrs["jurybox"]`` holds the run statistics.
    """
    res = run_judge(data, protocol, model=model, store=store, fields=fields, progress=progress, encoding=encoding,
                    **protocol_params)
    res.table.attrs["jurybox"] = res.stats.to_dict()
    return res.table
