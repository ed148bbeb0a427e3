"""Relevance grading (0-3) of the TREC DL 2019 judged pool by the embedded judge, against the NIST grades.

    python bench/relevance_dl19.py [--n 1000] [--budget-s 1100] [--model qwen2.5-coder-1.5b]

Data: ../shared/data/relevance/dl19_pool.jsonl.gz (9,260 judged pairs over 43 queries, grades
0/1/2/3 = 5158/1601/1804/697). Sample: stratified by the human grade, proportional to the pool's
grade counts (``--n`` pairs in all, seed 0), so the sample keeps the pool's grade distribution and
its kappas are comparable with the full-pool reference numbers. Judge: the ``relevance`` protocol
(UMBRELA-style 0-3 prompt, the grade distribution from one forward pass); the LLM grade is the
expected grade rounded half up (what ``jurybox qrels`` writes by default) and, second, the argmax.

Statistics (jurybox.ir.qrels_agreement, jurybox.stats): unweighted Cohen's kappa on the 4 grades,
Krippendorff's alpha (ordinal), binarised kappa at >= 1, >= 2, >= 3, the confusion matrix, and
95% percentile bootstrap intervals resampling whole queries (pairs of one query are not
independent; 1,000 resamples). Reference (the pool's source repository, full pool, not a paper):
FLAN-T5-large kappa 0.227 (4-point) / 0.322 (binary >= 2); Llama-3-8B-Instruct 0.124 / 0.213.

Verdicts go to ``.jurybox/relevance_dl19.sqlite`` in chunks of 100 pairs; ``--budget-s`` stops
before the next chunk once that many seconds have passed, and a rerun resumes (0 model calls for
what is done). The statistics are printed for the pairs judged so far.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from jurybox.backends.registry import get_backend
from jurybox.ir import judge_pool, qrels_agreement, to_qrels
from jurybox.stats import bootstrap_ci, cohen_kappa, confusion_matrix, krippendorff_alpha
from jurybox.store import Store

ROOT = Path(__file__).resolve().parents[1]
POOL = ROOT.parent / "shared" / "data" / "relevance" / "dl19_pool.jsonl.gz"
STORE = ROOT / ".jurybox" / "relevance_dl19.sqlite"
REFERENCE = "FLAN-T5-large 0.227 / 0.322 (4-point / binary >= 2), Llama-3-8B-Instruct 0.124 / 0.213"


def load_pool() -> pd.DataFrame:
    with gzip.open(POOL, "rt", encoding="utf-8") as fh:
        return pd.DataFrame([json.loads(line) for line in fh if line.strip()])


def stratified(pool: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` pairs, each grade's share as in the pool (largest remainder), uniformly within a grade."""
    counts = pool["human_relevance"].value_counts().sort_index()
    exact = counts / counts.sum() * n
    take = np.floor(exact).astype(int)
    for g in (exact - take).sort_values(ascending=False).index[: n - int(take.sum())]:
        take[g] += 1
    parts = [pool[pool.human_relevance == g].sample(n=int(k), random_state=seed + int(g)) for g, k in take.items()]
    return pd.concat(parts).sort_values(["query_id", "doc_id"]).reset_index(drop=True)


def alpha_ordinal(h: np.ndarray, m: np.ndarray) -> float:
    return krippendorff_alpha(np.column_stack([h, m]), level="ordinal", values=[0, 1, 2, 3])


def binary_kappa(h: np.ndarray, m: np.ndarray, cut: int) -> float:
    return cohen_kappa(h >= cut, m >= cut, labels=[False, True])


def ci(stat, h, m, groups, **kw) -> str:
    r = bootstrap_ci(stat, h, m, groups=groups, n_resamples=1000, seed=0, **kw)
    return f"{r.estimate:.3f} [{r.low:.3f}, {r.high:.3f}]"


def report(table: pd.DataFrame, qrels: pd.DataFrame, rule: str) -> dict:
    human = table[["query_id", "doc_id", "human_relevance"]].rename(columns={"human_relevance": "relevance"})
    agree = qrels_agreement(human, qrels).to_dict()
    both = human.merge(qrels, on=["query_id", "doc_id"], suffixes=("_h", "_m"))
    h = both["relevance_h"].to_numpy(dtype=float)
    m = both["relevance_m"].to_numpy(dtype=float)
    g = both["query_id"].to_numpy()
    print(f"\nLLM grade = {rule}: {len(both)} pairs over {len(set(g))} queries")
    print(f"  kappa (4-point)        {ci(cohen_kappa, h, m, g)}")
    print(f"  alpha (ordinal)        {ci(alpha_ordinal, h, m, g)}")
    for cut in (1, 2, 3):
        print(f"  binarised kappa >= {cut}   {ci(binary_kappa, h, m, g, cut=cut)}")
    cm = confusion_matrix(h.astype(int), m.astype(int), labels=[0, 1, 2, 3])
    print("  confusion (rows human 0-3, columns LLM 0-3):")
    for lab, row in zip(cm.labels, cm.matrix.tolist(), strict=True):
        print(f"    {lab}: {row}")
    agree["confusion"] = cm.matrix.tolist()
    return agree


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--budget-s", type=float, default=None)
    ap.add_argument("--json", type=Path, default=None, help="write the numbers here")
    args = ap.parse_args()
    t0 = time.perf_counter()
    pool = load_pool()
    sample = stratified(pool, args.n)
    print(f"sample: {len(sample)} pairs over {sample.query_id.nunique()} queries, human grades "
          f"{sample.human_relevance.value_counts().sort_index().to_dict()} (pool "
          f"{pool.human_relevance.value_counts().sort_index().to_dict()})", flush=True)
    backend = get_backend(args.model)
    tables = []
    calls = 0
    with Store(STORE) as store:
        for start in range(0, len(sample), 100):
            if args.budget_s is not None and time.perf_counter() - t0 > args.budget_s:
                print(f"budget reached after {start} pairs; rerun to resume", flush=True)
                break
            chunk = sample.iloc[start:start + 100]
            res = judge_pool(chunk, model=backend, store=store)
            calls += res.stats.model_calls
            tables.append(res.table)
            print(f"  pairs {start + 1}-{start + len(chunk)}: {res.stats.model_calls} model calls, "
                  f"{res.stats.wall_s:.0f} s", flush=True)
    table = pd.concat(tables, ignore_index=True)
    latency = float(table["latency_s"].sum())
    print(f"\njudged {len(table)} of {len(sample)} pairs; this run {calls} model calls, "
          f"{time.perf_counter() - t0:.0f} s wall; unread {int(table['grade'].isna().sum())}; model time as stored "
          f"{latency:.0f} s ({latency / max(1, len(table)):.2f} s a pair)")
    exp = table["expected_grade"].astype(float)
    print("  mean expected grade by human grade: "
          + ", ".join(f"{g}: {exp[table.human_relevance == g].mean():.3f}" for g in range(4)))
    out = {"n": len(table), "complete": len(table) == len(sample), "model_calls_this_run": calls,
           "model_s": latency}
    for rule in ("expected", "argmax"):
        qrels = to_qrels(table.query_id.map(str).tolist(), table.doc_id.map(str).tolist(),
                         table.grade.tolist(), table.expected_grade.tolist(), rule)
        human = table.assign(query_id=table.query_id.map(str), doc_id=table.doc_id.map(str))
        out[rule] = report(human, qrels, rule)
        dist = qrels.relevance.value_counts().sort_index().to_dict()
        print(f"  LLM grade distribution: {dist}")
    print(f"\nreference on the full pool (not this sample): {REFERENCE}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
