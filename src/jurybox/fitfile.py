"""The part every saved fit file shares (a calibration bias, a stacked jury, a cascade): JSON with a
``format`` name and a ``version``, written atomically and read back with one-line errors naming the
file. Each kind then checks its own fields (:mod:`jurybox.calibration.files`,
:mod:`jurybox.stacking.judge`, :mod:`jurybox.cascade.judge`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from jurybox.errors import InputError

__all__ = ["read_fit_file"]


def read_fit_file(path: str | os.PathLike[str], *, kind: str, format: str, version: int, option: str | None = None,
                  hint: str = "") -> dict[str, Any]:
    """The JSON object in ``path`` once it is a readable ``kind`` file of this ``format`` and
    ``version``; otherwise an :class:`InputError` naming the file (and ``option``, the command-line
    option that named it). ``hint`` says how to make a right file (``"fit one with jurybox calibrate"``)."""
    p = Path(path)
    where = str(p)
    more = f"; {hint}" if hint else ""
    if not p.is_file():
        raise InputError(f"{kind} file not found", file=where, option=option)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not a readable JSON {kind} file ({exc})", file=where, option=option) from None
    if not isinstance(data, dict) or data.get("format") != format:
        raise InputError(f"not a jurybox {kind} file (field 'format' is not {format!r}{more})", file=where,
                         option=option)
    if data.get("version") != version:
        raise InputError(f"{kind} file version {data.get('version')!r} is not supported (expected {version})",
                         file=where, field="version", option=option)
    return data
