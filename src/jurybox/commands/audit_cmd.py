"""`jurybox audit`: run bias probes against a judge on a dataset; print a table and write JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from jurybox.atomic import atomic_write
from jurybox.commands import _options as o
from jurybox.errors import JuryboxError


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write to a temporary file in the same folder, then rename (nothing half-written)."""
    with atomic_write(path) as f:
        json.dump(data, f, indent=2, default=str)


def audit_command(
    dataset: o.Dataset,
    probes: Annotated[str, typer.Option(help="comma-separated: position, length, wording, consistency, "
                                              "self_preference, leniency, injection")] = "position,length",
    protocol: Annotated[str, typer.Option(help="pairwise | score")] = "pairwise",
    model: o.Model = None,
    backend_option: o.BackendOption = None,
    field: o.Field = None,
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
    examples: o.Examples = None,
    shots: o.Shots = None,
    select: o.Select = None,
    examples_field: o.ExamplesField = None,
    contextual_calibration: o.ContextualCalibration = False,
    calibration: o.Calibration = None,
    encoding: o.Encoding = None,
    store: o.Store = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the audit as JSON to this file")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
) -> None:
    """Measure how the judge goes wrong on DATASET: each effect with its 95% bootstrap interval.

    Exit status: 0 when every task has a verdict, 1 when the report was printed (and written) but
    some tasks failed (they are retried by the next audit), 2 for bad input or options."""
    from rich.console import Console

    from jurybox.audit.dataset import AUDIT_PROTOCOLS, audit_dataset
    from jurybox.backends.registry import parse_backend_options
    from jurybox.errors import TasksFailed
    from jurybox.spec import JudgeSpec

    if protocol not in AUDIT_PROTOCOLS:
        raise JuryboxError(f"--protocol must be pairwise or score for an audit, got {protocol!r}")
    probe_list = [p.strip() for p in probes.split(",") if p.strip()]
    if not probe_list:
        raise JuryboxError("--probes is empty; name at least one probe, e.g. --probes position,length")
    spec = JudgeSpec(protocol, {"criteria": criteria}, template, model,
                     parse_backend_options(model, backend_option or ())).replace(**o.quality_options(
                         examples=examples, shots=shots, select=select, examples_field=examples_field,
                         contextual_calibration=contextual_calibration, calibration=calibration))
    report = audit_dataset(dataset, spec, probes=probe_list, fields=field, human=human, slice_field=slice_,
                   templates=[t.strip() for t in templates.split(",")] if templates else None, repeats=repeats,
                   temperature=temperature, family=family, length_unit=length_unit, n_resamples=resamples,
                   store=store, encoding=encoding, progress=not quiet)
    console = Console()
    console.print(report.table())
    for note in report.notes:
        console.print(f"note: {note}")
    console.print(f"{report.model_calls} model calls (every other answer came from the store)")
    if json_out is not None:
        _write_json(json_out, report.to_dict())
        console.print(f"wrote {json_out}")
    failed = TasksFailed.check(report.n_failed, report.n_tasks, report.failures)
    if failed is not None:
        raise failed


def register(app: typer.Typer) -> None:
    app.command("audit")(audit_command)
