"""Newsroom (JUDGE-BENCH packaging): the judge as a rater, ACORN's three protocols.

Run: ``flock /tmp/jurybox-model.lock python bench/newsroom_rater.py [--articles N] [--budget-min 19]``.

420 (article, summary) pairs x 4 aspects (Informativeness, Relevance, Fluency, Coherence), each
rated 1-5 by 3 crowd workers. The judge is jurybox's ``score`` protocol (scale 1-5, the default
rubric) with the JUDGE-BENCH question of each aspect as its criteria, through the engine and the
store, on qwen2.5-coder-1.5b. The template (``bench/templates/newsroom-score.j2``) puts the
article before the summary and the aspect question last, and the tasks are ordered article by
article, summary by summary, aspect by aspect, so the KV cache evaluates each article once and
each summary once for its 4 aspects.

Per aspect: (b) Spearman of the judge's expected score (and of its most probable score) with the
mean human rating, the JUDGE-BENCH comparison (published rows: Llama-3.1-8B 0.45 +- 0.04,
Mistral-7B 0.26 +- 0.06, mean +- sd over the 4 aspects); (a) interval Krippendorff's alpha of the
3 humans and with each one replaced by the judge's most probable score; (c) pools of 1 and 2
humans with and without the judge against the full pool's mean and against the held-out
raters' mean. 95% percentile bootstrap intervals over summaries (1,000 resamples).

Resumable: ``--budget-min`` stops starting new articles after that many minutes; a rerun makes no
model calls for what is stored. ``--articles N`` uses N articles (all of their summaries), chosen
with a fixed seed (the first N of a seeded permutation, so subsets are nested).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from jurybox.backends.registry import get_backend
from jurybox.engine import Judge, build_tasks, run_tasks
from jurybox.protocols.simple import Score
from jurybox.stats.rater import judge_vs_humans, reduced_pool, replace_rater_alpha
from jurybox.store import Store
from jurybox.types import BackendResult, Task, Verdict

HERE = Path(__file__).resolve().parents[1]
ASPECTS = ("Informativeness", "Relevance", "Fluency", "Coherence")
PUBLISHED = {"Llama-3.1-8B": (0.45, 0.04), "Mistral-7B": (0.26, 0.06)}


def load(path: Path) -> tuple[list[dict[str, Any]], dict[str, str]]:
    d = json.loads(path.read_text())
    questions = {}
    for a in d["annotations"]:
        q = a["prompt"].split("\n\n{{ instance }}")[0].replace("On a scale of 1 (low) to 5 (high), ", "")
        questions[a["metric"]] = q[0].upper() + q[1:]
    rows = []
    for inst in d["instances"]:
        text = inst["instance"]
        summary, article = text.split("### Source Article", 1)
        summary = summary.replace("### Generated Summary", "").strip()
        rows.append({"id": inst["id"], "summary": summary, "article": article.strip(),
                     "human": {a: inst["annotations"][a]["individual_human_scores"] for a in ASPECTS},
                     "mean": {a: inst["annotations"][a]["mean_human"] for a in ASPECTS}})
    return rows, questions


def _iv(iv: Any) -> str:
    return "n/a" if iv is None else f"{iv.estimate:+.3f} [{iv.low:+.3f}, {iv.high:+.3f}]"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(HERE.parent / "shared" / "data" / "newsroom" / "newsroom.json"))
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--n-ctx", type=int, default=6144, help="context window (the longest article needs ~4k tokens)")
    ap.add_argument("--threads", type=int, default=1, help="llama.cpp threads (1 on a shared machine)")
    ap.add_argument("--articles", type=int, default=None, help="use N articles (all their summaries)")
    ap.add_argument("--store", default=str(HERE / ".jurybox" / "bench-newsroom.sqlite"))
    ap.add_argument("--budget-min", type=float, default=19.0)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    rows, questions = load(Path(args.data))
    articles = list(dict.fromkeys(r["article"] for r in rows))
    if args.articles is not None:
        # the first N of a seeded permutation: a larger N keeps the smaller subset's articles (and tasks)
        keep = set(np.random.default_rng(0).permutation(len(articles))[: args.articles].tolist())
        articles = [a for i, a in enumerate(articles) if i in keep]
    order = {a: i for i, a in enumerate(articles)}
    rows = sorted((r for r in rows if r["article"] in order), key=lambda r: (order[r["article"]], r["id"]))
    items = [{"instruction": r["article"], "response": r["summary"]} for r in rows]

    local = not args.model.startswith(("scripted", "openai:"))
    backend = get_backend(args.model, **({"n_ctx": args.n_ctx, "n_threads": args.threads} if local else {}))
    template = str(HERE / "bench" / "templates" / "newsroom-score.j2")
    judges = {a: Judge(Score(criteria=questions[a], template=template), backend, f"newsroom:{a}") for a in ASPECTS}
    per_item = {a: build_tasks(j, items)[1] for a, j in judges.items()}

    def interpret(task: Task, result: BackendResult) -> Verdict:
        return judges[task.judge_name.removeprefix("newsroom:")].protocol.interpret(task.variant, result)

    t0 = time.perf_counter()
    deadline = t0 + 60 * args.budget_min
    verdicts: dict[str, Verdict] = {}
    calls = 0
    stopped = False
    with Store(args.store) as st:
        for art in articles:
            idx = [i for i, r in enumerate(rows) if r["article"] == art]
            tasks = [t for i in idx for a in ASPECTS for t in per_item[a][i]]
            todo_before = calls
            if time.perf_counter() > deadline:
                stopped = True
                break
            got, stats = run_tasks(tasks, backend, st, interpret, description="newsroom")
            verdicts.update(got)
            calls += stats.model_calls
            if calls > todo_before:
                el = time.perf_counter() - t0
                print(f"  article {order[art] + 1}/{len(articles)}: {stats.model_calls} calls, {el:.0f} s so far",
                      file=sys.stderr, flush=True)
    wall = time.perf_counter() - t0
    if stopped:
        print(f"stopped at the time budget: {calls} model calls in {wall:.0f} s; rerun to continue")
        return 0
    print(f"{len(rows)} summaries of {len(articles)} articles x {len(ASPECTS)} aspects = {len(rows) * 4} tasks; "
          f"{calls} model calls in this run ({wall:.0f} s)")
    out: dict[str, Any] = {"n_summaries": len(rows), "n_articles": len(articles), "model_calls_this_run": calls,
                           "aspects": {}}
    rhos = []
    for a in ASPECTS:
        vs = [verdicts[per_item[a][i][0].key] for i in range(len(rows))]
        ok = [v.status == "ok" for v in vs]
        human = np.array([r["human"][a] for r in rows], dtype=float)
        score = np.array([v.score if v.status == "ok" else np.nan for v in vs], dtype=float)
        label = np.array([float(v.label) if v.label is not None else np.nan for v in vs], dtype=float)
        keep = ~np.isnan(score)
        b_score = judge_vs_humans(human[keep], score[keep], n_resamples=args.resamples)
        b_label = judge_vs_humans(human[keep], label[keep], n_resamples=args.resamples)
        a_res = replace_rater_alpha(human[keep], label[keep], n_resamples=args.resamples)
        c_res = reduced_pool(human[keep], label[keep], sizes=(1, 2), n_resamples=args.resamples)
        rhos.append(b_score.estimate)
        mean_check = np.array([r["mean"][a] for r in rows])[keep]
        assert np.allclose(human[keep].mean(axis=1), mean_check, atol=0.006)  # the file's mean_human, rounded
        print(f"\n== {a} ({int(keep.sum())} of {len(rows)} read; {sum(not x for x in ok)} unparsed or failed)")
        print(f"(b) Spearman with the mean human rating: expected score {_iv(b_score)}; most probable score "
              f"{_iv(b_label)}")
        print(f"(a) alpha (interval) of the 3 humans {_iv(a_res.humans)}; one human replaced by the judge: "
              + ", ".join(_iv(r) for r in a_res.replaced) + f"; mean {_iv(a_res.mean_replaced)}; "
              f"difference {_iv(a_res.difference)}")
        for c in c_res:
            print(f"(c) {c.k} human(s) [{c.n_subsets} subsets] vs the full pool: alone {_iv(c.pool)}, with the judge "
                  f"{_iv(c.pool_judge)}, gain {_iv(c.gain)}; vs the held-out raters: alone {_iv(c.heldout_pool)}, "
                  f"with the judge {_iv(c.heldout_pool_judge)}, gain {_iv(c.heldout_gain)}")
        out["aspects"][a] = {"spearman_score": b_score.to_dict(), "spearman_label": b_label.to_dict(),
                             "alpha": a_res.to_dict(), "pools": [c.to_dict() for c in c_res],
                             "n_read": int(keep.sum())}
    m, sd = float(np.mean(rhos)), float(np.std(rhos, ddof=1))
    print(f"\nSpearman (expected score) mean +- sd over the 4 aspects: {m:.2f} +- {sd:.2f}; published (JUDGE-BENCH): "
          + ", ".join(f"{k} {v[0]:.2f} +- {v[1]:.2f}" for k, v in PUBLISHED.items()))
    out["spearman_mean_sd"] = [m, sd]
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
