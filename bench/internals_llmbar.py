"""Implicit-reward preferences (Selfie / SPA) on LLMBar against gold, next to the pairwise judge.

The items are ``load_llmbar(root, per_set=20, seed=0)`` (140 items, all 7 sets), the subset the
pairwise judge was measured on (docs/jury.md, docs/audit.md). Each model scores both responses
of every item as continuations (one ``ContinuationRequest`` per item and model, through the engine
and the store ``.jurybox/bench-internals.sqlite``; resumable, ``--max-minutes`` stops between
chunks, ``--report-only`` makes no call). Models (embedded llama.cpp by default, the same GGUF
weights; ``--backend transformers`` for the internals backend):

* ``qwen-chat``: qwen2.5-coder-1.5b with its chat template (the policy);
* ``qwen-plain``: the same weights without the template (reference 1);
* ``gemma-plain``: gemma-3-270m base, plain (reference 2).

Printed: accuracy against gold with Wilson intervals (overall, Adversarial, Processed) for the
policy alone, the policy per token, and the policy against each reference, P(A) calibration, and
the DPO pairs written with their confidence (``--pairs``).

    flock /tmp/jurybox-model.lock python bench/internals_llmbar.py --max-minutes 12
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from jurybox.benchdata.llmbar import ADVERSARIAL, load_llmbar
from jurybox.errors import JuryboxError
from jurybox.internals.spa import PairLogprobs, pair_logprobs, spa_pairs, spa_preferences
from jurybox.stats import wilson_interval
from jurybox.store import Store

ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "llmbar"
MODELS = {"qwen-chat": ("qwen2.5-coder-1.5b", True), "qwen-plain": ("qwen2.5-coder-1.5b", False),
          "gemma-plain": ("gemma-3-270m", False)}


def backend_for(name: str, kind: str):  # noqa: ANN201
    model, chat = MODELS[name]
    if kind == "transformers":
        from jurybox.internals.backend import TransformersBackend

        return TransformersBackend(model, chat=chat)
    from jurybox.backends.embedded import EmbeddedBackend

    return EmbeddedBackend(model, chat=chat, n_batch=2048)


def acc(hit: np.ndarray) -> str:
    iv = wilson_interval(int(hit.sum()), int(hit.size))
    return f"{100 * iv.estimate:.1f} [{100 * iv.low:.1f}, {100 * iv.high:.1f}] (n={hit.size})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--backend", default="embedded", choices=["embedded", "transformers"])
    ap.add_argument("--per-set", type=int, default=20)
    ap.add_argument("--store", default=".jurybox/bench-internals.sqlite")
    ap.add_argument("--max-minutes", type=float, default=12.0)
    ap.add_argument("--chunk", type=int, default=10)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--pairs", help="write the DPO pairs of the best reference pair here (JSONL)")
    ap.add_argument("--report-only", action="store_true")
    a = ap.parse_args()
    if a.report_only:
        a.chunk = 1  # report exactly the items already stored
    df = load_llmbar(ROOT, per_set=a.per_set, seed=0)
    # round-robin over the 7 sets, so that a run stopped by the time limit covers all of them
    df = (df.assign(rank=df.groupby("set").cumcount()).sort_values(["rank", "set"], kind="stable")
          .drop(columns="rank").reset_index(drop=True))
    items = df.to_dict("records")
    gold = df["gold"].to_numpy()
    adv = df["set"].isin(ADVERSARIAL).to_numpy()
    t0 = time.perf_counter()
    scored: dict[str, PairLogprobs] = {}
    backends = {}
    for name in a.models:
        if a.report_only:
            from jurybox.backends.store_only import StoreOnlyBackend

            backends[name] = StoreOnlyBackend.embedded(MODELS[name][0], chat=MODELS[name][1],
                                                       hint="run without --report-only")
        else:
            backends[name] = backend_for(name, a.backend)
    parts: dict[str, list[PairLogprobs]] = {name: [] for name in a.models}
    n_done = 0
    with Store(a.store) as st:
        # chunk by chunk, every model on the same items: a run stopped by the time limit has all of them
        for i in range(0, len(items), a.chunk):
            if not a.report_only and time.perf_counter() - t0 > a.max_minutes * 60:
                print(f"time limit after {i} items; rerun to continue", file=sys.stderr)
                break
            s = time.perf_counter()
            calls = 0
            try:
                got = [pair_logprobs(items[i:i + a.chunk], backends[name], st) for name in a.models]
            except JuryboxError:
                if not a.report_only:
                    raise
                break  # --report-only: the rest is not in the store yet
            for name, (lp, stats) in zip(a.models, got, strict=True):
                parts[name].append(lp)
                calls += stats.model_calls
            n_done = i + len(parts[a.models[0]][-1].a)
            if calls:
                print(f"{n_done}/{len(items)} items, {calls} calls, {(time.perf_counter() - s) / calls:.2f} s/call",
                      file=sys.stderr)
    for b in backends.values():
        b.close()
    for name in a.models:
        if parts[name]:
            scored[name] = PairLogprobs(*(np.concatenate([getattr(p, f) for p in parts[name]])
                                          for f in ("a", "b", "tokens_a", "tokens_b")))
    items, gold, adv = items[:n_done], gold[:n_done], adv[:n_done]
    if "qwen-chat" not in scored:
        print("the policy (qwen-chat) is not complete yet; rerun", file=sys.stderr)
        return
    pol = scored["qwen-chat"]
    rows = {"policy alone (log p(A) vs log p(B))": spa_preferences(pol, None, beta=a.beta)}
    per_tok = PairLogprobs(pol.a / pol.tokens_a, pol.b / pol.tokens_b, pol.tokens_a, pol.tokens_b)
    rows["policy alone, per token"] = spa_preferences(per_tok, None, beta=a.beta)
    for ref in ("qwen-plain", "gemma-plain"):
        if ref in scored:
            rows[f"implicit reward: qwen-chat / {ref}"] = spa_preferences(pol, scored[ref], beta=a.beta)
    print(f"LLMBar, {len(items)} items (per_set={a.per_set}, seed 0); beta={a.beta}; gold A share "
          f"{(gold == 'A').mean():.3f}")
    print("| label source | all | Adversarial | Processed | P(A) chosen share | mean confidence |")
    print("|---|---|---|---|---|---|")
    report = {}
    for name, p in rows.items():
        win = np.array([w if w is not None else "-" for w in p.winner])
        hit = win == gold
        print(f"| {name} | {acc(hit)} | {acc(hit[adv])} | {acc(hit[~adv])} | {(win == 'A').mean():.3f} | "
              f"{p.confidence.mean():.3f} |")
        report[name] = {"accuracy": float(hit.mean()), "n": int(hit.size)}
    lens = np.array([len(str(it["response_a"])) > len(str(it["response_b"])) for it in items])
    for name, p in rows.items():
        win = np.array([w == "A" for w in p.winner])
        print(f"{name}: picks the longer response {np.mean(win == lens):.3f}")
    print(f"gold picks the longer response {np.mean((gold == 'A') == lens):.3f}")
    if a.pairs:
        best = max((n for n in rows if n.startswith("implicit")), key=lambda n: report[n]["accuracy"], default=None)
        if best:
            pairs = spa_pairs(items, rows[best], a.pairs)
            print(f"wrote {len(pairs.pairs)} DPO pairs ({best}) to {a.pairs}; skipped {pairs.n_skipped}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
