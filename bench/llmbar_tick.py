"""LLMBar with TICK checklists: does the checklist pass rate pick the human-preferred response?

Run: ``python bench/llmbar_tick.py [--root ../shared/data/llmbar] [--per-set 20] [--limit N]``.

For each LLMBar item (the same fixed subset as ``bench/llmbar_jury.py``: ``load_llmbar(per_set=20,
seed=0)``), the embedded model writes one checklist for the instruction (at most ``--questions``
YES/NO questions) and answers every question about both responses. The predicted winner is the
response with the higher pass rate, read two ways:

* soft: mean P(YES) over the questions (jurybox's checklist score);
* hard: share of questions whose most probable answer is YES (TICK's original rate).

accuracy = share of items whose predicted winner is the gold one, a tie counting 1/2 (chance = 0.5);
ties are also counted. TICK scores each response alone, so it has no position bias by construction.
Items are taken round-robin over the sets, so ``--limit`` keeps every set represented. Every call goes
through the engine and the store (``--store``): a rerun is free and a killed run resumes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from jurybox.backends.registry import get_backend
from jurybox.benchdata.llmbar import ADVERSARIAL, PROCESSED, load_llmbar
from jurybox.jury import run_tick
from jurybox.stats import DEFAULT_RESAMPLES, bootstrap_ci
from jurybox.store import Store

HERE = Path(__file__).resolve().parents[1]


def winner_accuracy(a: np.ndarray, b: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Per item: 1 if the higher score is gold's, 0.5 on a tie, 0 otherwise (NaN if unreadable)."""
    pred = np.where(a > b, "A", np.where(b > a, "B", "tie"))
    out = np.where(pred == "tie", 0.5, (pred == gold).astype(float))
    return np.where(np.isnan(a) | np.isnan(b), np.nan, out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(HERE.parent / "shared" / "data" / "llmbar"))
    ap.add_argument("--per-set", type=int, default=20)
    ap.add_argument("--limit", type=int, default=None, help="at most this many items (round-robin over sets)")
    ap.add_argument("--questions", type=int, default=4)
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--store", default=str(HERE / ".jurybox" / "bench-llmbar-tick.sqlite"))
    args = ap.parse_args()

    df = load_llmbar(args.root, per_set=args.per_set, seed=0)
    df["k"] = df.groupby("set").cumcount()
    df = df.sort_values(["k", "set"], kind="stable").reset_index(drop=True)
    if args.limit:
        df = df.head(args.limit)
    items = [{"instruction": r.instruction, "response": resp} for r in df.itertuples()
             for resp in (r.response_a, r.response_b)]
    backend = get_backend(args.model, n_threads=args.threads) if args.threads else get_backend(args.model)
    Path(args.store).parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with Store(args.store) as st:
        run = run_tick(items, backend, st, max_questions=args.questions, progress=sys.stderr.isatty())
    wall = time.perf_counter() - t0
    gold = df["gold"].to_numpy()
    print(f"LLMBar TICK, {args.model}, {len(df)} items ({args.questions} questions at most), "
          f"{run.stats.model_calls} model calls in {wall:.0f} s")
    print(f"{'group':12s} {'n':>4s} {'soft acc % [95% CI]':>24s} {'hard acc % [95% CI]':>24s} {'soft ties':>9s} {'hard ties':>9s}")
    groups = {"Adversarial": ADVERSARIAL, "Processed": PROCESSED, "All": tuple(df["set"].unique())}
    for name, rate in (("soft", run.pass_rate), ("hard", run.hard_pass_rate)):
        df[f"{name}_acc"] = winner_accuracy(rate[0::2], rate[1::2], gold)
        df[f"{name}_tie"] = rate[0::2] == rate[1::2]
    for g, sets in groups.items():
        part = df[df["set"].isin(sets)]
        if part.empty:
            continue
        cells = []
        for name in ("soft", "hard"):
            acc = part[f"{name}_acc"].dropna().to_numpy()
            ci = bootstrap_ci(np.mean, acc, n_resamples=DEFAULT_RESAMPLES, seed=0) if len(acc) > 1 else None
            cells.append(f"{100 * acc.mean():5.1f} [{100 * ci.low:5.1f}, {100 * ci.high:5.1f}]" if ci else "n/a")
        print(f"{g:12s} {len(part):4d} {cells[0]:>24s} {cells[1]:>24s} {int(part.soft_tie.sum()):9d} {int(part.hard_tie.sum()):9d}")
    unread = int(np.isnan(run.pass_rate).sum())
    print(f"unreadable checklists or answers: {unread} of {len(items)} responses")
    return 0


if __name__ == "__main__":
    sys.exit(main())
