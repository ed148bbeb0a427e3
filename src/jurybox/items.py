"""Datasets in and out: read JSONL/CSV/Parquet or a DataFrame, map fields, validate, write atomically.

Errors name the file, the row (1-based data row; for JSONL the line number) and the field.
Output keeps the user's columns in input order and adds the judge's columns under names that
cannot collide with the user's (see :func:`output_names`).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from jurybox.errors import InputError, JuryboxError

READ_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv",
                ".parquet": "parquet", ".pq": "parquet"}


def _format(path: Path) -> str:
    fmt = READ_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"unsupported file type '{path.suffix}' (use .jsonl, .csv, .tsv or .parquet)", file=str(path))
    return fmt


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a dataset file into a DataFrame (all values kept as read; JSONL keeps nested values)."""
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=str(p))
    if p.is_dir():
        raise InputError("is a directory, expected a data file", file=str(p))
    fmt = _format(p)
    if p.stat().st_size == 0:
        raise InputError("file is empty", file=str(p))
    if fmt == "jsonl":
        rows: list[dict[str, Any]] = []
        with open(p, encoding="utf-8") as f:
            for lineno, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"line {lineno}: malformed JSON ({exc.msg} at column {exc.colno})",
                                     file=str(p)) from exc
                if not isinstance(obj, dict):
                    raise InputError(f"line {lineno}: expected a JSON object, got {type(obj).__name__}", file=str(p))
                rows.append(obj)
        if not rows:
            raise InputError("file has no rows", file=str(p))
        return pd.DataFrame.from_records(rows)
    try:
        if fmt in ("csv", "tsv"):
            df = pd.read_csv(p, sep="," if fmt == "csv" else "\t", dtype=str, keep_default_na=False,
                             na_values=[""])
        else:
            df = pd.read_parquet(p)
    except pd.errors.EmptyDataError as exc:
        raise InputError("file is empty", file=str(p)) from exc
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise InputError(f"cannot parse as {fmt}: {str(exc).splitlines()[0]}", file=str(p)) from exc
    if len(df) == 0:
        raise InputError("file has a header but no rows", file=str(p))
    return df


def parse_field_map(specs: Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    """``["response_a=output_1", ...]`` -> {"response_a": "output_1"} (protocol field -> column)."""
    if specs is None:
        return {}
    if isinstance(specs, Mapping):
        return dict(specs)
    out: dict[str, str] = {}
    for s in specs:
        if "=" not in s:
            raise JuryboxError(f"--field expects PROTOCOL_FIELD=COLUMN, got {s!r}")
        k, v = s.split("=", 1)
        if not k.strip() or not v.strip():
            raise JuryboxError(f"--field expects PROTOCOL_FIELD=COLUMN, got {s!r}")
        out[k.strip()] = v.strip()
    return out


def _missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and v.strip() == ""


@dataclass
class Items:
    """Validated items: one dict of protocol fields per input row, plus the optional human labels."""

    fields: list[dict[str, Any]]
    human: list[str | None] | None


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
        raise JuryboxError(f"--field names unknown protocol field(s) {unknown}; this protocol reads "
                           f"{sorted(known)}")
    cols = [str(c) for c in df.columns]
    columns: dict[str, str | None] = {}
    for name in list(required) + list(optional):
        col = field_map.get(name, name)
        if col not in cols:
            if name in required:
                hint = f" (map it with --field {name}=COLUMN)" if name not in field_map else ""
                raise InputError(f"missing required column '{col}'{hint}; columns present: {', '.join(cols)}",
                                 file=source, field=col)
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
    """Write atomically (temporary file in the same directory, then rename): never half-written."""
    p = Path(path)
    fmt = READ_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise JuryboxError(f"{p}: unsupported output type '{p.suffix}' (use .jsonl, .csv, .tsv or .parquet)")
    parent = p.parent if str(p.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise JuryboxError(f"{p}: cannot write output: {exc.strerror}") from exc
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the output the user's usual permissions
    try:
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
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return p


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
