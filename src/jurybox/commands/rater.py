"""`jurybox rater`: the judge as one more rater (ACORN's three protocols) on a table of ratings."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from jurybox.commands import _options as o


def _iv(iv: Any) -> str:
    return "n/a" if iv is None else f"{iv.estimate:+.3f} [{iv.low:+.3f}, {iv.high:+.3f}]"


def rater_command(
    dataset: o.Dataset,
    human: Annotated[str, typer.Option(help="comma-separated columns with the human ratings (one column per rater)")],
    judge: Annotated[str, typer.Option(help="column with the judge's rating (for example a verdict_score column)")],
    group: Annotated[str | None, typer.Option(help="column to report per value of (for example the aspect)")] = None,
    level: Annotated[str, typer.Option(help="Krippendorff's alpha level: nominal | ordinal | interval | ratio")
                     ] = "interval",
    aggregate: Annotated[str, typer.Option(help="how human ratings are pooled: mean | majority")] = "mean",
    pools: Annotated[str, typer.Option(help="reduced pool sizes, comma-separated")] = "1,2",
    resamples: Annotated[int, typer.Option(help="bootstrap resamples")] = 1000,
    encoding: o.Encoding = None,
    json_summary: Annotated[bool, typer.Option("--json", help="print the results as JSON")] = False,
) -> None:
    """ACORN's protocols on DATASET: (a) alpha with each human replaced by the judge, (b) Spearman of
    the judge with the pooled human rating, (c) reduced human pools with and without the judge
    against the full pool and the held-out raters; 95% bootstrap intervals over items."""
    import numpy as np

    from jurybox.errors import InputError, JuryboxError
    from jurybox.items import load_table
    from jurybox.stats.rater import judge_vs_humans, reduced_pool, replace_rater_alpha

    if aggregate not in ("mean", "majority"):
        raise JuryboxError(f"--aggregate must be mean or majority, got {aggregate!r}")
    try:
        sizes = [int(x) for x in pools.split(",") if x.strip()]
    except ValueError:
        raise JuryboxError(f"--pools expects comma-separated integers, got {pools!r}") from None
    df, source = load_table(dataset, encoding)
    cols = [c.strip() for c in human.split(",") if c.strip()]
    for c in [*cols, judge, *([group] if group else [])]:
        if c not in df.columns:
            raise InputError(f"column '{c}' not found; columns present: {', '.join(map(str, df.columns))}",
                             file=source, field=c)
    if len(cols) < 2:
        raise JuryboxError("--human needs at least 2 rater columns")

    def numbers(c: str) -> Any:
        import pandas as pd

        vals = pd.to_numeric(df[c], errors="coerce")
        bad = vals.isna() & df[c].notna() & (df[c].astype(str).str.strip() != "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
            raise InputError(f"rating {df[c].iloc[row - 1]!r} is not a number", file=source, row=row, field=c)
        return vals.to_numpy(dtype=float)

    h_all = np.column_stack([numbers(c) for c in cols])
    j_all = numbers(judge)
    groups = [("all", np.ones(len(df), dtype=bool))] if not group else [
        (str(g), (df[group].astype(str) == str(g)).to_numpy()) for g in dict.fromkeys(df[group].astype(str))]
    out: dict[str, Any] = {}
    for name, mask in groups:
        keep = mask & ~np.isnan(j_all)
        h, j = h_all[keep], j_all[keep]
        a = replace_rater_alpha(h, j, level=level, n_resamples=resamples)
        b = judge_vs_humans(h, j, aggregate=aggregate, n_resamples=resamples)  # type: ignore[arg-type]
        pooled = reduced_pool(h, j, sizes=sizes, aggregate=aggregate, n_resamples=resamples)  # type: ignore[arg-type]
        out[name] = {"n_items": int(keep.sum()), "alpha": a.to_dict(), "spearman": b.to_dict(),
                     "pools": [p.to_dict() for p in pooled]}
        if json_summary:
            continue
        print(f"== {name} ({int(keep.sum())} items, {len(cols)} human raters)")
        print(f"(b) Spearman of the judge with the {aggregate} human rating: {_iv(b)}")
        print(f"(a) alpha ({level}) of the humans {_iv(a.humans)}; with one human replaced by the judge: "
              + ", ".join(f"{col} {_iv(r)}" for col, r in zip(cols, a.replaced, strict=True))
              + f"; difference (mean) {_iv(a.difference)}")
        for p in pooled:
            print(f"(c) {p.k} human(s) vs the full pool: alone {_iv(p.pool)}, with the judge {_iv(p.pool_judge)}, "
                  f"gain {_iv(p.gain)}; vs the held-out raters: alone {_iv(p.heldout_pool)}, with the judge "
                  f"{_iv(p.heldout_pool_judge)}, gain {_iv(p.heldout_gain)}")
    if json_summary:
        print(json.dumps(out))


def register(app: typer.Typer) -> None:
    app.command("rater")(rater_command)

