"""A self-contained HTML report of a judging run (``jurybox report``); see docs/report.md.

:func:`build_report` reads a verdict table (and optionally the store, an audit JSON and a flagged
label-error file), :func:`jurybox.report.data.report_data` computes every section with
:mod:`jurybox.stats`, and :func:`jurybox.report.html.render_report` writes one HTML file that
opens from disk and makes no network request.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jurybox.report.data import report_data
from jurybox.report.html import json_for_script, render_report

__all__ = ["build_report", "json_for_script", "render_report", "report_data", "write_report"]


def build_report(
    verdicts: Any,
    *,
    human: str | None = None,
    human_field: str | None = None,
    key: Sequence[str] | None = None,
    verdict_field: str | None = None,
    store: Any = None,
    run_id: str | None = None,
    spec: Any = None,
    fields: Sequence[str] | Mapping[str, str] | None = None,
    audit: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    flagged: Any = None,
    prices: str | os.PathLike[str] | None = None,
    title: str | None = None,
    level: str = "nominal",
    n_resamples: int = 1000,
    seed: int = 0,
    encoding: str | None = None,
    judge: str | None = None,
) -> dict[str, Any]:
    """The report data of a verdict table (a file written by ``jurybox judge`` or ``jury``, or a
    DataFrame). ``human`` is a label column (or a file, with ``human_field`` and ``key``); ``store``
    with ``spec`` (the judge's :class:`~jurybox.spec.JudgeSpec` or protocol name) adds each item's
    per-order verdicts and rendered prompts and the run's calls, tokens and cost."""
    from jurybox.errors import InputError
    from jurybox.items import load_table, read_table
    from jurybox.stats.table import agreement_table
    from jurybox.store import open_store

    df, source = load_table(verdicts, encoding)
    if verdict_field is None and "verdict" not in df.columns and "jury_verdict" in df.columns:
        verdict_field = "jury_verdict"  # a table written by jurybox jury
    table: Any = (agreement_table(df, human, human_field=human_field, key=key, verdict_field=verdict_field)
                  if human is not None else df)
    audit_data: Mapping[str, Any] | None = None
    if audit is not None and not isinstance(audit, Mapping):
        try:
            audit_data = json.loads(Path(audit).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the audit JSON: {exc}", file=str(audit)) from exc
        if not isinstance(audit_data, Mapping) or "results" not in audit_data:
            raise InputError("not an audit file written by 'jurybox audit --json' (no 'results')", file=str(audit))
    elif audit is not None:
        audit_data = audit
    fl = read_table(flagged) if flagged is not None and not hasattr(flagged, "columns") else flagged
    price_table = None
    if prices is not None:
        from jurybox.cost import load_prices

        price_table = load_prices(prices)
    name = title or f"jurybox report: {Path(source).name if source else 'verdicts'}"
    common = dict(title=name, source=source, run_id=run_id, verdict_field=verdict_field, audit=audit_data, flagged=fl, prices=price_table,
                  level=level, n_resamples=n_resamples, seed=seed)
    if store is None:
        return report_data(table, **common)
    with open_store(store) as st:
        protocol = items = None
        if spec is not None:
            from jurybox.items import load_dataset
            from jurybox.spec import as_spec

            protocol = as_spec(spec, None, {}).make_protocol()
            items = load_dataset(df, protocol, fields=fields).items
        return report_data(table, store=st, protocol=protocol, items=items, judge=judge, **common)


def write_report(data: Mapping[str, Any], out: str | os.PathLike[str], compress: str = "auto") -> int:
    """Write the HTML report atomically; returns its size in bytes. ``compress`` (``auto``,
    ``always``, ``never``): store the data gzip-compressed in the page (``auto``: when its JSON is
    over 2 MB); the page decompresses it with the browser's ``DecompressionStream``."""
    from jurybox.atomic import atomic_write

    html = render_report(dict(data), compress=compress)
    with atomic_write(out, "w", newline="") as f:
        f.write(html)
    return len(html.encode("utf-8"))
