"""Prompt evaluation speed with and without llama.cpp's weight repacking (extra buffer types).

On CPUs with AMX, llama.cpp repacks weights into an AMX buffer; on many virtual machines of that
class the first evaluation crashes (see jurybox/backends/llama_params.py). This script measures, side
by side in one run, prompt tokens/s of the embedded judge model for each configuration:

* ``extra_bufts=off``: plain CPU buffers (what jurybox uses when the library has AMX kernels);
* ``extra_bufts=on``: llama.cpp's default (AMX and/or CPU_REPACK); a crash is reported as such;
* optionally the same two with another interpreter (``--other-python``), for example a venv whose
  llama-cpp-python was built without AMX kernels (``-DGGML_NATIVE=OFF ... -DGGML_AMX_INT8=OFF``),
  where ``on`` means CPU_REPACK only.

Each configuration runs in its own process (a segfault cannot take the benchmark down), rounds are
interleaved (A B A B ...) so machine load hits every configuration alike, and the result is the
median over rounds. Run: ``python bench/amx_repack.py [--rounds 3] [--other-python PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, time
import llama_cpp
import llama_cpp.llama_cpp as low
path, extra, threads, reps = sys.argv[1], sys.argv[2] == "on", int(sys.argv[3]), int(sys.argv[4])
orig = low.llama_model_default_params
def params():
    p = orig(); p.use_extra_bufts = extra; return p
low.llama_model_default_params = params
t0 = time.perf_counter()
llm = llama_cpp.Llama(model_path=path, n_ctx=2048, n_threads=threads, n_threads_batch=threads,
                      n_batch=512, logits_all=False, verbose=False)
load = time.perf_counter() - t0
text = ("You judge answers to questions. Read the question, the reference and the answer, then say "
        "whether the answer is correct. ") * 12
toks = llm.tokenize(text.encode(), add_bos=True)[:281]
rates, suffix = [], []
for _ in range(reps):
    llm.n_tokens = 0
    t = time.perf_counter(); llm.eval(toks); rates.append(len(toks) / (time.perf_counter() - t))
    llm.n_tokens = len(toks) - 60  # a 60-token item after a cached prefix
    t = time.perf_counter(); llm.eval(toks[-60:]); suffix.append(time.perf_counter() - t)
info = llama_cpp.llama_print_system_info().decode()
print(json.dumps({"prompt_tps": max(rates), "suffix60_s": min(suffix), "load_s": load,
                  "amx_kernels": "AMX_INT8 = 1" in info, "tokens": len(toks)}))
"""


def run(python: str, model: str, extra: str, threads: int, reps: int) -> dict[str, object]:
    p = subprocess.run([python, "-c", CHILD, model, extra, str(threads), str(reps)], capture_output=True,
                       text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}, timeout=900)
    if p.returncode != 0:
        sig = -p.returncode if p.returncode < 0 else None
        return {"crashed": f"signal {sig}" if sig else f"exit {p.returncode}", "stderr": p.stderr[-300:]}
    out: dict[str, object] = json.loads(p.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3, help="evaluations per process (best taken)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--other-python", help="interpreter of a second llama-cpp-python build to compare")
    args = ap.parse_args()
    from jurybox.models import resolve

    path = str(resolve(args.model).path)
    configs = [(sys.executable, "this build", "off"), (sys.executable, "this build", "on")]
    if args.other_python:
        configs += [(args.other_python, "other build", "off"), (args.other_python, "other build", "on")]
    results: dict[tuple[str, str], list[dict[str, object]]] = {(c[1], c[2]): [] for c in configs}
    for r in range(args.rounds):
        for python, label, extra in configs:
            res = run(python, path, extra, args.threads, args.reps)
            results[(label, extra)].append(res)
            print(f"round {r + 1} {label:11s} extra_bufts={extra:3s} {res}", file=sys.stderr)
    print(f"model {args.model}, {args.threads} threads, {args.rounds} interleaved rounds (median)")
    print(f"{'build':12s} {'extra_bufts':11s} {'AMX kernels':11s} {'prompt tok/s':>12s} {'60-token item s':>16s}")
    base = None
    for (label, extra), rs in results.items():
        ok = [x for x in rs if "crashed" not in x]
        if not ok:
            print(f"{label:12s} {extra:11s} {'?':11s} crashed ({rs[0]['crashed']}) in {len(rs)}/{len(rs)} runs")
            continue
        tps = statistics.median(float(x["prompt_tps"]) for x in ok)  # type: ignore[arg-type]
        suf = statistics.median(float(x["suffix60_s"]) for x in ok)  # type: ignore[arg-type]
        base = base or tps
        print(f"{label:12s} {extra:11s} {str(ok[0]['amx_kernels']):11s} {tps:12.1f} {suf:16.3f}"
              f"   x{tps / base:.2f} vs first row" + (f"  ({len(rs) - len(ok)} crashed)" if len(ok) < len(rs) else ""))


if __name__ == "__main__":
    main()
