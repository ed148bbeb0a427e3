"""`jurybox judge`: judge a dataset file and write the verdicts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from jurybox.errors import JuryboxError


def _protocol_params(
    protocol: str,
    criteria: str | None,
    labels: str | None,
    describe: list[str] | None,
    scale: str | None,
    orders: str,
    combine: str,
    tie_threshold: float,
    template: str,
    extra: list[str] | None = None,
) -> dict[str, Any]:
    params: dict[str, Any] = {"criteria": criteria, "template": template}
    for p in extra or []:
        key, sep, raw = p.partition("=")
        if not sep or not key.strip():
            raise JuryboxError(f"--param expects KEY=VALUE (VALUE as JSON or plain text), got {p!r}")
        try:
            params[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            params[key.strip()] = raw
    if protocol == "classify":
        if not labels:
            raise JuryboxError("--protocol classify needs --labels, for example --labels positive,negative")
        params["labels"] = [x.strip() for x in labels.split(",") if x.strip()]
        if describe:
            desc = {}
            for d in describe:
                k, sep, v = d.partition("=")
                if not sep:
                    raise JuryboxError(f"--describe expects LABEL=DESCRIPTION, got {d!r}")
                desc[k.strip()] = v.strip()
            params["descriptions"] = desc
    elif labels:
        raise JuryboxError(f"--labels applies to --protocol classify, not {protocol}")
    if protocol == "score" and scale:
        try:
            lo, hi = (int(x) for x in scale.split("-"))
        except ValueError as exc:
            raise JuryboxError(f"--scale expects LO-HI such as 1-5, got {scale!r}") from exc
        params["scale"] = (lo, hi)
    if protocol == "pairwise":
        params.update(orders=orders, combine=combine, tie_threshold=tie_threshold)
    return params


def judge_command(
    dataset: Annotated[Path, typer.Argument(help="JSONL, CSV or Parquet file, one item per row")],
    protocol: Annotated[str, typer.Option(help="score | pairwise | classify | correctness | certainty | "
                                                "checklist | checklist_writer | listwise | answer")] = "score",
    criteria: Annotated[str | None, typer.Option(help="What the judge should look for")] = None,
    labels: Annotated[str | None, typer.Option(help="classify: comma-separated label set")] = None,
    describe: Annotated[list[str] | None, typer.Option(help="classify: LABEL=DESCRIPTION (repeatable)")] = None,
    scale: Annotated[str | None, typer.Option(help="score: integer scale LO-HI (default 1-5)")] = None,
    orders: Annotated[str, typer.Option(help="pairwise: both | AB | BA")] = "both",
    combine: Annotated[str, typer.Option(help="pairwise: margin (log-odds) | vote (PRP rule)")] = "margin",
    tie_threshold: Annotated[float, typer.Option(help="pairwise: |mean log-odds margin| below this is a tie")] = 0.0,
    template: Annotated[str, typer.Option(help="prompt template name or path to a .j2 file")] = "default",
    model: Annotated[str | None, typer.Option(help="embedded model name, GGUF path, or openai:MODEL@URL")] = None,
    field: Annotated[list[str] | None, typer.Option(help="PROTOCOL_FIELD=COLUMN (repeatable)")] = None,
    param: Annotated[list[str] | None, typer.Option(help="other protocol parameter KEY=VALUE, VALUE as JSON "
                                                    "or text, e.g. order=BA, max_questions=5 (repeatable)")] = None,
    human: Annotated[str | None, typer.Option(help="column with human labels: print agreement")] = None,
    out: Annotated[Path | None, typer.Option(help="output file (.jsonl/.csv/.parquet)")] = None,
    store: Annotated[Path | None, typer.Option(help="verdict store (default .jurybox/verdicts.sqlite)")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    json_summary: Annotated[bool, typer.Option("--json", help="print the run summary as JSON")] = False,
    executor: Annotated[str, typer.Option(help="where tasks run: local | ray")] = "local",
    address: Annotated[str | None, typer.Option(help="ray: cluster address (default: a local cluster)")] = None,
) -> None:
    """Judge every row of DATASET; write the rows with the judge's columns added."""
    from jurybox.api import run_judge
    from jurybox.items import write_table
    from jurybox.summary import quick_agreement

    params = _protocol_params(protocol, criteria, labels, describe, scale, orders, combine, tie_threshold, template,
                              param)
    if out is None:
        out = dataset.with_name(dataset.stem + ".verdicts" + (dataset.suffix if dataset.suffix != ".json" else ".jsonl"))
    if out.resolve() == dataset.resolve():
        raise JuryboxError(f"--out {out} would overwrite the input file")
    from jurybox.distributed import make_executor

    res = run_judge(dataset, protocol, model=model, store=store, fields=field, human=human,
                    progress=not quiet, executor=make_executor(executor, address), **params)
    write_table(res.table, out)
    s = res.stats
    status = res.table[res.columns["verdict_status"]].value_counts().to_dict()
    summary: dict[str, Any] = {
        "items": len(res.table), "tasks": s.n_tasks, "cached": s.n_cached, "model_calls": s.model_calls,
        "failed": s.n_failed, "status": status, "wall_s": round(s.wall_s, 2),
        "prompt_tokens": s.prompt_tokens, "completion_tokens": s.completion_tokens, "out": str(out),
    }
    agreement = quick_agreement(res.human, [v.label for v in res.verdicts]) if res.human is not None else None
    if agreement is not None:
        summary["agreement"] = agreement.to_dict()
    if json_summary:
        print(json.dumps(summary))
        return
    print(f"{summary['items']} items, {s.n_tasks} tasks: {s.n_cached} from the store, {s.model_calls} model calls, "
          f"{s.n_failed} failed; status {status}; {s.wall_s:.1f} s; wrote {out}")
    if agreement is not None:
        print(f"agreement with '{human}': {agreement.line()}")
    if s.n_failed:
        print(f"{s.n_failed} tasks failed and will be retried on the next run; first: {s.failures[0]['error']}",
              file=sys.stderr)


def register(app: typer.Typer) -> None:
    app.command("judge")(judge_command)
