"""`jurybox report`: one self-contained HTML file of a judging run (docs/report.md).

jurybox report verdicts.jsonl --human label --out report.html
jurybox report verdicts.jsonl --human label --store .jurybox/verdicts.sqlite --protocol pairwise --out report.html
jurybox report --store .jurybox/verdicts.sqlite --run RUN_ID --out report.html
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from jurybox.commands import _options as o
from jurybox.errors import JuryboxError


def report_command(
    verdicts: Annotated[Path | None, typer.Argument(
        help="verdict table written by 'jurybox judge' or 'jurybox jury' (or give --store and --run)")] = None,
    out: Annotated[Path, typer.Option(help="HTML file to write")] = Path("report.html"),
    human: Annotated[str | None, typer.Option(help="column with human labels (or a file, with --human-field "
                                                   "and --key): agreement, confusion, calibration")] = None,
    human_field: Annotated[str | None, typer.Option(help="label column of the --human file")] = None,
    key: Annotated[list[str] | None, typer.Option(help="column(s) joining VERDICTS to the --human file")] = None,
    verdict_field: Annotated[str | None, typer.Option(help="the judge's column (default: jurybox's)")] = None,
    store: Annotated[Path | None, typer.Option(help="verdict store: the run's calls, tokens and failures; with "
                                                    "--protocol each item's prompts and per-order verdicts")] = None,
    run: Annotated[str | None, typer.Option(help="run id in the store (default: the runs that computed "
                                                 "the verdicts found)")] = None,
    judge: Annotated[str | None, typer.Option(help="the judge whose prompts to show when the store holds several "
                                                   "for the same prompts (as the store names it)")] = None,
    protocol: Annotated[str | None, typer.Option(help="the judge's protocol, to find each item's prompts in "
                                                      "the store (score | pairwise | classify ...)")] = None,
    param: o.Param = None,
    template: o.Template = "default",
    labels: o.Labels = None,
    describe: o.Describe = None,
    criteria: o.Criteria = None,
    scale: o.Scale = None,
    orders: o.Orders = None,
    field: o.Field = None,
    audit: Annotated[Path | None, typer.Option(help="audit JSON written by 'jurybox audit --json'")] = None,
    errors: Annotated[Path | None, typer.Option(help="flagged file written by 'jurybox errors'")] = None,
    prices: Annotated[Path | None, typer.Option(help="price table (.yaml/.json) for the run's cost")] = None,
    title: Annotated[str | None, typer.Option(help="the report's title")] = None,
    level: Annotated[str, typer.Option(help="agreement level: nominal, ordinal or interval")] = "nominal",
    resamples: Annotated[int, typer.Option(help="bootstrap resamples")] = 1000,
    encoding: o.Encoding = None,
    compress: Annotated[str, typer.Option(help="store the data gzip-compressed in the page (the browser "
                                               "decompresses it): auto (when its JSON is over 2 MB), "
                                               "always or never")] = "auto",
    json_summary: Annotated[bool, typer.Option("--json", help="print a summary as JSON")] = False,
) -> None:
    """Write one HTML file (CSS, JavaScript and data inline; no network request) with the run, the
    agreement with human labels, confusion, calibration, audit, jury and label-error results, and
    every item with its prompt, answer and probabilities."""
    from jurybox.report import build_report, write_report

    t0 = time.perf_counter()
    if verdicts is None and (store is None or run is None):
        raise JuryboxError("give a VERDICTS file, or --store and --run")
    if verdicts is not None and out.resolve() == verdicts.resolve():
        raise JuryboxError(f"--out {out} would overwrite the input file")
    if out.is_dir():
        raise JuryboxError(f"--out {out} is a folder; give the HTML file to write")
    if compress not in ("auto", "always", "never"):
        raise JuryboxError(f"--compress must be auto, always or never, not {compress!r}", option="compress")
    spec = None
    if protocol is not None:
        spec = o.judge_spec(protocol, template=template, param=param, labels=labels, describe=describe, criteria=criteria,
                            scale=scale, orders=orders)
    if verdicts is None:
        from jurybox.report.store_only import run_table

        assert store is not None and run is not None
        table = run_table(store, run)
        data = build_report(table, store=store, run_id=run, title=title or f"jurybox report: run {run}",
                            n_resamples=resamples, prices=prices)
        data["source"] = f"{store} run {run}"
    else:
        data = build_report(verdicts, human=human, human_field=human_field, key=key, verdict_field=verdict_field,
                            store=store, run_id=run, spec=spec, fields=field, audit=audit, flagged=errors,
                            prices=prices, title=title, level=level, n_resamples=resamples, encoding=encoding,
                            judge=judge)
    try:
        size = write_report(data, out, compress=compress)
    except OSError as exc:
        raise JuryboxError(f"cannot write {out}: {exc.strerror or exc}", option="out") from exc
    summary: dict[str, Any] = {"items": data["items"]["n"], "sections": [k for k in (
        "run", "agreement", "confusion", "calibration", "audit", "jury", "errors", "disagreements")
        if k in data], "unparsed": data["run"]["unparsed"], "bytes": size, "seconds": round(time.perf_counter() - t0, 3),
        "out": str(out)}
    if "details_found" in data:
        summary["details_found"] = data["details_found"]
    if json_summary:
        print(json.dumps(summary))
        return
    extra = f"; prompts found in the store for {data['details_found']} items" if "details_found" in data else ""
    print(f"wrote {out} ({size / 1e6:.2f} MB, {summary['items']} items; sections: {', '.join(summary['sections'])}"
          f"{extra})")


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
