"""`jurybox batch write|import` (provider batch files) and `jurybox cost` (tokens and price per run).

``batch write`` and ``batch import`` take the same dataset, protocol and model options as
``jurybox judge`` (declared once in :mod:`jurybox.commands._options`, ``--param`` and
``--backend-option`` included): the tasks, and so the task keys, are the ones ``judge`` would compute. ``import`` fills the store; a following
``jurybox judge`` with the same options then finds every verdict there and writes the table.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from jurybox.commands import _options as o

batch_app = typer.Typer(help="OpenAI Batch API files: write the requests, import the answers.", no_args_is_help=True)


def _spec(protocol: str, *, model: str | None = None, **options: Any) -> Any:
    from jurybox.errors import JuryboxError

    if not model or not str(model).startswith("openai:"):
        raise JuryboxError("batch files need --model openai:MODEL[@URL], the model the provider will run")
    return o.judge_spec(protocol, model=model, **options)


@batch_app.command("write")
@o.spec_options(_spec)
def write_command(
    dataset: o.Dataset,
    out: Annotated[Path, typer.Option(help="the Batch API input file to write (.jsonl)")],
    spec: Any,
    field: o.Field = None,
    encoding: o.Encoding = None,
    store: o.Store = None,
    max_lines: Annotated[int, typer.Option(help="requests per file (the API allows 50,000)")] = 50_000,
) -> None:
    """Write a Batch API input file with one request per task the store does not have."""
    from jurybox.batchfiles import write_batch_input

    res = write_batch_input(dataset, spec, out=out, max_lines=max_lines, store=store, fields=field,
                            encoding=encoding)
    print(f"wrote {res.n_requests} requests to {', '.join(map(str, res.files))} "
          f"({res.n_cached} tasks already in the store)")


@batch_app.command("import")
@o.spec_options(_spec)
def import_command(
    dataset: o.Dataset,
    results: Annotated[list[Path], typer.Option(help="Batch API output or error file (repeatable)")],
    spec: Any,
    field: o.Field = None,
    encoding: o.Encoding = None,
    store: o.Store = None,
) -> None:
    """Import Batch API output files into the store under the tasks' keys; errors become failures."""
    from jurybox.api import run_judge
    from jurybox.batchfiles import BatchOutputExecutor

    ex = BatchOutputExecutor(results)
    res = run_judge(dataset, spec, executor=ex, store=store, fields=field, encoding=encoding)
    s = res.stats
    print(f"{s.n_tasks} tasks: {s.n_cached} already in the store, {s.n_done} imported, {s.n_failed} failed "
          f"(recorded; a rerun or a new batch retries them)")
    if s.n_failed:
        from jurybox.errors import redact

        print(f"first failure: {redact(str(s.failures[0]['error']))}", file=sys.stderr)


def cost_command(
    store: Annotated[Path | None, typer.Option(help="verdict store (default .jurybox/verdicts.sqlite)")] = None,
    prices: Annotated[Path | None, typer.Option(help="price table (.yaml/.json): model -> {input, output}")] = None,
    model: Annotated[str | None, typer.Option(help="price every judge as this model of the table")] = None,
    batch: Annotated[bool, typer.Option(help="use the table's batch_input/batch_output prices")] = False,
    run: Annotated[str | None, typer.Option(help="only this run id")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Tokens and cost of each run (cost needs a price table, in US dollars per million tokens)."""
    from jurybox.cost import load_prices, run_costs, total_cost
    from jurybox.store import Store

    table = load_prices(prices) if prices is not None else {}
    with Store(store) as st:
        costs = run_costs(st, table, model=model, batch=batch, run_id=run)
    total = total_cost(costs)
    if json_out:
        print(json.dumps({"runs": [c.to_dict() for c in costs], "total_cost": total}))
        return
    for c in costs:
        money = f"${c.cost:.4f}" if c.cost is not None else "no price"
        print(f"{c.run_id}  {c.judge_name[:40]:40}  {c.n_verdicts:6d} verdicts  {c.prompt_tokens:9d} in  "
              f"{c.completion_tokens:7d} out  {money}")
    print(f"total: {sum(c.prompt_tokens for c in costs)} input and {sum(c.completion_tokens for c in costs)} "
          f"output tokens" + (f", ${total:.4f}" if total is not None else ""))


def register(app: typer.Typer) -> None:
    app.add_typer(batch_app, name="batch")
    app.command("cost")(cost_command)
