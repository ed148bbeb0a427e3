"""Ranking algorithms as pure drivers: generators that ask questions and are told the answers.

A driver ranks candidates ``0..n-1`` (given in their input order, e.g. BM25's). It yields a
batch, a list of questions, and is sent back the list of answers in the same order; when it is
done its ``return`` value (``StopIteration.value``) is the final order, best first, every
candidate exactly once. The drivers never see a model: :func:`drive` runs one against any
answering function, which is how the unit tests run them with a scripted comparator whose true
order is known, and how :mod:`jurybox.rank.runner` runs each batch through the engine and store
(so a rerun, or a resumed killed run, replays the same questions and makes no model call).

Questions and their answers:

* :class:`Compare` ``(i, j)`` (PRP): > 0 when i is more relevant than j, < 0 when j is, 0 a tie
  (the sorts break a tie by the input order: the earlier candidate goes first);
* :class:`Best` ``(ids)`` (setwise): the member of ``ids`` judged most relevant, or None when the
  answer could not be read (then the input order decides: the earliest candidate of the set);
* :class:`Permute` ``(ids)`` (listwise): ``ids`` reordered best first, or None when the answer
  was not a full permutation (the window keeps its input order);
* :class:`Grade` ``(i)`` (pointwise): a relevance score (the expected grade), or None (unparsed).

Algorithms and their numbers of questions (N candidates):

* :func:`allpair`: every pair once, N(N-1)/2 comparisons in one batch; score = wins + 0.5 ties,
  sorted by score with ties in input order (Qin et al. 2024);
* :func:`heapsort`: heapsort with the comparator, stopped after the top ``k`` (O(N + k log N)
  comparisons); the top k is exact for a consistent comparator, the rest follow in input order
  (with an all-ties comparator the result is the input order);
* :func:`sliding`: ``k`` bubble passes from the bottom; pass p compares the N-1-p adjacent pairs
  below position p and swaps when the lower one wins, sum_{p<k} (N-1-p) comparisons;
* :func:`setwise_heapsort`: heapsort on a heap of arity c-1 where one question picks the best of a
  parent and its (up to c-1) children (Zhuang et al. 2024); top k exact as above;
* :func:`listwise_sliding`: windows of ``window`` candidates from the bottom up, moved by
  ``stride``, each reordered by one question, ``passes`` times;
  1 + ceil(max(0, N - window) / stride) windows a pass;
* :func:`pointwise`: one batch of N grades, sorted by score (unparsed ones after the graded
  ones, in input order).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

from jurybox.errors import OptionError

__all__ = ["ALGORITHMS", "Best", "Compare", "Driver", "Grade", "Permute", "allpair", "drive", "heapsort",
           "listwise_sliding", "listwise_windows", "pointwise", "setwise_heapsort", "sliding"]


@dataclass(frozen=True)
class Compare:
    i: int
    j: int


@dataclass(frozen=True)
class Best:
    ids: tuple[int, ...]


@dataclass(frozen=True)
class Permute:
    ids: tuple[int, ...]


@dataclass(frozen=True)
class Grade:
    i: int


Question = Compare | Best | Permute | Grade
Driver = Generator[list[Any], list[Any], list[int]]


def drive(driver: Driver, answer: Callable[[list[Any]], Sequence[Any]]) -> list[int]:
    """Run ``driver`` to the end, answering each batch with ``answer(batch)``; the final order."""
    try:
        batch = next(driver)
        while True:
            answers = list(answer(batch))
            if len(answers) != len(batch):
                raise ValueError(f"{len(batch)} questions but {len(answers)} answers")
            batch = driver.send(answers)
    except StopIteration as stop:
        return list(stop.value)


def _check(n: int, k: int | None = None) -> None:
    if n < 1:
        raise OptionError("nothing to rank: no candidates", option="depth")
    if k is not None and k < 1:
        raise OptionError(f"top_k must be at least 1, got {k}", option="top_k")


def allpair(n: int) -> Driver:
    """All pairs in one batch; score_i = wins + 0.5 * ties; ties in score keep the input order."""
    _check(n)
    pairs = [Compare(i, j) for i in range(n) for j in range(i + 1, n)]
    answers = (yield pairs) if pairs else []
    score = [0.0] * n
    for q, a in zip(pairs, answers, strict=True):
        if a > 0:
            score[q.i] += 1.0
        elif a < 0:
            score[q.j] += 1.0
        else:
            score[q.i] += 0.5
            score[q.j] += 0.5
    return sorted(range(n), key=lambda i: (-score[i], i))


def _greater(x: int, y: int) -> Generator[list[Any], list[Any], bool]:
    """Whether x goes above y: the comparator's answer, a tie broken by the input order."""
    (a,) = yield [Compare(x, y)]
    return bool(a > 0 or (a == 0 and x < y))


def _extract_top(a: list[int], k: int, sift: Callable[[int, int], Generator[list[Any], list[Any], None]]
                 ) -> Driver:
    """Take the heap's root ``k`` times (re-sifting after each), then the rest in input order."""
    n = len(a)
    top: list[int] = []
    end = n
    while len(top) < min(k, n):
        top.append(a[0])
        end -= 1
        a[0] = a[end]
        if len(top) < min(k, n):
            yield from sift(0, end)
    chosen = set(top)
    return top + [i for i in range(n) if i not in chosen]


def heapsort(n: int, k: int = 10) -> Driver:
    """Max-heap of the candidates by the comparator; the top ``k`` extracted in order, then the
    others in input order. A tie never swaps (the candidate in place stays)."""
    _check(n, k)
    a = list(range(n))

    def sift(root: int, end: int) -> Generator[list[Any], list[Any], None]:
        while True:
            child = 2 * root + 1
            if child >= end:
                return
            best = root
            if (yield from _greater(a[child], a[best])):
                best = child
            if child + 1 < end and (yield from _greater(a[child + 1], a[best])):
                best = child + 1
            if best == root:
                return
            a[root], a[best] = a[best], a[root]
            root = best

    for start in range(n // 2 - 1, -1, -1):
        yield from sift(start, n)
    return (yield from _extract_top(a, k, sift))


def sliding(n: int, k: int = 10) -> Driver:
    """``k`` bubble passes from the bottom of the input order (PRP-Sliding-K)."""
    _check(n, k)
    a = list(range(n))
    for p in range(min(k, n - 1)):
        for pos in range(n - 1, p, -1):
            if (yield from _greater(a[pos], a[pos - 1])):
                a[pos], a[pos - 1] = a[pos - 1], a[pos]
    return a


def setwise_heapsort(n: int, k: int = 10, c: int = 4) -> Driver:
    """Heapsort where a node's children are c-1 (one question: the best of the node and its children)."""
    _check(n, k)
    if c < 2:
        raise OptionError(f"the set size must be at least 2, got {c}", option="set_size")
    m = c - 1
    a = list(range(n))

    def sift(root: int, end: int) -> Generator[list[Any], list[Any], None]:
        while True:
            first = m * root + 1
            if first >= end:
                return
            positions = [root, *range(first, min(first + m, end))]
            ids = tuple(a[p] for p in positions)
            (best,) = yield [Best(ids)]
            if best is None:
                best = min(ids)  # unreadable: the input order decides
            if best == a[root]:
                return
            at = next(p for p in positions if a[p] == best)
            a[root], a[at] = a[at], a[root]
            root = at

    for start in range((n - 2) // m, -1, -1):
        yield from sift(start, n)
    return (yield from _extract_top(a, k, sift))


def listwise_windows(n: int, window: int, stride: int) -> list[tuple[int, int]]:
    """The (start, end) positions of one pass's windows, from the bottom up."""
    if window < 2:
        raise OptionError(f"the window must hold at least 2 candidates, got {window}", option="window")
    if not 1 <= stride:
        raise OptionError(f"the stride must be at least 1, got {stride}", option="stride")
    out: list[tuple[int, int]] = []
    end = n
    while True:
        start = max(0, end - window)
        out.append((start, end))
        if start == 0:
            return out
        end -= stride


def listwise_sliding(n: int, window: int = 20, stride: int = 10, passes: int = 1) -> Driver:
    """RankGPT's sliding window: each window (bottom first) reordered by one question."""
    _check(n)
    if passes < 1:
        raise OptionError(f"passes must be at least 1, got {passes}", option="passes")
    a = list(range(n))
    if n < 2:
        return a
    for _ in range(passes):
        for start, end in listwise_windows(n, window, stride):
            ids = tuple(a[start:end])
            (order,) = yield [Permute(ids)]
            if order is not None:
                if sorted(order) != sorted(ids):
                    raise ValueError(f"the answer {order} is not a permutation of the window {ids}")
                a[start:end] = list(order)
    return a


def pointwise(n: int) -> Driver:
    """One grade per candidate, sorted by grade (ties and the ungraded in input order, ungraded last)."""
    _check(n)
    grades = yield [Grade(i) for i in range(n)]
    graded = [i for i in range(n) if grades[i] is not None and not math.isnan(grades[i])]
    rest = [i for i in range(n) if i not in set(graded)]
    return sorted(graded, key=lambda i: (-grades[i], i)) + rest


ALGORITHMS: dict[str, Callable[..., Driver]] = {
    "prp-allpair": allpair, "prp-heapsort": heapsort, "prp-sliding": sliding, "setwise": setwise_heapsort,
    "listwise": listwise_sliding, "pointwise": pointwise,
}
