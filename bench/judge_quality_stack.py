"""Stacked jury and cascade against the single default judge, majority vote and Dawid-Skene, with at
most 50 human labels for fitting and the rest for evaluation (repeated random splits).

    python bench/judge_quality_stack.py [--part llmbar|relevance|all] [--budget-s 840] [--report-only]
                                        [--splits 200] [--labels 50] [--json OUT]

Data
* LLMBar (../shared/data/llmbar, Adversarial and Processed sets, pairwise): up to ``--per-set`` items
  per set (seed 0) among the items whose instruction + both outputs fit in ``--max-chars`` characters
  (the machine is shared: a 1.5B call on a full-length item takes about 2 s). Gold: A/B.
* DL19 relevance (../shared/data/relevance): the 1,000 stratified pairs of bench/relevance_dl19.py,
  grades 0-3. The 1.5B verdicts are read from ``.jurybox/relevance_dl19.sqlite`` with that bench's
  spec (0 model calls); the small models' verdicts go to this bench's own store.

Judges (every one through the engine and a store under .jurybox/, in chunks of 10 items, so
``--budget-s`` stops before the next chunk and a rerun resumes with 0 calls for what is done):
qwen2.5-coder-1.5b (the default judge) with the pairwise templates default / concise / rules, both
orders; gemma-3-270m (base) and qwen2.5-coder-0.5b with the same templates. A judge that is not
complete on every item is left out of the analysis (printed).

Methods, per split (``--labels`` fitting items drawn at random, the rest evaluated):
* single: the 1.5B default-template judge (pairwise: both orders combined by the mean log-odds);
* majority and Dawid-Skene over a jury's members (item verdicts; DS is unsupervised, fitted on all items);
* stacked: the multinomial logistic regression of jurybox.stacking over the members' per-order option
  log-probabilities, fitted on the split's labelled items (C=1); stacked-balanced: the same with class
  weights n / (K n_class), which trades accuracy for kappa on skewed labels (relevance grades);
* cascade: cheap judge first, escalate to the 1.5B default judge below a threshold chosen on the split's
  labelled items for accuracy >= the 1.5B judge's accuracy on them minus 1 point
  (jurybox.cascade.choose_threshold, within=0.01); reported with the share escalated and the model
  time and calls against always asking the 1.5B judge (stored latencies of the verdicts).

Intervals: the 2.5th and 97.5th percentiles over the splits of the statistic on the evaluation items
(split-to-split variation of fitting on 50 labels and evaluating on the rest; items are shared between
splits, so this is not a full sampling interval), and for one fixed split a 95% bootstrap over the
evaluation items. Accuracy counts an unread or tied answer as wrong; kappa is Cohen's on the answered items.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jurybox.backends.registry import get_backend
from jurybox.backends.store_only import StoreOnlyBackend
from jurybox.benchdata.llmbar import ADVERSARIAL, LLMBAR_SETS, PROCESSED, load_llmbar, load_llmbar_evaluator
from jurybox.cascade import cascade_curve, choose_threshold, confidence, escalated
from jurybox.engine import Judge, build_tasks, evaluate
from jurybox.jury import dawid_skene, majority_vote
from jurybox.protocols.registry import make_protocol
from jurybox.stacking import (
    cross_validate,
    feature_layout,
    feature_matrix,
    feature_names,
    fit_stack,
    method_agreement,
)
from jurybox.stats import cohen_kappa
from jurybox.store import Store

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
STORE_LLMBAR = ROOT / ".jurybox" / "judge_quality_stack_llmbar.sqlite"
STORE_REL = ROOT / ".jurybox" / "judge_quality_stack_relevance.sqlite"
STORE_REL_15B = ROOT / ".jurybox" / "relevance_dl19.sqlite"
LARGE = "qwen2.5-coder-1.5b"
SMALL = ("gemma-3-270m", "qwen2.5-coder-0.5b")
SHORT = {"qwen2.5-coder-1.5b": "q1.5b", "qwen2.5-coder-0.5b": "q0.5b", "gemma-3-270m": "gemma"}
EVALUATORS = ("GPT-4", "ChatGPT", "LLaMA2", "PaLM2")


class Members:
    """The bench's judges over one item list: each (name, model, protocol, template) with its store;
    run in priority order in chunks within a time budget; loaded only when a task is missing."""

    def __init__(self, items: list[dict[str, Any]], report_only: bool, run_seed: int | None = None) -> None:
        self.items = items
        # the order items are asked in (a random one: a run stopped by the budget leaves a random subset)
        self.run_order = (np.arange(len(items)) if run_seed is None
                          else np.random.default_rng(run_seed).permutation(len(items)))
        self.report_only = report_only
        self.judges: dict[str, tuple[str, str, str, Path]] = {}
        self._backends: dict[str, Any] = {}
        self.calls = 0

    def add(self, name: str, model: str, protocol: str, template: str, store: Path) -> None:
        self.judges[name] = (model, protocol, template, store)

    def _judge(self, name: str, live: bool) -> Judge:
        model, protocol, template, _ = self.judges[name]
        if live and model not in self._backends:
            self._backends[model] = get_backend(model)
        backend = (self._backends[model] if live
                   else StoreOnlyBackend.embedded(model, hint="run without --report-only"))
        return Judge(make_protocol(protocol, template=template), backend, name)

    def pending(self, name: str) -> int:
        store = self.judges[name][3]
        tasks, _ = build_tasks(self._judge(name, False), self.items)
        with Store(store) as st:
            return len(st.pending(tasks)[0])

    def run(self, order: Sequence[str], deadline: float) -> None:
        for name in order:
            left = self.pending(name)
            if left == 0 or self.report_only:
                continue
            judge = self._judge(name, True)
            with Store(self.judges[name][3]) as st:
                for start in range(0, len(self.items), 10):
                    if time.perf_counter() > deadline:
                        print(f"  budget reached in {name}; rerun to resume", flush=True)
                        return
                    chunk = [self.items[int(i)] for i in self.run_order[start:start + 10]]
                    _, _, s = evaluate(judge, chunk, st)
                    self.calls += s.model_calls
                print(f"  {name}: done ({left} tasks were missing)", flush=True)

    def complete(self, name: str) -> np.ndarray:
        """Which items have every task of judge ``name`` in its store."""
        _, per_item = build_tasks(self._judge(name, False), self.items)
        with Store(self.judges[name][3]) as st:
            todo, _ = st.pending(t for ts in per_item for t in ts)
        missing = {t.key for t in todo}
        return np.array([not any(t.key in missing for t in ts) for ts in per_item], dtype=bool)

    def results(self, min_items: int = 40) -> tuple[dict[str, tuple[list[Any], list[dict[str, Any]]]], np.ndarray]:
        """Every judge's verdicts on the items that all judges with at least ``min_items`` complete
        items have done (a judge short of them is left out), and those items' indices."""
        masks = {name: self.complete(name) for name in self.judges}
        keep = [n for n, m in masks.items() if m.sum() >= min_items]
        rows = np.flatnonzero(np.logical_and.reduce([masks[n] for n in keep])) if keep else np.arange(0)
        items = [self.items[i] for i in rows]
        out = {}
        for name in self.judges:
            if name not in keep:
                print(f"  (left out: {name}, {int(masks[name].sum())} of {len(self.items)} items done)")
                continue
            with Store(self.judges[name][3]) as st:
                v, var, s = evaluate(self._judge(name, False), items, st)
            assert s.model_calls == 0
            out[name] = (v, var)
        if len(rows) < len(self.items):
            print(f"  analysed: the {len(rows)} of {len(self.items)} items every included judge has done")
        return out, rows


def _labels(vs: list[Any]) -> list[Any]:
    return [v.label if v.status == "ok" else None for v in vs]


def _acc(pred: Sequence[Any], gold: Sequence[Any]) -> float:
    return float(np.mean([p is not None and p == g for p, g in zip(pred, gold, strict=True)]))


def _kappa(pred: Sequence[Any], gold: Sequence[Any]) -> float:
    keep = [i for i, p in enumerate(pred) if p is not None]
    return float(cohen_kappa([gold[i] for i in keep], [pred[i] for i in keep])) if len(keep) > 1 else float("nan")


def _summary(values: list[float]) -> dict[str, float]:
    a = np.array(values, dtype=float)
    a = a[~np.isnan(a)]
    if not a.size:
        return {"mean": float("nan"), "low": float("nan"), "high": float("nan")}
    lo, hi = np.percentile(a, [2.5, 97.5])
    return {"mean": float(a.mean()), "low": float(lo), "high": float(hi)}


def analyse(res: dict[str, tuple[list[Any], list[dict[str, Any]]]], gold: list[str], *, single: str,
            juries: dict[str, list[str]], cascades: dict[str, str], splits: int, n_labels: int, seed: int,
            extra: dict[str, list[Any]] | None = None, groups: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Every method on every split (module docstring)."""
    if single not in res:
        print(f"  {single} is not complete: nothing to compare yet")
        return {"n": len(gold), "n_labels": n_labels, "splits": 0, "methods": {}, "cascades": {},
                "first_split_bootstrap": {}}
    n = len(gold)
    g = np.asarray(gold, dtype=object)
    preds_fixed: dict[str, list[Any]] = {name: _labels(v) for name, (v, _) in res.items()}
    for jname, members in juries.items():
        members = [m for m in members if m in res]
        if len(members) < 2:
            continue
        lab = np.array([preds_fixed[m] for m in members], dtype=object)
        preds_fixed[f"majority[{jname}]"] = list(majority_vote(lab).label)
        preds_fixed[f"dawid-skene[{jname}]"] = list(dawid_skene(lab).label)
    for k, v in (extra or {}).items():
        preds_fixed[k] = v
    feats = {}
    for jname, members in juries.items():
        members = [m for m in members if m in res]
        if not members:
            continue
        print(f"  jury {jname}: {', '.join(members)}")
        variants = [res[m][1] for m in members]
        layout = feature_layout(members, variants)
        x, _ = feature_matrix(layout, members, variants)
        feats[jname] = (x, feature_names(layout))
    rng = np.random.default_rng(seed)
    per: dict[str, dict[str, list[float]]] = {}
    casc: dict[str, dict[str, list[float]]] = {}
    diffs: dict[str, list[float]] = {}
    kdiffs: dict[str, list[float]] = {}  # the paired kappa gain over the single judge, split by split

    def add(method: str, pred: Sequence[Any], ev: np.ndarray) -> None:
        d = per.setdefault(method, {"accuracy": [], "kappa": []})
        p = [pred[i] for i in ev]
        d["accuracy"].append(_acc(p, list(g[ev])))
        d["kappa"].append(_kappa(p, list(g[ev])))
        for gname, mask in (groups or {}).items():
            sub = ev[mask[ev]]
            d.setdefault(f"accuracy[{gname}]", []).append(_acc([pred[i] for i in sub], list(g[sub])))

    first_split: dict[str, Any] = {}
    kfold: dict[str, Any] = {}  # split 0: the k-fold estimate from its 50 labels alone
    for s in range(splits):
        perm = rng.permutation(n)
        fit, ev = np.sort(perm[:n_labels]), np.sort(perm[n_labels:])
        for method, pred in preds_fixed.items():
            add(method, pred, ev)
        for jname, (x, names) in feats.items():
            y = list(g[fit])
            if len(set(y)) < 2:
                continue
            for tag, balanced in (("stacked", False), ("stacked-balanced", True)):
                m = fit_stack(x[fit], y, names, balanced=balanced)
                pred = [None] * n
                for i, lab in zip(ev, m.predict(x[ev]), strict=True):
                    pred[int(i)] = lab
                add(f"{tag}[{jname}]", pred, ev)
                if s == 0:
                    first_split[f"{tag}[{jname}]"] = pred
                    if len(set(y)) >= 2 and min(y.count(c) for c in set(y)) >= 2:
                        cv = cross_validate(x[fit], y, names, folds=5, repeats=3, balanced=balanced, seed=seed)
                        kfold[f"{tag}[{jname}]"] = cv.to_dict()
        single_acc, single_kappa = per[single]["accuracy"][-1], per[single]["kappa"][-1]
        for method in list(per):
            diffs.setdefault(method, []).append(per[method]["accuracy"][-1] - single_acc)
            kdiffs.setdefault(method, []).append(per[method]["kappa"][-1] - single_kappa)
        for cname, cheap in cascades.items():
            if cheap not in res or single not in res:
                continue
            cv, cvar = res[cheap]
            lv, lvar = res[single]
            conf = np.array([confidence(v) for v in cv])
            curve = cascade_curve([_labels(cv)[i] for i in fit], conf[fit], [_labels(lv)[i] for i in fit], list(g[fit]))
            t = choose_threshold(curve, within=0.01)
            esc = escalated(conf[ev], t)
            cl, ll = _labels(cv), _labels(lv)
            pred = [ll[i] if e else cl[i] for i, e in zip(ev, esc, strict=True)]
            acc = _acc(pred, list(g[ev]))
            c_s = np.array([cv[i].latency_s for i in ev])
            l_s = np.array([lv[i].latency_s for i in ev])
            c_calls = np.array([len(cvar[i]) for i in ev])
            l_calls = np.array([len(lvar[i]) for i in ev])
            d = casc.setdefault(cname, {k: [] for k in ("threshold", "share_escalated", "accuracy", "kappa",
                                                        "large_accuracy", "minus_large", "model_s_ratio",
                                                        "calls_ratio")})
            d["threshold"].append(t)
            d["share_escalated"].append(float(esc.mean()))
            d["accuracy"].append(acc)
            d["kappa"].append(_kappa(pred, list(g[ev])))
            la = _acc([ll[i] for i in ev], list(g[ev]))
            d["large_accuracy"].append(la)
            for gname, mask in (groups or {}).items():
                sel = mask[ev]
                d.setdefault(f"accuracy[{gname}]", []).append(_acc([p for p, k in zip(pred, sel) if k],
                                                                   list(g[ev][sel])))
                d.setdefault(f"large_accuracy[{gname}]", []).append(_acc([ll[i] for i in ev[sel]], list(g[ev][sel])))
            d["minus_large"].append(acc - la)
            d["model_s_ratio"].append(float((c_s.sum() + l_s[esc].sum()) / l_s.sum()))
            d["calls_ratio"].append(float((c_calls.sum() + l_calls[esc].sum()) / l_calls.sum()))
            if s == 0:
                first_split[f"cascade[{cname}]"] = [None] * n
                for i, p in zip(ev, pred, strict=True):
                    first_split[f"cascade[{cname}]"][int(i)] = p
        if s == 0:
            first_split["_ev"] = ev
    ev0 = first_split.pop("_ev", np.arange(0))
    boot = {}
    for method, pred in {**preds_fixed, **first_split}.items():
        boot[method] = method_agreement(method, [pred[i] for i in ev0], list(g[ev0]), n_resamples=1000, seed=seed)
    methods = {m: {k: _summary(v) for k, v in d.items()} | {"accuracy_minus_single": _summary(diffs[m]),
                                                              "kappa_minus_single": _summary(kdiffs[m])}
               for m, d in per.items()}
    cascade_out = {c: {k: _summary(v) for k, v in d.items()} for c, d in casc.items()}
    return {"n": n, "n_labels": n_labels, "splits": splits, "methods": methods, "cascades": cascade_out,
            "first_split_bootstrap": boot, "first_split_kfold": kfold}


def cost_table(res: dict[str, tuple[list[Any], list[dict[str, Any]]]]) -> dict[str, dict[str, float]]:
    out = {}
    for name, (v, var) in res.items():
        secs = float(sum(x.latency_s for x in v))
        calls = int(sum(len(x) for x in var))
        out[name] = {"model_s": secs, "calls": calls, "s_per_call": secs / max(1, calls),
                     "unread": int(sum(x.status != "ok" for x in v))}
    return out


def _fmt(s: dict[str, float], pct: bool = True) -> str:
    f = 100 if pct else 1
    if s["mean"] != s["mean"]:
        return "n/a"
    return f"{f * s['mean']:.1f} [{f * s['low']:.1f}, {f * s['high']:.1f}]" if pct else \
        f"{s['mean']:.3f} [{s['low']:.3f}, {s['high']:.3f}]"


def print_report(title: str, out: dict[str, Any], costs: dict[str, dict[str, float]]) -> None:
    print(f"\n== {title}: {out['n']} items, {out['n_labels']} labels for fitting, {out['splits']} random splits")
    print(f"{'method':44s} {'accuracy % [2.5, 97.5 pct]':>28s} {'kappa':>24s} {'acc - single (points)':>24s} "
          f"{'kappa - single':>24s}")
    for m, d in out["methods"].items():
        by_group = "  ".join(f"{k[9:-1]} {_fmt(v)}" for k, v in d.items() if k.startswith("accuracy["))
        print(f"{m:44s} {_fmt(d['accuracy']):>28s} {_fmt(d['kappa'], False):>24s} "
              f"{_fmt(d['accuracy_minus_single']):>24s} {_fmt(d['kappa_minus_single'], False):>24s}  {by_group}")
    for c, d in out["cascades"].items():
        print(f"cascade {c}: threshold {_fmt(d['threshold'], False)}, escalated {_fmt(d['share_escalated'])} %, "
              f"accuracy {_fmt(d['accuracy'])} vs 1.5B {_fmt(d['large_accuracy'])} "
              f"(difference {_fmt(d['minus_large'])} points), kappa {_fmt(d['kappa'], False)}, "
              f"model time {_fmt(d['model_s_ratio'])} % and calls {_fmt(d['calls_ratio'])} % of always-1.5B")
        for k, v in d.items():
            if k.startswith("accuracy["):
                print(f"    {k[9:-1]}: cascade {_fmt(v)} vs 1.5B {_fmt(d['large_' + k])}")
    print("first split, 95% bootstrap over its evaluation items:")
    for m, d in out["first_split_bootstrap"].items():
        print(f"  {m:44s} acc {100 * d['accuracy']:.1f} [{100 * d['accuracy_ci'][0]:.1f}, "
              f"{100 * d['accuracy_ci'][1]:.1f}]  kappa {d['kappa']:.3f} [{d['kappa_ci'][0]:.3f}, "
              f"{d['kappa_ci'][1]:.3f}]  (n={d['n']})")
    for m, cv in out.get("first_split_kfold", {}).items():
        print(f"  {m:44s} 5-fold x 3 on the 50 fitting labels alone: accuracy {100 * cv['accuracy']:.1f} "
              f"[{100 * cv['accuracy_ci'][0]:.1f}, {100 * cv['accuracy_ci'][1]:.1f}], kappa {cv['kappa']:.3f}")
    print("cost per judge (stored latencies):")
    for name, c in costs.items():
        print(f"  {name:28s} {c['calls']:5d} calls, {c['model_s']:7.0f} s model time ({c['s_per_call']:.2f} s a "
              f"call), {c['unread']} unread")


def llmbar_part(args: argparse.Namespace, deadline: float) -> dict[str, Any]:
    root = DATA / "llmbar"
    df = load_llmbar(root)
    size = df.instruction.str.len() + df.response_a.str.len() + df.response_b.str.len()
    df = df[size <= args.max_chars]
    parts = [df[df["set"] == name] for name in LLMBAR_SETS]
    df = pd.concat([p.sample(n=min(len(p), args.per_set), random_state=0) for p in parts if len(p)],
                   ignore_index=True)
    items = df[["instruction", "response_a", "response_b"]].to_dict("records")
    gold = df["gold"].tolist()
    print(f"LLMBar: {len(df)} items ({df.groupby('set').size().to_dict()}), instruction + outputs <= "
          f"{args.max_chars} characters; gold A {gold.count('A')}, B {gold.count('B')}")
    mem = Members(items, args.report_only)
    for model in (LARGE, *SMALL):
        for t in ("default", "concise", "rules"):
            mem.add(f"{SHORT[model]}:{t}", model, "pairwise", t, STORE_LLMBAR)
    order = ["q1.5b:default", "gemma:default", "q0.5b:default", "q1.5b:concise", "gemma:concise", "q0.5b:concise",
             "gemma:rules", "q0.5b:rules", "q1.5b:rules"]
    named = [n for n in (args.order or "").split(",") if n in mem.judges]
    mem.run(named or order, deadline)
    res, rows = mem.results(min_items=args.min_items)
    df = df.iloc[rows].reset_index(drop=True)
    gold = df["gold"].tolist()
    published: dict[str, list[Any]] = {}
    for ev in EVALUATORS:  # each published evaluator's winner per order: accuracy = mean over the orders
        ab, ba = [], []
        for _, row in df.iterrows():
            e = load_llmbar_evaluator(root, row["set"], ev).set_index("index")
            ab.append(e.loc[row["index"], "winner_unswapped"])
            ba.append(e.loc[row["index"], "winner_swapped"])
        published[f"{ev} (published), unswapped order"] = ab
        published[f"{ev} (published), swapped order"] = ba
    juries = {"q1.5b templates": [f"q1.5b:{t}" for t in ("default", "concise", "rules")],
              "all judges": list(mem.judges), "small models": [j for j in mem.judges if not j.startswith("q1.5b")]}
    out = analyse(res, gold, single="q1.5b:default", juries=juries,
                  cascades={"gemma:default > q1.5b:default": "gemma:default",
                            "q0.5b:default > q1.5b:default": "q0.5b:default"},
                  splits=args.splits, n_labels=args.labels, seed=args.seed, extra=published,
                  groups={"Adversarial": df["set"].isin(ADVERSARIAL).to_numpy(),
                          "Processed": df["set"].isin(PROCESSED).to_numpy()})
    costs = cost_table(res)
    print_report("LLMBar (pairwise, both orders)", out, costs)
    return {"items": len(df), "items_sampled": len(items), "sets": df.groupby("set").size().to_dict(), **out, "costs": costs,
            "judges": list(res), "model_calls_this_run": mem.calls}


def relevance_part(args: argparse.Namespace, deadline: float) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "bench"))
    from relevance_dl19 import load_pool, stratified

    sample = stratified(load_pool(), 1000)
    items = [{"query": q, "passage": p} for q, p in zip(sample["query"], sample["passage"], strict=True)]
    gold = [str(int(x)) for x in sample["human_relevance"]]
    print(f"\nDL19 relevance: {len(items)} pairs, human grades "
          f"{ {g: gold.count(g) for g in sorted(set(gold))} }")
    mem = Members(items, args.report_only, run_seed=0)
    mem.add("q1.5b", LARGE, "relevance", "default", STORE_REL_15B)
    for model in SMALL:
        mem.add(SHORT[model], model, "relevance", "default", STORE_REL)
    if mem.pending("q1.5b"):
        print(f"  warning: {mem.pending('q1.5b')} 1.5B relevance tasks are not in {STORE_REL_15B}")
    named = [n for n in (args.order or "").split(",") if n in mem.judges]  # --order may name LLMBar's judges
    mem.run(named or ["gemma", "q0.5b"], deadline)
    res, rows = mem.results(min_items=max(args.min_items, 200))
    gold = [gold[i] for i in rows]
    juries = {"3 models": ["q1.5b", "gemma", "q0.5b"], "q1.5b alone": ["q1.5b"]}
    out = analyse(res, gold, single="q1.5b", juries=juries, cascades={"gemma > q1.5b": "gemma",
                                                                          "q0.5b > q1.5b": "q0.5b"},
                  splits=args.splits, n_labels=args.labels, seed=args.seed)
    costs = cost_table(res)
    print_report("DL19 relevance (grades 0-3)", out, costs)
    return {"items": len(rows), "items_sampled": len(items), **out, "costs": costs, "judges": list(res), "model_calls_this_run": mem.calls}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("llmbar", "relevance", "all"), default="all")
    ap.add_argument("--budget-s", type=float, default=840.0, help="stop starting new chunks after this long")
    ap.add_argument("--report-only", action="store_true", help="no model: report from the stores")
    ap.add_argument("--splits", type=int, default=200)
    ap.add_argument("--labels", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--order", default=None, help="judges to run, in this order (default: all, cheapest first)")
    ap.add_argument("--min-items", type=int, default=40,
                    help="a judge with fewer complete items is left out; the others are analysed on the items "
                         "all of them have done")
    ap.add_argument("--per-set", type=int, default=20)
    ap.add_argument("--max-chars", type=int, default=1200)
    ap.add_argument("--json", default=str(ROOT / ".jurybox" / "bench" / "judge_quality_stack.json"),
                    help="write the numbers here (merged with the file's other part); '' for none")
    args = ap.parse_args()
    deadline = time.perf_counter() + args.budget_s
    report: dict[str, Any] = {}
    if args.part in ("llmbar", "all"):
        report["llmbar"] = llmbar_part(args, deadline)
    if args.part in ("relevance", "all"):
        report["relevance"] = relevance_part(args, deadline)
    if args.json:
        from jurybox.atomic import atomic_write
        from jurybox.stacking.model import json_ready

        path = Path(args.json)
        old = json.loads(path.read_text()) if path.is_file() else {}
        with atomic_write(path) as f:
            f.write(json.dumps(json_ready({**old, **report}), indent=1))
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
