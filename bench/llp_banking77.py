"""Learning from label proportions on BANKING77: belief propagation against the bag-mean and DLLP baselines.

    python bench/llp_banking77.py [--sizes 8,32,128,512] [--seeds 3] [--methods bp,bp2,bag-mean,dllp]
                                  [--work .jurybox/bench-llp] [--max-minutes 30]

Binary split of ../shared/data/banking77: the 27 intents whose name contains "card" (card_arrival,
declined_card_payment, ...) are positive, the other 50 negative: 32.8% of the 10,003 training and
35.1% of the 3,080 test texts. Embeddings: all-MiniLM-L6-v2 (int8 ONNX) as cached by
bench/distill_banking77.py (``embed`` stage) in .jurybox/bench-banking77/minilm.npz; this script
only reads them (no model process).

Per bag size and seed: the training texts are shuffled into bags of that size (the last bag holds
the remainder) and only each bag's share of positives is kept. Methods (each gives a logistic
regression on the MiniLM embeddings, scored on the untouched test split):
  bp        jurybox.llp: 10-NN cosine graph, coupling 0.2, hard bag-count factors, damping 0.5,
            at most 200 iterations; BP marginals as soft labels
  bp2       the same plus one refined round (a 64-unit network on pseudo-labels + bag loss; its hidden
            layer's 10-NN graph; BP again)
  bag-mean  every text labelled with its bag's proportion (soft labels)
  dllp      the bag's mean predicted probability fitted to its proportion (DLLP's loss)
and, once, the same logistic regression on the true labels (the ceiling).

``--multiclass``: four classes instead (card: the 27 "card" intents; transfer: the 10 other intents
naming "transfer"; top_up: the 7 other "top_up" intents; other: the remaining 33), each bag's four
shares known; ``bp-mc`` (one-vs-rest BP, softmax regression on the normalised marginals) against
``bag-mean-mc`` (the bag's shares as every item's soft label, the same softmax regression) and the
softmax regression on the true labels; test accuracy (argmax).
Numbers: test accuracy (threshold 0.5) and AUROC, for BP also the pseudo-labels' accuracy on the
training texts, iterations and convergence; mean over seeds with a 95% t interval (the seeds'
spread). Results accumulate in WORK/results.json; a rerun skips what is done.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from jurybox.atomic import atomic_write
from jurybox.llp import (
    bag_mean_baseline,
    bag_proportions,
    dllp_baseline,
    fit_soft_logreg,
    knn_graph,
    learn_from_proportions,
    random_bags,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "banking77"
CACHE = ROOT / ".jurybox" / "bench-banking77" / "minilm.npz"


def seed_interval(values: list[float]) -> dict[str, float]:
    from scipy.stats import t

    v = np.asarray(values, dtype=float)
    m = float(v.mean())
    if len(v) < 2:
        return {"mean": m, "low": m, "high": m, "n_seeds": len(v)}
    h = float(t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return {"mean": m, "low": m - h, "high": m + h, "n_seeds": len(v)}


def load() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    if not CACHE.exists():
        sys.exit(f"{CACHE} not found: run `flock /tmp/jurybox-model.lock python bench/distill_banking77.py embed` first")
    z = np.load(CACHE)
    train = pd.read_csv(DATA / "train.csv")
    test = pd.read_csv(DATA / "test.csv")
    names = json.loads((DATA / "categories.json").read_text())
    pos = sorted(n for n in names if "card" in n)
    ytr = train.category.isin(pos).to_numpy().astype(int)
    yte = test.category.isin(pos).to_numpy().astype(int)
    if z["train"].shape[0] != len(train) or z["test"].shape[0] != len(test):
        sys.exit(f"{CACHE} does not match the BANKING77 files (rows {z['train'].shape[0]}/{z['test'].shape[0]})")
    return z["train"], ytr, z["test"], yte, pos


def scores(p: np.ndarray, y: np.ndarray) -> dict[str, float]:
    return {"accuracy": float(((p > 0.5) == y).mean()), "auroc": float(roc_auc_score(y, p))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--sizes", default="8,32,128,512")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--methods", default="bp,bag-mean,dllp,bp2")
    ap.add_argument("--work", default=str(ROOT / ".jurybox" / "bench-llp"))
    ap.add_argument("--max-minutes", type=float, default=30.0)
    ap.add_argument("--coupling", type=float, default=0.2)
    ap.add_argument("--bag-potential", default="hard")
    ap.add_argument("--damping", type=float, default=0.5)
    ap.add_argument("--max-iter", type=int, default=200)
    ap.add_argument("--tag", default="", help="suffix for the method names (another coupling/potential)")
    ap.add_argument("--multiclass", action="store_true", help="four classes: card, transfer, top_up, other")
    ap.add_argument("--select", action="store_true", help="label-free method choice: held-out bags' share error")
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    rf = work / "results.json"
    results = json.loads(rf.read_text()) if rf.exists() else {}

    def save() -> None:
        with atomic_write(rf, "w") as f:
            json.dump(results, f, indent=1)

    Xtr, ytr, Xte, yte, pos = load()
    if a.multiclass:
        multiclass(a, results, save, Xtr, Xte)
        return
    if a.select:
        select(a, results, save, Xtr, ytr)
        return
    print(f"positives: {len(pos)} card intents; train {ytr.mean():.3f} of {len(ytr)}, test {yte.mean():.3f} "
          f"of {len(yte)}")
    t_start = time.perf_counter()
    if "supervised" not in results:
        t0 = time.perf_counter()
        m = fit_soft_logreg(Xtr, ytr)
        results["supervised"] = {**scores(m.predict_proba(Xte), yte), "wall_s": time.perf_counter() - t0}
        save()
    graph = None
    sizes = [int(s) for s in a.sizes.split(",")]
    methods = a.methods.split(",")
    for seed in range(a.seeds):
        for size in sizes:
            bags = random_bags(len(Xtr), size, seed=seed)
            props = bag_proportions(ytr, bags)
            for method in methods:
                key = f"{method}{a.tag}@{size}/seed{seed}"
                if key in results:
                    continue
                if (time.perf_counter() - t_start) / 60 > a.max_minutes:
                    print(f"stopping: --max-minutes {a.max_minutes} reached (rerun to continue)")
                    save()
                    report(results, sizes, methods, a.tag)
                    return
                t0 = time.perf_counter()
                row: dict[str, object] = {}
                if method in ("bp", "bp2"):
                    if graph is None:
                        tg = time.perf_counter()
                        graph = knn_graph(Xtr, 10)
                        results["graph"] = {"edges": int(len(graph[0])), "wall_s": time.perf_counter() - tg,
                                            "edge_label_agreement": float((ytr[graph[0][:, 0]] ==
                                                                           ytr[graph[0][:, 1]]).mean())}
                    res = learn_from_proportions(Xtr, bags, props, coupling=a.coupling, bag_kind=a.bag_potential,
                                                 damping=a.damping, max_iter=a.max_iter,
                                                 rounds=2 if method == "bp2" else 1, graph=graph, seed=seed)
                    p = res.predict_proba(Xte)
                    row = {**scores(p, yte), "pseudo_accuracy": float(((res.pseudo_labels > 0.5) == ytr).mean()),
                           "pseudo_auroc": float(roc_auc_score(ytr, res.pseudo_labels)),
                           "bp": [r.to_dict() for r in res.rounds]}
                elif method == "bag-mean":
                    row = scores(bag_mean_baseline(Xtr, bags, props).predict_proba(Xte), yte)
                elif method == "dllp":
                    row = scores(dllp_baseline(Xtr, bags, props).predict_proba(Xte), yte)
                else:
                    sys.exit(f"unknown method {method!r}")
                row["wall_s"] = time.perf_counter() - t0
                row["load_average_1min"] = os.getloadavg()[0]
                results[key] = row
                save()
                extra = (f" pseudo {row['pseudo_accuracy']:.3f}, BP {row['bp'][-1]['iterations']} it "
                         f"{'converged' if row['bp'][-1]['converged'] else 'NOT converged'}") if "bp" in row else ""
                print(f"{key}: acc {row['accuracy']:.3f} auroc {row['auroc']:.3f}{extra} ({row['wall_s']:.0f} s)",
                      flush=True)
    report(results, sizes, methods, a.tag)


def select(a: argparse.Namespace, results: dict, save, Xtr: np.ndarray, ytr: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    """Hold out 20% of the bags, fit each method on the rest, and compare the held-out bags'
    predicted shares with their known ones (no labels); print next to each method's test AUROC."""
    from jurybox.llp import heldout_bag_error

    fits = {"bp": lambda X, b, p: learn_from_proportions(X, b, p, coupling=a.coupling, bag_kind=a.bag_potential),
            "dllp": dllp_baseline, "bag-mean": bag_mean_baseline}
    for seed in range(a.seeds):
        for size in [int(x) for x in a.sizes.split(",")]:
            bags = random_bags(len(Xtr), size, seed=seed)
            props = bag_proportions(ytr, bags)
            for name, fit in fits.items():
                key = f"select-{name}@{size}/seed{seed}"
                if key in results:
                    continue
                t0 = time.perf_counter()
                results[key] = {**heldout_bag_error(Xtr, bags, props, fit, seed=seed), "wall_s": time.perf_counter() - t0}
                save()
                print(f"{key}: {results[key]}", flush=True)
    print("\nheld-out bags' share error (MAE, lower is better; no labels) against test AUROC (labels)")
    for seed in range(a.seeds):
        for size in [int(x) for x in a.sizes.split(",")]:
            cells = []
            for name in fits:
                r = results.get(f"select-{name}@{size}/seed{seed}")
                t = results.get(f"{name}@{size}/seed{seed}")
                if r:
                    cells.append(f"{name} MAE {r['mae']:.4f}" + (f" (AUROC {t['auroc']:.3f})" if t else ""))
            r0 = results.get(f"select-bp@{size}/seed{seed}")
            if cells:
                print(f"  bag {size:4d} seed {seed}: " + "; ".join(cells)
                      + (f"; constant {r0['mae_constant']:.4f}" if r0 else ""))


def four_classes(categories: pd.Series) -> np.ndarray:
    c = categories.astype(str)
    return np.select([c.str.contains("card"), c.str.contains("transfer"), c.str.contains("top_up")], [0, 1, 2], 3)


def multiclass(a: argparse.Namespace, results: dict, save, Xtr: np.ndarray, Xte: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    from jurybox.llp import fit_soft_softmax, learn_from_proportions_multiclass

    ytr = four_classes(pd.read_csv(DATA / "train.csv").category)
    yte = four_classes(pd.read_csv(DATA / "test.csv").category)
    print("four classes (card, transfer, top_up, other): train shares", np.round(np.bincount(ytr) / len(ytr), 3))
    if "mc-supervised" not in results:
        m = fit_soft_softmax(Xtr, np.eye(4)[ytr])
        results["mc-supervised"] = {"accuracy": float((m.predict_proba(Xte).argmax(1) == yte).mean())}
        save()
    graph = knn_graph(Xtr, 10)
    for seed in range(a.seeds):
        for size in [int(x) for x in a.sizes.split(",")]:
            bags = random_bags(len(Xtr), size, seed=seed)
            P = np.stack([bag_proportions((ytr == c).astype(int), bags) for c in range(4)], axis=1)
            for method in ("bp-mc", "bag-mean-mc"):
                key = f"{method}@{size}/seed{seed}"
                if key in results:
                    continue
                t0 = time.perf_counter()
                if method == "bp-mc":
                    res = learn_from_proportions_multiclass(Xtr, bags, P, coupling=a.coupling, graph=graph)
                    row = {"accuracy": float((res.predict_proba(Xte).argmax(1) == yte).mean()),
                           "pseudo_accuracy": float((res.pseudo_labels.argmax(1) == ytr).mean()),
                           "converged": sum(r.converged for r in res.rounds), "classes": 4}
                else:
                    m = fit_soft_softmax(Xtr, P[bags])
                    row = {"accuracy": float((m.predict_proba(Xte).argmax(1) == yte).mean())}
                row["wall_s"] = time.perf_counter() - t0
                results[key] = row
                save()
                print(f"{key}: {row}", flush=True)
    print(f"\nfour classes; softmax regression on the true labels: test accuracy {results['mc-supervised']['accuracy']:.3f}")
    for size in [int(x) for x in a.sizes.split(",")]:
        for method in ("bp-mc", "bag-mean-mc"):
            rows = [v for k, v in results.items() if k.startswith(f"{method}@{size}/seed")]
            if rows:
                acc = seed_interval([r["accuracy"] for r in rows])
                extra = ""
                if "pseudo_accuracy" in rows[0]:
                    pa = seed_interval([r["pseudo_accuracy"] for r in rows])
                    extra = (f"  pseudo-label acc {pa['mean']:.3f} [{pa['low']:.3f}, {pa['high']:.3f}]"
                             f"  BP converged {sum(r['converged'] for r in rows)}/{4 * len(rows)}")
                print(f"  bag {size:4d} {method:12s} acc {acc['mean']:.3f} [{acc['low']:.3f}, {acc['high']:.3f}]"
                      f"  n={len(rows)}{extra}")


def report(results: dict, sizes: list[int], methods: list[str], tag: str) -> None:
    s = results.get("supervised")
    if s:
        print(f"\nceiling (true labels): test accuracy {s['accuracy']:.3f}, AUROC {s['auroc']:.3f}")
    if "graph" in results:
        g = results["graph"]
        print(f"10-NN graph: {g['edges']} edges, {g['edge_label_agreement']:.3f} of them join same-label texts")
    print("test accuracy / AUROC, mean over seeds [95% t interval]")
    for size in sizes:
        for m in methods:
            rows = [v for k, v in results.items() if k.startswith(f"{m}{tag}@{size}/seed")]
            if not rows:
                continue
            acc = seed_interval([r["accuracy"] for r in rows])
            auc = seed_interval([r["auroc"] for r in rows])
            line = (f"  bag {size:4d} {m + tag:10s} acc {acc['mean']:.3f} [{acc['low']:.3f}, {acc['high']:.3f}]  "
                    f"AUROC {auc['mean']:.3f} [{auc['low']:.3f}, {auc['high']:.3f}]  n={len(rows)}")
            if "pseudo_accuracy" in rows[0]:
                pa = seed_interval([r["pseudo_accuracy"] for r in rows])
                conv = sum(r["bp"][-1]["converged"] for r in rows)
                its = np.mean([r["bp"][-1]["iterations"] for r in rows])
                line += (f"  pseudo-label acc {pa['mean']:.3f} [{pa['low']:.3f}, {pa['high']:.3f}]  "
                         f"converged {conv}/{len(rows)} (mean {its:.0f} it)")
            line += f"  {np.mean([r['wall_s'] for r in rows]):.0f} s"
            print(line)


if __name__ == "__main__":
    main()
