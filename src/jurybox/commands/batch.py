"""`jurybox batch write|import` (provider batch files) and `jurybox cost` (tokens and price per run).

``batch write`` and ``batch import`` take the same dataset, protocol and model options as
``jurybox judge`` (copied from its signature, so the three stay in step): the tasks, and so the
task keys, are the ones ``judge`` would compute. ``import`` fills the store; a following
``jurybox judge`` with the same options then finds every verdict there and writes the table.
"""

from __future__ import annotations

import inspect
import json
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from jurybox.commands.judge import _protocol_params, judge_command

SHARED = ("dataset", "protocol", "criteria", "labels", "describe", "scale", "orders", "combine", "tie_threshold",
          "template", "model", "field", "store")

batch_app = typer.Typer(help="OpenAI Batch API files: write the requests, import the answers.", no_args_is_help=True)


def with_judge_options(extra: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the judge command's dataset/protocol/model options plus ``extra``'s own."""
    hints = typing.get_type_hints(judge_command, include_extras=True)
    extra_hints = typing.get_type_hints(extra, include_extras=True)
    kw = inspect.Parameter.KEYWORD_ONLY  # typer passes everything by name; order is free then
    shared = [p.replace(annotation=hints[n], kind=kw) for n, p in inspect.signature(judge_command).parameters.items()
              if n in SHARED]
    own = [p.replace(annotation=extra_hints[n], kind=kw) for n, p in inspect.signature(extra).parameters.items()]

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.__signature__ = inspect.Signature(shared + own)  # type: ignore[attr-defined]
        fn.__annotations__ = {p.name: p.annotation for p in shared + own}
        return fn

    return wrap


def _judge_inputs(kw: dict[str, Any]) -> tuple[Path, str, dict[str, Any], dict[str, Any]]:
    from jurybox.errors import JuryboxError

    if not kw.get("model") or not str(kw["model"]).startswith("openai:"):
        raise JuryboxError("batch files need --model openai:MODEL[@URL], the model the provider will run")
    params = _protocol_params(kw["protocol"], kw["criteria"], kw["labels"], kw["describe"], kw["scale"],
                              kw["orders"], kw["combine"], kw["tie_threshold"], kw["template"], kw.get("param"))
    return kw["dataset"], kw["protocol"], params, {"model": kw["model"], "store": kw["store"], "fields": kw["field"]}


def _write_options(
    out: Annotated[Path, typer.Option(help="the Batch API input file to write (.jsonl)")],
    max_lines: Annotated[int, typer.Option(help="requests per file (the API allows 50,000)")] = 50_000,
) -> None: ...


@with_judge_options(_write_options)
def write_command(**kw: Any) -> None:
    """Write a Batch API input file with one request per task the store does not have."""
    from jurybox.batchfiles import write_batch_input

    dataset, protocol, params, common = _judge_inputs(kw)
    res = write_batch_input(dataset, protocol, out=kw["out"], max_lines=kw["max_lines"], **common, **params)
    print(f"wrote {res.n_requests} requests to {', '.join(map(str, res.files))} "
          f"({res.n_cached} tasks already in the store)")


def _import_options(
    results: Annotated[list[Path], typer.Option(help="Batch API output or error file (repeatable)")],
) -> None: ...


@with_judge_options(_import_options)
def import_command(**kw: Any) -> None:
    """Import Batch API output files into the store under the tasks' keys; errors become failures."""
    from jurybox.api import run_judge
    from jurybox.batchfiles import BatchOutputExecutor

    dataset, protocol, params, common = _judge_inputs(kw)
    ex = BatchOutputExecutor(kw["results"])
    res = run_judge(dataset, protocol, executor=ex, **common, **params)
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
        print(f"{c.run_id}  {c.judge[:40]:40}  {c.n_verdicts:6d} verdicts  {c.prompt_tokens:9d} in  "
              f"{c.completion_tokens:7d} out  {money}")
    print(f"total: {sum(c.prompt_tokens for c in costs)} input and {sum(c.completion_tokens for c in costs)} "
          f"output tokens" + (f", ${total:.4f}" if total is not None else ""))


def register(app: typer.Typer) -> None:
    batch_app.command("write")(write_command)
    batch_app.command("import")(import_command)
    app.add_typer(batch_app, name="batch")
    app.command("cost")(cost_command)
