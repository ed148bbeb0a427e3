"""Speed of jurybox.stats against reference implementations, measured side by side in one run.

1. Ordinal Krippendorff's alpha, 100,000 items x 10 raters, 20% missing: jurybox vs the
   ``krippendorff`` package on the same data (target: jurybox at least as fast).
2. 1,000-resample percentile bootstrap interval of Cohen's kappa on 100,000 pairs: jurybox's
   vectorised bootstrap (target: under 1 s) vs a loop of scikit-learn ``cohen_kappa_score`` calls.
   The sklearn loop is timed on fewer resamples and extrapolated to 1,000 (printed as such).

Run: python bench/stats_speed.py [--sklearn-resamples 50]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sklearn-resamples", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import krippendorff
    from sklearn.metrics import cohen_kappa_score

    from jurybox.stats import bootstrap_ci, cohen_kappa, krippendorff_alpha

    rng = np.random.default_rng(0)
    ratings = rng.integers(0, 5, size=(100_000, 10)).astype(float)
    ratings[rng.random(ratings.shape) < 0.2] = np.nan
    reliability_data = np.ascontiguousarray(ratings.T)  # the package wants raters x items

    t_ours, a_ours = best_of(lambda: krippendorff_alpha(ratings, level="ordinal"), args.repeat)
    t_pkg, a_pkg = best_of(
        lambda: krippendorff.alpha(reliability_data, level_of_measurement="ordinal"), args.repeat
    )
    print(f"ordinal Krippendorff alpha, 100,000 items x 10 raters, 20% missing (best of {args.repeat})")
    print(f"  jurybox      {t_ours:8.4f} s   alpha = {a_ours:.6f}")
    print(f"  krippendorff {t_pkg:8.4f} s   alpha = {a_pkg:.6f}")
    print(f"  ratio package / jurybox = {t_pkg / t_ours:.2f}x  (target >= 1)")
    assert abs(a_ours - a_pkg) < 1e-9, "implementations disagree"

    n = 100_000
    human = rng.integers(0, 4, n)
    judge = np.where(rng.random(n) < 0.6, human, rng.integers(0, 4, n))
    t_boot, iv = best_of(
        lambda: bootstrap_ci(cohen_kappa, human, judge, n_resamples=1000, seed=0), args.repeat
    )

    k = args.sklearn_resamples

    def sklearn_loop() -> list[float]:
        r = np.random.default_rng(0)
        out = []
        for _ in range(k):
            idx = r.integers(0, n, n)
            out.append(cohen_kappa_score(human[idx], judge[idx]))
        return out

    t_loop, _ = best_of(sklearn_loop, 1)
    t_loop_1000 = t_loop * 1000 / k
    print("\n1,000-resample bootstrap 95% interval of Cohen's kappa, 100,000 pairs")
    print(
        f"  jurybox (vectorised)     {t_boot:8.4f} s   kappa = {iv.estimate:.4f} [{iv.low:.4f}, {iv.high:.4f}]"
        f"  (target < 1 s)"
    )
    print(f"  sklearn loop, {k} calls   {t_loop:8.4f} s  -> extrapolated to 1,000 calls: {t_loop_1000:.2f} s")
    print(f"  ratio sklearn loop / jurybox = {t_loop_1000 / t_boot:.0f}x")


if __name__ == "__main__":
    main()
