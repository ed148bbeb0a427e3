"""Does the small judge agree with people better with few-shot examples or calibration? (<= 50 labels)

    flock /tmp/jurybox-model.lock python bench/judge_quality.py --dataset llmbar --run zero,cc,fixed,similar \\
        --budget-min 14
    python bench/judge_quality.py --dataset llmbar          # report from the store only: no model loaded

Datasets (../shared/data): ``llmbar`` (the 140-item sample of the other LLMBar benches: 20 per set of
the 4 Adversarial and 3 Processed sets, seed 0; pairwise template ``default``, both orders, margin
combination; accuracy and Cohen's kappa against the gold preference), ``relevance`` (the 1,000
stratified TREC DL19 pool pairs of bench/relevance_dl19.py, the ``relevance`` protocol; unweighted
kappa on the 4 grades of the argmax grade and of the expected grade rounded half up), ``banking77``
(the first ``--b77-n`` items of bench/distill_banking77.py's LLM-labelled pool with its MiniLM
shortlists, classify_shortlist; accuracy and kappa over the 77 intents, beside the free baseline of
the shortlist's first candidate), ``newsroom``
(the summaries of the first N articles of a seeded permutation, as bench/newsroom_rater.py chooses
them, scored 1-5 on 4 aspects with that bench's template; Spearman of the expected score with the
mean human rating, averaged over the aspects).

Stages (``--run``, judged through the engine into ``.jurybox/judge_quality.sqlite``, resumable: a
rerun makes no model call for what is stored, ``--budget-min`` stops starting new chunks):
``zero`` the zero-shot default (for llmbar and relevance copied from the stores of the earlier
benches by task key, so it costs 0 calls), ``cc`` the content-free tasks of contextual
calibration (3 per variant and aspect), ``fixed`` few-shot with k fixed label-balanced examples,
``similar`` few-shot with k per-item MiniLM-nearest examples (label-balanced), ``fixedcc`` the
content-free tasks under the fixed few-shot prompt, ``both`` (banking77) the shortlist asked in its
reversed order too (``orders=2``; order 0 is the zero-shot task).

Evaluation: R repeated random splits of the items (seeds 0..R-1) into <= 50 labelled items (the
examples and the bias fit; ``--train``) and the rest. Zero-shot, contextual calibration (CC), the
ML bias (fitted on the split's labelled items), and CC + bias cost no calls per split, so they are
scored on all R splits: the number printed is the mean over splits with the 2.5-97.5 percentile
range of the splits (and of the paired gain over zero-shot). Few-shot prompts depend on the split's
examples and cost calls, so they are run for split 0 only, on its first ``--fs-n`` held-out items:
printed with a 95% percentile bootstrap interval over those items (1,000 resamples), the paired
gain over zero-shot on the same items likewise. The few-shot example pool is split 0's labelled
items (for llmbar only those of at most 1,200 characters, so that k examples fit the context).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE / "bench"))

from jurybox.backends.registry import get_backend  # noqa: E402
from jurybox.backends.store_only import StoreOnlyBackend  # noqa: E402
from jurybox.calibration.api import fit_label_bias  # noqa: E402
from jurybox.calibration.protocol import CalibratedProtocol  # noqa: E402
from jurybox.engine import Judge, build_tasks, evaluate  # noqa: E402
from jurybox.fewshot.protocol import FewShotProtocol  # noqa: E402
from jurybox.protocols.base import JudgeProtocol  # noqa: E402
from jurybox.stats import bootstrap_ci, cohen_kappa, spearman  # noqa: E402
from jurybox.store import Store  # noqa: E402
from jurybox.types import Verdict  # noqa: E402

DATA = HERE.parent / "shared" / "data"
STORE = HERE / ".jurybox" / "judge_quality.sqlite"
#: stores of other benches holding some of the same tasks (same task keys): copied, not asked again
SEEDS = {"llmbar": (HERE / ".jurybox" / "llmbar.sqlite", HERE / ".jurybox" / "judge_quality_stack_llmbar.sqlite"),
         "relevance": (HERE / ".jurybox" / "relevance_dl19.sqlite",),
         "banking77": (HERE / ".jurybox" / "bench-banking77" / "verdicts.sqlite",)}
B77_WORK = HERE / ".jurybox" / "bench-banking77"  # bench/distill_banking77.py's work directory (embeddings, store)
STAGES = ("zero", "cc", "fixed", "similar", "fixedcc", "both")


@dataclass
class Part:
    """One judge over one item list: a dataset, or one aspect of newsroom."""

    name: str
    protocol: JudgeProtocol
    items: list[dict[str, Any]]
    human: list[str]  # in the protocol's label set (fit targets)
    numeric: np.ndarray | None = None  # the human rating for Spearman (newsroom: the mean of 3)
    groups: list[str] = field(default_factory=list)  # llmbar: Adversarial / Processed
    max_example_chars: int | None = None
    example_fix: Callable[[dict[str, Any], str], dict[str, Any]] | None = None  # an item as a few-shot example
    orders2: JudgeProtocol | None = None  # the same judge asked in two candidate orders (stage "both")


# -- datasets -------------------------------------------------------------------------------------
def llmbar_parts() -> tuple[list[Part], int]:
    from jurybox.benchdata.llmbar import ADVERSARIAL, load_llmbar
    from jurybox.protocols.pairwise import Pairwise

    df = load_llmbar(DATA / "llmbar", per_set=20, seed=0)
    items = df[["instruction", "response_a", "response_b"]].to_dict("records")
    groups = ["Adversarial" if s in ADVERSARIAL else "Processed" for s in df["set"]]
    return [Part("llmbar", Pairwise(template="default"), items, df["gold"].tolist(), groups=groups,
                 max_example_chars=1200)], 4096


def relevance_parts() -> tuple[list[Part], int]:
    import relevance_dl19 as rel

    from jurybox.protocols.relevance import Relevance

    sample = rel.stratified(rel.load_pool(), 1000)
    items = sample[["query", "passage"]].to_dict("records")
    human = [str(int(g)) for g in sample["human_relevance"]]
    return [Part("relevance", Relevance(), items, human, numeric=sample["human_relevance"].to_numpy(float))], 4096


def banking77_parts(n: int) -> tuple[list[Part], int]:
    """The first ``n`` items of the LLM-labelled pool of bench/distill_banking77.py (train texts,
    seeded draw) with that bench's shortlists (the 10 intents whose names are nearest the text by
    MiniLM) and its classify_shortlist spec, so its stored verdicts are this bench's zero-shot."""
    import distill_banking77 as db

    from jurybox.protocols.registry import make_protocol

    train, _, names = db.load()
    work = db.Work(B77_WORK)
    rows = np.random.default_rng(11).choice(len(train), 1000, replace=False)[:n]
    cands = db.shortlists(work, "train", rows, names)
    texts = train.text.values[rows].tolist()
    human = train.category.values[rows].tolist()
    items = [{"text": t, "candidates": ";".join(c)} for t, c in zip(texts, cands, strict=True)]
    crit = "These are customer questions to a bank."
    proto = make_protocol("classify_shortlist", labels=names, criteria=crit)
    both = make_protocol("classify_shortlist", labels=names, criteria=crit, orders=2)
    return [Part("banking77", proto, items, human, example_fix=_gold_in_shortlist, orders2=both)], 4096


def _gold_in_shortlist(item: dict[str, Any], label: str) -> dict[str, Any]:
    """A few-shot example's shortlist with its own label among the candidates (in place of the last
    one when the MiniLM shortlist missed it): a user's labelled examples list the right answer."""
    c = item["candidates"].split(";")
    if label not in c:
        c = c[:-1] + [label]
    return {**item, "candidates": ";".join(c)}


def newsroom_parts(articles: int) -> tuple[list[Part], int]:
    import newsroom_rater as nr

    from jurybox.protocols.simple import Score

    rows, questions = nr.load(DATA / "newsroom" / "newsroom.json")
    arts = list(dict.fromkeys(r["article"] for r in rows))
    keep = set(np.random.default_rng(0).permutation(len(arts))[:articles].tolist())
    arts = [a for i, a in enumerate(arts) if i in keep]
    order = {a: i for i, a in enumerate(arts)}
    rows = sorted((r for r in rows if r["article"] in order), key=lambda r: (order[r["article"]], r["id"]))
    items = [{"instruction": r["article"], "response": r["summary"]} for r in rows]
    template = str(HERE / "bench" / "templates" / "newsroom-score.j2")
    parts = []
    for a in nr.ASPECTS:
        mean = np.array([r["mean"][a] for r in rows], dtype=float)
        human = [str(int(np.clip(np.floor(m + 0.5), 1, 5))) for m in mean]  # the fit's target: mean rounded
        parts.append(Part(f"newsroom:{a}", Score(criteria=questions[a], template=template), items, human,
                          numeric=mean))
    return parts, 6144


# -- store ----------------------------------------------------------------------------------------
def seed_store(store_path: Path, source: Path, keys: Sequence[str]) -> int:
    """Copy the verdicts of ``keys`` that ``source`` holds into the bench store (same task keys)."""
    if not source.is_file():
        return 0
    con = sqlite3.connect(store_path)
    try:
        con.execute("ATTACH DATABASE ? AS src", (str(source),))
        before = con.execute("SELECT count(*) FROM verdicts").fetchone()[0]
        for i in range(0, len(keys), 500):
            chunk = list(keys[i:i + 500])
            con.execute(f"INSERT OR IGNORE INTO verdicts SELECT * FROM src.verdicts WHERE key IN "
                        f"({','.join('?' * len(chunk))})", chunk)
        con.commit()
        return con.execute("SELECT count(*) FROM verdicts").fetchone()[0] - before
    finally:
        con.close()


def stored(judge: Judge, items: Sequence[dict[str, Any]], store: Store) -> list[dict[str, Verdict] | None]:
    """Each item's verdicts by variant when all its tasks are stored, else None (no model call)."""
    flat, per_item = build_tasks(judge, items)
    got = store.get_many([t.key for t in flat])
    return [({t.variant: got[t.key] for t in ts} if all(t.key in got for t in ts) else None) for ts in per_item]


def judge_chunks(judge: Judge, items: Sequence[dict[str, Any]], store: Store, deadline: float, label: str,
                 chunk: int = 10) -> int:
    calls = 0
    for start in range(0, len(items), chunk):
        if time.monotonic() > deadline:
            print(f"  {label}: budget reached at item {start}; rerun to resume", flush=True)
            return calls
        _, _, st = evaluate(judge, list(items[start:start + chunk]), store, description=label)
        calls += st.model_calls
        if st.model_calls:
            print(f"  {label}: items {start + 1}-{min(start + chunk, len(items))}: {st.model_calls} calls "
                  f"({st.wall_s:.1f} s)", flush=True)
    return calls


# -- metrics --------------------------------------------------------------------------------------
def metric_fns(part: Part) -> dict[str, Callable[[list[Verdict], list[int]], float]]:
    labels = list(part.protocol.labels())

    def kappa(vs: list[Verdict], idx: list[int]) -> float:
        pairs = [(v.label, part.human[i]) for v, i in zip(vs, idx, strict=True) if v.label is not None]
        return cohen_kappa([a for a, _ in pairs], [h for _, h in pairs], labels=labels)

    def accuracy(vs: list[Verdict], idx: list[int]) -> float:
        return float(np.mean([v.label == part.human[i] for v, i in zip(vs, idx, strict=True)]))

    if part.name in ("llmbar", "banking77"):
        return {"accuracy": accuracy, "kappa": kappa}
    if part.name == "relevance":
        def kappa_expected(vs: list[Verdict], idx: list[int]) -> float:
            m = [str(int(np.floor(v.score + 0.5))) if v.score is not None else None for v in vs]
            pairs = [(a, part.human[i]) for a, i in zip(m, idx, strict=True) if a is not None]
            return cohen_kappa([a for a, _ in pairs], [h for _, h in pairs], labels=labels)
        return {"kappa": kappa, "kappa_expected": kappa_expected}

    def rho(vs: list[Verdict], idx: list[int]) -> float:
        assert part.numeric is not None
        s = np.array([np.nan if v.score is None else v.score for v in vs])
        return spearman(s, part.numeric[idx])
    return {"spearman": rho}


def splits(n: int, train: int, reps: int) -> list[tuple[list[int], list[int]]]:
    out = []
    for s in range(reps):
        p = np.random.default_rng(s).permutation(n).tolist()
        out.append((sorted(p[:train]), p[train:]))
    return out


def spread(xs: Sequence[float]) -> str:
    a = np.asarray(xs, dtype=float)
    a = a[~np.isnan(a)]
    if a.size == 0:
        return "n/a"
    return f"{a.mean():+.3f} [{np.percentile(a, 2.5):+.3f}, {np.percentile(a, 97.5):+.3f}]"


def split0_bootstrap(split0: dict[str, Any], fns: dict[str, Callable[[list[Verdict], list[int]], float]]
                     ) -> dict[str, Any]:
    """Split 0's held-out items resampled (1,000 times): each method's metric and its paired gain
    over zero-shot, as 95% percentile intervals (the sampling uncertainty the split spread omits)."""
    if not split0:
        return {}
    ev, methods = split0["ev"], split0["methods"]
    a = np.arange(len(ev))
    zero = methods["zero-shot"]
    out: dict[str, Any] = {}
    print(f"  split 0 alone, {len(ev)} held-out items, 95% bootstrap intervals:")
    for mname, vs in methods.items():
        for fname, fn in fns.items():
            def stat(ix: np.ndarray, vs: list[Verdict] = vs, fn: Any = fn) -> float:
                ii = [int(x) for x in ix]
                return fn([vs[x] for x in ii], [ev[x] for x in ii])

            def gain(ix: np.ndarray, vs: list[Verdict] = vs, fn: Any = fn) -> float:
                ii = [int(x) for x in ix]
                return fn([vs[x] for x in ii], [ev[x] for x in ii]) - fn([zero[x] for x in ii], [ev[x] for x in ii])

            ci = bootstrap_ci(stat, a, n_resamples=1000, seed=0)
            row = {"estimate": ci.estimate, "low": ci.low, "high": ci.high}
            text = f"{ci.estimate:+.3f} [{ci.low:+.3f}, {ci.high:+.3f}]"
            if mname != "zero-shot":
                cg = bootstrap_ci(gain, a, n_resamples=1000, seed=0)
                row.update(gain=cg.estimate, gain_low=cg.low, gain_high=cg.high)
                text += f"   gain {cg.estimate:+.3f} [{cg.low:+.3f}, {cg.high:+.3f}]"
            print(f"    {mname:22s} {fname:16s} {text}")
            out[f"{mname}|{fname}"] = row
    return out


def fewshot_protocols(part: Part, train: list[int], k_fixed: int, k_similar: int) -> dict[str, JudgeProtocol]:
    pool = [i for i in train if part.max_example_chars is None
            or sum(len(str(part.items[i][f])) for f in part.protocol.required) <= part.max_example_chars]
    labs = [part.human[i] for i in pool]
    ex = [part.example_fix(part.items[i], lab) if part.example_fix else part.items[i]
          for i, lab in zip(pool, labs, strict=True)]
    fixed = FewShotProtocol(part.protocol, ex, labs, k=k_fixed, select="balanced")
    return {"fixed": fixed, "similar": FewShotProtocol(part.protocol, ex, labs, k=k_similar, select="similar"),
            "fixedcc": CalibratedProtocol(fixed, contextual=True)}


# -- main -----------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", required=True, choices=("llmbar", "relevance", "newsroom", "banking77"))
    ap.add_argument("--run", default="", help=f"comma-separated stages to judge: {', '.join(STAGES)}")
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--budget-min", type=float, default=14.0)
    ap.add_argument("--train", type=int, default=50, help="labelled items per split (examples, bias fit)")
    ap.add_argument("--reps", type=int, default=20, help="repeated random splits for the call-free methods")
    ap.add_argument("--fs-n", type=int, default=90, help="held-out items of split 0 judged few-shot (fixed)")
    ap.add_argument("--fs-n-similar", type=int, default=40, help="of those, the first N judged per-item few-shot")
    ap.add_argument("--fs-max-chars", type=int, default=None,
                    help="few-shot only on held-out items of at most this many characters (their fields together)")
    ap.add_argument("--shots", type=int, default=4, help="k of the fixed few-shot prompt")
    ap.add_argument("--shots-similar", type=int, default=4, help="k of the per-item few-shot prompt")
    ap.add_argument("--articles", type=int, default=15, help="newsroom: articles (all their summaries)")
    ap.add_argument("--b77-n", type=int, default=300, help="banking77: items of the LLM-labelled pool")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--no-report", action="store_true", help="judge only (release the model lock sooner)")
    args = ap.parse_args()
    stages = [s for s in args.run.split(",") if s]
    unknown = set(stages) - set(STAGES)
    if unknown:
        ap.error(f"unknown stages {sorted(unknown)}")

    if args.dataset == "llmbar":
        parts, n_ctx = llmbar_parts()
    elif args.dataset == "relevance":
        parts, n_ctx = relevance_parts()
    elif args.dataset == "banking77":
        parts, n_ctx = banking77_parts(args.b77_n)
    else:
        parts, n_ctx = newsroom_parts(args.articles)
    n = len(parts[0].items)
    sp = splits(n, min(args.train, 50, n // 2), args.reps)  # never more than half the items for fitting
    train0, eval0 = sp[0]
    if args.fs_max_chars is not None:  # few-shot on the shorter held-out items only (the cost is per token)
        p0 = parts[0]
        eval0 = [i for i in eval0 if sum(len(str(p0.items[i][f])) for f in p0.protocol.required) <= args.fs_max_chars]
    fs_items = eval0[:args.fs_n]
    backend: Any = (get_backend(args.model, n_ctx=n_ctx) if stages
                    else StoreOnlyBackend.embedded(args.model, n_ctx, hint="run with --run"))
    STORE.parent.mkdir(exist_ok=True)
    t0 = time.monotonic()
    deadline = t0 + 60 * args.budget_min
    calls = 0
    with Store(STORE) as store:
        if args.dataset in SEEDS:
            flat = [t for p in parts for t in build_tasks(Judge(p.protocol, backend), p.items)[0]]
            for source in SEEDS[args.dataset]:
                added = seed_store(STORE, source, [t.key for t in flat])
                if added:
                    print(f"copied {added} zero-shot verdicts from {source.name} (same task keys)")
        fs = {p.name: fewshot_protocols(p, train0, args.shots, args.shots_similar) for p in parts}
        for stage in stages:
            for p in parts:
                if stage == "zero":
                    judge, its = Judge(p.protocol, backend), p.items
                elif stage == "both":
                    if p.orders2 is None:
                        continue
                    judge, its = Judge(p.orders2, backend), p.items
                elif stage == "cc" and "candidates" in p.protocol.required:
                    # a shortlist stays in the content-free input: its tasks are per item
                    judge, its = Judge(CalibratedProtocol(p.protocol, contextual=True), backend), p.items
                elif stage == "cc":
                    # the content-free tasks are the same for every item: ask them with the shortest item
                    short = min(p.items, key=lambda it: sum(len(str(it[f])) for f in p.protocol.required))
                    judge, its = Judge(CalibratedProtocol(p.protocol, contextual=True), backend), [short]
                else:
                    sel = fs_items[:args.fs_n_similar] if stage == "similar" else fs_items
                    judge, its = Judge(fs[p.name][stage], backend), [p.items[i] for i in sel]
                calls += judge_chunks(judge, its, store, deadline, f"{p.name} {stage}")
        wall = time.monotonic() - t0
        if stages:
            print(f"{calls} model calls in {wall:.0f} s")
        if args.no_report:
            return 0
        out = report(args, parts, store, backend, sp, fs, fs_items)
    out["model_calls_this_run"] = calls
    if args.json:
        from jurybox.atomic import atomic_write

        with atomic_write(args.json) as f:
            json.dump(out, f, indent=2, default=float)
    return 0


def report(args: Any, parts: list[Part], store: Store, backend: Any, sp: list[tuple[list[int], list[int]]],
           fs: dict[str, dict[str, JudgeProtocol]], fs_items: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {"dataset": args.dataset, "n_items": len(parts[0].items), "train": len(sp[0][0]),
                           "reps": len(sp), "parts": {}}
    free: dict[str, dict[str, list[float]]] = {}
    zero_shot: dict[str, list[dict[str, Verdict] | None]] = {}  # each part's stored zero-shot verdicts
    fewshot_rows: dict[str, dict[str, Any]] = {}
    for p in parts:
        base = p.protocol
        cc = CalibratedProtocol(base, contextual=True)
        zs = zero_shot[p.name] = stored(Judge(base, backend), p.items, store)
        ccv = stored(Judge(cc, backend), p.items, store)
        two = stored(Judge(p.orders2, backend), p.items, store) if p.orders2 is not None else None
        have_zs = sum(v is not None for v in zs)
        have_cc = sum(v is not None for v in ccv)
        print(f"\n== {p.name}: {len(p.items)} items; stored: zero-shot {have_zs}, with content-free tasks {have_cc}")
        if have_zs < 4:
            print("  not judged yet (run --run zero)")
            out["parts"][p.name] = {"stored_zero_shot": have_zs}
            continue
        fns = metric_fns(p)
        res: dict[str, dict[str, list[float]]] = {}
        split0: dict[str, Any] = {}
        p_cf_note = ""
        with_cc = have_cc > 0 and all(ccv[i] is not None for i in range(len(p.items)) if zs[i] is not None)
        for train, ev in sp:
            ev = [i for i in ev if zs[i] is not None]
            tr = [i for i in train if zs[i] is not None]
            methods: dict[str, list[Verdict]] = {"zero-shot": [base.combine(p.items[i], zs[i]) for i in ev]}
            if "candidates" in base.required:  # the free baseline: the shortlist's first (MiniLM-nearest) intent
                methods["first candidate (no LLM)"] = [
                    Verdict(label=p.items[i]["candidates"].split(";")[0], status="ok") for i in ev]
            fit = fit_label_bias(base, [p.items[i] for i in tr], [zs[i] for i in tr], [p.human[i] for i in tr])
            methods["bias (ML, <=50 labels)"] = [CalibratedProtocol(base, bias=fit).combine(p.items[i], zs[i])
                                                 for i in ev]
            fit_o = fit_label_bias(base, [p.items[i] for i in tr], [zs[i] for i in tr], [p.human[i] for i in tr],
                                   space="option")
            methods["option bias (ML)"] = [CalibratedProtocol(base, bias=fit_o).combine(p.items[i], zs[i])
                                           for i in ev]
            if two is not None and all(two[i] is not None for i in ev + tr):
                o2 = p.orders2
                assert o2 is not None
                methods["both orders (2 calls)"] = [o2.combine(p.items[i], two[i]) for i in ev]
                fit_b = fit_label_bias(o2, [p.items[i] for i in tr], [two[i] for i in tr], [p.human[i] for i in tr],
                                       space="option")
                methods["both orders + option bias"] = [CalibratedProtocol(o2, bias=fit_b).combine(p.items[i], two[i])
                                                        for i in ev]
            if with_cc:
                methods["contextual (CC)"] = [cc.combine(p.items[i], ccv[i]) for i in ev]
                fit_cc = fit_label_bias(cc, [p.items[i] for i in tr], [ccv[i] for i in tr],
                                        [p.human[i] for i in tr], contextual=True)
                both = CalibratedProtocol(base, contextual=True, bias=fit_cc)
                methods["CC + bias"] = [both.combine(p.items[i], ccv[i]) for i in ev]
            if not split0:
                split0.update({"ev": ev, "methods": methods})
            for mname, vs in methods.items():
                for fname, fn in fns.items():
                    res.setdefault(f"{mname}|{fname}", []).append(fn(vs, ev))
                    if p.groups and fname == "kappa":
                        for g in sorted(set(p.groups)):
                            sel = [j for j, i in enumerate(ev) if p.groups[i] == g]
                            res.setdefault(f"{mname}|{fname} {g}", []).append(
                                fn([vs[j] for j in sel], [ev[j] for j in sel]))
        if with_cc:
            v = next(x for x in ccv if x is not None)
            p_cf_note = "; ".join(f"{k}: " + ", ".join(f"{o} {pr:.2f}" for o, pr in (x.probs or {}).items())
                                  for k, x in v.items() if k.startswith("cf"))
            print(f"  content-free answers (option probabilities): {p_cf_note}")
        for key, xs in res.items():
            mname, fname = key.split("|")
            gain = "" if mname == "zero-shot" else \
                f"   gain {spread(np.array(xs) - np.array(res[f'zero-shot|{fname}']))}"
            print(f"  {mname:24s} {fname:18s} {spread(xs)}{gain}")
            free.setdefault(key, {}).setdefault(p.name, xs)  # type: ignore[arg-type]
        boot = split0_bootstrap(split0, fns)
        out["parts"][p.name] = {"stored_zero_shot": have_zs, "stored_cc": have_cc,
                                "free": {k: list(map(float, v)) for k, v in res.items()}, "split0_bootstrap": boot}
        # few-shot on split 0
        zs_fs = {i: zs[i] for i in fs_items}
        rows = {name: stored(Judge(proto, backend), [p.items[i] for i in fs_items], store)
                for name, proto in fs[p.name].items()}
        done = [j for j, i in enumerate(fs_items) if zs_fs[i] is not None]
        print(f"  few-shot (split 0, {len(fs_items)} held-out items): stored fixed "
              f"{sum(r is not None for r in rows['fixed'])}, similar {sum(r is not None for r in rows['similar'])}, "
              f"fixed+CC {sum(r is not None for r in rows['fixedcc'])}")
        lat = {}
        for name, r in (("zero-shot", [zs_fs[i] for i in fs_items]), *rows.items()):
            ls = [x.latency_s for vs in r if vs is not None for k, x in vs.items() if not k.startswith("cf")]
            if ls:
                lat[name] = (float(np.mean(ls)), len(ls))
        if lat:
            print("  seconds per call (stored latencies, item tasks only): "
                  + "; ".join(f"{k} {m:.2f} s (n={c})" for k, (m, c) in lat.items()))
        fsres: dict[str, Any] = {"latency": lat}
        if "candidates" in base.required and done:
            idx = [fs_items[j] for j in done]
            first = [Verdict(label=p.items[i]["candidates"].split(";")[0], status="ok") for i in idx]
            fsres["first_candidate"] = {f: fn(first, idx) for f, fn in fns.items()}
            print("  first candidate (no LLM) on the few-shot items: "
                  + ", ".join(f"{f} {x:+.3f}" for f, x in fsres["first_candidate"].items()))
        for name in ("fixed", "similar", "fixedcc"):
            sel = [j for j in done if rows[name][j] is not None]
            if len(sel) < 10:
                continue
            idx = [fs_items[j] for j in sel]
            zv = [base.combine(p.items[i], zs_fs[i]) for i in idx]
            proto = fs[p.name][name]
            fv = [proto.combine(p.items[fs_items[j]], rows[name][j]) for j in sel]
            for fname, fn in fns.items():
                a = np.arange(len(idx))

                def stat(ix: np.ndarray, vs: list[Verdict] = fv, fn: Any = fn, idx: list[int] = idx) -> float:
                    ii = [int(x) for x in ix]
                    return fn([vs[x] for x in ii], [idx[x] for x in ii])

                def gain(ix: np.ndarray, fn: Any = fn, fv: list[Verdict] = fv, zv: list[Verdict] = zv,
                         idx: list[int] = idx) -> float:
                    ii = [int(x) for x in ix]
                    return fn([fv[x] for x in ii], [idx[x] for x in ii]) - fn([zv[x] for x in ii], [idx[x] for x in ii])

                ci = bootstrap_ci(stat, a, n_resamples=1000, seed=0)
                cg = bootstrap_ci(gain, a, n_resamples=1000, seed=0)
                z0 = fn(zv, idx)
                print(f"  few-shot {name:8s} k={proto.k if hasattr(proto, 'k') else args.shots} {fname:14s} "
                      f"{ci.estimate:+.3f} [{ci.low:+.3f}, {ci.high:+.3f}] on {len(idx)} items (zero-shot "
                      f"{z0:+.3f}); gain {cg.estimate:+.3f} [{cg.low:+.3f}, {cg.high:+.3f}]")
                fsres[f"{name}|{fname}"] = {"n": len(idx), "estimate": ci.estimate, "low": ci.low, "high": ci.high,
                                            "zero_shot": z0, "gain": cg.estimate, "gain_low": cg.low,
                                            "gain_high": cg.high}
        fewshot_rows[p.name] = fsres
        out["parts"][p.name]["fewshot"] = fsres
    if len(parts) > 1:  # newsroom: the mean over aspects, split by split
        print(f"\n== mean over the {len(parts)} aspects")
        for key, per in free.items():
            if len(per) != len(parts):
                continue
            mean = np.mean(np.array(list(per.values())), axis=0)
            mname, fname = key.split("|")
            zero = np.mean(np.array(list(free[f"zero-shot|{fname}"].values())), axis=0)
            gain = "" if mname == "zero-shot" else f"   gain {spread(mean - zero)}"
            print(f"  {mname:24s} {fname:18s} {spread(mean)}{gain}")
    if len(parts) > 1:
        out["aspect_stack"] = aspect_stack(parts, [zero_shot[p.name] for p in parts], sp)
    if args.dataset == "llmbar":
        published()
    if args.dataset == "newsroom":
        print("  published (JUDGE-BENCH, mean +- sd over aspects): Llama-3.1-8B 0.45 +- 0.04, Mistral-7B 0.26 +- 0.06")
    if args.dataset == "relevance":
        print("  reference (full pool): FLAN-T5-large kappa 0.227, Llama-3-8B-Instruct 0.124 (4-point)")
    return out


def aspect_stack(parts: list[Part], zs: list[list[dict[str, Verdict] | None]],
                 sp: list[tuple[list[int], list[int]]]) -> dict[str, Any]:
    """Newsroom: every aspect's human rating predicted from the judge's answers to all the aspect
    questions, (a) by the stacked jury of jurybox.stacking (a multinomial logistic regression over
    the 4 questions' option log-probabilities, fitted on the split's <= 50 labelled summaries; the
    expected rating under its probabilities is ranked) and (b) with no labels, the mean of the 4
    questions' expected scores. Spearman with the mean human rating on the held-out summaries, on
    the summaries every question has answered (``zs``: each part's stored zero-shot verdicts); the
    gain is paired with the same aspect's zero-shot."""
    from jurybox.stacking import feature_layout, feature_matrix, feature_names, fit_stack

    names = [p.name for p in parts]
    done = [i for i in range(len(parts[0].items)) if all(z[i] is not None for z in zs)]
    if len(done) < 20:
        return {}
    variants = [[z[i] or {} for i in range(len(parts[0].items))] for z in zs]
    layout = feature_layout(names, variants)
    x, _ = feature_matrix(layout, names, variants)
    feats = feature_names(layout)

    def expected(p: Part, z: list[dict[str, Verdict] | None], i: int) -> float:
        v = p.protocol.combine(p.items[i], z[i]) if z[i] is not None else None
        return np.nan if v is None or v.score is None else float(v.score)

    score = np.array([[expected(p, z, i) for i in range(len(p.items))] for p, z in zip(parts, zs, strict=True)])
    mean_score = score.mean(axis=0)
    rows: dict[str, list[float]] = {}
    ok = set(done)
    for train, ev in sp:
        tr = [i for i in train if i in ok]
        ev = [i for i in ev if i in ok]
        for j, p in enumerate(parts):
            assert p.numeric is not None
            y = [p.human[i] for i in tr]
            fit = fit_stack(x[tr], y, feats, C=1.0)
            prob = fit.predict_proba(x[ev])
            expected = prob @ np.array([float(c) for c in fit.classes])
            zero = spearman(score[j, ev], p.numeric[ev])
            for key, pred in (("stacked over the 4 questions", expected), ("mean of the 4 questions", mean_score[ev])):
                rho = spearman(pred, p.numeric[ev])
                rows.setdefault(f"{p.name}|{key}", []).append(rho)
                rows.setdefault(f"{p.name}|{key}|gain", []).append(rho - zero)
    print(f"\n== every aspect from all {len(parts)} questions ({len(done)} summaries answered by all; "
          f"{len(sp)} splits)")
    for key in ("stacked over the 4 questions", "mean of the 4 questions"):
        per = np.array([rows[f"{n}|{key}"] for n in names])
        gains = np.array([rows[f"{n}|{key}|gain"] for n in names])
        for n, r, g in zip(names, per, gains, strict=True):
            print(f"  {n:26s} {key:30s} spearman {spread(r)}   gain {spread(g)}")
        print(f"  {'mean of the aspects':26s} {key:30s} spearman {spread(per.mean(axis=0))}   "
              f"gain {spread(gains.mean(axis=0))}")
        rows[f"mean|{key}"] = per.mean(axis=0).tolist()
        rows[f"mean|{key}|gain"] = gains.mean(axis=0).tolist()
    return {k: list(map(float, v)) for k, v in rows.items()}


def published() -> None:
    from jurybox.benchdata.llmbar import ADVERSARIAL, PROCESSED, load_llmbar_evaluator

    print("  published LLMBar evaluators (Vanilla_NoRules, full sets; accuracy = statistics.json correct_average, "
          "kappa recomputed from result.json, both orders as rows):")
    for ev in ("GPT-4", "ChatGPT", "LLaMA2", "PaLM2"):
        line = []
        for gname, sets in (("Adversarial", ADVERSARIAL), ("Processed", PROCESSED)):
            accs, judge, gold = [], [], []
            for s in sets:
                from jurybox.benchdata.llmbar import LLMBAR_SETS

                st = json.loads((DATA / "llmbar" / LLMBAR_SETS[s] / "evaluators" / ev / "Vanilla_NoRules" /
                                 "statistics.json").read_text())
                accs.append(float(str(st["correct_average"]).rstrip("%")) / 100)
                df = load_llmbar_evaluator(DATA / "llmbar", s, ev)
                for col in ("winner_unswapped", "winner_swapped"):
                    judge += df[col].tolist()
                    gold += df["gold"].tolist()
            ok = [(j, g) for j, g in zip(judge, gold, strict=True) if j is not None]
            k = cohen_kappa([j for j, _ in ok], [g for _, g in ok], labels=["A", "B"])
            line.append(f"{gname} accuracy {np.mean(accs):.3f} kappa {k:+.3f}")
        print(f"    {ev:8s} " + "; ".join(line))


if __name__ == "__main__":
    raise SystemExit(main())
