"""MMLU (5 subjects, 1,082 questions) with the multiple-choice runner: letter and likelihood scoring,
0-shot and 5-shot, accuracy per subject and overall with 95% Wilson intervals.

Run: ``flock /tmp/jurybox-model.lock python bench/mmlu.py [--configs letter:0 letter:5 likelihood:0
likelihood:5] [--budget-min 19] [--store .jurybox/bench-mmlu.sqlite]``.

Resumable: every question is an engine task in the store. Within a run the questions are asked in
growing per-subject prefixes (the first 40, 80, ... of each subject) and the run stops starting new
ones once ``--budget-min`` minutes have passed, so a long benchmark runs in several holds of the
shared model lock; the next run makes no model calls for what is done. The final report of each
configuration says how many of the 1,082 questions it covers, and how many model calls this run
made for it (0 when everything came from the store).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from jurybox.backends.registry import get_backend
from jurybox.backends.store_only import StoreOnlyBackend
from jurybox.mcqa import route_by_confidence, run_mcqa

HERE = Path(__file__).resolve().parents[1]
SUBJECTS = ("clinical_knowledge", "college_medicine", "computer_security", "high_school_biology", "marketing")
STEP = 40


def _iv(iv: object) -> str:
    return f"{iv.estimate:.3f} [{iv.low:.3f}, {iv.high:.3f}]"  # type: ignore[attr-defined]


def _print(config: str, report: object, calls: int) -> None:
    r: Any = report
    print(f"\n== {config}: {r.n_questions} of 1082 questions, {calls} model calls in this run, "
          f"{r.n_cached} tasks from the store")
    for metric, table in r.accuracy.items():
        print(f"{metric:<15} overall {_iv(table.overall)}  ({table.correct}/{table.n})  "
              f"normalisation: {r.normalisation[metric]}")
        for subject, iv in table.groups.items():
            print(f"    {subject:<22} {_iv(iv)}  (n={table.group_n[subject]})")
    b = r.letter_bias
    if b is not None:
        print("letters (original order): chosen share / right-answer share / accuracy when right there: "
              + "; ".join(f"{k} {b.predicted_share[k]:.3f} / {b.gold_share[k]:.3f} / {_iv(b.recall[k])}"
                          for k in b.letters))
    conf = r.table["confidence"].tolist()
    correct = [bool(c) for c in r.table["correct"]]
    for th in (0.5, 0.7, 0.9):
        _, rt = route_by_confidence(conf, th, correct)
        print(f"review below {th}: {rt.n_routed} of {rt.n} routed ({1 - rt.coverage:.1%}); accuracy kept "
              f"{_iv(rt.auto_accuracy)}, routed {_iv(rt.routed_accuracy)}; {rt.errors_routed:.1%} of errors routed")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(HERE.parent / "shared" / "data" / "mmlu"))
    ap.add_argument("--configs", nargs="+", default=["letter:0", "letter:5", "likelihood:0", "likelihood:5"])
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--store", default=str(HERE / ".jurybox" / "bench-mmlu.sqlite"))
    ap.add_argument("--budget-min", type=float, default=19.0, help="stop starting new questions after this")
    ap.add_argument("--limit", type=int, default=None, help="at most N questions per subject (a timed trial)")
    ap.add_argument("--json", default=None, help="also write the reports here")
    ap.add_argument("--report-only", nargs="*", default=None, metavar="SUBJECT",
                    help="no model: report from the store on these subjects (default all) with --limit")
    args = ap.parse_args()
    root = Path(args.root)
    tests = [root / f"{s}_test.csv" for s in SUBJECTS]
    devs = [root / f"{s}_dev.csv" for s in SUBJECTS]
    if args.report_only is not None:
        keep = [i for i, s in enumerate(SUBJECTS) if not args.report_only or s in args.report_only]
        tests, devs = [tests[i] for i in keep], [devs[i] for i in keep]
        stored_only = StoreOnlyBackend.embedded(args.model, 4096, hint="run without --report-only")
        for config in args.configs:
            scoring, shots = config.split(":")
            report = run_mcqa(tests, dev=devs, shots=int(shots), scoring=scoring, model=stored_only,
                              store=args.store, limit=args.limit)
            _print(config, report, 0)
        return 0
    backend = get_backend(args.model)
    t0 = time.perf_counter()
    deadline = t0 + 60 * args.budget_min
    reports = {}
    max_n = 310 if args.limit is None else args.limit
    for config in args.configs:
        scoring, shots = config.split(":")
        calls = 0
        complete = True
        for test, dev in zip(tests, devs, strict=True):  # subject by subject: its few-shot prefix stays cached
            limit = 0
            while limit < max_n:
                if time.perf_counter() > deadline:
                    complete = False
                    break
                limit += STEP
                t = time.perf_counter()
                part = run_mcqa([test], dev=[dev], shots=int(shots), scoring=scoring, model=backend,
                                store=args.store, limit=min(limit, max_n))
                calls += part.model_calls
                if part.model_calls:
                    dt = time.perf_counter() - t
                    print(f"  {config} {test.stem} first {limit}: {part.model_calls} calls in {dt:.0f} s "
                          f"({dt / part.model_calls:.2f} s/question)", file=sys.stderr, flush=True)
                if part.n_questions < min(limit, max_n):
                    break  # the subject is done
        # the report over every question this configuration has in the store (no model calls)
        report = run_mcqa(tests, dev=devs, shots=int(shots), scoring=scoring, model=backend, store=args.store,
                          limit=max_n) if complete else None
        if report is None:
            print(f"\n== {config}: stopped at the time budget after {calls} model calls; rerun to continue")
            continue
        reports[config] = report
        _print(config, report, calls)
    print(f"\nwall {time.perf_counter() - t0:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({k: r.to_dict() for k, r in reports.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
