"""Bias audit of the embedded judge on LLMBar (Zeng et al., ICLR 2024), printed as a table and JSON.

    python bench/llmbar_audit.py [--per-set 20] [--probes position,length,wording,consistency]
                                 [--repeat-items 20] [--json out.json]

Judge: qwen2.5-coder-1.5b, pairwise template ``default``, both orders, log-odds-margin combination.
Items: ``load_llmbar(root, per_set=20, seed=0)`` (20 random items from each of the 7 Adversarial
and Processed sets; 140 items) unless ``--per-set`` says otherwise. Verdicts go to the shared store
``.jurybox/llmbar.sqlite`` (the jury run over the same items shares the ``default`` verdicts), so a
rerun prints the same numbers without model calls. Items whose prompt does not fit the model's
context are left out and counted. Also prints the published evaluators' position statistics
recomputed by the audit from LLMBar's result.json files, next to the published ``equal``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from jurybox.audit import positional_agreement, run_audit
from jurybox.audit.injection import attack_items, injection_audit, load_attacks
from jurybox.backends.base import Backend
from jurybox.backends.registry import get_backend
from jurybox.benchdata.llmbar import LLMBAR_SETS, load_llmbar, load_llmbar_evaluator
from jurybox.engine import Judge, build_tasks
from jurybox.protocols.pairwise import Pairwise
from jurybox.protocols.registry import make_protocol
from jurybox.stats import DEFAULT_RESAMPLES
from jurybox.store import Store

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "llmbar"
STORE = ROOT / ".jurybox" / "llmbar.sqlite"
TEMPLATES = ("default", "concise", "rules")


def published_position(console: Console) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for ev in ("GPT-4", "ChatGPT"):
        for s, rel in LLMBAR_SETS.items():
            df = load_llmbar_evaluator(DATA, s, ev)
            ours = positional_agreement(df.winner_unswapped, df.winner_swapped, unparsed="category")
            stats = json.loads((DATA / rel / "evaluators" / ev / "Vanilla_NoRules" / "statistics.json").read_text())
            pub = float(stats["equal"].split("=")[-1].strip().rstrip("%")) / 100
            out[f"{ev}/{s}"] = {"audit": ours, "published_equal": pub}
    console.print("published evaluators, positional agreement (audit from result.json vs statistics.json equal): "
                  + ", ".join(f"{k} {v['audit']:.3f}/{v['published_equal']:.3f}" for k, v in out.items()))
    return out


def stored(judge: Judge, items: list[dict], store: Store) -> list[bool]:
    """Per item: are all its tasks already in the store (so auditing it makes no model call)?"""
    _, per_item = build_tasks(judge, items)
    have = store.get_many([t.key for ts in per_item for t in ts])
    return [all(t.key in have for t in ts) for ts in per_item]


def injection(backend: Backend, console: Console, n_items: int, available: bool) -> dict[str, object]:
    """Score-protocol injection on the gold-rejected responses of the shortest Adversarial items.

    Base items are judged one at a time (plain and fenced, clean and attacked), so that a run cut
    short leaves complete, balanced items; ``available`` reports on the completed ones only.
    """
    full = load_llmbar(DATA, ["Neighbor", "GPTOut", "Manual"])
    full["rejected"] = [b if g == "A" else a for a, b, g in zip(full.response_a, full.response_b, full.gold, strict=True)]
    full["chars"] = full.instruction.str.len() + full.rejected.str.len()
    picked = full.nsmallest(n_items, "chars", keep="first")
    items = [{"instruction": r.instruction, "response": r.rejected} for r in picked.itertuples()]
    names = [f"{r.set}#{r.index}" for r in picked.itertuples()]
    attacks = load_attacks()
    with Store(STORE) as store:
        if available:
            plain, fenced = Judge(make_protocol("score"), backend), Judge(make_protocol("fenced-score"), backend)
            keep = []
            for it in items:
                batch = [it, *attack_items([it], attacks, "score")[0]]
                keep.append(all(stored(plain, batch, store)) and all(stored(fenced, batch, store)))
            items = [it for it, k in zip(items, keep, strict=True) if k]
            names = [n for n, k in zip(names, keep, strict=True) if k]
        else:
            for it in items:
                injection_audit([it], backend, store, protocol="score", attacks=attacks, n_resamples=10)
        res = injection_audit(items, backend, store, protocol="score", attacks=attacks)
    console.print(f"injection: score protocol (1-5; template default vs fenced-score + detector), gold-rejected "
                  f"responses of {len(items)} of the shortest Neighbor/GPTOut/Manual items x {len(attacks)} attacks "
                  f"= {res.n_attacked} attacked items; target = score 5")
    for r in res.rows():
        console.print("  " + escape(" ".join(r.text()[1:5])))
    return {"items": names, "result": res.to_dict()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-set", type=int, default=20)
    ap.add_argument("--probes", default="position,length")
    ap.add_argument("--repeat-items", type=int, default=20, help="items (first of each set) for the repeats probe")
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--threads", type=int, default=1, help="llama.cpp threads (1 on a shared machine)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--available", action="store_true",
                    help="report only on items whose verdicts are all in the store (no model calls)")
    ap.add_argument("--injection", type=int, default=0, help="run only the injection experiment on N base items")
    args = ap.parse_args()
    console = Console(width=150)
    if args.injection:
        out = injection(get_backend(args.model, n_threads=args.threads), console, args.injection, args.available)
        if args.json:
            args.json.write_text(json.dumps(out, indent=2, default=str))
        return
    df = load_llmbar(DATA, per_set=args.per_set, seed=0)
    backend = get_backend(args.model, n_threads=args.threads)
    # round-robin over the sets, so that a run cut short has covered every set about equally
    df = df.assign(_rank=df.groupby("set").cumcount()).sort_values(["_rank", "set"], kind="stable")
    items = df.drop(columns="_rank").to_dict(orient="records")
    proto = Pairwise(template="default")
    limit = getattr(backend, "n_ctx", 10**9) - 8
    fits = [max(backend.count_tokens(r.prompt) for _, r in proto.requests(it)) <= limit  # type: ignore[attr-defined]
            for it in items] if hasattr(backend, "count_tokens") else [True] * len(items)
    dropped = [f"{it['set']}#{it['index']}" for it, ok in zip(items, fits, strict=True) if not ok]
    items = [it for it, ok in zip(items, fits, strict=True) if ok]
    if args.available:
        done = stored(Judge(proto, backend), items, Store(STORE))
        items = [it for it, ok in zip(items, done, strict=True) if ok]
        console.print(f"--available: reporting on the {len(items)} items whose default verdicts are all stored")
    console.print(f"LLMBar, load_llmbar(per_set={args.per_set}, seed=0): {len(df)} items from {df['set'].nunique()} "
                  f"sets; {len(dropped)} too long for the context left out {dropped}; judge {args.model}, "
                  "pairwise template 'default', both orders")
    probes = [p for p in args.probes.split(",") if p]
    t0 = time.perf_counter()
    with Store(STORE) as store:
        main_probes = [p for p in probes if p not in ("consistency", "wording")]
        report = run_audit(items, backend, store, probes=main_probes, human="gold", progress=True, slice_field="set")
        console.print(report.table(title=f"Bias audit, all {df['set'].nunique()} LLMBar sets, {len(items)} items"))
        result = {"items": len(items), "dropped": dropped, "per_set": args.per_set, "audit": report.to_dict()}
        by_set = {}
        for s in LLMBAR_SETS if "position" in probes else ():  # the per-set breakdown of the position probe
            sub = [it for it in items if it["set"] == s]
            if not sub:
                continue
            r = run_audit(sub, backend, store, probes=["position"], human="gold", n_resamples=DEFAULT_RESAMPLES)
            by_set[s] = r.results["position"].to_dict()
            iv = r.results["position"].flip_rate
            console.print(f"  {s:10s} n={len(sub):3d} flip rate {iv.estimate:.3f} [{iv.low:.3f}, {iv.high:.3f}]")
        result["position_by_set"] = by_set
        if "wording" in probes:
            word_items = items
            if args.available:
                word_items = [it for it, *ok in zip(items, *(stored(Judge(Pairwise(template=t), backend), items, store)
                                                            for t in TEMPLATES), strict=True) if all(ok)]
            wr = run_audit(word_items, backend, store, probes=["wording"], human="gold", progress=True,
                           templates=TEMPLATES)
            console.print(wr.table(title=f"Wording: templates {', '.join(TEMPLATES)} on {len(word_items)} items"))
            result["wording"] = wr.to_dict()
        if "consistency" in probes:
            rep_items = [it for s in LLMBAR_SETS for it in [i for i in items if i["set"] == s][
                : max(1, args.repeat_items // len(LLMBAR_SETS))]]
            rr = run_audit(rep_items, backend, store, probes=["consistency"], human="gold", progress=True,
                           repeats=5, temperature=1.0)
            console.print(rr.table(title=f"Internal consistency, {len(rep_items)} items x 2 orders x 5 repeats, T=1"))
            result["consistency"] = rr.to_dict()
    result["published_position"] = published_position(console)
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    text = json.dumps(result, indent=2, default=str)
    if args.json:
        args.json.write_text(text)
    else:
        print(text, file=sys.stderr)


if __name__ == "__main__":
    main()
