"""CLI: ``jurybox agree``, ``jurybox gate`` and ``jurybox qrels-agree`` (thin views of jurybox.stats / jurybox.ir)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from jurybox.errors import GateFailure, InputError, JuryboxError
from jurybox.items import JUDGE_COLUMNS, read_table

ALL = "(all)"


def _text(s: pd.Series) -> np.ndarray:
    """Values as text, so that 1, 1.0 and "1" (JSONL vs CSV) are the same label or key."""

    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            return None
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    return np.array([one(v) for v in s.tolist()], dtype=object)


def _normalise(human: pd.Series, judge: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Labels comparable across file formats: numbers if both sides are numeric, else text."""
    hn = pd.to_numeric(human, errors="coerce")
    jn = pd.to_numeric(judge, errors="coerce")
    if (hn.isna() == human.isna()).all() and (jn.isna() == judge.isna()).all():
        return hn.to_numpy(dtype=float), jn.to_numpy(dtype=float)
    return _text(human), _text(judge)


def verdict_columns(columns: Any, verdict_field: str | None) -> tuple[str, str | None]:
    """The verdict column and its status column in a table written by ``jurybox judge``.

    ``jurybox judge`` names its columns ``verdict``, ``verdict_status``... or, when the user's data
    already had one of those names, ``jurybox_verdict``, ``jurybox_verdict_status``... (see
    :func:`jurybox.items.output_names`). Without ``verdict_field`` the last complete set is used
    (the one jurybox added); a given ``verdict_field`` X has its status in ``X_status`` when present.
    """
    cols = set(map(str, columns))
    if verdict_field is None:
        prefixes = ["", "jurybox_", *(f"jurybox{n}_" for n in range(2, 10))]
        complete = [p for p in prefixes if {p + c for c in JUDGE_COLUMNS} <= cols]
        partial = [p for p in prefixes if p + "verdict" in cols]
        chosen = complete[-1] if complete else (partial[-1] if partial else "")
        verdict_field = chosen + "verdict"
    status = verdict_field + "_status"
    return verdict_field, status if status in cols else None


def _load_pairs(
    verdicts: Path, human: str, human_field: str | None, key: list[str] | None, verdict_field: str | None
) -> tuple[pd.DataFrame, str, str]:
    """The verdict table with a ``__human__`` column, a note on the human source, the verdict column."""
    df = read_table(verdicts)
    verdict_field, _ = verdict_columns(df.columns, verdict_field)
    if verdict_field not in df.columns:
        raise InputError(
            f"no '{verdict_field}' column (is this a file written by 'jurybox judge'?)", file=str(verdicts)
        )
    if human in df.columns and human_field is None:
        df["__human__"] = df[human]
        return df, f"column '{human}'", verdict_field
    path = Path(human)
    if not path.is_file():
        raise JuryboxError(
            f"--human {human!r} is neither a column of {verdicts} (columns: {', '.join(map(str, df.columns))}) nor a file"
        )
    if not key or not human_field:
        raise JuryboxError(
            "--human given as a file needs --human-field (its label column) and --key (the join column)"
        )
    labels = read_table(path)
    for col in [*key, human_field]:
        if col not in labels.columns:
            raise InputError("column not found", file=str(path), field=col)
    for col in key:
        if col not in df.columns:
            raise InputError("join column not found", file=str(verdicts), field=col)
    if labels.duplicated(key).any():
        row = int(np.flatnonzero(labels.duplicated(key).to_numpy())[0]) + 1
        raise InputError(f"the key {key} repeats", file=str(path), row=row)
    right = labels[[*key, human_field]].rename(columns={human_field: "__human__"})
    left = df.drop(columns=["__human__"], errors="ignore")
    join = [f"__key_{i}__" for i in range(len(key))]
    for col, tmp in zip(key, join, strict=True):  # JSONL ints and CSV strings must join
        left[tmp] = _text(left[col])
        right[tmp] = _text(right[col])
    merged = left.merge(right.drop(columns=key), on=join, how="left", validate="many_to_one")
    return merged.drop(columns=join), f"{path}:{human_field}", verdict_field


def _judge_column(df: pd.DataFrame, verdict_field: str) -> pd.Series:
    """The judge's labels, missing where its status column says the answer was not read."""
    judge = df[verdict_field].copy()
    _, status = verdict_columns(df.columns, verdict_field)
    if status is not None:
        judge = judge.where(df[status].fillna("ok") == "ok")
    return judge


def _reports(
    df: pd.DataFrame, verdict_field: str, by: str | None, cluster: str | None, **kwargs: Any
) -> dict[str, Any]:
    from jurybox.stats import agreement_report

    parts: list[tuple[str, pd.DataFrame]] = [(ALL, df)]
    if by is not None:
        if by not in df.columns:
            raise JuryboxError(f"--by {by!r} is not a column; columns: {', '.join(map(str, df.columns))}")
        parts += [(str(k), g) for k, g in df.groupby(by, sort=True, dropna=False)]
    if cluster is not None and cluster not in df.columns:
        raise JuryboxError(f"--cluster {cluster!r} is not a column")
    out = {}
    for name, part in parts:
        h, j = _normalise(part["__human__"], _judge_column(part, verdict_field))
        groups = part[cluster].to_numpy() if cluster else None
        out[name] = agreement_report(h, j, groups=groups, **kwargs)
    return out


def _fmt(v: float) -> str:
    return "nan" if v != v else f"{v:.3f}"


def _print_reports(reports: dict[str, Any], source: str, console: Console) -> None:
    for name, rep in reports.items():
        title = f"Agreement with human labels ({source})" + ("" if name == ALL else f" where {name}")
        table = Table(title=title)
        table.add_column("statistic")
        table.add_column("estimate", justify="right")
        conf = next(iter(rep.statistics.values())).confidence if rep.statistics else 0.95
        table.add_column(f"{conf:.0%} interval", justify="right")
        for stat, iv in rep.statistics.items():
            table.add_row(stat, _fmt(iv.estimate), f"[{_fmt(iv.low)}, {_fmt(iv.high)}]")
        console.print(table)
        console.print(
            f"items {rep.n_items}, used {rep.n_used}; missing verdicts (unparsed/error/null) "
            f"{rep.n_missing_judge}; missing human labels {rep.n_missing_human}"
        )


VERDICT_HELP = "The judge's column (default: the verdict columns jurybox added, e.g. jurybox_verdict)."
HUMAN_HELP = (
    "A column of VERDICTS holding the human label, or a file of human labels (then --human-field, --key)."
)


def agree(
    verdicts: Annotated[
        Path, typer.Argument(help="Verdict file written by 'jurybox judge' (.jsonl, .csv, .parquet).")
    ],
    human: Annotated[str, typer.Option("--human", help=HUMAN_HELP)],
    human_field: Annotated[
        str | None, typer.Option("--human-field", help="Label column of the --human file.")
    ] = None,
    key: Annotated[
        list[str] | None, typer.Option("--key", help="Column(s) joining VERDICTS to the --human file.")
    ] = None,
    by: Annotated[str | None, typer.Option("--by", help="Also report per value of this column.")] = None,
    level: Annotated[str, typer.Option("--level", help="nominal, ordinal or interval.")] = "nominal",
    cluster: Annotated[
        str | None, typer.Option("--cluster", help="Resample clusters (e.g. query id), not items.")
    ] = None,
    verdict_field: Annotated[str | None, typer.Option("--verdict-field", help=VERDICT_HELP)] = None,
    resamples: Annotated[int, typer.Option("--resamples", help="Bootstrap resamples.")] = 1000,
    confidence: Annotated[float, typer.Option("--confidence")] = 0.95,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Agreement of a judge with human labels, with bootstrap confidence intervals."""
    df, source, verdict_field = _load_pairs(verdicts, human, human_field, key, verdict_field)
    reports = _reports(
        df, verdict_field, by, cluster, level=level, n_resamples=resamples, confidence=confidence, seed=seed
    )
    if as_json:
        typer.echo(json.dumps({name: r.to_dict() for name, r in reports.items()}, indent=2, default=str))
    else:
        _print_reports(reports, source, Console())


def gate(
    verdicts: Annotated[Path, typer.Argument(help="Verdict file written by 'jurybox judge'.")],
    human: Annotated[str, typer.Option("--human", help=HUMAN_HELP)],
    human_field: Annotated[str | None, typer.Option("--human-field")] = None,
    key: Annotated[list[str] | None, typer.Option("--key")] = None,
    level: Annotated[str, typer.Option("--level")] = "nominal",
    min_kappa: Annotated[float | None, typer.Option("--min-kappa", help="Bar for Cohen's kappa.")] = None,
    min_accuracy: Annotated[
        float | None, typer.Option("--min-accuracy", help="Bar for accuracy (agreement).")
    ] = None,
    min_alpha: Annotated[
        float | None, typer.Option("--min-alpha", help="Bar for Krippendorff's alpha.")
    ] = None,
    min_ac1: Annotated[float | None, typer.Option("--min-ac1", help="Bar for Gwet's AC1.")] = None,
    lower_bound: Annotated[
        bool, typer.Option("--lower-bound", help="Compare the interval's lower bound, not the estimate.")
    ] = False,
    verdict_field: Annotated[str | None, typer.Option("--verdict-field", help=VERDICT_HELP)] = None,
    resamples: Annotated[int, typer.Option("--resamples")] = 1000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Exit 1 when a statistic is below its bar (for CI pipelines); 0 when all bars are met."""
    bars = {
        "cohen_kappa": min_kappa,
        "accuracy": min_accuracy,
        "krippendorff_alpha": min_alpha,
        "gwet_ac1": min_ac1,
    }
    bars = {k: v for k, v in bars.items() if v is not None}
    if not bars:
        raise JuryboxError("give at least one bar: --min-kappa, --min-accuracy, --min-alpha or --min-ac1")
    df, _, verdict_field = _load_pairs(verdicts, human, human_field, key, verdict_field)
    report = _reports(df, verdict_field, None, None, level=level, n_resamples=resamples, seed=seed)[ALL]
    failed, passed = [], []
    for stat, bar in bars.items():
        iv = report.statistics[stat]
        value = iv.low if lower_bound else iv.estimate
        what = f"{stat}{' lower bound' if lower_bound else ''} {_fmt(value)}"
        if value == value and value >= bar:
            passed.append(f"{what} >= {bar:g}")
        else:
            failed.append(f"{what} < {bar:g}")
    missing = f"{report.n_missing_judge} of {report.n_items} verdicts missing"
    if failed:
        raise GateFailure(f"gate failed: {'; '.join(failed)} ({missing})")
    typer.echo(f"gate passed: {'; '.join(passed)} ({missing})")


def qrels_agree(
    human_qrels: Annotated[Path, typer.Argument(help="Reference (human) TREC qrels.")],
    llm_qrels: Annotated[list[Path], typer.Argument(help="One or more LLM qrels to compare.")],
    runs: Annotated[
        Path | None, typer.Option("--runs", help="Directory of TREC run files: also compare system rankings.")
    ] = None,
    measure: Annotated[
        str, typer.Option("--measure", help="IR measure for system rankings (ir-measures syntax).")
    ] = "nDCG@10",
    test: Annotated[
        str, typer.Option("--test", help="Paired test for significance agreement: t or wilcoxon.")
    ] = "t",
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level.")] = 0.05,
    no_clip: Annotated[
        bool, typer.Option("--no-clip", help="Reject LLM labels outside 0..3 instead of clipping.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Agreement of LLM relevance labels with human qrels: one row per label set."""
    from jurybox.ir import (
        per_query_scores,
        qrels_agreement,
        ranking_agreement,
        read_qrels,
        read_run,
        significance_agreement,
    )

    human = read_qrels(human_qrels)
    run_tables = {}
    if runs is not None:
        if not runs.is_dir():
            raise InputError("--runs must be a directory of run files", file=str(runs))
        run_tables = {
            p.name: read_run(p) for p in sorted(runs.iterdir()) if p.is_file() and not p.name.startswith(".")
        }
        if len(run_tables) < 2:
            raise InputError("--runs needs at least 2 run files to rank systems", file=str(runs))
    ref_scores = per_query_scores(human, run_tables, measure=measure) if run_tables else None
    rows: dict[str, dict[str, Any]] = {}
    for path in llm_qrels:
        llm = read_qrels(path)
        row = qrels_agreement(human, llm, clip=not no_clip).to_dict()
        if ref_scores is not None:
            est = per_query_scores(llm, run_tables, measure=measure)
            row["ranking"] = ranking_agreement(
                ref_scores.mean(axis=1).to_dict(), est.mean(axis=1).to_dict()
            ).to_dict()
            row["significance"] = significance_agreement(ref_scores, est, test=test, alpha=alpha).to_dict()  # type: ignore[arg-type]
        rows[path.name] = row
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"Agreement with {human_qrels.name}")
    cols = ["label set", "pairs", "kappa", "alpha (ord)"]
    cuts = list(next(iter(rows.values()))["binarised_kappa"]) if rows else []
    cols += [f"kappa {c}" for c in cuts]
    if ref_scores is not None:
        cols += [f"tau ({measure})", "tau_AP", "rho", "sig FP", "sig FN"]
    for c in cols:
        table.add_column(c, justify="left" if c == "label set" else "right")
    for name, row in rows.items():
        cells = [
            name,
            str(row["n_common"]),
            _fmt(row["cohen_kappa"]),
            _fmt(row["krippendorff_alpha_ordinal"]),
        ]
        cells += [_fmt(row["binarised_kappa"][c]) for c in cuts]
        if ref_scores is not None:
            rk, sg = row["ranking"], row["significance"]
            cells += [_fmt(rk["kendall_tau"]), _fmt(rk["tau_ap"]), _fmt(rk["spearman"])]
            cells += [f"{sg['false_positives']}/{sg['n_pairs']}", f"{sg['false_negatives']}/{sg['n_pairs']}"]
        table.add_row(*cells)
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("agree")(agree)
    app.command("gate")(gate)
    app.command("qrels-agree")(qrels_agree)
