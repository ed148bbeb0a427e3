"""LLMBar: single judge vs jury vs debate (Fellowship of the LLMs' three evaluators), on a small subset.

Run: ``flock /tmp/jurybox-model.lock python bench/debate_llmbar.py [--first 2] [--rounds 2]``.

Items: the first ``--first`` items (of at most ``--max-chars`` characters) of each of the 7 LLMBar sets
in the seeded 20-per-set sample
that bench/llmbar_jury.py uses (``load_llmbar(per_set=20, seed=0)``), so the single judge's and
the jury's tasks are the ones that benchmark stored. On qwen2.5-coder-1.5b:

(a) single judge: pairwise, template ``default``, both orders (2 calls per item);
(b) jury: the pairwise templates default, concise, rules; per order the majority of the three
    (6 calls per item);
(c) debate: two advocates (the same model) argue for A and for B over ``--rounds`` rounds, each
    seeing the debate so far, then the pairwise judge reads the transcript, both orders
    (2R + 2 calls per item).

accuracy = mean over both orders of [winner == gold]; positional agreement = share of items whose
two single-order verdicts agree (LLMBar's correct_average and equal); 95% percentile bootstrap
intervals over items. Model calls per item are the tasks each method needs; "this run" counts
the calls made now (0 for what was in the store).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from jurybox.backends.registry import get_backend
from jurybox.benchdata.llmbar import load_llmbar
from jurybox.engine import Judge
from jurybox.jury import majority_vote, order_metrics, run_jury, variant_label_matrix
from jurybox.jury.debate import run_debate
from jurybox.protocols import Pairwise
from jurybox.stats import bootstrap_ci, positional_agreement
from jurybox.stats._validate import is_missing
from jurybox.store import Store

HERE = Path(__file__).resolve().parents[1]
TEMPLATES = ("default", "concise", "rules")


def _row(name: str, ab: np.ndarray, ba: np.ndarray, gold: np.ndarray, per_item: int, this_run: int) -> None:
    m = order_metrics(ab, ba, gold)
    right = np.array([((not is_missing(a) and a == g) + (not is_missing(b) and b == g)) / 2
                      for a, b, g in zip(ab, ba, gold, strict=True)], dtype=float)
    acc = bootstrap_ci(np.mean, right, n_resamples=2000, seed=0)
    pos = bootstrap_ci(positional_agreement, ab, ba, unparsed="disagree", n_resamples=2000, seed=0)
    print(f"{name:34s} {m.n:4d} {100 * m.accuracy:6.1f} [{100 * acc.low:5.1f}, {100 * acc.high:5.1f}] "
          f"{100 * m.positional_agreement:7.1f} [{100 * pos.low:5.1f}, {100 * pos.high:5.1f}] "
          f"{per_item:9d} {this_run:9d}  unparsed {m.n_missing}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(HERE.parent / "shared" / "data" / "llmbar"))
    ap.add_argument("--first", type=int, default=2, help="items per LLMBar set (7 sets)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=96, help="tokens per advocate turn")
    ap.add_argument("--max-chars", type=int, default=6000,
                    help="skip items whose instruction and responses exceed this many characters (the debate "
                         "transcript must fit the 4,096-token context next to them)")
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--store", default=str(HERE / ".jurybox" / "llmbar.sqlite"),
                    help="the store bench/llmbar_jury.py writes (its single-judge and jury verdicts are reused)")
    args = ap.parse_args()
    df = load_llmbar(Path(args.root), per_set=20, seed=0)
    size = df["instruction"].str.len() + df["response_a"].str.len() + df["response_b"].str.len()
    df = df[size <= args.max_chars].groupby("set", sort=False).head(args.first).reset_index(drop=True)
    items = df[["instruction", "response_a", "response_b"]].to_dict("records")
    gold = np.asarray(df["gold"].tolist(), dtype=object)
    print(f"LLMBar subset: the first {args.first} of each set's 20-item seeded sample with at most {args.max_chars} "
          f"characters of instruction and responses = {len(df)} items over "
          f"{df['set'].nunique()} sets; model {args.model}; debate {args.rounds} round(s), {args.max_tokens} tokens "
          "per turn")
    local = not args.model.startswith(("scripted", "openai:"))
    backend = get_backend(args.model, **({"n_threads": args.threads} if local else {}))
    from jurybox.protocols.debate import DebateTurn

    t0 = time.perf_counter()
    with Store(args.store) as st:
        judges = [Judge(Pairwise(template=t), backend, name=f"{args.model}:{t}") for t in TEMPLATES]
        jury = run_jury(judges, items, st)
        t_jury = time.perf_counter() - t0
        debate = run_debate(items, backend, st, rounds=args.rounds, advocate=DebateTurn(max_tokens=args.max_tokens),
                            name=f"{args.model}:debate")
    t_debate = time.perf_counter() - t0 - t_jury
    ab = variant_label_matrix(jury.variants, "AB")
    ba = variant_label_matrix(jury.variants, "BA")
    d_ab = np.array([v["AB"].label for v in debate.variants], dtype=object)
    d_ba = np.array([v["BA"].label for v in debate.variants], dtype=object)
    print(f"\n{'method':34s} {'n':>4s} {'acc %':>6s} {'[95% CI]':>14s} {'pos.agr %':>7s} {'[95% CI]':>14s} "
          f"{'calls/item':>9s} {'this run':>9s}")
    _row("(a) single judge (default)", ab[0], ba[0], gold, 2, -1)
    _row("(b) jury of 3 templates (majority)", np.array(majority_vote(ab).label, dtype=object),
         np.array(majority_vote(ba).label, dtype=object), gold, 6, jury.stats.model_calls)
    _row(f"(c) debate, {args.rounds} round(s)", d_ab, d_ba, gold, debate.calls_per_item, debate.stats.model_calls)
    print("\nthis run: model calls made now (the jury row counts the single judge's too; -1: included there)")
    print(f"jury {t_jury:.0f} s, debate {t_debate:.0f} s; advocate turns generated "
          f"{sum(s.completion_tokens for s in debate.stages[:-1])} tokens")
    bad = sum(s != "ok" for ss in debate.turn_status for s in ss)
    print(f"advocate turns not read (empty or failed): {bad} of {sum(len(s) for s in debate.turn_status)}")
    ex = debate.transcripts[0]
    print("\nexample transcript (item 1, gold " + str(gold[0]) + "):")
    for t in ex:
        print(f"  [{t['for']} r{t['round']}] {t['text'][:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
