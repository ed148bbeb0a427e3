"""`jurybox predict`: label new data with a distilled student (no model calls)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from jurybox.commands import _options as o


def predict_command(
    model_dir: Annotated[Path, typer.Argument(help="a model folder written by jurybox distill")],
    dataset: o.Dataset,
    text_field: Annotated[str, typer.Option(help="column with the text")] = "text",
    out: Annotated[Path | None, typer.Option(help="output file (.jsonl/.csv/.parquet)")] = None,
    encoding: o.Encoding = None,
    json_summary: Annotated[bool, typer.Option("--json", help="print the run summary as JSON")] = False,
) -> None:
    """Add `prediction` and `prediction_probs` to every row of DATASET, keeping its columns."""
    from jurybox.distill.api import predict
    from jurybox.items import check_encoding, check_output, write_table

    out = o.default_out(dataset, out, ".predictions" + (dataset.suffix if dataset.suffix != ".json" else ".jsonl"))
    check_encoding(encoding)
    check_output(out)
    t0 = time.perf_counter()
    table, n_cut = predict(model_dir, dataset, text_field=text_field, encoding=encoding)
    wall = time.perf_counter() - t0
    write_table(table, out)
    if n_cut:
        print(f"jurybox: note: {n_cut} text(s) longer than the embedding model's 256 word pieces were cut to their "
              "first 254 (docs/distill.md)", file=sys.stderr)
    summary = {"rows": len(table), "truncated": n_cut, "wall_s": round(wall, 3), "out": str(out)}
    if json_summary:
        print(json.dumps(summary))
        return
    print(f"{len(table)} rows predicted in {wall:.2f} s ({len(table) / max(wall, 1e-9):.0f} rows/s); wrote {out}")


def register(app: typer.Typer) -> None:
    app.command("predict")(predict_command)
