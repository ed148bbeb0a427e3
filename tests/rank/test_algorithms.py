"""The ranking drivers against scripted comparators whose true order is known."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jurybox.errors import OptionError
from jurybox.rank import algorithms as alg


def oracle(truth: list[int], log: list | None = None):
    """Answers from a true order (truth[0] the most relevant)."""
    pos = {d: p for p, d in enumerate(truth)}

    def answer(batch):
        out = []
        for q in batch:
            if log is not None:
                log.append(q)
            if isinstance(q, alg.Compare):
                out.append(1 if pos[q.i] < pos[q.j] else -1)
            elif isinstance(q, alg.Best):
                out.append(min(q.ids, key=lambda d: pos[d]))
            elif isinstance(q, alg.Permute):
                out.append(sorted(q.ids, key=lambda d: pos[d]))
            else:
                out.append(float(len(truth) - pos[q.i]))
        return out

    return answer


def shuffled(n: int, seed: int) -> list[int]:
    t = list(range(n))
    random.Random(seed).shuffle(t)
    return t


@pytest.mark.parametrize("n", [2, 3, 7, 20])
def test_allpair_recovers_the_order_with_n_n_minus_1_over_2_comparisons(n):
    truth = shuffled(n, n)
    log: list = []
    assert alg.drive(alg.allpair(n), oracle(truth, log)) == truth
    assert len(log) == n * (n - 1) // 2
    assert len({(q.i, q.j) for q in log}) == len(log)


@given(n=st.integers(1, 40), k=st.integers(1, 12), seed=st.integers(0, 10_000))
@settings(max_examples=150, deadline=None)
def test_heapsort_top_k_is_exact_and_within_its_comparison_bound(n, k, seed):
    truth = shuffled(n, seed)
    log: list = []
    order = alg.drive(alg.heapsort(n, k), oracle(truth, log))
    assert sorted(order) == list(range(n))
    top = min(k, n)
    assert order[:top] == truth[:top]
    # the rest keep their input order
    assert order[top:] == sorted(order[top:])
    lg = math.floor(math.log2(n)) if n > 1 else 0
    assert len(log) <= 2 * n + 2 * top * lg  # build-heap at most 2N, each extraction at most 2 log2 N


@given(n=st.integers(2, 30), k=st.integers(1, 10), seed=st.integers(0, 10_000))
@settings(max_examples=100, deadline=None)
def test_sliding_k_passes_fix_the_top_k_with_the_formula_count(n, k, seed):
    truth = shuffled(n, seed)
    log: list = []
    order = alg.drive(alg.sliding(n, k), oracle(truth, log))
    passes = min(k, n - 1)
    assert order[:passes] == truth[:passes]
    assert len(log) == sum(n - 1 - p for p in range(passes))


@given(n=st.integers(1, 40), k=st.integers(1, 12), c=st.integers(2, 6), seed=st.integers(0, 10_000))
@settings(max_examples=150, deadline=None)
def test_setwise_heapsort_top_k_is_exact(n, k, c, seed):
    truth = shuffled(n, seed)
    log: list = []
    order = alg.drive(alg.setwise_heapsort(n, k, c), oracle(truth, log))
    top = min(k, n)
    assert order[:top] == truth[:top]
    assert sorted(order) == list(range(n))
    assert all(2 <= len(q.ids) <= c for q in log)


def test_setwise_asks_fewer_questions_than_pairwise_heapsort():
    n, k = 50, 10
    truth = shuffled(n, 3)
    a: list = []
    b: list = []
    alg.drive(alg.setwise_heapsort(n, k, 4), oracle(truth, a))
    alg.drive(alg.heapsort(n, k), oracle(truth, b))
    assert len(a) < len(b)


@pytest.mark.parametrize(("n", "w", "s"), [(20, 20, 10), (30, 20, 10), (100, 20, 10), (25, 10, 5), (5, 10, 5)])
def test_listwise_window_count_and_one_pass_guarantee(n, w, s):
    truth = shuffled(n, n + w)
    log: list = []
    order = alg.drive(alg.listwise_sliding(n, w, s, 1), oracle(truth, log))
    assert len(log) == 1 + math.ceil(max(0, n - w) / s)
    # one pass from the bottom carries the best `stride` candidates to the top (all of them if n <= w)
    assert order[: min(s, n)] == truth[: min(s, n)]
    if n <= w:
        assert order == truth


def test_listwise_more_passes_sort_more():
    n, w, s = 40, 10, 5
    truth = shuffled(n, 1)
    order = alg.drive(alg.listwise_sliding(n, w, s, passes=8), oracle(truth))
    assert order[:20] == truth[:20]


def test_pointwise_sorts_by_grade_with_ungraded_last_in_input_order():
    order = alg.drive(alg.pointwise(5), lambda batch: [1.0, None, 2.5, float("nan"), 1.0])
    assert order == [2, 0, 4, 1, 3]


def test_ties_everywhere_keep_the_input_order():
    n = 13
    ties = lambda batch: [0 if isinstance(q, alg.Compare) else None for q in batch]  # noqa: E731
    for driver in (alg.allpair(n), alg.heapsort(n, 5), alg.sliding(n, 4), alg.setwise_heapsort(n, 5, 3),
                   alg.listwise_sliding(n, 5, 2)):
        assert alg.drive(driver, ties) == list(range(n))


def test_wrong_answers_and_options_are_refused():
    with pytest.raises(ValueError, match="questions but"):
        alg.drive(alg.allpair(3), lambda batch: [1])
    with pytest.raises(ValueError, match="not a permutation"):
        alg.drive(alg.listwise_sliding(3, 3, 1), lambda batch: [[0, 0, 1]])
    with pytest.raises(OptionError, match="top_k"):
        alg.drive(alg.heapsort(3, 0), lambda b: [])
    with pytest.raises(OptionError, match="window"):
        alg.drive(alg.listwise_sliding(3, 1, 1), lambda b: [])
