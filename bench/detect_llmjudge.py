"""Who made this judgment? J-Detector on LLMJudge: the NIST human qrels against 33 LLM label sets.

    python bench/detect_llmjudge.py [CONFIG ...] [--work .jurybox/bench-detect] [--resamples 1000]

Data: ../shared/data/llmjudge (TREC DL 2023, 4,423 query-passage pairs over 25 queries, grades
0-3; every LLM submission covers every pair; grades clipped to 0-3 as the organisers do). No
passage texts, so the features are the scores' distribution in a group and, in the ``+consensus``
configurations, the reference-LLM property: the mean grade the *other* LLM families gave the same
passage (never the family under test, never the judge's own family).

A group is g passages of one query judged by one judge. Held out twice: 5 folds over the queries
(test queries never seen in training) x the 7 LLM teams (NISTRetrieval, Olz, RMITIR, TREMA,
h2oloo, prophet, willia; the test team's submissions never seen in training): 35 fits per group
size. AUROC of human groups against the test team's groups, averaged over teams; 95% interval by
a cluster bootstrap over the 25 queries. ``by-submission`` holds out single submissions instead of
teams (siblings of the test submission stay in training: the optimistic protocol, for contrast).

Configurations (default: all): scores, scores+consensus, hgb+consensus, hgb, mlp+consensus (the
card's small neural classifier: 32 hidden units), by-submission, importance.
Results accumulate in WORK/results.json (a rerun skips what is there; --redo forces).
No model calls.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from jurybox.atomic import atomic_write
from jurybox.detect import Judgments, evaluate_detector, feature_importance, judgments_from_qrels

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "llmjudge"
SIZES = (1, 2, 4, 8, 16, 32, 64)


def load() -> Judgments:
    if not DATA.is_dir():
        sys.exit(f"LLMJudge data not found at {DATA}")
    subs = sorted((DATA / "llm_submissions").glob("*.txt"))
    return judgments_from_qrels([DATA / "human_qrels_test.txt"], subs, clip=(0, 3))


def by_submission(j: Judgments) -> Judgments:
    return Judgments(j.judge, j.is_llm, j.key, j.item, j.score, j.properties, j.prop_names, j.judge)


CONFIGS = {
    "scores": dict(sizes=SIZES, model="logreg", consensus=False),
    "scores+consensus": dict(sizes=SIZES, model="logreg", consensus=True),
    "hgb+consensus": dict(sizes=(4, 16, 64), model="hgb", consensus=True),
    "hgb": dict(sizes=(4, 16, 64), model="hgb", consensus=False),
    "mlp+consensus": dict(sizes=(16, 64), model="mlp", consensus=True),
    "by-submission": dict(sizes=(16, 64), model="logreg", consensus=True, submission=True),
}


def fmt(r: dict) -> str:
    a = r["auroc"]
    return f"{a['estimate']:.3f} [{a['low']:.3f}, {a['high']:.3f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("configs", nargs="*", default=[*CONFIGS, "importance"])
    ap.add_argument("--work", default=str(ROOT / ".jurybox" / "bench-detect"))
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--importance-size", type=int, default=16)
    ap.add_argument("--redo", action="store_true")
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    rf = work / "results.json"
    results = json.loads(rf.read_text()) if rf.exists() else {}

    def save() -> None:
        with atomic_write(rf, "w") as f:
            json.dump(results, f, indent=1)

    j = load()
    print(f"{len(j)} judgments: {len(set(j.judge))} judges over {len(set(j.key))} queries; "
          f"LLM teams: {', '.join(sorted(set(j.families[j.is_llm == 1])))}")
    for name in a.configs:
        if name == "importance":
            key = f"importance@{a.importance_size}"
            if key not in results or a.redo:
                t0 = time.perf_counter()
                imp = feature_importance(j, a.importance_size, consensus=True, n_repeats=5)
                results[key] = {"rows": [i.to_dict() for i in imp], "wall_s": time.perf_counter() - t0,
                                "load_average_1min": os.getloadavg()[0]}
                save()
            continue
        cfg = CONFIGS[name]
        for g in cfg["sizes"]:
            key = f"{name}@{g}"
            if key in results and not a.redo:
                continue
            t0 = time.perf_counter()
            jj = by_submission(j) if cfg.get("submission") else j
            r = evaluate_detector(jj, (g,), model=cfg["model"], consensus=cfg["consensus"],
                                  n_resamples=a.resamples)[0]
            results[key] = {**r.to_dict(), "wall_s": time.perf_counter() - t0, "load_average_1min": os.getloadavg()[0]}
            save()
            print(f"{key}: {fmt(results[key])} ({time.perf_counter() - t0:.0f} s)", flush=True)
    # report
    print("\nheld-out AUROC (human vs an unseen LLM team, unseen queries), mean over the 7 teams, 95% CI over queries")
    names = [n for n in CONFIGS if any(k.startswith(n + "@") for k in results)]
    print(f"{'g':>4}  " + "  ".join(f"{n:>24s}" for n in names) + "   human/LLM test groups")
    for g in SIZES:
        cells = [fmt(results[f"{n}@{g}"]) if f"{n}@{g}" in results else "" for n in names]
        any_r = next((results[f"{n}@{g}"] for n in names if f"{n}@{g}" in results), None)
        if any_r is None:
            continue
        print(f"{g:4d}  " + "  ".join(f"{c:>24s}" for c in cells)
              + f"   {any_r['n_groups_human']}/{any_r['n_groups_llm']}")
    for n in names:
        for g in SIZES:
            r = results.get(f"{n}@{g}")
            if r and g in (16, 64):
                print(f"  {n}@{g} per team: " + ", ".join(f"{k} {v:.2f}" for k, v in r["per_family"].items()))
    key = f"importance@{a.importance_size}"
    if key in results:
        print(f"\nwhat carries it (scores+consensus, g={a.importance_size}; AUROC lost when shuffled or left out)")
        for row in results[key]["rows"][:14]:
            print(f"  {row['kind']:11s} {row['name']:30s} {row['drop']:+.3f}  (AUROC {row['auroc']:.3f})")


if __name__ == "__main__":
    main()
