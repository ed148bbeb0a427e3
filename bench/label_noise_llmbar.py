"""Label noise injected into LLMBar gold preferences, found by the embedded pairwise judge.

    python bench/label_noise_llmbar.py --data ../shared/data/llmbar [--sets GPTOut,Neighbor] [--per-set 30]
        [--model qwen2.5-coder-1.5b] [--template default ...] [--rate 0.1] [--seed 0] [--store PATH]

What it runs: a fixed-seed subset of LLMBar items (gold 1/2 -> label "A"/"B"), labels flipped at
``--rate`` (exactly round(rate x N) rows, fixed ``--seed``), then the label-error ensemble: every
item judged by the pairwise protocol (both presentation orders, log-odds margins combined) for each
model x template, through the engine and the store. The ensemble probability of each label is the
signal; rows are ranked by the ensemble's probability of the (noisy) given label, lowest first.
Prints the judge's accuracy against the clean gold, how many rows the ensemble flags, and precision
and recall at k = the number of injected flips. A rerun with the same store makes no model calls.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

LABELS = ["A", "B"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data" / "llmbar")
    )
    ap.add_argument("--sets", default="GPTOut,Neighbor")
    ap.add_argument("--per-set", type=int, default=30)
    ap.add_argument("--model", action="append", default=None)
    ap.add_argument("--template", action="append", default=None)
    ap.add_argument("--rate", type=float, default=0.10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--store", default=".jurybox/bench-label-noise.sqlite")
    a = ap.parse_args()

    from jurybox.backends.registry import get_backend
    from jurybox.benchdata import load_llmbar
    from jurybox.engine import Judge
    from jurybox.labelerrors import inject_noise, label_quality_scores, noise_recovery, run_ensemble
    from jurybox.protocols.registry import make_protocol
    from jurybox.store import Store

    models = a.model or ["qwen2.5-coder-1.5b"]
    templates = a.template or ["default"]
    df = load_llmbar(a.data, [s.strip() for s in a.sets.split(",")], per_set=a.per_set, seed=a.seed)
    clean = np.array([LABELS.index(g) for g in df["gold"]])
    noisy, flipped = inject_noise(clean, 2, a.rate, seed=a.seed)
    judges = [
        Judge(make_protocol("pairwise", template=t), get_backend(m), f"{t}@{m}")
        for m in models
        for t in templates
    ]
    items = df[["instruction", "response_a", "response_b"]].to_dict(orient="records")
    t0 = time.perf_counter()
    with Store(a.store) as st:
        ens, stats = run_ensemble(judges, items, noisy, LABELS, st, progress=True)
    wall = time.perf_counter() - t0
    ranked = np.argsort(
        label_quality_scores(noisy, np.nan_to_num(ens.probs, nan=0.5), rank_by="self_confidence"),
        kind="stable",
    )
    rec = noise_recovery(ranked, flipped)
    answered = ens.n_judges > 0
    acc = float((ens.predicted[answered] == clean[answered]).mean())
    flagged_hits = len(set(ens.ranking.tolist()) & set(flipped.tolist()))
    print(
        f"items: {len(df)} ({a.sets}, {a.per_set} per set, seed {a.seed}); judges: {', '.join(j.name for j in judges)} "
        f"(pairwise, both orders)"
    )
    print(
        f"model calls {stats.model_calls}, from the store {stats.n_cached}, prompt tokens {stats.prompt_tokens}, "
        f"wall {wall:.0f} s; rows with no readable answer: {int((~answered).sum())}"
    )
    print(
        f"judge accuracy vs clean gold: {acc:.3f}; injected flips: {len(flipped)} (rate {a.rate}, seed {a.seed})"
    )
    print(
        f"ensemble flags {ens.flagged.sum()} rows (label != ensemble label), {flagged_hits} of them injected"
    )
    print(
        f"precision@{rec.k} = {rec.precision:.3f}, recall@{rec.k} = {rec.recall:.3f} ({rec.hits} of {rec.n_injected}); "
        f"chance = {len(flipped) / len(df):.3f}"
    )


if __name__ == "__main__":
    main()
