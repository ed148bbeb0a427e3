"""Which labelled examples go into a prompt: pure functions of labels and embeddings.

* ``similar`` (per item): the examples most similar to the item by cosine similarity of their
  embeddings, with label balance: no label gets more than ceil(k / L) of the k places, L being
  the number of distinct labels among the candidates, and places the caps leave empty are
  filled with the next most similar examples. Similarities are rounded to 6 decimals before
  sorting (ties by position in the file), so float noise between runs does not reorder them
  and a rerun makes the same prompts. The chosen examples are returned least similar first,
  so the most similar one stands right before the item (Liu et al. 2022, "What Makes Good
  In-Context Examples for GPT-3?").
* ``balanced`` (fixed for every item): round-robin over the labels in sorted order, a seeded
  random example of each label in turn (labels interleaved, none twice in a row when avoidable).
* ``random`` (fixed for every item): k examples drawn uniformly with a fixed seed.

A fixed selection gives every item the same prompt prefix (the KV cache reuses it); a per-item
one does not (see docs/quality.md for the measured cost).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from jurybox.errors import JuryboxError

__all__ = ["SELECTIONS", "select_balanced", "select_random", "select_similar"]

SELECTIONS = ("similar", "balanced", "random")


def _check_k(k: int, n: int) -> None:
    if k < 1:
        raise JuryboxError(f"shots must be at least 1, got {k}", option="shots")
    if k > n:
        raise JuryboxError(f"shots={k} is more than the {n} usable examples", option="shots")


def select_similar(query: Any, examples: Any, labels: Sequence[Any], k: int, *,
                   exclude: Sequence[int] = ()) -> list[int]:
    """Indices of the k examples (rows of ``examples``, unit vectors) most similar to ``query``
    (a unit vector) with label balance; ``exclude`` lists rows that may not be chosen (the item
    itself when it is among the examples). Least similar first."""
    e = np.asarray(examples, dtype=float)
    q = np.asarray(query, dtype=float).ravel()
    if e.ndim != 2 or e.shape[0] != len(labels) or e.shape[1] != q.shape[0]:
        raise JuryboxError("the example embeddings do not match the labels or the item's embedding")
    allowed = np.ones(len(labels), dtype=bool)
    allowed[list(exclude)] = False
    _check_k(k, int(allowed.sum()))
    sims = np.round(e @ q, 6)
    order = [int(i) for i in np.lexsort((np.arange(len(labels)), -sims)) if allowed[i]]
    distinct = {labels[i] for i in order}
    cap = math.ceil(k / len(distinct))
    taken: list[int] = []
    count: dict[Any, int] = {}
    for i in order:
        if len(taken) == k:
            break
        if count.get(labels[i], 0) < cap:
            taken.append(i)
            count[labels[i]] = count.get(labels[i], 0) + 1
    for i in order:  # caps too tight (few labels present): fill with the next most similar
        if len(taken) == k:
            break
        if i not in taken:
            taken.append(i)
    taken.sort(key=lambda i: (sims[i], -i))
    return taken


def select_balanced(labels: Sequence[Any], k: int, *, seed: int = 0) -> list[int]:
    """k indices, labels taken in turn (sorted label order), a seeded random example of each."""
    _check_k(k, len(labels))
    rng = np.random.default_rng(seed)
    pools: dict[Any, list[int]] = {}
    for i, lab in enumerate(labels):
        pools.setdefault(lab, []).append(i)
    queues = {lab: [int(x) for x in rng.permutation(ix)] for lab, ix in sorted(pools.items(), key=lambda t: str(t[0]))}
    out: list[int] = []
    while len(out) < k:
        for lab in list(queues):
            if len(out) == k:
                break
            if queues[lab]:
                out.append(queues[lab].pop(0))
    return out


def select_random(n: int, k: int, *, seed: int = 0) -> list[int]:
    """k of ``n`` indices drawn without replacement with a fixed seed (in drawn order)."""
    _check_k(k, n)
    return [int(i) for i in np.random.default_rng(seed).choice(n, size=k, replace=False)]
