"""`jurybox qrels`: grade a pool of (query, passage) pairs 0-3 and write TREC qrels; fill a run's holes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from jurybox.commands import _options as o


def qrels_command(
    pool: Annotated[Path, typer.Argument(help="JSONL/CSV/Parquet with query_id, query, doc_id, passage (or a "
                                              "candidates file such as rank_llm JSON)")],
    out: Annotated[Path, typer.Option(help="qrels file to write")] = Path("llm.qrels"),
    grade: Annotated[str, typer.Option(help="expected (expected grade rounded half up) | argmax")] = "expected",
    fill_holes: Annotated[Path | None, typer.Option(help="a TREC run: judge only the pairs in its top --depth that "
                                                         "--qrels lacks, write the augmented qrels")] = None,
    qrels: Annotated[Path | None, typer.Option(help="--fill-holes: the human qrels (grades 0-3)")] = None,
    depth: Annotated[int, typer.Option(help="--fill-holes: how deep in the run to look for holes")] = 10,
    human: Annotated[str | None, typer.Option(help="pool column with human grades: print agreement")] = None,
    field: o.Field = None,
    template: o.Template = "default",
    model: o.Model = None,
    backend_option: o.BackendOption = None,
    param: o.Param = None,
    encoding: o.Encoding = None,
    store: o.Store = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    json_summary: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Grade every pair of POOL on the 0-3 relevance scale (UMBRELA style, one forward pass) and
    write TREC qrels; pairs whose answer could not be read get no line. With --fill-holes RUN
    --qrels HUMAN: judge only the run's unjudged pairs, write HUMAN plus those, and print the
    run's nDCG@10 under both. Exit status 0, 1 (written, some calls failed), 2 (bad input)."""
    from jurybox.atomic import check_writable
    from jurybox.errors import JuryboxError, TasksFailed
    from jurybox.ir import fill_holes as fill
    from jurybox.ir import judge_pool, qrels_agreement, write_qrels

    if fill_holes is not None and qrels is None:
        raise JuryboxError("--fill-holes needs --qrels HUMAN (the qrels whose holes to fill)")
    if qrels is not None and fill_holes is None:
        raise JuryboxError("--qrels is read with --fill-holes RUN")
    if grade not in ("expected", "argmax"):
        raise JuryboxError(f"--grade must be expected or argmax, got {grade!r}")
    for src in (pool, fill_holes, qrels):
        if src is not None and out.resolve() == src.resolve():
            raise JuryboxError(f"--out {out} would overwrite an input file")
    why = check_writable(out)
    if why is not None:
        raise JuryboxError(f"{out}: cannot write output: {why}")
    spec = o.judge_spec("relevance", template=template, model=model, backend_option=backend_option, param=param)
    summary: dict[str, Any]
    if fill_holes is not None:
        assert qrels is not None
        res = fill(fill_holes, qrels, pool, depth=depth, spec=spec, fields=field, grade=grade, store=store,
                   progress=not quiet, encoding=encoding)
        write_qrels(res.augmented, out)
        summary = {**res.summary(), "out": str(out)}
        stats = res.judged.stats
        line = (f"{summary['holes']} unjudged pairs in the run's top {depth}: {summary['added']} graded "
                f"({summary['judging_model_calls']} model calls, {summary['judging_cached']} from the store); "
                f"nDCG@10 {summary['ndcg@10_human']:.4f} with {qrels.name}, {summary['ndcg@10_augmented']:.4f} "
                f"with the augmented qrels; wrote {out}")
    else:
        judged = judge_pool(pool, spec=spec, fields=field, grade=grade, store=store, progress=not quiet,
                            encoding=encoding)
        write_qrels(judged.qrels, out)
        summary = {**judged.summary(), "out": str(out)}
        stats = judged.stats
        line = (f"{summary['pairs']} pairs graded ({grade} grade): {summary['qrels']} qrels lines, "
                f"{summary['unread']} unread; {stats.model_calls} model calls, {stats.n_cached} from the store; "
                f"{stats.wall_s:.1f} s; wrote {out}")
        if human is not None:
            import pandas as pd

            table = judged.table
            if human not in table.columns:
                raise JuryboxError(f"--human column '{human}' not found in {pool}; columns present: "
                                   f"{', '.join(map(str, table.columns))}")
            hum = pd.DataFrame({"query_id": table["query_id"], "doc_id": table["doc_id"],
                                "relevance": pd.to_numeric(table[human], errors="coerce")}).dropna()
            bad = hum[~hum["relevance"].isin([0, 1, 2, 3])]
            if len(bad):
                raise JuryboxError(f"{pool}, row {int(bad.index[0]) + 1}, field '{human}': grade "
                                   f"{bad['relevance'].iloc[0]} is outside 0-3")
            agree = qrels_agreement(hum.astype({"relevance": int}), judged.qrels).to_dict()
            summary["agreement"] = agree
            bk = ", ".join(f"{k} {v:.3f}" for k, v in agree["binarised_kappa"].items())
            line += (f"\nagreement with '{human}' on {agree['n_common']} pairs: kappa {agree['cohen_kappa']:.3f}, "
                     f"ordinal alpha {agree['krippendorff_alpha_ordinal']:.3f}, binarised kappa {bk}")
    failed = TasksFailed.check(stats.n_failed, stats.n_tasks, stats.failures)
    print(json.dumps(summary) if json_summary else line)
    if failed is not None:
        raise failed


def register(app: typer.Typer) -> None:
    app.command("qrels")(qrels_command)
