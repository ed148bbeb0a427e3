"""LLMBar: a single embedded judge vs a jury of its prompt templates vs that jury with PRE weights.

Run: ``python bench/llmbar_jury.py [--root ../shared/data/llmbar] [--per-set 20]``.

On a fixed random subset of each LLMBar set (Adversarial: Neighbor, GPTInst, GPTOut, Manual;
Processed: FairEval, LLMEval^2, MT-Bench), every judge is asked in both presentation orders:

(a) the single judge: qwen2.5-coder-1.5b with the pairwise template ``default``;
(b) a jury of that model under 3 templates (default, concise, rules): per order, the majority of the
    three single-order verdicts;
(c) the same jury with PRE weights: each template's agreement p with gold on an exam split (20% of the
    items, both orders), qualification p > 0.6, weight log(p/(1-p)), weighted vote on the other 80%.

accuracy = mean over both orders of [winner == gold]; positional agreement = share of items whose two
single-order verdicts agree (LLMBar's correct_average and equal). The published evaluators (GPT-4,
ChatGPT, LLaMA2, PaLM2; Vanilla prompt, no rules) are shown from each set's statistics.json (full
sets) and recomputed from their result.json on the same subset. All model calls go through the engine
and the store, so a rerun is free.
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
from jurybox.benchdata.llmbar import ADVERSARIAL, LLMBAR_SETS, PROCESSED, load_llmbar, load_llmbar_evaluator
from jurybox.engine import Judge
from jurybox.jury import majority_vote, order_metrics, qualify, run_jury, variant_label_matrix, weighted_vote
from jurybox.protocols import Pairwise
from jurybox.stats import bootstrap_ci, positional_agreement
from jurybox.stats._validate import is_missing
from jurybox.store import Store

HERE = Path(__file__).resolve().parents[1]
EVALUATORS = ("GPT-4", "ChatGPT", "LLaMA2", "PaLM2")
TEMPLATES = ("default", "concise", "rules")
GROUPS = {"Adversarial": ADVERSARIAL, "Processed": PROCESSED}


def _pct(x: float) -> str:
    return "  n/a" if x != x else f"{100 * x:5.1f}"


def published(root: Path, name: str, evaluator: str) -> tuple[float, float]:
    f = root / LLMBAR_SETS[name] / "evaluators" / evaluator / "Vanilla_NoRules" / "statistics.json"
    s = json.loads(f.read_text())
    return float(str(s["correct_average"]).rstrip("%")) / 100, float(str(s["equal"]).split("=")[-1].strip().rstrip("%")) / 100


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(HERE.parent / "shared" / "data" / "llmbar"))
    ap.add_argument("--per-set", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--store", default=str(HERE / ".jurybox" / "llmbar.sqlite"))
    ap.add_argument("--sets", default=None,
                    help="comma-separated LLMBar sets (default: all seven, Adversarial and Processed)")
    ap.add_argument("--first", default=None,
                    help="keep only the first K items of each set's sample (K, or SET=K,SET=K for each set): "
                         "a subset of the same items, with the same task keys")
    ap.add_argument("--threads", type=int, default=1,
                    help="llama.cpp threads (1 avoids spin-wait contention on a shared machine)")
    ap.add_argument("--exam-frac", type=float, default=0.2)
    ap.add_argument("--threshold", type=float, default=0.6)
    args = ap.parse_args()
    root = Path(args.root)

    df = load_llmbar(root, per_set=args.per_set, seed=args.seed)  # the same 140-item sample as other runs
    if args.sets:
        keep = [x.strip() for x in args.sets.split(",") if x.strip()]
        df = df[df["set"].isin(keep)].reset_index(drop=True)
    if args.first is not None:
        if "=" in args.first:
            limits = {k.strip(): int(v) for k, v in (x.split("=") for x in args.first.split(",") if x.strip())}
            rank = df.groupby("set", sort=False).cumcount()
            df = df[[rank[i] < limits.get(s, 0) for i, s in enumerate(df["set"])]].reset_index(drop=True)
        else:
            df = df.groupby("set", sort=False).head(int(args.first)).reset_index(drop=True)
    items = df[["instruction", "response_a", "response_b"]].to_dict("records")
    gold = df["gold"].tolist()
    n = len(df)
    first = "" if args.first is None else f", first {args.first} of them per set"
    print(f"LLMBar subset: {args.per_set} items per set (seed {args.seed}){first}: {n} items over "
          f"{df['set'].nunique()} sets (not the full sets: the machine is shared); model {args.model}; "
          f"store {args.store}")

    backend = get_backend(args.model, n_threads=args.threads)
    t0 = time.perf_counter()
    # concise and rules first: the default template's verdicts may already be in the shared store.
    order = ("concise", "rules", "default")
    judges = {t: Judge(Pairwise(template=t), backend, name=f"{args.model}:{t}") for t in order}
    with Store(args.store) as store:
        run = run_jury([judges[t] for t in order], items, store, progress=sys.stderr.isatty())
    idx = [run.judges.index(judges[t].name) for t in TEMPLATES]
    ab = variant_label_matrix(run.variants, "AB")[idx]
    ba = variant_label_matrix(run.variants, "BA")[idx]
    s = run.stats
    print(f"tasks {s.n_tasks}: {s.n_cached} from the store, {s.model_calls} model calls, {s.n_failed} failed; "
          f"{time.perf_counter() - t0:.0f} s")

    rng = np.random.default_rng(args.seed)
    perm = rng.permutation(n)
    n_exam = int(round(args.exam_frac * n))
    exam, rest = np.sort(perm[:n_exam]), np.sort(perm[n_exam:])
    g = np.asarray(gold, dtype=object)
    thresholds = sorted({args.threshold, 0.5}, reverse=True)
    quals = {}
    for th in thresholds:
        q = quals[th] = qualify(np.concatenate([ab[:, exam], ba[:, exam]], axis=1), list(g[exam]) * 2,
                                threshold=th, judges=TEMPLATES)
        print(f"PRE exam: {n_exam} items (both orders), threshold p > {th}: " + ", ".join(
            f"{t} p={p:.3f} {f'w={w:.3f}' if ok else 'not qualified'}"
            for t, p, ok, w in zip(TEMPLATES, q.agreement, q.qualified, q.weights, strict=True)))

    single = (ab[0], ba[0])
    jury = (np.array(majority_vote(ab).label, dtype=object), np.array(majority_vote(ba).label, dtype=object))
    pre: dict[float, tuple[np.ndarray, np.ndarray] | None] = {}
    for th, q in quals.items():
        pre[th] = None if not q.qualified.any() else (
            np.array(weighted_vote(ab, q.weights).label, dtype=object),
            np.array(weighted_vote(ba, q.weights).label, dtype=object))

    rows = []

    def add(method: str, subset: str, mask: np.ndarray, pair: tuple[np.ndarray, np.ndarray] | None) -> None:
        if pair is None or not mask.any():
            rows.append({"method": method, "items": subset, "n": int(mask.sum()), "accuracy": float("nan"),
                         "positional_agreement": float("nan")})
            return
        m = order_metrics(pair[0][mask], pair[1][mask], g[mask])
        ab_, ba_, gg = pair[0][mask], pair[1][mask], g[mask]
        # per item: share of the two orders judged right; both orders agree (unparsed never agrees)
        right = np.array([((not is_missing(a) and a == x) + (not is_missing(b) and b == x)) / 2
                          for a, b, x in zip(ab_, ba_, gg, strict=True)], dtype=float)
        acc_ci = bootstrap_ci(np.mean, right, n_resamples=2000, seed=0)
        pos_ci = bootstrap_ci(positional_agreement, ab_, ba_, unparsed="disagree", n_resamples=2000, seed=0)
        rows.append({"method": method, "items": subset, "n": m.n, "accuracy": m.accuracy,
                     "positional_agreement": m.positional_agreement, "unparsed": m.n_missing,
                     "accuracy_ci": (acc_ci.low, acc_ci.high), "positional_agreement_ci": (pos_ci.low, pos_ci.high)})

    sets = df["set"].to_numpy()
    in_rest = np.zeros(n, dtype=bool)
    in_rest[rest] = True
    present = set(sets)
    for gname, all_members in [*GROUPS.items(), ("All", ADVERSARIAL + PROCESSED)]:
        members = tuple(m for m in all_members if m in present)
        if not members:
            continue
        gm = np.isin(sets, members)
        add("(a) single judge (default)", gname, gm, single)
        add("(b) jury of 3 templates", gname, gm, jury)
        add("(a) single judge (default)", gname + " [80% eval split]", gm & in_rest, single)
        add("(b) jury of 3 templates", gname + " [80% eval split]", gm & in_rest, jury)
        for th in thresholds:
            add(f"(c) PRE-weighted jury (p > {th})", gname + " [80% eval split]", gm & in_rest, pre[th])
        for t, k in zip(TEMPLATES[1:], (1, 2), strict=True):
            add(f"    template {t} alone", gname, gm, (ab[k], ba[k]))
        for ev in EVALUATORS:
            sub_ab, sub_ba, sub_gold = [], [], []
            full = []
            for name in members:
                e = load_llmbar_evaluator(root, name, ev).set_index("index")
                pick = df.loc[df["set"] == name, "index"].to_numpy()
                sub_ab += e.loc[pick, "winner_unswapped"].tolist()
                sub_ba += e.loc[pick, "winner_swapped"].tolist()
                sub_gold += e.loc[pick, "gold"].tolist()
                full.append(published(root, name, ev))
            m = order_metrics(sub_ab, sub_ba, sub_gold)
            rows.append({"method": f"{ev} (published, same subset)", "items": gname, "n": m.n,
                         "accuracy": m.accuracy, "positional_agreement": m.positional_agreement})
            rows.append({"method": f"{ev} (statistics.json, full sets, mean over sets)", "items": gname,
                         "n": len(members), "accuracy": float(np.mean([f[0] for f in full])),
                         "positional_agreement": float(np.mean([f[1] for f in full]))})
    table = pd.DataFrame(rows)
    print()
    print(f"{'method':52s} {'items':30s} {'n':>4s} {'acc %':>6s} {'[95% CI]':>13s} {'pos.agr %':>9s} {'[95% CI]':>13s}")
    for r in table.to_dict("records"):
        cis = [f"[{_pct(c[0]).strip()}, {_pct(c[1]).strip()}]" if isinstance(c, tuple) else ""
               for c in (r.get("accuracy_ci"), r.get("positional_agreement_ci"))]
        print(f"{r['method']:52s} {r['items']:30s} {r['n']:4d} {_pct(r['accuracy']):>6s} {cis[0]:>13s} "
              f"{_pct(r['positional_agreement']):>9s} {cis[1]:>13s}")
    print("\n95% CI: percentile bootstrap over items (2,000 resamples) for jurybox's judges.")
    print("n/a: no judge passed the qualification exam at that threshold.")
    print("n = items (for statistics.json rows: number of sets averaged). Gold agreement of the 140-item subset's "
          "published evaluators is recomputed from result.json; statistics.json rows are over the full sets.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
