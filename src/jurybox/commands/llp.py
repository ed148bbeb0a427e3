"""`jurybox llp`: learn a binary classifier when only each bag's share of positives is known (label
proportions by belief propagation, or the bag-mean and DLLP baselines)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from jurybox.commands import _options as o


def llp_command(
    dataset: o.Dataset,
    bag: Annotated[str, typer.Option(help="column with each row's bag id")] = "bag",
    proportion: Annotated[str, typer.Option(help="column with the row's bag's share of positives (0-1); several "
                                                 "comma-separated columns (one per class) make it multi-class")
                          ] = "proportion",
    embeddings: Annotated[Path | None, typer.Option(help=".npy/.npz file with one embedding row per table row")
                          ] = None,
    embeddings_key: Annotated[str | None, typer.Option(help="the array of a .npz file to use")] = None,
    text_field: Annotated[str | None, typer.Option(help="embed this text column instead (see --embedder)")] = None,
    embedder: Annotated[str, typer.Option(help="minilm | tfidf (for --text-field)")] = "minilm",
    method: Annotated[str, typer.Option(help="bp | bag-mean | dllp")] = "bp",
    k: Annotated[int, typer.Option(help="bp: neighbours per item in the k-NN graph")] = 10,
    coupling: Annotated[float, typer.Option(help="bp: log-potential of two neighbours agreeing")] = 0.2,
    bag_potential: Annotated[str, typer.Option(help="bp: hard | laplace | gaussian")] = "hard",
    bag_strength: Annotated[float, typer.Option(help="bp: strength of a soft bag potential")] = 1.0,
    damping: Annotated[float, typer.Option(help="bp: message damping in [0, 1)")] = 0.5,
    max_iter: Annotated[int, typer.Option(help="bp: most iterations")] = 200,
    rounds: Annotated[int, typer.Option(help="bp: rounds (each further one on a refined embedding)")] = 1,
    out: Annotated[Path | None, typer.Option(help="output file (.jsonl/.csv/.parquet)")] = None,
    encoding: o.Encoding = None,
    json_summary: Annotated[bool, typer.Option("--json", help="print the run summary as JSON")] = False,
) -> None:
    """Add llp_probability (and llp_pseudo_label for bp) to every row of DATASET (docs/llp.md)."""
    from jurybox.items import check_output, write_table
    from jurybox.llp.api import llp_dataset

    out = o.default_out(dataset, out, ".llp" + (dataset.suffix if dataset.suffix != ".json" else ".jsonl"))
    check_output(out)
    params = dict(k=k, coupling=coupling, bag_kind=bag_potential, bag_strength=bag_strength, damping=damping,
                  max_iter=max_iter, rounds=rounds) if method == "bp" else {}
    cols = [c.strip() for c in proportion.split(",") if c.strip()]
    res = llp_dataset(dataset, bag=bag, proportion=cols if len(cols) > 1 else proportion, embeddings=embeddings, embeddings_key=embeddings_key,
                      text=text_field, embedder=embedder, method=method, encoding=encoding, **params)
    write_table(res.table, out)
    summary = {**res.to_dict(), "out": str(out)}
    if json_summary:
        print(json.dumps(summary))
        return
    line = f"{len(res.table)} rows in {res.n_bags} bags ({method})"
    if res.fit is not None:
        rs = res.fit.rounds
        bad = sum(not r.converged for r in rs)
        its = max(r.iterations for r in rs)
        line += (f"; BP {'converged' if not bad else f'did NOT converge in {bad} of {len(rs)} runs'} "
                 f"(at most {its} iterations; largest last change {max(r.max_delta for r in rs):.2g})")
    print(f"{line}; wrote {out}")


def register(app: typer.Typer) -> None:
    app.command("llp")(llp_command)
