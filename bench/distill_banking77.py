"""From LLM labels to a cheap classifier on BANKING77 (77 intents, 10,003 train / 3,080 test texts).

    python bench/distill_banking77.py STAGE [STAGE...] [--work .jurybox/bench-banking77] [--max-minutes 14]

Stages without the LLM (no lock needed):
  embed       all-MiniLM-L6-v2 (int8 ONNX) embeddings of train and test, cached; texts/s
  kmeans      k-means (k=77, and k=the induced taxonomy's size when there is one) on the test embeddings:
              ARI, NMI, purity against the human intents, over 5 seeds
  ceiling     the student trained on N human labels (N random, 5 seeds), minilm and tfidf: test accuracy
  oracle      the selection strategies with the human label as the teacher (confidence 1), N in 250..2000
  throughput  the student's texts/s (embedding + logistic regression) on the test split
  report      print everything measured so far

Stages with the LLM (run each under `flock /tmp/jurybox-model.lock`; every call goes through the store, so a
rerun makes no calls for what is done and a stage stopped by --max-minutes continues where it stopped):
  llm-cost    20 test items: seconds per item for the 77 names scored as multi-token options (classify,
              5 items) and for two-letter codes in one forward pass (classify_codes, 20 items)
  llm-test    classify_codes labels for a fixed random sample of --test-n test items: LLM accuracy
  llm-pool    classify_codes labels for a fixed random pool of --pool-n train items (the teacher's pool)
  curves      student trained on N LLM labels chosen from the pool by random / LLKD / Locle (no new calls)
  taxonomy    TnT-LLM taxonomy on --tax-sample train texts, then classify_codes labels for the llm-test
              sample with the induced labels: ARI, NMI, purity against the human intents

Results accumulate in WORK/results.json; `report` prints them.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "banking77"
MODEL = "qwen2.5-coder-1.5b"
NS = (250, 500, 1000, 2000)
SEEDS = (0, 1, 2, 3, 4)
T_START = time.perf_counter()  # --max-minutes counts from here: one hold of the model lock for all LLM stages


# -- small helpers ------------------------------------------------------------------------------

def wilson(k: int, n: int) -> tuple[float, float, float]:
    from jurybox.stats import wilson_interval

    iv = wilson_interval(int(k), int(n))
    return iv.estimate, iv.low, iv.high


def seed_interval(values: list[float]) -> dict[str, float]:
    """Mean over seeds with a 95% t interval (the spread of the seeds, not of the test set)."""
    from scipy.stats import t

    v = np.asarray(values, dtype=float)
    m = float(v.mean())
    if len(v) < 2:
        return {"mean": m, "low": m, "high": m, "n_seeds": len(v)}
    h = float(t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return {"mean": m, "low": m - h, "high": m + h, "n_seeds": len(v)}


class Work:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.results_file = path / "results.json"
        self.results = json.loads(self.results_file.read_text()) if self.results_file.exists() else {}

    def save(self, key: str, value: object) -> None:
        import os

        from jurybox.atomic import atomic_write

        if isinstance(value, dict):  # the machine is shared: say how loaded it was when this was measured
            value = {**value, "load_average_1min": os.getloadavg()[0]}
        self.results[key] = value
        with atomic_write(self.results_file, "w") as f:
            json.dump(self.results, f, indent=1)

    @property
    def store(self) -> Path:
        return self.path / "verdicts.sqlite"


def load() -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    train = pd.read_csv(DATA / "train.csv")
    test = pd.read_csv(DATA / "test.csv")
    names = json.loads((DATA / "categories.json").read_text())
    return train, test, names


def embeddings(work: Work, train: pd.DataFrame, test: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    cache = work.path / "minilm.npz"
    if cache.exists():
        z = np.load(cache)
        return z["train"], z["test"]
    from jurybox.distill.embeddings import MiniLM

    m = MiniLM()
    t0 = time.perf_counter()
    e_test = m.embed(test.text.tolist())
    dt_test = time.perf_counter() - t0
    cut_test = m.n_truncated
    t0 = time.perf_counter()
    e_train = m.embed(train.text.tolist())
    dt_train = time.perf_counter() - t0
    np.savez(cache, train=e_train, test=e_test)
    one = []
    for text in test.text.tolist()[:200]:
        s = time.perf_counter()
        m.embed([text])
        one.append(time.perf_counter() - s)
    work.save("embed", {"model": m.name, "threads": m.session.get_session_options().intra_op_num_threads,
                        "test_texts_per_s": len(test) / dt_test, "train_texts_per_s": len(train) / dt_train,
                        "one_text_median_ms": 1000 * float(np.median(one)), "truncated": cut_test + m.n_truncated})
    return e_train, e_test


def fit_predict(Xtr, ytr, Xte, *, weights=None, n_classes=77, C=10.0):  # type: ignore[no-untyped-def]
    """Train the jurybox student (logistic regression) and give test probabilities (77 columns)."""
    from jurybox.distill.student import fit_logreg, predict_proba_linear

    ytr = np.asarray(ytr)
    coef, b = fit_logreg(Xtr, ytr, C=C, sample_weight=weights, max_iter=300)
    present = np.unique(ytr)
    if len(present) < n_classes:
        if coef.shape[0] == 1:
            coef, b = np.vstack([-coef[0] / 2, coef[0] / 2]), np.array([-b[0] / 2, b[0] / 2])
        full_c, full_b = np.zeros((n_classes, coef.shape[1])), np.full(n_classes, -1e4)
        full_c[present], full_b[present] = coef, b
        coef, b = full_c, full_b
    return predict_proba_linear(Xte, coef, b)


# -- stages without the LLM ---------------------------------------------------------------------

def stage_embed(work: Work, a: argparse.Namespace) -> None:
    train, test, _ = load()
    embeddings(work, train, test)
    print("embed:", work.results["embed"])


def stage_kmeans(work: Work, a: argparse.Namespace) -> None:
    from sklearn.cluster import KMeans

    from jurybox.taxonomy.metrics import cluster_agreement

    train, test, _ = load()
    _, e_test = embeddings(work, train, test)
    ks = [77]
    induced = work.results.get("taxonomy", {}).get("n_labels")
    if induced:
        ks.append(int(induced))
    sample_rows = work.results.get("llm_test", {}).get("rows")
    out = {}
    for k in ks:
        for where, rows in (("test", np.arange(len(test))), ("llm_test_sample", sample_rows)):
            if rows is None:
                continue
            rows = np.asarray(rows)
            per = [cluster_agreement(KMeans(k, n_init=3, random_state=s).fit_predict(e_test[rows]).tolist(),
                                     test.category.values[rows].tolist()) for s in SEEDS]
            out[f"k{k}_{where}"] = {m: seed_interval([getattr(p, m) for p in per]) for m in ("ari", "nmi", "purity")}
            out[f"k{k}_{where}"]["n"] = len(rows)
            print(f"kmeans k={k} on {where} ({len(rows)} items):",
                  {m: round(v["mean"], 3) for m, v in out[f"k{k}_{where}"].items() if isinstance(v, dict)})
    work.save("kmeans", out)


def stage_ceiling(work: Work, a: argparse.Namespace) -> None:
    from jurybox.distill.embeddings import Tfidf

    train, test, names = load()
    e_train, e_test = embeddings(work, train, test)
    idx = {n: i for i, n in enumerate(names)}
    ytr = train.category.map(idx).values
    yte = test.category.map(idx).values
    out: dict[str, dict[str, object]] = {"minilm": {}, "tfidf": {}}
    for N in (*NS, len(train)):
        for emb in ("minilm", "tfidf"):
            accs = []
            for s in SEEDS if N < len(train) else (0,):
                rows = np.random.default_rng(s).choice(len(train), N, replace=False)
                if emb == "minilm":
                    Xtr, Xte = e_train[rows], e_test
                else:
                    t = Tfidf()
                    t.fit(train.text.values[rows].tolist())
                    Xtr, Xte = t.embed(train.text.values[rows].tolist()), t.embed(test.text.tolist())
                p = fit_predict(Xtr, ytr[rows], Xte)
                accs.append(float((p.argmax(1) == yte).mean()))
            k = int(round(accs[0] * len(test)))
            out[emb][str(N)] = {"seeds": seed_interval(accs), "wilson_seed0": wilson(k, len(test))}
            print(f"ceiling {emb} N={N}: accuracy {np.mean(accs):.3f} over {len(accs)} seed(s) {np.round(accs, 3)}")
    work.save("ceiling", out)


#: (name, strategy, init_fraction): Locle with its default half of the budget on k-means medoids, and
#: "medoids", the whole budget on the coverage step (no uncertainty rounds)
VARIANTS = (("random", "random", 0.2), ("llkd", "llkd", 0.2), ("locle", "locle", 0.5), ("medoids", "locle", 1.0))


def run_curve(X: np.ndarray, labels: list[str | None], conf: list[float | None], names: list[str],
              e_test: np.ndarray, yte: np.ndarray, N: int, strategy: str, seed: int, init: float) -> float:
    from jurybox.distill.selection import select_and_label

    idx = {n: i for i, n in enumerate(names)}

    def teacher(rows):  # type: ignore[no-untyped-def]
        return [labels[r] for r in rows], [conf[r] for r in rows]

    def train_predict(rows, ys, ws):  # type: ignore[no-untyped-def]
        return fit_predict(X[rows], [idx[y] for y in ys], X, weights=ws)

    sel = select_and_label(strategy, X, N, teacher, train_predict, rounds=3, seed=seed, init_fraction=init)
    rows, ys, ws = sel.training_set()
    p = fit_predict(X[np.array(rows)], [idx[y] for y in ys], e_test,
                    weights=np.array(ws) if strategy == "llkd" else None)
    return float((p.argmax(1) == yte).mean())


def curves(work: Work, key: str, X: np.ndarray, labels: list[str | None], conf: list[float | None], Ns: list[int],
           seeds: tuple[int, ...]) -> None:
    train, test, names = load()
    _, e_test = embeddings(work, train, test)
    yte = test.category.map({n: i for i, n in enumerate(names)}).values
    out = work.results.get(key, {})
    for N in Ns:
        for vname, strategy, init in VARIANTS:
            name = f"{vname}@{N}"
            if name in out and out[name].get("n_seeds_done") == len(seeds):
                continue
            t0 = time.perf_counter()
            accs = [run_curve(X, labels, conf, names, e_test, yte, N, strategy, s, init) for s in seeds]
            out[name] = {"accuracy": seed_interval(accs), "per_seed": accs, "n_seeds_done": len(seeds),
                         "seconds": time.perf_counter() - t0}
            print(f"{key} {name}: {np.mean(accs):.3f} {np.round(accs, 3)} ({time.perf_counter() - t0:.0f} s)",
                  flush=True)
            work.save(key, out)
        for strategy in ("llkd", "locle", "medoids"):
            d = np.array(out[f"{strategy}@{N}"]["per_seed"]) - np.array(out[f"random@{N}"]["per_seed"])
            out[f"{strategy}-minus-random@{N}"] = seed_interval(d.tolist())
        work.save(key, out)


def stage_oracle(work: Work, a: argparse.Namespace) -> None:
    train, test, names = load()
    e_train, _ = embeddings(work, train, test)
    labels = train.category.tolist()
    curves(work, "oracle_curves", e_train, labels, [1.0] * len(labels), list(NS), SEEDS[: a.seeds])


def stage_throughput(work: Work, a: argparse.Namespace) -> None:
    from jurybox.distill.embeddings import MiniLM
    from jurybox.distill.student import train_student

    train, test, _ = load()
    rows = np.random.default_rng(0).choice(len(train), 2000, replace=False)
    m = MiniLM()
    e_train, _ = embeddings(work, train, test)
    s = train_student(train.text.values[rows].tolist(), train.category.values[rows].tolist(), m, X=e_train[rows])
    texts = test.text.tolist()
    t0 = time.perf_counter()
    p = s.predict_proba(texts)
    batch = time.perf_counter() - t0
    one = []
    for text in texts[:200]:
        t1 = time.perf_counter()
        s.predict_proba([text])
        one.append(time.perf_counter() - t1)
    acc = float((np.array(s.labels)[p.argmax(1)] == test.category.values).mean())
    from jurybox.distill.embeddings import Tfidf

    tf = train_student(train.text.values[rows].tolist(), train.category.values[rows].tolist(), Tfidf())
    t0 = time.perf_counter()
    p_tf = tf.predict_proba(texts)
    batch_tf = time.perf_counter() - t0
    one_tf = []
    for text in texts[:200]:
        t1 = time.perf_counter()
        tf.predict_proba([text])
        one_tf.append(time.perf_counter() - t1)
    acc_tf = float((np.array(tf.labels)[p_tf.argmax(1)] == test.category.values).mean())
    work.save("throughput", {"student_texts_per_s_batch": len(texts) / batch,
                             "student_one_text_median_ms": 1000 * float(np.median(one)),
                             "accuracy_check_2000_human": acc,
                             "tfidf_student_texts_per_s_batch": len(texts) / batch_tf,
                             "tfidf_student_one_text_median_ms": 1000 * float(np.median(one_tf)),
                             "tfidf_accuracy_check_2000_human": acc_tf})
    print("throughput:", work.results["throughput"])


# -- stages with the LLM ------------------------------------------------------------------------

def judge_rows(work: Work, texts: list[str], spec, max_minutes: float, chunk: int = 25,  # type: ignore[no-untyped-def]
               candidates: list[list[str]] | None = None):
    """Judge ``texts`` (with their ``candidates`` for the shortlist protocol) in chunks through the
    store; stop starting chunks ``max_minutes`` after the script started."""
    from jurybox.api import run_judge

    t0 = T_START
    verdicts, calls, cached, wall_calls = [], 0, 0, 0.0
    for start in range(0, len(texts), chunk):
        if (time.perf_counter() - t0) / 60 > max_minutes:
            print(f"stopping after {start} of {len(texts)} items (--max-minutes {max_minutes}); rerun to continue")
            return verdicts, calls, cached, wall_calls, False
        sub = pd.DataFrame({"text": texts[start:start + chunk]})
        if candidates is not None:
            sub["candidates"] = [";".join(c) for c in candidates[start:start + chunk]]
        res = run_judge(sub, spec, store=work.store)
        verdicts.extend(res.verdicts)
        calls += res.stats.model_calls
        cached += res.stats.n_cached
        wall_calls += sum(v.latency_s for v in res.verdicts if res.stats.model_calls)
        print(f"  {start + len(sub)}/{len(texts)} items, {calls} calls this run", flush=True)
    return verdicts, calls, cached, wall_calls, True


SHORTLIST_K = 10


def shortlist_spec(names: list[str]):  # type: ignore[no-untyped-def]
    from jurybox.spec import JudgeSpec

    return JudgeSpec("classify_shortlist", {"labels": names, "criteria": "These are customer questions to a bank."},
                     model=MODEL)


def shortlists(work: Work, split: str, rows, names: list[str]) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """The top-SHORTLIST_K intents by MiniLM similarity between the text and the intent name."""
    from jurybox.distill.api import shortlist
    from jurybox.distill.embeddings import MiniLM

    train, test, _ = load()
    e_train, e_test = embeddings(work, train, test)
    E = (e_train if split == "train" else e_test)[np.asarray(rows)]
    texts = (train if split == "train" else test).text.values[np.asarray(rows)].tolist()
    return shortlist(texts, names, k=SHORTLIST_K, embedder=MiniLM(threads=1), text_embeddings=E)


def label_sample(work: Work, split: str, rows, names: list[str], max_minutes: float):  # type: ignore[no-untyped-def]
    """The chosen LLM labelling (classify_shortlist over the top-10 MiniLM intents) of ``rows``."""
    train, test, _ = load()
    df = train if split == "train" else test
    cands = shortlists(work, split, rows, names)
    return judge_rows(work, df.text.values[np.asarray(rows)].tolist(), shortlist_spec(names), max_minutes,
                      candidates=cands), cands


def codes_spec(names: list[str]):  # type: ignore[no-untyped-def]
    from jurybox.spec import JudgeSpec

    return JudgeSpec("classify_codes", {"labels": names, "criteria": "These are customer questions to a bank."},
                     model=MODEL)


def stage_llm_cost(work: Work, a: argparse.Namespace) -> None:
    from jurybox.spec import JudgeSpec

    train, test, names = load()
    rows = np.random.default_rng(123).choice(len(test), 20, replace=False)
    texts, gold = test.text.values[rows].tolist(), test.category.values[rows].tolist()
    out = {}
    cands = shortlists(work, "test", rows, names)
    out["shortlist_recall_at_10"] = float(np.mean([g in c for g, c in zip(gold, cands)]))
    out["embedding_top1_accuracy"] = float(np.mean([g == c[0] for g, c in zip(gold, cands)]))
    for key, spec, n in (("classify_codes", codes_spec(names), 20),
                         ("classify_names", JudgeSpec("classify", {"labels": names}, model=MODEL), 5),
                         ("classify_shortlist", shortlist_spec(names), 20)):
        t0 = time.perf_counter()
        vs, calls, cached, _, _ = judge_rows(work, texts[:n], spec, a.max_minutes, chunk=n,
                                             candidates=cands if key == "classify_shortlist" else None)
        wall = time.perf_counter() - t0
        if len(vs) < n:
            print(f"{key}: stopped by --max-minutes after {len(vs)} items")
            continue
        lat = [v.latency_s for v in vs]
        acc = sum(v.label == g for v, g in zip(vs, gold)) / n
        out[key] = {"n": n, "model_calls": calls, "from_store": cached, "median_s_per_item": float(np.median(lat)),
                    "mean_s_per_item": float(np.mean(lat)), "accuracy": acc, "wall_s": wall,
                    "method": vs[0].extra.get("method")}
        print(key, out[key], flush=True)
    prev = work.results.get("llm_cost", {})
    work.save("llm_cost", {**prev, **{k: v for k, v in out.items()
                                      if not isinstance(v, dict) or v["model_calls"] or k not in prev}})


def stage_llm_test(work: Work, a: argparse.Namespace) -> None:
    train, test, names = load()
    rows = np.random.default_rng(7).choice(len(test), a.test_n, replace=False)
    (vs, calls, cached, wall, done), cands = label_sample(work, "test", rows, names, a.max_minutes)
    gold = test.category.values[rows][: len(vs)]
    k = sum(v.label == g for v, g in zip(vs, gold))
    conf = [max(v.probs.values()) if v.probs else None for v in vs]
    work.save("llm_test", {"rows": rows[: len(vs)].tolist(), "n": len(vs), "complete": done, "model_calls": calls,
                           "from_store": cached, "accuracy_wilson": wilson(k, len(vs)),
                           "labels": [v.label for v in vs], "confidence": conf, "method": "classify_shortlist",
                           "shortlist_recall": float(np.mean([g in c for g, c in zip(gold, cands)])),
                           "embedding_top1_wilson": wilson(sum(g == c[0] for g, c in zip(gold, cands)), len(vs)),
                           "s_per_call": wall / calls if calls else None,
                           "unparsed": sum(v.status != "ok" for v in vs)})
    print(f"LLM accuracy on {len(vs)} test items: {wilson(k, len(vs))}; {calls} calls, {cached} from the store")


def stage_llm_pool(work: Work, a: argparse.Namespace) -> None:
    train, test, names = load()
    rows = np.random.default_rng(11).choice(len(train), a.pool_n, replace=False)
    (vs, calls, cached, wall, done), _ = label_sample(work, "train", rows, names, a.max_minutes)
    if len(vs) < work.results.get("llm_pool", {}).get("n", 0):
        print("fewer items than the pool already saved; keeping the saved one")
        return
    gold = train.category.values[rows][: len(vs)]
    k = sum(v.label == g for v, g in zip(vs, gold))
    work.save("llm_pool", {"rows": rows[: len(vs)].tolist(), "n": len(vs), "complete": done, "model_calls": calls,
                           "from_store": cached, "labels": [v.label for v in vs],
                           "confidence": [max(v.probs.values()) if v.probs else None for v in vs],
                           "teacher_accuracy_vs_human_wilson": wilson(k, len(vs)),
                           "s_per_call": wall / calls if calls else None})
    print(f"pool of {len(vs)} LLM-labelled train items; teacher accuracy vs human {wilson(k, len(vs))}")


def stage_curves(work: Work, a: argparse.Namespace) -> None:
    train, test, names = load()
    e_train, e_test = embeddings(work, train, test)
    pool = work.results.get("llm_pool")
    if not pool or pool.get("n", 0) < 40:
        sys.exit("run llm-pool first (at least 40 LLM-labelled train items)")
    rows = np.asarray(pool["rows"])
    X = e_train[rows]
    labels = pool["labels"]
    conf = pool["confidence"]
    Ns = [n for n in (100, 250, 500, 1000, 2000) if n <= len(rows) // 2] or [len(rows) // 2]
    curves(work, "llm_curves", X, labels, conf, Ns, SEEDS[: a.seeds])
    # all of the pool's LLM labels, and the same rows with human labels: the student's ceiling here
    idx = {n: i for i, n in enumerate(names)}
    yte = test.category.map(idx).values
    ok = [i for i, y in enumerate(labels) if y is not None]
    p = fit_predict(X[ok], [idx[labels[i]] for i in ok], e_test)
    p_h = fit_predict(X, [idx[c] for c in train.category.values[rows]], e_test)
    k, kh = int((p.argmax(1) == yte).sum()), int((p_h.argmax(1) == yte).sum())
    llm_rows = work.results.get("llm_test", {}).get("rows")
    extra = {}
    if llm_rows:
        sub = np.asarray(llm_rows)
        extra["student_on_llm_test_sample"] = wilson(int((p.argmax(1)[sub] == yte[sub]).sum()), len(sub))
    out = work.results.get("llm_curves", {})
    out["whole_pool"] = {"n": len(ok), "student_llm_labels_wilson": wilson(k, len(yte)),
                         "student_human_labels_same_rows_wilson": wilson(kh, len(yte)), **extra}
    work.save("llm_curves", out)
    print("whole pool:", out["whole_pool"])


def stage_taxonomy(work: Work, a: argparse.Namespace) -> None:
    from jurybox.backends.registry import get_backend
    from jurybox.spec import JudgeSpec
    from jurybox.taxonomy.generate import generate_taxonomy, write_taxonomy
    from jurybox.taxonomy.metrics import cluster_agreement

    train, test, names = load()
    t0 = time.perf_counter()
    res = generate_taxonomy(train.text.tolist(), use_case="route customer questions to a bank's support teams by "
                            "what the customer wants", backend=get_backend(MODEL), store=work.store,
                            sample=a.tax_sample, batch=a.tax_batch, max_labels=a.tax_max, seed=0,
                            summarise=a.tax_summarise, progress=False)
    tax_path = write_taxonomy(res, work.path / "taxonomy.yaml")
    gen_s = time.perf_counter() - t0
    print(f"taxonomy: {len(res.labels)} labels, {res.model_calls} calls, {res.from_store} from the store, "
          f"{gen_s:.0f} s; {tax_path}")
    test_rows = work.results.get("llm_test", {}).get("rows")
    if not test_rows:
        sys.exit("run llm-test first (the taxonomy is scored on the same test sample)")
    spec = JudgeSpec("classify_codes", {"taxonomy": str(tax_path),
                                        "criteria": "These are customer questions to a bank."}, model=MODEL)
    vs, calls, cached, wall, done = judge_rows(work, test.text.values[test_rows].tolist(), spec, a.max_minutes)
    gold = test.category.values[test_rows][: len(vs)].tolist()
    if not vs:
        print("no time left to label the test sample with the induced taxonomy; rerun the stage to continue")
        return
    agree = cluster_agreement([v.label for v in vs], gold)
    work.save("taxonomy", {"n_labels": len(res.labels), "labels": res.labels, "generation_calls": res.model_calls,
                           "generation_from_store": res.from_store, "unparsed_steps": res.n_unparsed,
                           "sample": a.tax_sample, "batch": a.tax_batch, "max_labels": a.tax_max,
                           "summarise": a.tax_summarise, "labelling_calls": calls, "labelled": len(vs),
                           "complete": done, "agreement": agree.to_dict()})
    print("taxonomy vs human intents:", agree.to_dict())


def stage_report(work: Work, a: argparse.Namespace) -> None:
    print(json.dumps({k: v for k, v in work.results.items()
                      if k not in ("llm_pool", "llm_test")} | {
        k: {kk: vv for kk, vv in work.results[k].items() if kk not in ("rows", "labels", "confidence")}
        for k in ("llm_pool", "llm_test") if k in work.results}, indent=1))


STAGES = {"embed": stage_embed, "kmeans": stage_kmeans, "ceiling": stage_ceiling, "oracle": stage_oracle,
          "throughput": stage_throughput, "llm-cost": stage_llm_cost, "llm-test": stage_llm_test,
          "llm-pool": stage_llm_pool, "curves": stage_curves, "taxonomy": stage_taxonomy, "report": stage_report}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("stages", nargs="+", choices=sorted(STAGES))
    ap.add_argument("--work", default=str(ROOT / ".jurybox" / "bench-banking77"))
    ap.add_argument("--max-minutes", type=float, default=14.0, help="LLM stages stop starting chunks after this")
    ap.add_argument("--test-n", type=int, default=300)
    ap.add_argument("--pool-n", type=int, default=1000)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--tax-sample", type=int, default=100)
    ap.add_argument("--tax-batch", type=int, default=25)
    ap.add_argument("--tax-max", type=int, default=25)
    ap.add_argument("--tax-summarise", action="store_true", help="summarise each text first (off: one-line queries)")
    a = ap.parse_args()
    work = Work(Path(a.work))
    for s in a.stages:
        STAGES[s](work, a)


if __name__ == "__main__":
    main()
