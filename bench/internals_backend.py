"""The transformers (internals) backend on this machine: load time, memory and forward-pass speed.

For each model and dtype, in a fresh subprocess (so RSS is that model's alone): the first load
(from the GGUF file, dequantised by transformers; it writes the safetensors cache) or a cached one,
then a second load in another fresh subprocess (from the safetensors cache), the RSS after the load
and the peak RSS, and the prompt-processing speed of one forward pass over a prompt of about
``--tokens`` tokens: plain (next-token logits only) and with every layer's hidden states and the
QK-scores at 4 marks captured (an :class:`InternalsRequest`), best of ``--reps``.

Speed is measured on the backend directly (no store), as bench/embedded_throughput.py measures
llama.cpp. Run under the model lock:

    flock /tmp/jurybox-model.lock python bench/internals_backend.py --models gemma-3-270m qwen2.5-coder-1.5b
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

TEXT = ("The following are multiple choice questions (with answers) about clinical knowledge. A patient presents "
        "with a history of chest pain radiating to the left arm, shortness of breath and sweating. ")


def child(model: str, dtype: str, tokens: int, reps: int, cache: bool = True) -> dict:
    from jurybox.internals.backend import TransformersBackend, _rss_bytes
    from jurybox.types import InternalsRequest, Message, Prompt

    t0 = time.perf_counter()
    b = TransformersBackend(model, dtype=dtype, cache=cache)  # type: ignore[arg-type]
    load_s = time.perf_counter() - t0
    rss_load = _rss_bytes()
    body = TEXT
    while b.count_tokens(Prompt((Message("user", body),), prefill="Answer:")) < tokens - 40:
        body += TEXT
    body += "\nA. angina\nB. asthma\nC. gout\nD. migraine"
    p = Prompt((Message("user", body),), prefill="Answer:")
    n = b.count_tokens(p)
    plain = InternalsRequest(p, options=tuple("ABCD"))
    full = InternalsRequest(p, marks=("\nA. angina", "\nB. asthma", "\nC. gout", "\nD. migraine"), hidden=True, qk=True,
                            options=tuple("ABCD"))
    times: dict[str, list[float]] = {"plain": [], "internals": []}
    b.internals(plain)  # warm-up (first-call allocations, oneDNN kernels)
    for _ in range(reps):
        for name, req in (("plain", plain), ("internals", full)):
            s = time.perf_counter()
            b.internals(req)
            times[name].append(time.perf_counter() - s)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"model": model, "dtype": dtype, "load_source": b.load_source, "load_s": round(load_s, 2),
            "rss_after_load_gb": round(rss_load / 2**30, 2), "peak_rss_gb": round(peak / 2**30, 2),
            "prompt_tokens": n, "threads": b.n_threads,
            "plain_s": round(min(times["plain"]), 3), "internals_s": round(min(times["internals"]), 3),
            "plain_tok_s": round(n / min(times["plain"]), 1), "internals_tok_s": round(n / min(times["internals"]), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["gemma-3-270m", "qwen2.5-coder-1.5b"])
    ap.add_argument("--dtypes", nargs="+", default=["bfloat16", "float32"])
    ap.add_argument("--tokens", type=int, default=300)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--loads", type=int, default=2, help="loads per model and dtype, each in a fresh process")
    ap.add_argument("--no-cache", action="store_true", help="load from the GGUF file and write no safetensors cache")
    ap.add_argument("--child", nargs=2, metavar=("MODEL", "DTYPE"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child[0], a.child[1], a.tokens, a.reps, not a.no_cache)))
        return
    rows = []
    for model in a.models:
        for dtype in a.dtypes:
            for i in range(a.loads):
                out = subprocess.run([sys.executable, __file__, "--child", model, dtype, "--tokens", str(a.tokens),
                                      "--reps", str(a.reps), *(["--no-cache"] if a.no_cache else [])],
                                     capture_output=True, text=True, check=False)
                if out.returncode != 0:
                    print(f"{model} {dtype}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
                    break
                row = json.loads(out.stdout.strip().splitlines()[-1])
                row["load"] = i + 1
                rows.append(row)
                print(json.dumps(row), flush=True)
    print("\n| model | dtype | load | from | load s | RSS after load GB | peak RSS GB | prompt tokens | "
          "forward tok/s (logits) | forward tok/s (hidden + QK) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['dtype']} | {r['load']} | {r['load_source']} | {r['load_s']} | "
              f"{r['rss_after_load_gb']} | {r['peak_rss_gb']} | {r['prompt_tokens']} | {r['plain_tok_s']} | "
              f"{r['internals_tok_s']} |")


if __name__ == "__main__":
    main()
