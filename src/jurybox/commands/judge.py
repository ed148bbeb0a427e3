"""`jurybox judge`: judge a dataset file and write the verdicts."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from jurybox.errors import JuryboxError


def protocol_class(protocol: str) -> type[Any]:
    """The protocol class for a name, or a one-line error listing the protocols there are."""
    import jurybox.protocols  # noqa: F401  registers the protocols defined in their own modules
    from jurybox.protocols import registry

    if protocol not in registry.PROTOCOLS:
        registry.load_protocol_plugins()
    cls = registry.PROTOCOLS.get(protocol)
    if cls is None:
        raise JuryboxError(f"unknown protocol '{protocol}' (--protocol: {', '.join(sorted(registry.PROTOCOLS))})")
    return cls


def protocol_parameters(cls: type[Any]) -> set[str]:
    """The keyword parameters a protocol class accepts (its constructors along the class hierarchy)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        for p in inspect.signature(init).parameters.values():
            if p.name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
                names.add(p.name)
    return names


# CLI option -> the protocol parameter it sets
_OPTIONS = {"--labels": "labels", "--describe": "descriptions", "--scale": "scale", "--orders": "orders",
            "--combine": "combine", "--tie-threshold": "tie_threshold", "--criteria": "criteria"}


def _protocol_params(
    protocol: str,
    criteria: str | None,
    labels: str | None,
    describe: list[str] | None,
    scale: str | None,
    orders: str | None,
    combine: str | None,
    tie_threshold: float | None,
    template: str,
    extra: list[str] | None = None,
) -> dict[str, Any]:
    """The protocol's parameters from the options; an option the protocol does not take is refused."""
    cls = protocol_class(protocol)
    accepted = protocol_parameters(cls)
    given = {"--labels": labels, "--describe": describe or None, "--scale": scale, "--orders": orders,
             "--combine": combine, "--tie-threshold": tie_threshold, "--criteria": criteria}
    for option, value in given.items():
        if value is not None and _OPTIONS[option] not in accepted:
            takers = sorted(name for name, c in _all_protocols().items() if _OPTIONS[option] in protocol_parameters(c))
            raise JuryboxError(f"{option} does not apply to --protocol {protocol}"
                               + (f" (it applies to {', '.join(takers)})" if takers else ""))
    params: dict[str, Any] = {"template": template}
    if criteria is not None:
        params["criteria"] = criteria
    for p in extra or []:
        key, sep, raw = p.partition("=")
        if not sep or not key.strip():
            raise JuryboxError(f"--param expects KEY=VALUE (VALUE as JSON or plain text), got {p!r}")
        try:
            params[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            params[key.strip()] = raw
    if labels is not None:
        params["labels"] = [x.strip() for x in labels.split(",") if x.strip()]
    elif "labels" in accepted and "labels" not in params and _required(cls, "labels"):
        raise JuryboxError(f"--protocol {protocol} needs --labels, for example --labels positive,negative")
    if describe:
        desc = {}
        for d in describe:
            k, sep, v = d.partition("=")
            if not sep:
                raise JuryboxError(f"--describe expects LABEL=DESCRIPTION, got {d!r}")
            desc[k.strip()] = v.strip()
        params["descriptions"] = desc
    if scale is not None:
        try:
            lo, hi = (int(x) for x in scale.split("-"))
        except ValueError as exc:
            raise JuryboxError(f"--scale expects LO-HI such as 1-5, got {scale!r}") from exc
        if hi <= lo:
            raise JuryboxError(f"--scale expects LO-HI with LO below HI, such as 1-5, got {scale!r}")
        params["scale"] = (lo, hi)
    for key, value in (("orders", orders), ("combine", combine), ("tie_threshold", tie_threshold)):
        if value is not None:
            params[key] = value
    return params


def _required(cls: type[Any], name: str) -> bool:
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None and klass is not object:
            p = inspect.signature(init).parameters.get(name)
            if p is not None:
                return p.default is inspect.Parameter.empty
    return False


def _all_protocols() -> dict[str, type[Any]]:
    from jurybox.protocols import registry

    return dict(registry.PROTOCOLS)


def judge_command(
    dataset: Annotated[Path, typer.Argument(help="JSONL, CSV or Parquet file, one item per row")],
    protocol: Annotated[str, typer.Option(help="score | pairwise | classify | correctness | certainty | "
                                                "checklist | checklist_writer | listwise | answer")] = "score",
    criteria: Annotated[str | None, typer.Option(help="What the judge should look for")] = None,
    labels: Annotated[str | None, typer.Option(help="classify: comma-separated label set")] = None,
    describe: Annotated[list[str] | None, typer.Option(help="classify: LABEL=DESCRIPTION (repeatable)")] = None,
    scale: Annotated[str | None, typer.Option(help="score: integer scale LO-HI (default 1-5)")] = None,
    orders: Annotated[str | None, typer.Option(help="pairwise: both | AB | BA (default both)")] = None,
    combine: Annotated[str | None, typer.Option(help="pairwise: margin (log-odds) | vote (PRP rule); "
                                                     "default margin")] = None,
    tie_threshold: Annotated[float | None, typer.Option(help="pairwise: |mean log-odds margin| below this is a "
                                                             "tie (default 0)")] = None,
    template: Annotated[str, typer.Option(help="prompt template name or path to a .j2 file")] = "default",
    model: Annotated[str | None, typer.Option(help="embedded model name, GGUF path, or openai:MODEL@URL")] = None,
    field: Annotated[list[str] | None, typer.Option(help="PROTOCOL_FIELD=COLUMN (repeatable)")] = None,
    param: Annotated[list[str] | None, typer.Option(help="other protocol parameter KEY=VALUE, VALUE as JSON "
                                                    "or text, e.g. order=BA, max_questions=5 (repeatable)")] = None,
    human: Annotated[str | None, typer.Option(help="column with human labels: print agreement")] = None,
    out: Annotated[Path | None, typer.Option(help="output file (.jsonl/.csv/.parquet)")] = None,
    encoding: Annotated[str | None, typer.Option(help="text encoding of a CSV/TSV/JSONL DATASET (default UTF-8, "
                                                      "with or without a byte-order mark), e.g. latin-1")] = None,
    store: Annotated[Path | None, typer.Option(help="verdict store (default .jurybox/verdicts.sqlite)")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    json_summary: Annotated[bool, typer.Option("--json", help="print the run summary as JSON")] = False,
    executor: Annotated[str, typer.Option(help="where tasks run: local | ray")] = "local",
    address: Annotated[str | None, typer.Option(help="ray: cluster address (default: a local cluster)")] = None,
) -> None:
    """Judge every row of DATASET; write the rows with the judge's columns added.

    Exit status: 0 when every task has a verdict, 1 when the output was written but some tasks
    failed (they are retried by the next run), 2 for bad input or options (one line on stderr)."""
    from jurybox.api import run_judge
    from jurybox.errors import TasksFailed, redact
    from jurybox.items import check_encoding, check_output, write_table
    from jurybox.summary import quick_agreement

    params = _protocol_params(protocol, criteria, labels, describe, scale, orders, combine, tie_threshold, template,
                              param)
    if out is None:
        out = dataset.with_name(dataset.stem + ".verdicts" + (dataset.suffix if dataset.suffix != ".json" else ".jsonl"))
    if out.resolve() == dataset.resolve():
        raise JuryboxError(f"--out {out} would overwrite the input file")
    check_encoding(encoding)
    check_output(out)  # before any model call: an unwritable output is found now, not after the run
    from jurybox.distributed import make_executor

    res = run_judge(dataset, protocol, model=model, store=store, fields=field, human=human,
                    progress=not quiet, executor=make_executor(executor, address), encoding=encoding, **params)
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
    failed = (TasksFailed(f"{s.n_failed} of {s.n_tasks} tasks failed (exit status 1) and will be retried on the "
                          f"next run; first: {redact(str(s.failures[0]['error']))}")
              if s.n_failed else None)
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
