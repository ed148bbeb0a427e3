"""Reranking TREC DL 2019 (BM25 top-100 with text) with the embedded judge: nDCG@10 against BM25.

    python bench/rerank_dl19.py --method prp-heapsort --queries 8 --depth 20 --top-k 10 \
        [--param combine=margin] [--budget-s 1100] [--model qwen2.5-coder-1.5b]
    python bench/rerank_dl19.py --table        # the calls-per-query vs nDCG@10 table of every result saved

Data: ../shared/data/ranking (bm25_top100_dl19.json, qrels_dl19.txt; its README lists the
published nDCG@10 on exactly these candidates). The query subset is the first ``--queries``
queries of bm25_top100_dl19.json in file order (the qids are printed); BM25's nDCG@10 is computed
on exactly that subset with the same qrels. ``--depth`` candidates of each query are reranked,
the rest keep BM25's order. nDCG@10 is ir-measures' (trec_eval gains = the graded qrels); the
95% interval is a percentile bootstrap over queries (1,000 resamples), and so is the interval of
the per-query difference method - BM25 (paired).

Every comparison or judgment goes through the engine and the store ``.jurybox/rerank_dl19.sqlite``
(all methods share it), one query at a time: ``--budget-s`` stops before the next query once
that many seconds have passed, and a rerun resumes (the queries done cost 0 model calls). Model
calls per query are the query's tasks (what a run on an empty store calls), model seconds its
tasks' stored latencies. Results are saved to ``.jurybox/bench/rerank_<model>_<method>_<settings>.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from jurybox.backends.registry import get_backend
from jurybox.ir import per_query_scores, read_qrels
from jurybox.protocols.registry import protocol_class
from jurybox.rank import METHODS, read_candidates
from jurybox.rank.runner import Options, estimate_cost, rank_queries
from jurybox.stats import bootstrap_ci
from jurybox.store import Store

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "ranking"
STORE = ROOT / ".jurybox" / "rerank_dl19.sqlite"
MODEL = "qwen2.5-coder-1.5b"
RESULTS = ROOT / ".jurybox" / "bench"
PUBLISHED = [("BM25 (no reranking), all 43 queries", 0.5058), ("flan-t5-large PRP heapsort", 0.6571),
             ("flan-t5-large setwise heapsort", 0.6697), ("flan-t5-large pointwise QLM", 0.6544),
             ("Llama-3.1-8B-Instruct listwise", 0.6779), ("Qwen2.5-7B-Instruct listwise", 0.6987)]


def mean(x: np.ndarray) -> float:
    return float(np.mean(x))


def interval(values: np.ndarray) -> dict[str, float]:
    ci = bootstrap_ci(mean, np.asarray(values, dtype=float), n_resamples=1000, seed=0)
    return {"estimate": ci.estimate, "low": ci.low, "high": ci.high}


def fmt(ci: dict[str, float]) -> str:
    return f"{ci['estimate']:.4f} [{ci['low']:.4f}, {ci['high']:.4f}]"


def bm25_run(queries) -> pd.DataFrame:
    rows = [(q.query_id, c.doc_id, r, float(len(q.candidates) - r + 1))
            for q in queries for r, c in enumerate(q.candidates, start=1)]
    return pd.DataFrame(rows, columns=["query_id", "doc_id", "rank", "score"])


def table() -> None:
    rows = []
    for p in sorted(RESULTS.glob(f"rerank_{MODEL}_*.json")):
        r = json.loads(p.read_text())
        rows.append(r)
    if not rows:
        print("no saved results under", RESULTS)
        return
    print("| method | settings | queries | model calls / query | model s / query | nDCG@10 [95% CI] | "
          "BM25 same queries | difference [95% CI] | position consistency |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: r["calls_per_query"]):
        pc = r["position_consistency"]
        print(f"| {r['method']} | {r['settings']} | {r['n_queries']} | {r['calls_per_query']:.1f} | "
              f"{r['model_s_per_query']:.1f} | {fmt(r['ndcg10'])} | {fmt(r['bm25_ndcg10'])} | "
              f"{r['difference']['estimate']:+.4f} [{r['difference']['low']:+.4f}, {r['difference']['high']:+.4f}] | "
              f"{'n/a' if pc is None else f'{pc:.3f}'} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--method", choices=list(METHODS))
    ap.add_argument("--queries", type=int, default=43, help="the first N queries in file order")
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--top-k", type=int, default=10)
    ap.add_argument("--set-size", type=int, default=4)
    ap.add_argument("--window", type=int, default=20)
    ap.add_argument("--stride", type=int, default=10)
    ap.add_argument("--passes", type=int, default=1)
    ap.add_argument("--param", action="append", default=[], help="protocol parameter KEY=VALUE")
    ap.add_argument("--model", default=MODEL)
    ap.add_argument("--budget-s", type=float, default=None, help="stop before the next query after this long")
    ap.add_argument("--table", action="store_true", help="print the table of saved results and exit")
    args = ap.parse_args()
    if args.table:
        table()
        return 0
    if args.method is None:
        ap.error("--method is required (or --table)")
    t0 = time.perf_counter()
    queries = read_candidates(DATA / "bm25_top100_dl19.json")[: args.queries]
    qrels = read_qrels(DATA / "qrels_dl19.txt", grades=range(4))
    cls = protocol_class(METHODS[args.method])
    params = cls.parse_options(args.param)
    protocol = cls(**params)
    o = Options(top_k=args.top_k, depth=args.depth, set_size=args.set_size, window=args.window, stride=args.stride,
                passes=args.passes)
    settings = f"depth {args.depth}"
    if args.method in ("prp-heapsort", "setwise"):
        settings += f", top-{args.top_k}"
    if args.method == "prp-sliding":
        settings += f", K={args.top_k}"
    if args.method == "setwise":
        settings += f", c={args.set_size}"
    if args.method == "listwise":
        settings += f", window {args.window}, stride {args.stride}, passes {args.passes}"
    if params:
        settings += ", " + ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
    print(f"method {args.method} ({settings}); queries: the first {len(queries)} of bm25_top100_dl19.json: "
          f"{' '.join(q.query_id for q in queries)}", flush=True)
    print("  " + estimate_cost(args.method, queries, protocol, o).line(), flush=True)
    backend = get_backend(args.model)
    stats = []
    runs = []
    calls_made = 0
    with Store(STORE) as store:
        for i, q in enumerate(queries):
            if args.budget_s is not None and time.perf_counter() - t0 > args.budget_s:
                print(f"budget reached after {i} queries; rerun to resume", flush=True)
                break
            res = rank_queries([q], args.method, protocol, backend, store, o)
            s = res.queries[0]
            calls_made += res.stats.model_calls
            stats.append(s)
            runs.append(res.run)
            pc = s.position_consistency
            print(f"  {q.query_id}: {s.tasks} tasks ({res.stats.model_calls} called now), {s.model_s:.0f} model s, "
                  f"unparsed {s.n_unparsed}, ties {s.n_ties}, consistency {'n/a' if pc is None else f'{pc:.2f}'}",
                  flush=True)
    done = queries[: len(stats)]
    if not done:
        return 1
    ids = [q.query_id for q in done]
    sub_qrels = qrels[qrels.query_id.isin(ids)]
    run = pd.concat(runs, ignore_index=True)
    scores = per_query_scores(sub_qrels, {"method": run, "bm25": bm25_run(done)})
    method_s = scores.loc["method", ids].to_numpy(dtype=float)
    bm25_s = scores.loc["bm25", ids].to_numpy(dtype=float)
    measured = sum(s.n_consistency_measured for s in stats)
    result = {
        "method": args.method, "settings": settings, "model": args.model, "n_queries": len(done), "query_ids": ids,
        "complete": len(done) == len(queries),
        "ndcg10": interval(method_s), "bm25_ndcg10": interval(bm25_s), "difference": interval(method_s - bm25_s),
        "calls_per_query": sum(s.tasks for s in stats) / len(done),
        "model_s_per_query": sum(s.model_s for s in stats) / len(done),
        "prompt_tokens_per_query": sum(s.task_prompt_tokens for s in stats) / len(done),
        "position_consistency": sum(s.n_consistent for s in stats) / measured if measured else None,
        "unparsed": sum(s.n_unparsed for s in stats), "ties": sum(s.n_ties for s in stats),
        "unchanged_windows": sum(s.n_unchanged for s in stats), "reversed_windows": sum(s.n_reversed for s in stats),
        "questions": sum(s.questions for s in stats),
        "model_calls_this_run": calls_made, "wall_s_this_run": time.perf_counter() - t0,
        "per_query": [{**s.to_dict(), "ndcg10": float(m), "bm25_ndcg10": float(b)}
                      for s, m, b in zip(stats, method_s, bm25_s, strict=True)],
    }
    print(f"\n{args.method} ({settings}) on {len(done)} queries{'' if result['complete'] else ' (incomplete)'}:")
    print(f"  nDCG@10 {fmt(result['ndcg10'])}; BM25 on the same queries {fmt(result['bm25_ndcg10'])}; "
          f"difference {fmt(result['difference'])}")
    pc = result["position_consistency"]
    print(f"  model calls per query {result['calls_per_query']:.1f}, model seconds per query "
          f"{result['model_s_per_query']:.1f}; position consistency {'n/a' if pc is None else f'{pc:.3f}'}; "
          f"unparsed {result['unparsed']} of {result['questions']} questions, ties {result['ties']}, "
          f"unchanged windows {result['unchanged_windows']}, reversed windows {result['reversed_windows']}")
    print(f"  prompt tokens per query {result['prompt_tokens_per_query']:.0f}")
    print(f"  this run: {calls_made} model calls, {result['wall_s_this_run']:.0f} s wall")
    print("  published on all 43 queries (README): " + "; ".join(f"{n} {v:.4f}" for n, v in PUBLISHED))
    if result["complete"]:
        RESULTS.mkdir(parents=True, exist_ok=True)
        tag = settings.replace(", ", "_").replace(" ", "").replace("=", "")
        model = "".join(ch if ch.isalnum() or ch in ".-" else "_" for ch in args.model)
        out = RESULTS / f"rerank_{model}_{args.method}_{len(done)}q_{tag}.json"
        out.write_text(json.dumps(result, indent=1))
        print(f"  saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
