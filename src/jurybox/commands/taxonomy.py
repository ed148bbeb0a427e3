"""`jurybox taxonomy`: generate a label set (TnT-LLM phase 1) from unlabelled texts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from jurybox.commands import _options as o


def taxonomy_command(
    dataset: o.Dataset,
    use_case: Annotated[str, typer.Option(help="what the labels are for, e.g. 'route customer banking questions'")],
    out: Annotated[Path, typer.Option(help="taxonomy YAML to write")] = Path("taxonomy.yaml"),
    field: o.Field = None,
    sample: Annotated[int, typer.Option(help="texts sampled from DATASET")] = 400,
    batch: Annotated[int, typer.Option(help="summaries per minibatch (the first proposes, each later one updates)")] = 50,
    max_labels: Annotated[int, typer.Option(help="size limit the final review enforces")] = 25,
    seed: Annotated[int, typer.Option(help="seed of the sample")] = 0,
    summarise: Annotated[bool, typer.Option(help="summarise each text for the use case first (short texts: "
                                                 "--no-summarise)")] = True,
    model: o.Model = None,
    backend_option: o.BackendOption = None,
    store: o.Store = None,
    encoding: o.Encoding = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    json_summary: Annotated[bool, typer.Option("--json", help="print the run summary as JSON")] = False,
) -> None:
    """Build a taxonomy (label names with one-line descriptions) from a sample of DATASET's texts:
    summaries, a proposal from the first minibatch, an update per minibatch, a final review.
    Every generation is stored: a rerun makes no model calls, a killed run resumes."""
    from jurybox.atomic import check_writable
    from jurybox.backends.registry import get_backend, parse_backend_options
    from jurybox.distill.api import texts_of
    from jurybox.errors import JuryboxError
    from jurybox.items import load_table, parse_field_map
    from jurybox.store import open_store
    from jurybox.taxonomy.generate import generate_taxonomy, write_taxonomy

    fmap = parse_field_map(field)
    unknown = [k for k in fmap if k != "text"]
    if unknown:
        raise JuryboxError(f"--field names unknown field(s) {unknown}; taxonomy reads only text=COLUMN")
    why = check_writable(out)
    if why is not None:
        raise JuryboxError(f"{out}: cannot write the taxonomy: {why}")
    df, source = load_table(dataset, encoding)
    texts = texts_of(df, fmap.get("text", "text"), source)
    with open_store(store) as st:  # a bad store fails before a model loads
        backend = get_backend(model, **parse_backend_options(model, backend_option or ()))
        res = generate_taxonomy(texts, use_case=use_case, backend=backend, store=st, sample=sample, batch=batch,
                                max_labels=max_labels, seed=seed, summarise=summarise, progress=not quiet,
                                source={"file": str(dataset), "text_field": fmap.get("text", "text")})
    write_taxonomy(res, out)
    summary = {"labels": len(res.labels), "steps": len(res.history), "model_calls": res.model_calls,
               "from_store": res.from_store, "unparsed": res.n_unparsed, "out": str(out)}
    if json_summary:
        print(json.dumps(summary))
        return
    print(f"{len(res.labels)} labels after {len(res.history)} steps; {res.model_calls} model calls, "
          f"{res.from_store} from the store, {res.n_unparsed} unreadable answers; wrote {out}")
    for e in res.labels:
        print(f"  {e['name']}: {e['description']}")


def register(app: typer.Typer) -> None:
    app.command("taxonomy")(taxonomy_command)
