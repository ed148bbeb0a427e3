"""CLI: ``jurybox agree``, ``jurybox gate`` and ``jurybox qrels-agree`` (thin views of jurybox.stats / jurybox.ir)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from jurybox.errors import GateFailure, InputError, JuryboxError


def _load_pairs(verdicts: Path, human: str, human_field: str | None, key: list[str] | None,
                verdict_field: str | None) -> Any:
    from jurybox.stats.table import agreement_table

    return agreement_table(verdicts, human, human_field=human_field, key=key, verdict_field=verdict_field)


def _fmt(v: float) -> str:
    return "nan" if v != v else f"{v:.3f}"


def _print_reports(reports: dict[str, Any], source: str, console: Console) -> None:
    from jurybox.stats.table import ALL

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
    from jurybox.stats.table import agreement

    table = _load_pairs(verdicts, human, human_field, key, verdict_field)
    reports = agreement(table, by=by, cluster=cluster, level=level, n_resamples=resamples, confidence=confidence,
                        seed=seed)
    if as_json:
        typer.echo(json.dumps({name: r.to_dict() for name, r in reports.items()}, indent=2, default=str))
    else:
        _print_reports(reports, table.source, Console())


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
    from jurybox.stats.table import ALL, agreement

    table = _load_pairs(verdicts, human, human_field, key, verdict_field)
    report = agreement(table, level=level, n_resamples=resamples, seed=seed)[ALL]
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
