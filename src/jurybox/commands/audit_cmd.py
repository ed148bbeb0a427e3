"""`jurybox audit`: run bias probes against a judge on a dataset; print a table and write JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from jurybox.atomic import atomic_write
from jurybox.errors import JuryboxError


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write to a temporary file in the same folder, then rename (nothing half-written)."""
    with atomic_write(path) as f:
        json.dump(data, f, indent=2, default=str)


def audit_command(
    dataset: Annotated[Path, typer.Argument(help="JSONL, CSV or Parquet file, one item per row")],
    probes: Annotated[str, typer.Option(help="comma-separated: position, length, wording, consistency, "
                                              "self_preference, leniency, injection")] = "position,length",
    protocol: Annotated[str, typer.Option(help="pairwise | score")] = "pairwise",
    model: Annotated[str | None, typer.Option(help="embedded model name, GGUF path, or openai:MODEL@URL")] = None,
    field: Annotated[list[str] | None, typer.Option(help="PROTOCOL_FIELD=COLUMN (repeatable)")] = None,
    human: Annotated[str | None, typer.Option(help="column with the human label (A/B, or a score)")] = None,
    template: Annotated[str, typer.Option(help="prompt template of the audited judge")] = "default",
    criteria: Annotated[str | None, typer.Option(help="what the judge should look for")] = None,
    templates: Annotated[str | None, typer.Option(help="wording: comma-separated templates (default: all)")] = None,
    repeats: Annotated[int, typer.Option(help="consistency: repeats per question")] = 5,
    temperature: Annotated[float, typer.Option(help="consistency: sampling temperature (> 0)")] = 1.0,
    family: Annotated[str | None, typer.Option(help="self_preference: the judge's model family, e.g. qwen")] = None,
    slice_: Annotated[str | None, typer.Option("--slice", help="leniency: column naming each item's slice")] = None,
    length_unit: Annotated[str, typer.Option(help="length: chars | words")] = "chars",
    resamples: Annotated[int, typer.Option(help="bootstrap resamples")] = 1000,
    store: Annotated[Path | None, typer.Option(help="verdict store (default .jurybox/verdicts.sqlite)")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the audit as JSON to this file")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
) -> None:
    """Measure how the judge goes wrong on DATASET: each effect with its 95% bootstrap interval."""
    from rich.console import Console

    from jurybox.api import load
    from jurybox.audit.runner import check_probes, run_audit
    from jurybox.backends.registry import get_backend
    from jurybox.items import extract_items, parse_field_map
    from jurybox.protocols.registry import make_protocol
    from jurybox.store import Store

    if protocol not in ("pairwise", "score"):
        raise JuryboxError(f"--protocol must be pairwise or score for an audit, got {protocol!r}")
    probe_list = [p.strip() for p in probes.split(",") if p.strip()]
    if not probe_list:
        raise JuryboxError("--probes is empty; name at least one probe, e.g. --probes position,length")
    check_probes(protocol, probe_list)
    params: dict[str, Any] = {"template": template, "criteria": criteria}
    df, source = load(dataset)
    proto = make_protocol(protocol, **params)
    extra = [f for f in ("model_a", "model_b") if "self_preference" in probe_list]
    optional = (*proto.optional, *extra)
    items = extract_items(df, proto.required, optional, parse_field_map(field), source=source)
    for name, col in (("--human", human), ("--slice", slice_)):
        if col is not None and col not in df.columns:
            raise JuryboxError(f"{name} column '{col}' not found in {dataset}; columns: {', '.join(map(str, df.columns))}")
    if human is not None:
        from jurybox.api import human_labels

        for it, lab in zip(items, human_labels(df, human, proto, source), strict=True):
            it["__human__"] = lab
    if slice_ is not None:
        for it, s in zip(items, df[slice_].tolist(), strict=True):
            it["__slice__"] = s
    backend = get_backend(model)
    with Store(store) as st:
        report = run_audit(
            items, backend, st, protocol=protocol, probes=probe_list, human="__human__" if human else None,
            templates=[t.strip() for t in templates.split(",")] if templates else None, repeats=repeats,
            temperature=temperature, family=family, slice_field="__slice__" if slice_ else None,
            length_unit=length_unit, n_resamples=resamples, progress=not quiet, **params,
        )
    console = Console()
    console.print(report.table())
    for note in report.notes:
        console.print(f"note: {note}")
    console.print(f"{report.model_calls} model calls (every other answer came from the store)")
    if json_out is not None:
        _write_json(json_out, report.to_dict())
        console.print(f"wrote {json_out}")


def register(app: typer.Typer) -> None:
    app.command("audit")(audit_command)
