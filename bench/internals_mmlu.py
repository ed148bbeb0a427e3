"""QK-score heads and the CLUE verifier against letter scoring on MMLU (../shared/data/mmlu).

One forward pass per question on the transformers backend (the mcqa protocol's 0-shot letter
prompt in the chat template; QK-scores of every head at every option line's last token, the letter
distribution, and the hidden states where each one-letter answer starts and ends), stored in
``.jurybox/bench-internals.sqlite``; resumable: a rerun (or ``--report-only``) makes 0 model calls
for the questions already done, and ``--max-minutes`` stops a hold between chunks.

Questions: ``--per-subject N`` drawn at random (seed 0) from each subject's test file, asked
round-robin over the subjects, so the questions done so far are balanced whenever a hold stops. The split (validation 30%: head selection and CLUE's experience; test
70%: every number reported) is seeded too.

    flock /tmp/jurybox-model.lock python bench/internals_mmlu.py --per-subject 60 --max-minutes 12
    python bench/internals_mmlu.py --per-subject 60 --report-only
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from jurybox.backends.store_only import StoreOnlyBackend
from jurybox.errors import JuryboxError
from jurybox.internals.exam import exam_report, exam_requests, stack
from jurybox.internals.runner import run_internals
from jurybox.mcqa.data import read_mcqa
from jurybox.store import Store

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mmlu"
SUBJECTS = ("clinical_knowledge", "college_medicine", "computer_security", "high_school_biology", "marketing")


def load(per_subject: int, seed: int) -> pd.DataFrame:
    frames = []
    for s in SUBJECTS:
        df = pd.read_csv(DATA / f"{s}_test.csv")
        idx = np.sort(np.random.default_rng(seed).choice(len(df), size=min(per_subject, len(df)), replace=False))
        part = df.iloc[idx].copy()
        part["subject"] = s
        part["rank"] = np.arange(len(part))
        frames.append(part)
    # round-robin over the subjects, so that the questions done after any hold are balanced
    both = pd.concat(frames, ignore_index=True)
    return both.sort_values(["rank", "subject"], kind="stable").drop(columns="rank").reset_index(drop=True)


def compare_llama_cpp(a: argparse.Namespace, df: pd.DataFrame, f, *, val_fraction: float, seed: int) -> dict:  # noqa: ANN001
    """Letter scoring of the same questions and prompts by the embedded (llama.cpp) backend, from
    bench/mmlu.py's store only: agreement with the transformers letter answers and accuracy on the
    same test questions (None when the store lacks them)."""
    sys.path.insert(0, str(Path(__file__).parent))

    from jurybox.internals.exam import split
    from jurybox.mcqa import run_mcqa
    from jurybox.stats import wilson_interval

    if not Path(a.compare_store).is_file():
        return {"available": False}
    try:
        cpp_only = StoreOnlyBackend.embedded(a.model, 4096, hint="run bench/mmlu.py first")
        rep = run_mcqa(df.reset_index(drop=True), model=cpp_only, store=a.compare_store, scoring="letter",
                       subject="subject")
    except JuryboxError as exc:
        return {"available": False, "why": str(exc)}
    cpp = np.array(["ABCD".index(v) if v in ("A", "B", "C", "D") else -1 for v in rep.table["verdict"]])
    hf = np.argmax(f.letter_logprobs, axis=1)
    _, test = split(len(hf), val_fraction, seed)
    hit = cpp[test] == f.answers[test]
    return {"available": True, "agreement_all": float(np.mean(cpp == hf)), "n": int(len(hf)),
            "accuracy_test": wilson_interval(int(hit.sum()), int(hit.size)).to_dict()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
    ap.add_argument("--per-subject", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--store", default=".jurybox/bench-internals.sqlite")
    ap.add_argument("--max-minutes", type=float, default=12.0)
    ap.add_argument("--chunk", type=int, default=10)
    ap.add_argument("--k", type=int, default=8, help="sampled answers per question for majority / top-maj")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--json", help="write the report as JSON here")
    ap.add_argument("--compare-store", default=".jurybox/bench-mmlu.sqlite",
                    help="bench/mmlu.py's store: llama.cpp's stored letter verdicts on the same prompts (0 calls)")
    a = ap.parse_args()
    if a.report_only:
        a.chunk = 1  # report exactly the items already stored

    data = read_mcqa(load(a.per_subject, a.seed), subject="subject")
    reqs = exam_requests(data)
    t0 = time.perf_counter()
    if a.report_only:
        backend = StoreOnlyBackend.transformers(a.model, a.dtype, hint="run without --report-only")
    else:
        from jurybox.internals.backend import TransformersBackend

        backend = TransformersBackend(a.model, dtype=a.dtype)  # type: ignore[arg-type]
        print(f"loaded {a.model} {a.dtype} from {backend.load_source} in {backend.load_s:.1f} s", file=sys.stderr)
    feats = []
    calls = 0
    with Store(a.store) as st:
        for i in range(0, len(reqs), a.chunk):
            if not a.report_only and time.perf_counter() - t0 > a.max_minutes * 60:
                print(f"stopping at the time limit after {i} questions; rerun to continue", file=sys.stderr)
                break
            s = time.perf_counter()
            try:
                part, stats = run_internals(backend, st, reqs[i:i + a.chunk], purpose="exam")
            except JuryboxError:
                if not a.report_only:
                    raise
                break  # --report-only: the rest is not in the store yet
            feats.extend(part)
            calls += stats.model_calls
            if stats.model_calls:
                print(f"{i + len(part)}/{len(reqs)}: {stats.model_calls} calls, "
                      f"{(time.perf_counter() - s) / stats.model_calls:.2f} s/question", file=sys.stderr)
    n = len(feats)
    answers = [int(x) for x in data.answers[:n] if x is not None]
    f = stack(feats, answers, data.subjects[:n])
    rep = exam_report(f, val_fraction=0.3, seed=a.seed, heads=(1, 3, 10), k=a.k, top=(1, 2, 4))
    out = {"model": a.model, "dtype": a.dtype, "questions": n, "model_calls_this_run": calls,
           "mean_prompt_tokens": float(np.mean(f.prompt_tokens)), **rep.to_dict()}
    out["llama_cpp"] = compare_llama_cpp(a, data.table.iloc[:n], f, val_fraction=0.3, seed=a.seed)
    text = json.dumps(out, indent=1, default=float)
    print(text)
    if a.json:
        from jurybox.atomic import atomic_write

        with atomic_write(Path(a.json)) as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
