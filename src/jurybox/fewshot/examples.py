"""The labelled examples file of few-shot judging: read, mapped and checked like a dataset.

An examples file is a JSONL/CSV/Parquet table (or a DataFrame, or a list of dicts) with the
protocol's fields (named as the protocol names them, or mapped with ``fields``, ``FIELD=COLUMN``)
and a label column (``label`` unless named otherwise), read by :func:`jurybox.items.load_dataset`,
so a missing field, an empty value or a label outside the protocol's label set is one line naming
the file, the row and the field. Every example needs a label.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import pandas as pd

from jurybox.errors import InputError
from jurybox.items import load_dataset, load_table
from jurybox.protocols.base import JudgeProtocol

__all__ = ["Examples", "load_examples"]

ExamplesSource: TypeAlias = pd.DataFrame | str | os.PathLike[str] | Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Examples:
    """The examples' items (protocol fields), their labels and where they came from."""

    items: list[dict[str, Any]]
    labels: list[str]
    source: str | None


def load_examples(source: ExamplesSource, protocol: JudgeProtocol, *,
                  fields: Sequence[str] | Mapping[str, str] | None = None, label: str = "label",
                  encoding: str | None = None) -> Examples:
    """Read the examples (module docstring); errors name the file, row and field."""
    data: Any = source
    if isinstance(source, list | tuple):
        data = pd.DataFrame(list(source))
    df, name = load_table(data, encoding)
    if label not in df.columns:
        raise InputError(f"the examples have no label column '{label}' (columns: {', '.join(map(str, df.columns))})",
                         file=name or "examples", field=label, option="examples")
    ds = load_dataset(data, protocol, fields=fields, human=label, encoding=encoding)
    labels = ds.human or []
    for i, lab in enumerate(labels, start=1):
        if lab is None:
            raise InputError("an example needs a label", file=name or "examples", row=i, field=label,
                             option="examples")
    return Examples(ds.items, [str(x) for x in labels], name)
