"""`jurybox cascade DATASET --human COL --cheap MODEL --out cascade.json`: choose a cascade's threshold
on the human-labelled rows (a thin view of jurybox.cascade.api.fit_cascade).

The judge options (--protocol, --template, --param...) describe the judge both stages ask; the
models are --cheap and --large (not --model). Judge with the result:
``jurybox judge DATA --protocol P --model cascade:cascade.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from jurybox.commands import _options as o
from jurybox.errors import JuryboxError


@o.spec_options()
def cascade_command(
    dataset: o.Dataset,
    human: Annotated[str, typer.Option(help="column with the human labels the threshold is chosen on")],
    cheap: Annotated[str, typer.Option(help="the cheap model asked first, e.g. gemma-3-270m or qwen2.5-coder-0.5b")],
    out: Annotated[Path, typer.Option(help="cascade file to write (JSON), for --model cascade:FILE")],
    spec: Any,
    large: Annotated[str, typer.Option(help="the model asked for uncertain items")] = "qwen2.5-coder-1.5b",
    within: Annotated[float | None, typer.Option(help="accuracy at least the large judge's minus this on the "
                                                     "labelled rows (default 0.01)")] = None,
    target: Annotated[float | None, typer.Option(help="or an absolute target accuracy")] = None,
    max_labels: Annotated[int | None, typer.Option(help="use at most this many labelled rows (random, seeded)")] = None,
    seed: Annotated[int, typer.Option(help="seed of the labelled-row sample")] = 0,
    field: o.Field = None,
    encoding: o.Encoding = None,
    store: o.Store = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    json_summary: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Choose the threshold of a cheap-then-large cascade for a target accuracy; write the cascade file."""
    from jurybox.cascade.api import fit_cascade
    from jurybox.stacking.model import json_ready

    if spec.model is not None:
        raise JuryboxError("--model does not apply to cascade: give --cheap and --large")
    if target is not None and within is not None:
        raise JuryboxError("give --within or --target, not both")
    if out.resolve() == dataset.resolve():
        raise JuryboxError(f"--out {out} would overwrite the input file")
    fit = fit_cascade(dataset, spec, cheap=cheap, large=large, human=human, target=target, within=within,
                      max_labels=max_labels, seed=seed, fields=field, store=store, out=out, progress=not quiet,
                      encoding=encoding)
    r = fit.report
    summary = {"threshold": fit.config.threshold, "slice": int(r["n"]), "model_calls": fit.stats.model_calls,
               "cached": fit.stats.n_cached, "out": str(out), "report": r}
    if json_summary:
        print(json.dumps(json_ready(summary)))
        return
    c, la, ch = r["cascade"], r["large"], r["cheap"]
    print(f"{r['n']} labelled rows, {fit.stats.model_calls} model calls ({fit.stats.n_cached} from the store); "
          f"threshold {fit.config.threshold:.3f}: {r['escalated']} escalated ({100 * r['share_escalated']:.1f}%)")
    print(f"  accuracy: cascade {c['accuracy']:.3f} [{c['accuracy_ci'][0]:.3f}, {c['accuracy_ci'][1]:.3f}], "
          f"{large} {la['accuracy']:.3f}, {cheap} {ch['accuracy']:.3f}")
    cost = r["cost"]
    print(f"  cost on these rows: {cost['cascade_calls']} calls and {cost['cascade_model_s']:.1f} model s, against "
          f"{cost['large_calls']} calls and {cost['large_model_s']:.1f} s for {large} alone; wrote {out}")


def register(app: typer.Typer) -> None:
    app.command("cascade")(cascade_command)
