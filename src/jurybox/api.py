"""The Python API: ``jurybox.judge(df, protocol=..., model=...)`` returns a DataFrame."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from jurybox.backends.base import Backend
from jurybox.engine import Executor, Judge, RunStats, evaluate
from jurybox.errors import InputError, PromptTooLong, redact
from jurybox.items import load_dataset, output_names
from jurybox.protocols.base import JudgeProtocol
from jurybox.spec import JudgeSpec, as_spec
from jurybox.store import Store, open_store
from jurybox.types import Verdict

__all__ = ["JudgeResult", "judge", "run_judge"]


@dataclass
class JudgeResult:
    """What a judging run produced: the output table, item verdicts, per-variant verdicts, stats."""

    table: pd.DataFrame
    verdicts: list[Verdict]
    variants: list[dict[str, Verdict]]
    stats: RunStats
    human: list[str | None] | None = None
    columns: dict[str, str] = field(default_factory=dict)

    def status_counts(self) -> dict[str, int]:
        """How many items have each verdict status (ok, unparsed, error)."""
        return dict(self.table[self.columns["verdict_status"]].value_counts().to_dict())


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


def run_judge(
    data: pd.DataFrame | str | os.PathLike[str],
    protocol: str | JudgeProtocol | JudgeSpec = "score",
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

    ``protocol`` is a protocol name or instance (then ``model`` and the keyword parameters
    complete it) or a :class:`JudgeSpec`. ``encoding`` is the text encoding of a CSV/TSV/JSONL
    file (default UTF-8, byte-order mark allowed)."""
    spec = as_spec(protocol, model, protocol_params)
    if name:
        spec = spec.replace(name=name)
    proto = spec.make_protocol()
    ds = load_dataset(data, proto, fields=fields, human=human, encoding=encoding)
    with open_store(store) as st:  # opened first: a bad store fails before a model loads
        judge_ = Judge(proto, spec.make_backend(), spec.name)
        try:
            verdicts, variants, stats = evaluate(judge_, ds.items, st, progress=progress,
                                                 description=f"{proto.name} ({len(ds.items)} items)",
                                                 executor=executor)
        except InputError as exc:
            if exc.file is None and exc.row is not None:
                raise _locate(exc, ds.items, ds.source, ds.field_map) from exc
            raise
    names = output_names(ds.table.columns)
    out = ds.table.copy()
    out[names["verdict"]] = [v.label for v in verdicts]
    out[names["verdict_probs"]] = [v.probs for v in verdicts]
    out[names["verdict_score"]] = [v.score for v in verdicts]
    out[names["verdict_status"]] = [v.status for v in verdicts]
    out[names["verdict_raw"]] = [v.raw for v in verdicts]
    out[names["verdict_error"]] = [redact(v.error) if v.error else v.error for v in verdicts]
    return JudgeResult(out, verdicts, variants, stats, ds.human, names)


def judge(
    data: pd.DataFrame | str | os.PathLike[str],
    protocol: str | JudgeProtocol | JudgeSpec = "score",
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
    classify, correctness (or a protocol instance, or a :class:`JudgeSpec` holding protocol,
    parameters, template, model and backend options); ``model`` an embedded model name, a GGUF
    path, or a backend; ``fields`` maps protocol fields to your column names
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
