"""Intervals for a binomial proportion k/n (accuracy, flag rate, unparsed rate, review precision).

The Wilson score interval at level 1 - a, z = Phi^-1(1 - a/2):
(p + z^2/2n -/+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n), p = k/n; (nan, nan, nan) for n = 0.
At k = 0 the lower end is exactly 0 and at k = n the upper end is exactly 1 (the closed form gives them
up to rounding, e.g. 5.6e-17, which reads as a real bound in a report).
Checked against Newcombe (1998, Stat. Med. 17:857, Table I, method 3): 81/263 -> (0.2553, 0.3662),
15/148 -> (0.0624, 0.1605), 0/20 -> (0, 0.1611), 1/29 -> (0.0061, 0.1718).
The result is a :class:`jurybox.stats.Interval` (closed form: ``n_resamples`` and ``n_valid`` are 0,
``n_units`` is n).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from jurybox.errors import JuryboxError
from jurybox.stats.bootstrap import DEFAULT_CONFIDENCE, Interval


def wilson_interval(k: int, n: int, confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    """Wilson score interval for k successes of n (module docstring): estimate k/n, low, high."""
    if n <= 0:
        nan = float("nan")
        return Interval(nan, nan, nan, confidence, 0, 0, 0, "item")
    if not 0 < confidence < 1:
        raise JuryboxError(f"confidence must be in (0, 1), got {confidence}")
    if not 0 <= k <= n:
        raise JuryboxError(f"successes must be in [0, n={n}], got {k}")
    z = float(norm.ppf(1 - (1 - confidence) / 2))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if k == 0 else float(max(0.0, centre - half))
    high = 1.0 if k == n else float(min(1.0, centre + half))
    return Interval(p, low, high, confidence, 0, 0, n, "item")
