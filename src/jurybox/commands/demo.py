"""`jurybox demo`: judge the bundled sample datasets with the embedded model."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from jurybox.commands import _options as o

DEMO_JOBS: list[dict[str, Any]] = [
    {"file": "correctness.jsonl", "protocol": "correctness", "human": "label", "params": {}},
    {"file": "pairwise.jsonl", "protocol": "pairwise", "human": "preference",
     "params": {"criteria": "Which response follows the instruction better and is more accurate?"}},
    {"file": "sentiment.jsonl", "protocol": "classify", "human": "label",
     "params": {"labels": ["positive", "negative"],
                "criteria": "Classify the sentiment of the review as positive or negative."}},
]


def demo_dir() -> Path:
    return Path(str(resources.files("jurybox").joinpath("data", "demo")))


def demo_command(
    model: Annotated[str | None, typer.Option(help="embedded model name or GGUF path")] = None,
    backend_option: o.BackendOption = None,
    out: Annotated[Path, typer.Option(help="where to write all verdicts (JSONL)")] = Path("demo-verdicts.jsonl"),
    store: Annotated[Path | None, typer.Option(help="verdict store")] = None,
    limit: Annotated[int | None, typer.Option(help="judge only the first N rows of each dataset")] = None,
) -> None:
    """Judge the sample datasets (correctness, pairwise, sentiment) and report agreement with humans."""
    from jurybox.api import run_judge
    from jurybox.backends.registry import parse_backend_options
    from jurybox.items import read_table, write_table
    from jurybox.models import DEFAULT_MODEL, resolve
    from jurybox.spec import JudgeSpec
    from jurybox.summary import quick_agreement

    name = model or DEFAULT_MODEL
    options = parse_backend_options(name, backend_option or ())
    print(f"jurybox demo: model {name}")
    resolved = resolve(name)
    print(f"model file verified: {resolved.path} (sha256 {resolved.sha256[:12]}...)")
    tables = []
    for job in DEMO_JOBS:
        df = read_table(demo_dir() / job["file"])
        if limit:
            df = df.head(limit)
        spec = JudgeSpec(job["protocol"], job["params"], model=name, backend_options=options)
        res = run_judge(df, spec, store=store, human=job["human"], progress=True)
        a = quick_agreement(res.human or [], [v.label for v in res.verdicts])
        s = res.stats
        print(f"{job['file']:18s} {job['protocol']:12s} {a.n_items:3d} items  {a.line()}")
        print(f"{'':18s} {s.model_calls} model calls, {s.n_cached} from the store, {s.wall_s:.1f} s")
        t = res.table
        if "note" in t.columns:
            flagged = t[(t["note"] == "mislabelled")]
            caught = sum(1 for i in flagged.index if res.human and res.verdicts[i].label not in (None, res.human[i]))
            print(f"{'':18s} deliberately mislabelled rows: {len(flagged)}; the judge disagrees with "
                  f"{caught} of them")
        t.insert(0, "dataset", job["file"].removesuffix(".jsonl"))
        tables.append(t)
    write_table(pd.concat(tables, ignore_index=True), out)
    print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
