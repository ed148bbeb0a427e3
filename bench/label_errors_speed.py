"""Speed of jurybox's label-issue ranking vs cleanlab's find_label_issues on the same probabilities.

    python bench/label_errors_speed.py [--rows 1000000] [--classes 20] [--repeats 3]

Both rank by self-confidence. They answer slightly different questions, so the flagged sets differ:
jurybox flags rows whose predicted label differs from the given one ("predicted_neq_given"); cleanlab's
default prunes by the confident joint's noise rates (confident learning). The script prints the times
(best of --repeats), their ratio, the sizes and overlap of the two sets, and the peak memory each
allocates on top of the input (tracemalloc, measured in a separate pass so it does not slow the timing).
"""

from __future__ import annotations

import argparse
import gc
import os
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np


def make_data(n: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Confident-ish softmax probabilities; labels = the true class with 10% flipped uniformly."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, size=n)
    logits = rng.normal(0.0, 1.0, size=(n, k))
    logits[np.arange(n), true] += 3.0
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    y = true.copy()
    flip = rng.random(n) < 0.10
    y[flip] = (y[flip] + rng.integers(1, k, size=int(flip.sum()))) % k
    return y, p


def best_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def peak_mib(fn: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--classes", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()

    from cleanlab.filter import find_label_issues as cleanlab_find

    from jurybox.labelerrors import find_label_issues

    y, p = make_data(a.rows, a.classes)
    print(
        f"{a.rows:,} rows x {a.classes} classes, float64 probabilities ({p.nbytes / 2**20:.0f} MiB), "
        f"{os.cpu_count()} CPUs visible, load average {os.getloadavg()[0]:.1f}"
    )

    def ours() -> np.ndarray:
        return find_label_issues(y, p, rank_by="self_confidence")

    def theirs() -> np.ndarray:
        return cleanlab_find(y, p, return_indices_ranked_by="self_confidence")

    t_ours, r_ours = best_time(ours, a.repeats)
    t_theirs, r_theirs = best_time(theirs, a.repeats)
    m_ours, m_theirs = peak_mib(ours), peak_mib(theirs)
    both = np.intersect1d(r_ours, r_theirs).size
    print(f"{'':34s} {'time (s)':>9s} {'peak MiB':>9s} {'flagged':>9s}")
    print(f"{'jurybox find_label_issues':34s} {t_ours:9.3f} {m_ours:9.1f} {r_ours.size:9,d}")
    print(f"{'cleanlab find_label_issues':34s} {t_theirs:9.3f} {m_theirs:9.1f} {r_theirs.size:9,d}")
    print(
        f"ratio cleanlab / jurybox time: {t_theirs / t_ours:.1f}x; flagged by both: {both:,}; "
        f"peak memory is extra allocation beyond the {p.nbytes / 2**20:.0f} MiB input "
        "(tracemalloc; cleanlab worker processes, if any, not counted)"
    )


if __name__ == "__main__":
    main()
