"""`jurybox calibrate`: fit a per-label bias on a labelled dataset, save it, print its k-fold gain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from jurybox.commands import _options as o


@o.spec_options()
def calibrate_command(
    dataset: o.Dataset,
    human: Annotated[str, typer.Option(help="column with the human labels to fit on")],
    out: Annotated[Path, typer.Option(help="where to write the fit (JSON), for --calibration")],
    spec: Any,
    folds: Annotated[int, typer.Option(help="k of the k-fold estimate")] = 5,
    l2: Annotated[float, typer.Option(help="L2 penalty on the bias")] = 1.0,
    seed: Annotated[int, typer.Option(help="seed of the fold assignment")] = 0,
    space: Annotated[str, typer.Option(help="label: one bias per label; option: one per answer option (a "
                                            "position bias, e.g. a shortlist's letters)")] = "label",
    field: o.Field = None,
    encoding: o.Encoding = None,
    store: o.Store = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    json_summary: Annotated[bool, typer.Option("--json", help="print the fit and estimates as JSON")] = False,
) -> None:
    """Fit the judge's per-label (or per-option) bias on DATASET's human labels (maximum likelihood,
    small L2 penalty) and write it to --out; judge later with --calibration OUT. The k-fold estimate
    compares the uncalibrated and calibrated verdicts on the same items."""
    from jurybox.calibration.api import fit_calibration

    res = fit_calibration(dataset, spec, human=human, store=store, fields=field, folds=folds, seed=seed, l2=l2,
                          space=space, out=out, encoding=encoding, progress=not quiet)
    if json_summary:
        print(json.dumps(res.to_dict(), default=float))
        return
    fit = res.fit
    bias = ", ".join(f"{lab} {b:+.3f}" for lab, b in zip(fit.labels, fit.bias, strict=True))
    per = "option" if fit.space == "option" else "label"
    print(f"{res.n_items} items ({res.n_labelled} labelled), {res.model_calls} model calls; bias per {per} fitted "
          f"on {fit.n} rows: {bias}; wrote {res.path}")
    for name in ("uncalibrated", "contextual_only", "calibrated"):
        m = res.cv.get(name)
        if m is None:
            continue
        extra = f", spearman {m['spearman']:.3f}" if "spearman" in m else ""
        print(f"  {name:16s} accuracy {m['accuracy']:.3f}, kappa {m['kappa']:.3f}{extra} "
              f"({int(m['answered'])}/{int(m['n'])} answered; {'out-of-fold' if name == 'calibrated' else 'same items'})")
    for note in res.notes:
        print(f"note: {note}")


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate_command)
