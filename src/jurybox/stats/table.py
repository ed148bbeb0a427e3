"""Agreement of a verdict table with human labels: the dataset-level entry point of the statistics.

:func:`agreement_table` reads a table written by ``jurybox judge`` (or takes a DataFrame), finds
the verdict and status columns jurybox added, joins the human labels (a column of the same table,
or a file joined on key columns) and returns both sides normalised so labels compare across file
formats (1, 1.0 and "1" are one label). :func:`agreement` computes the agreement report on it,
overall and per value of a column.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jurybox.errors import InputError, JuryboxError
from jurybox.items import JUDGE_COLUMNS, load_table, read_table

__all__ = ["ALL", "AgreementTable", "agreement", "agreement_table", "verdict_columns"]

ALL = "(all)"
HUMAN = "__human__"  # the joined human label's column in AgreementTable.table
_STATUS = "_status"  # a verdict column X has its status in X_status


def _text(s: pd.Series) -> np.ndarray:
    """Values as text, so that 1, 1.0 and "1" (JSONL vs CSV) are the same label or key."""

    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            return None
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    return np.array([one(v) for v in s.tolist()], dtype=object)


def _normalise(human: pd.Series, judge: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Labels comparable across file formats: numbers if both sides are numeric, else text."""
    hn = pd.to_numeric(human, errors="coerce")
    jn = pd.to_numeric(judge, errors="coerce")
    if (hn.isna() == human.isna()).all() and (jn.isna() == judge.isna()).all():
        return hn.to_numpy(dtype=float), jn.to_numpy(dtype=float)
    return _text(human), _text(judge)


def verdict_columns(columns: Any, verdict_field: str | None) -> tuple[str, str | None]:
    """The verdict column and its status column in a table written by ``jurybox judge``.

    ``jurybox judge`` names its columns :data:`~jurybox.items.JUDGE_COLUMNS` or, when the user's
    data already had one of those names, the same names prefixed (see
    :func:`jurybox.items.output_names`). Without ``verdict_field`` the last complete set is used
    (the one jurybox added); a given ``verdict_field`` X has its status in ``X_status`` when present.
    """
    cols = set(map(str, columns))
    verdict = JUDGE_COLUMNS[0]
    if verdict_field is None:
        prefixes = ["", "jurybox_", *(f"jurybox{n}_" for n in range(2, 10))]
        complete = [p for p in prefixes if {p + c for c in JUDGE_COLUMNS} <= cols]
        partial = [p for p in prefixes if p + verdict in cols]
        chosen = complete[-1] if complete else (partial[-1] if partial else "")
        verdict_field = chosen + verdict
    status = verdict_field + _STATUS
    return verdict_field, status if status in cols else None


@dataclass
class AgreementTable:
    """A verdict table with the human labels joined (column ``__human__``), where they came from
    (``source``: "column 'label'" or "FILE:FIELD") and the verdict and status columns."""

    table: pd.DataFrame
    source: str
    verdict_field: str
    status_field: str | None

    def judge_labels(self, part: pd.DataFrame | None = None) -> pd.Series:
        """The judge's labels, missing where the status column says the answer was not read."""
        df = self.table if part is None else part
        judge = df[self.verdict_field].copy()
        if self.status_field is not None:
            judge = judge.where(df[self.status_field].fillna("ok") == "ok")
        return judge

    def pairs(self, part: pd.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(human, judge) labels normalised to compare across file formats."""
        df = self.table if part is None else part
        return _normalise(df[HUMAN], self.judge_labels(df))


def agreement_table(
    verdicts: pd.DataFrame | str | os.PathLike[str],
    human: str,
    *,
    human_field: str | None = None,
    key: Sequence[str] | None = None,
    verdict_field: str | None = None,
) -> AgreementTable:
    """The verdict table with the human labels joined.

    ``human`` is a column of ``verdicts``, or a file of human labels: then ``human_field`` names
    its label column and ``key`` the column(s) joining it to ``verdicts`` (values compared as text,
    so JSONL numbers join CSV strings; a repeated key in the labels is refused)."""
    df, name = load_table(verdicts)
    where = name or "the verdict table"
    verdict_field, status = verdict_columns(df.columns, verdict_field)
    if verdict_field not in df.columns:
        raise InputError(f"no '{verdict_field}' column (is this a file written by 'jurybox judge'?)", file=name)
    if human in df.columns and human_field is None:
        df[HUMAN] = df[human]
        return AgreementTable(df, f"column '{human}'", verdict_field, status)
    path = Path(human)
    if not path.is_file():
        raise JuryboxError(f"human {human!r} is neither a column of {where} (columns: "
                           f"{', '.join(map(str, df.columns))}) nor a file", option="human")
    if not key or not human_field:
        raise JuryboxError("human labels given as a file need human_field (its label column) and key (the join "
                           "column)", option="human_field")
    labels = read_table(path)
    keys = list(key)
    for col in [*keys, human_field]:
        if col not in labels.columns:
            raise InputError("column not found", file=str(path), field=col)
    for col in keys:
        if col not in df.columns:
            raise InputError("join column not found", file=name, field=col)
    if labels.duplicated(keys).any():
        row = int(np.flatnonzero(labels.duplicated(keys).to_numpy())[0]) + 1
        raise InputError(f"the key {keys} repeats", file=str(path), row=row)
    right = labels[[*keys, human_field]].rename(columns={human_field: HUMAN})
    left = df.drop(columns=[HUMAN], errors="ignore")
    join = [f"__key_{i}__" for i in range(len(keys))]
    for col, tmp in zip(keys, join, strict=True):  # JSONL ints and CSV strings must join
        left[tmp] = _text(left[col])
        right[tmp] = _text(right[col])
    merged = left.merge(right.drop(columns=keys), on=join, how="left", validate="many_to_one")
    _, status = verdict_columns(merged.columns, verdict_field)
    return AgreementTable(merged.drop(columns=join), f"{path}:{human_field}", verdict_field, status)


def agreement(
    table: AgreementTable,
    *,
    by: str | None = None,
    cluster: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """:func:`jurybox.stats.agreement_report` of the judge against the human labels, over every
    row (key :data:`ALL`) and, with ``by``, per value of that column; ``cluster`` names a column
    whose values are resampled together (a query id). ``kwargs`` go to the report (``level``,
    ``n_resamples``, ``confidence``, ``seed``)."""
    from jurybox.stats import agreement_report

    df = table.table
    parts: list[tuple[str, pd.DataFrame]] = [(ALL, df)]
    if by is not None:
        if by not in df.columns:
            raise JuryboxError(f"by {by!r} is not a column; columns: {', '.join(map(str, df.columns))}", option="by")
        parts += [(str(k), g) for k, g in df.groupby(by, sort=True, dropna=False)]
    if cluster is not None and cluster not in df.columns:
        raise JuryboxError(f"cluster {cluster!r} is not a column", option="cluster")
    out = {}
    for name, part in parts:
        h, j = table.pairs(part)
        groups = part[cluster].to_numpy() if cluster else None
        out[name] = agreement_report(h, j, groups=groups, **kwargs)
    return out
