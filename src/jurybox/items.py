"""Datasets in and out: read JSONL/CSV/Parquet or a DataFrame, map fields, validate, write atomically.

Errors name the file, the row (1-based data row; for JSONL the line number) and the field.
Output keeps the user's columns in input order and adds the judge's columns under names that
cannot collide with the user's (see :func:`output_names`).
"""

from __future__ import annotations

import codecs
import csv
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from jurybox.atomic import atomic_path, check_writable
from jurybox.errors import InputError, JuryboxError

if TYPE_CHECKING:
    from jurybox.protocols.base import JudgeProtocol

__all__ = ["JUDGE_COLUMNS", "READ_FORMATS", "Dataset", "check_columns", "check_encoding", "check_output", "extract_items",
           "human_labels", "load_dataset", "load_table", "output_names", "parse_field_map", "read_table", "write_table"]

READ_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv",
                ".parquet": "parquet", ".pq": "parquet"}


def _format(path: Path) -> str:
    fmt = READ_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"unsupported file type '{path.suffix}' (use .jsonl, .csv, .tsv or .parquet)", file=str(path))
    return fmt


def check_encoding(encoding: str | None) -> str:
    """The codec to read text files with: ``None`` and UTF-8 mean UTF-8 with an optional byte-order
    mark (which Excel and some editors write at the start of CSV and JSONL files alike)."""
    if encoding is None:
        return "utf-8-sig"
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise JuryboxError(f"encoding: unknown encoding {encoding!r} (for example utf-8, latin-1, cp1252)",
                           option="encoding") from None
    return "utf-8-sig" if name == "utf-8" else name


def _decode_error(p: Path, encoding: str, exc: UnicodeDecodeError) -> InputError:
    """Where a file stops being valid ``encoding``: the file, the line and the column, and what to pass."""
    data = p.read_bytes()
    try:
        data.decode(encoding)
        pos, byte = exc.start, exc.object[exc.start:exc.start + 1]
    except UnicodeDecodeError as full:
        pos, byte = full.start, data[full.start:full.start + 1]
    line = data.count(b"\n", 0, pos) + 1
    col = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
    shown = "UTF-8" if encoding == "utf-8-sig" else encoding
    return InputError(f"line {line}, column {col}: byte 0x{byte.hex()} is not valid {shown}; pass the file's "
                      "encoding with --encoding (API: encoding=), for example --encoding latin-1 or cp1252",
                      file=str(p))


def _no_duplicate_keys(lineno: int, p: Path) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for k, v in pairs:
            if k in obj:
                raise InputError(f"line {lineno}: duplicate key '{k}' in a JSON object", file=str(p), field=k)
            obj[k] = v
        return obj
    return hook


def check_columns(columns: Sequence[Any], source: str | None) -> None:
    """Refuse duplicated column names: they would be judged and written under a renamed column."""
    seen: set[str] = set()
    for c in map(str, columns):
        if c in seen:
            raise InputError(f"column '{c}' appears more than once in the header; rename one of them",
                             file=source, field=c)
        seen.add(c)


def _csv_header(p: Path, sep: str, encoding: str) -> list[str]:
    with open(p, encoding=encoding, newline="") as f:
        return next(csv.reader(f, delimiter=sep), [])


def read_table(path: str | os.PathLike[str], *, encoding: str | None = None) -> pd.DataFrame:
    """Read a dataset file into a DataFrame (all values kept as read; JSONL keeps nested values).

    Text files are UTF-8 (a byte-order mark is accepted) unless ``encoding`` says otherwise."""
    p = Path(path)
    enc = check_encoding(encoding)
    if not p.exists():
        raise InputError("file not found", file=str(p))
    if p.is_dir():
        raise InputError("is a directory, expected a data file", file=str(p))
    fmt = _format(p)
    if p.stat().st_size == 0:
        raise InputError("file is empty", file=str(p))
    try:
        if fmt == "jsonl":
            return _read_jsonl(p, enc)
        if fmt in ("csv", "tsv"):
            sep = "," if fmt == "csv" else "\t"
            check_columns(_csv_header(p, sep, enc), str(p))  # pandas would rename a repeat to 'text.1'
            df = pd.read_csv(p, sep=sep, dtype=str, keep_default_na=False, na_values=[""], encoding=enc)
        else:
            df = pd.read_parquet(p)
            check_columns(df.columns, str(p))
    except InputError:
        raise  # already names the file and line (an InputError is also a ValueError)
    except UnicodeDecodeError as exc:
        raise _decode_error(p, enc, exc) from None
    except pd.errors.EmptyDataError as exc:
        raise InputError("file is empty", file=str(p)) from exc
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise InputError(f"cannot parse as {fmt}: {str(exc).splitlines()[0]}", file=str(p)) from exc
    if len(df) == 0:
        raise InputError("file has a header but no rows", file=str(p))
    return df


def _read_jsonl(p: Path, encoding: str) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    with open(p, encoding=encoding) as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line, object_pairs_hook=_no_duplicate_keys(lineno, p))
            except json.JSONDecodeError as exc:
                hint = " (the line starts with a byte-order mark)" if line.startswith("\ufeff") else ""
                raise InputError(f"line {lineno}: malformed JSON ({exc.msg} at column {exc.colno}){hint}",
                                 file=str(p)) from exc
            if not isinstance(obj, dict):
                raise InputError(f"line {lineno}: expected a JSON object, got {type(obj).__name__}", file=str(p))
            rows.append(obj)
    if not rows:
        raise InputError("file has no rows", file=str(p))
    return pd.DataFrame.from_records(rows)


def parse_field_map(specs: Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    """``["response_a=output_1", ...]`` -> {"response_a": "output_1"} (protocol field -> column)."""
    if specs is None:
        return {}
    if isinstance(specs, Mapping):
        return dict(specs)
    out: dict[str, str] = {}
    for s in specs:
        if "=" not in s:
            raise JuryboxError(f"fields expects PROTOCOL_FIELD=COLUMN, got {s!r}", option="fields")
        k, v = s.split("=", 1)
        if not k.strip() or not v.strip():
            raise JuryboxError(f"fields expects PROTOCOL_FIELD=COLUMN, got {s!r}", option="fields")
        out[k.strip()] = v.strip()
    return out


def _missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and v.strip() == ""


def extract_items(
    df: pd.DataFrame,
    required: Sequence[str],
    optional: Sequence[str] = (),
    field_map: Mapping[str, str] | None = None,
    *,
    source: str | None = None,
) -> list[dict[str, Any]]:
    """Map columns to protocol fields and check every required value is present."""
    field_map = dict(field_map or {})
    known = set(required) | set(optional)
    unknown = [k for k in field_map if k not in known]
    if unknown:
        raise JuryboxError(f"fields names unknown protocol field(s) {unknown}; this protocol reads "
                           f"{sorted(known)}", option="fields")
    cols = [str(c) for c in df.columns]
    columns: dict[str, str | None] = {}
    for name in list(required) + list(optional):
        col = field_map.get(name, name)
        if col not in cols:
            if name in required:
                hint = f" (map it to a column: {name}=COLUMN)" if name not in field_map else ""
                raise InputError(f"missing required column '{col}'{hint}; columns present: {', '.join(cols)}",
                                 file=source, field=col, option="fields")
            if name in field_map:
                raise InputError(f"column '{col}' not found; columns present: {', '.join(cols)}",
                                 file=source, field=col)
            columns[name] = None
        else:
            columns[name] = col
    records = df.to_dict(orient="records")
    items: list[dict[str, Any]] = []
    for i, rec in enumerate(records, start=1):
        item: dict[str, Any] = {}
        for name, column in columns.items():
            v: Any = rec.get(column) if column is not None else None
            if hasattr(v, "tolist"):
                v = v.tolist()
            if _missing(v):
                if name in required:
                    raise InputError("empty value for a required field", file=source, row=i, field=column)
                v = None
            item[name] = v
        items.append(item)
    return items


def load_table(data: pd.DataFrame | str | os.PathLike[str], encoding: str | None = None
               ) -> tuple[pd.DataFrame, str | None]:
    """A DataFrame (index reset, duplicated columns refused) or a file read with :func:`read_table`,
    and its source name for errors (None for a DataFrame)."""
    if isinstance(data, pd.DataFrame):
        check_columns(data.columns, None)
        return data.reset_index(drop=True), None
    return read_table(data, encoding=encoding), str(data)


def human_labels(df: pd.DataFrame, column: str, protocol: JudgeProtocol, source: str | None) -> list[str | None]:
    """Read and validate a column of human labels against the protocol's label set (missing
    values stay None)."""
    if column not in df.columns:
        raise InputError(f"human column '{column}' not found; columns present: "
                         f"{', '.join(map(str, df.columns))}", file=source, field=column, option="human")
    out: list[str | None] = []
    for i, v in enumerate(df[column].tolist(), start=1):
        if _missing(v):
            out.append(None)
        else:
            out.append(protocol.normalise_label(v, file=source, row=i, field=column))
    return out


@dataclass
class Dataset:
    """A dataset read for judging: the table as read, its source (file name, None for a
    DataFrame), one item per row (a dict of protocol fields), the human labels when a column was
    named, and the field map (protocol field -> the user's column)."""

    table: pd.DataFrame
    source: str | None
    items: list[dict[str, Any]]
    human: list[str | None] | None
    field_map: dict[str, str]

    def column(self, name: str, *, option: str | None = None) -> list[Any]:
        """The values of one of the table's columns, or an error naming the column."""
        if name not in self.table.columns:
            raise InputError(f"column '{name}' not found; columns present: {', '.join(map(str, self.table.columns))}",
                             file=self.source, field=name, option=option)
        return list(self.table[name].tolist())


def load_dataset(
    data: pd.DataFrame | str | os.PathLike[str],
    protocol: JudgeProtocol,
    *,
    fields: Sequence[str] | Mapping[str, str] | None = None,
    human: str | None = None,
    extra_fields: Sequence[str] = (),
    encoding: str | None = None,
) -> Dataset:
    """The one way in for every capability: read ``data``, map ``fields`` (``["response_a=output_1"]``
    or a mapping) to the protocol's fields (plus ``extra_fields``, optional ones such as
    ``model_a``), check every required value, and read the ``human`` label column."""
    df, source = load_table(data, encoding)
    field_map = parse_field_map(fields)
    items = extract_items(df, protocol.required, (*protocol.optional, *extra_fields), field_map, source=source)
    labels = human_labels(df, human, protocol, source) if human else None
    return Dataset(df, source, items, labels, field_map)


JUDGE_COLUMNS = ("verdict", "verdict_probs", "verdict_score", "verdict_status", "verdict_raw", "verdict_error")


def output_names(existing: Sequence[str], base: Sequence[str] = JUDGE_COLUMNS) -> dict[str, str]:
    """Names for the judge's columns that do not collide with the user's.

    If any default name is taken, every judge column gets the prefix ``jurybox_`` (then a numeric
    suffix if even that is taken), so the judge's columns always stay together and recognisable.
    """
    taken = set(map(str, existing))
    for prefix in ("", "jurybox_"):
        names = {b: prefix + b for b in base}
        if not taken & set(names.values()):
            return names
    n = 2
    while True:
        names = {b: f"jurybox{n}_{b}" for b in base}
        if not taken & set(names.values()):
            return names
        n += 1


def write_table(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write atomically (temporary file in the same directory, then rename): never half-written.

    A new file gets the user's umask permissions; an existing file keeps its mode."""
    p = Path(path)
    fmt = READ_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise JuryboxError(f"{p}: unsupported output type '{p.suffix}' (use .jsonl, .csv, .tsv or .parquet)")
    try:
        with atomic_path(p) as tmp:
            if fmt == "jsonl":
                with open(tmp, "w", encoding="utf-8") as f:
                    for rec in df.to_dict(orient="records"):
                        f.write(json.dumps(_jsonable(rec), ensure_ascii=False) + "\n")
            elif fmt in ("csv", "tsv"):
                flat = df.copy()
                for c in flat.columns:
                    if flat[c].map(lambda v: isinstance(v, dict | list)).any():
                        flat[c] = flat[c].map(lambda v: json.dumps(_jsonable(v)) if isinstance(v, dict | list) else v)
                flat.to_csv(tmp, index=False, sep="," if fmt == "csv" else "\t")
            else:
                flat = df.copy()
                for c in flat.columns:
                    if flat[c].map(lambda v: isinstance(v, dict)).any():
                        flat[c] = flat[c].map(lambda v: json.dumps(_jsonable(v)) if isinstance(v, dict) else v)
                flat.to_parquet(tmp, index=False)
    except OSError as exc:
        raise JuryboxError(f"{p}: cannot write output: {exc.strerror or exc}") from exc
    return p


def check_output(path: str | os.PathLike[str]) -> None:
    """Raise a one-line error now if ``path`` has an unknown type or cannot be written (before any
    model call, so a long run does not end in an unwritable output)."""
    p = Path(path)
    if READ_FORMATS.get(p.suffix.lower()) is None:
        raise JuryboxError(f"{p}: unsupported output type '{p.suffix}' (use .jsonl, .csv, .tsv or .parquet)")
    why = check_writable(p)
    if why is not None:
        raise JuryboxError(f"{p}: cannot write output: {why}")


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, str | bytes):
        try:
            return v.item()
        except (ValueError, AttributeError):
            pass
    if hasattr(v, "tolist"):
        return v.tolist()
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is pd.NaT:
        return None
    return v
