"""The Wilson interval in jurybox.stats: published values, exact ends at 0 and n, bad input."""

import math

import pytest

from jurybox.errors import JuryboxError
from jurybox.stats import wilson_interval


@pytest.mark.parametrize(("k", "n", "low", "high"), [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605),
                                                     (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)])
def test_newcombe_1998_table_1(k, n, low, high):
    iv = wilson_interval(k, n)
    assert (round(iv.low, 4), round(iv.high, 4)) == (low, high)
    assert iv.estimate == k / n and iv.n_units == n


@pytest.mark.parametrize("n", [1, 7, 50, 1082])
def test_ends_are_exact_at_zero_and_all(n):
    assert wilson_interval(0, n).low == 0.0
    assert wilson_interval(n, n).high == 1.0
    assert 0.0 < wilson_interval(n, n).low < 1.0


def test_empty_and_bad_counts():
    assert math.isnan(wilson_interval(0, 0).estimate)
    with pytest.raises(JuryboxError, match="successes"):
        wilson_interval(5, 4)
    with pytest.raises(JuryboxError, match="confidence"):
        wilson_interval(1, 4, confidence=1.5)
