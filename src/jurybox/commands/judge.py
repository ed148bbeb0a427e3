"""`jurybox judge`: judge a dataset file and write the verdicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from jurybox.commands import _options as o


@o.spec_options()
def judge_command(
    dataset: o.Dataset,
    spec: Any,
    field: o.Field = None,
    human: Annotated[str | None, typer.Option(help="column with human labels: print agreement")] = None,
    out: Annotated[Path | None, typer.Option(help="output file (.jsonl/.csv/.parquet)")] = None,
    encoding: o.Encoding = None,
    store: o.Store = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    json_summary: Annotated[bool, typer.Option("--json", help="print the run summary as JSON")] = False,
    executor: Annotated[str, typer.Option(help="where tasks run: local | ray")] = "local",
    address: Annotated[str | None, typer.Option(help="ray: cluster address (default: a local cluster)")] = None,
) -> None:
    """Judge every row of DATASET; write the rows with the judge's columns added.

    Exit status: 0 when every task has a verdict, 1 when the output was written but some tasks
    failed (they are retried by the next run), 2 for bad input or options (one line on stderr)."""
    from jurybox.api import run_judge
    from jurybox.errors import TasksFailed
    from jurybox.items import check_encoding, check_output, write_table
    from jurybox.summary import quick_agreement

    out = o.default_out(dataset, out, ".verdicts" + (dataset.suffix if dataset.suffix != ".json" else ".jsonl"))
    check_encoding(encoding)
    check_output(out)  # before any model call: an unwritable output is found now, not after the run
    from jurybox.distributed import make_executor

    res = run_judge(dataset, spec, store=store, fields=field, human=human, progress=not quiet,
                    executor=make_executor(executor, address), encoding=encoding)
    write_table(res.table, out)
    s = res.stats
    status = res.status_counts()
    summary: dict[str, Any] = {
        "items": len(res.table), "tasks": s.n_tasks, "cached": s.n_cached, "model_calls": s.model_calls,
        "failed": s.n_failed, "status": status, "wall_s": round(s.wall_s, 2),
        "prompt_tokens": s.prompt_tokens, "completion_tokens": s.completion_tokens, "out": str(out),
    }
    agreement = quick_agreement(res.human, [v.label for v in res.verdicts]) if res.human is not None else None
    if agreement is not None:
        summary["agreement"] = agreement.to_dict()
    failed = TasksFailed.check(s.n_failed, s.n_tasks, s.failures)
    if json_summary:
        print(json.dumps(summary))
        if failed is not None:
            raise failed
        return
    print(f"{summary['items']} items, {s.n_tasks} tasks: {s.n_cached} from the store, {s.model_calls} model calls, "
          f"{s.n_failed} failed; status {status}; {s.wall_s:.1f} s; wrote {out}")
    if agreement is not None:
        print(f"agreement with '{human}': {agreement.line()}")
    if failed is not None:
        raise failed


def register(app: typer.Typer) -> None:
    app.command("judge")(judge_command)
