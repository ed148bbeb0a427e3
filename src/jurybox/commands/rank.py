"""`jurybox rank`: rerank candidate lists with an LLM judge and write a TREC run."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from jurybox.commands import _options as o

METHOD_HELP = "prp-allpair | prp-heapsort | prp-sliding | setwise | listwise | pointwise"


def rank_command(
    candidates: Annotated[Path, typer.Argument(help="JSON/JSONL with one query and its candidates a row "
                                                    "(also rank_llm {query, hits}), or a TREC run file "
                                                    "with --passages and --queries")],
    method: Annotated[str, typer.Option(help=METHOD_HELP)] = "prp-heapsort",
    top_k: Annotated[int, typer.Option(help="heapsorts: the exact top k; prp-sliding: the number of passes")] = 10,
    depth: Annotated[int | None, typer.Option(help="rerank each query's first DEPTH candidates (default: all); "
                                                   "the rest follow in input order")] = None,
    passages: Annotated[Path | None, typer.Option(help="TREC run input: passages (TSV docid<TAB>text, or a "
                                                       "table with doc_id, text)")] = None,
    queries: Annotated[Path | None, typer.Option(help="TREC run input: queries (TSV qid<TAB>query, or a table "
                                                      "with query_id, query)")] = None,
    set_size: Annotated[int, typer.Option(help="setwise: passages compared at once (c)")] = 4,
    window: Annotated[int, typer.Option(help="listwise: window size")] = 20,
    stride: Annotated[int | None, typer.Option(help="listwise: window stride (default half the window)")] = None,
    passes: Annotated[int, typer.Option(help="listwise: sliding-window passes")] = 1,
    template: o.Template = "default",
    model: o.Model = None,
    backend_option: o.BackendOption = None,
    param: o.Param = None,
    out: Annotated[Path | None, typer.Option(help="TREC run to write (default CANDIDATES.METHOD.trec)")] = None,
    report: Annotated[Path | None, typer.Option(help="per-query JSON: model calls, tokens, wall time, "
                                                     "position consistency (default OUT.json)")] = None,
    encoding: o.Encoding = None,
    store: o.Store = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    json_summary: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Rerank each query's candidates; write a TREC run and a per-query JSON report.

    Protocol parameters go in --param: combine=margin (PRP: mean log-odds of both orders instead of
    the vote), permutations=cyclic|none (setwise), orders=both (listwise). Exit status: 0 done,
    1 written but some model calls failed (retried next run), 2 bad input or options."""
    from jurybox.atomic import atomic_write, check_writable
    from jurybox.errors import JuryboxError, TasksFailed
    from jurybox.rank import METHODS, rank

    if method not in METHODS:
        raise JuryboxError(f"unknown --method '{method}' (available: {', '.join(METHODS)})")
    out = out or candidates.with_name(f"{candidates.stem}.{method}.trec")
    report = report or out.with_suffix(".json")
    for path in (out, report):
        if path.resolve() == candidates.resolve():
            raise JuryboxError(f"{path} would overwrite the input file")
        why = check_writable(path)
        if why is not None:
            raise JuryboxError(f"{path}: cannot write output: {why}")
    spec = o.judge_spec(METHODS[method], template=template, model=model, backend_option=backend_option, param=param)

    def show(estimate: object) -> None:
        if not json_summary:
            print(estimate.line(), file=sys.stderr, flush=True)  # type: ignore[attr-defined]

    res = rank(candidates, method, spec=spec, top_k=top_k, depth=depth, set_size=set_size, window=window,
               stride=stride, passes=passes, passages=passages, queries=queries, store=store, encoding=encoding,
               progress=not quiet, on_estimate=show)
    res.write_trec(out)
    with atomic_write(report) as fh:
        json.dump(res.to_dict(), fh, indent=1)
        fh.write("\n")
    s = res.summary()
    failed = TasksFailed.check(res.stats.n_failed, res.stats.n_tasks, res.stats.failures)
    if json_summary:
        print(json.dumps({**s, "out": str(out), "report": str(report)}))
    else:
        pc = s["position_consistency"]
        print(f"{s['queries']} queries reranked by {method}: {s['tasks']} tasks, {s['cached']} from the store, "
              f"{s['model_calls']} model calls, {s['failed']} failed, {s['unparsed']} unparsed; "
              f"position consistency {'n/a' if pc is None else f'{pc:.3f}'}; {s['wall_s']:.1f} s; "
              f"wrote {out} and {report}")
    if failed is not None:
        raise failed


def register(app: typer.Typer) -> None:
    app.command("rank")(rank_command)
