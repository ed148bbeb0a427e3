"""QK-score: multiple-choice answers read from select-and-copy attention heads (Tulchinskii et
al., arXiv 2410.02343; method card 8). Pure functions of arrays.

``scores`` has shape [questions, layers, heads, options]: for head (l, h) and option j, the
attention logit ``<q of the prompt's last token, k at option j's representative token> * scaling``
(:class:`~jurybox.types.InternalsRequest` with ``qk=True``). Within one head and question every
option shares the query, so the softmax over keys preserves the ranking: the option with the
highest QK-score is the one the head attends to most (the card's attention-score).

* :func:`head_predictions`: each head's answer per question (argmax over options);
* :func:`head_accuracy`: each head's accuracy against labels (gold, or pseudo-labels);
* :func:`select_heads`: the ``k`` heads with the highest accuracy on a labelled validation split;
  :func:`select_heads_label_free` selects by agreement with the model's own next-token answer
  instead (jurybox's label-free variant: no answer key is read; the card leaves the paper's own
  label-free rule unverified);
* :func:`predict`: answers from the selected heads: the sum over the heads of the QK-scores,
  each centred over the question's options (a per-head shift changes no head's ranking). The raw
  logits are summed, not standardised per head: standardising gives a weak head the weight of a
  strong one (a planted head plus two noise heads: 0.64 accuracy standardised, above 0.95 raw).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from jurybox.errors import JuryboxError

__all__ = ["HeadSelection", "head_accuracy", "head_predictions", "predict", "select_heads",
           "select_heads_label_free"]


def _check(scores: np.ndarray) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 4:
        raise JuryboxError(f"QK-scores must have shape [questions, layers, heads, options]; got {s.shape}")
    if s.shape[0] == 0 or s.shape[3] < 2:
        raise JuryboxError(f"QK-scores need at least one question and two options; got shape {s.shape}")
    if not np.isfinite(s).all():
        raise JuryboxError("QK-scores have missing (NaN or infinite) values")
    return s


def _labels(labels: Sequence[int] | np.ndarray, n: int, n_options: int) -> np.ndarray:
    y = np.asarray(labels)
    if y.shape != (n,):
        raise JuryboxError(f"one label per question expected ({n}); got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or (y < 0).any() or (y >= n_options).any():
        raise JuryboxError(f"labels must be option indices 0..{n_options - 1}")
    return y.astype(np.int64)


def head_predictions(scores: np.ndarray) -> np.ndarray:
    """[questions, layers, heads]: the option each head picks (ties: the first option)."""
    return np.argmax(_check(scores), axis=-1)


def head_accuracy(scores: np.ndarray, labels: Sequence[int] | np.ndarray) -> np.ndarray:
    """[layers, heads]: the share of questions each head answers as ``labels`` do."""
    s = _check(scores)
    y = _labels(labels, s.shape[0], s.shape[3])
    return (np.argmax(s, axis=-1) == y[:, None, None]).mean(axis=0)


@dataclass(frozen=True)
class HeadSelection:
    """The selected heads as (layer, head) pairs, best first, with their accuracy on the split
    they were selected on (against gold or pseudo-labels)."""

    heads: tuple[tuple[int, int], ...]
    accuracy: tuple[float, ...]
    rule: str


def _select(s: np.ndarray, y: np.ndarray, k: int, rule: str) -> HeadSelection:
    if k < 1:
        raise JuryboxError(f"k (heads to select) must be at least 1; got {k}")
    acc = (np.argmax(s, axis=-1) == y[:, None, None]).mean(axis=0)
    _, n_layers, n_heads, _ = s.shape
    k = min(k, n_layers * n_heads)
    flat = acc.ravel()
    order = np.lexsort((np.arange(flat.size), -flat))[:k]  # highest accuracy, then the lowest (layer, head)
    heads = tuple((int(i // n_heads), int(i % n_heads)) for i in order)
    return HeadSelection(heads=heads, accuracy=tuple(float(flat[i]) for i in order), rule=rule)


def select_heads(scores: np.ndarray, labels: Sequence[int] | np.ndarray, k: int = 1) -> HeadSelection:
    """The ``k`` heads with the highest accuracy against the gold ``labels`` of a validation
    split (ties: the earlier layer, then the lower head index)."""
    s = _check(scores)
    return _select(s, _labels(labels, s.shape[0], s.shape[3]), k, "validation accuracy")


def select_heads_label_free(scores: np.ndarray, model_answers: Sequence[int] | np.ndarray, k: int = 1) -> HeadSelection:
    """The ``k`` heads that agree most with the model's own answers (the argmax of its next-token
    distribution over the option letters, on the same prompts): no answer key is used."""
    s = _check(scores)
    return _select(s, _labels(model_answers, s.shape[0], s.shape[3]), k, "agreement with the model's letter answer")


def predict(scores: np.ndarray, selection: HeadSelection) -> np.ndarray:
    """[questions]: the option with the highest sum over the selected heads of the option-centred
    QK-scores (one head: its argmax)."""
    s = _check(scores)
    _, n_layers, n_heads, _ = s.shape
    total = np.zeros((s.shape[0], s.shape[3]))
    for layer, h in selection.heads:
        if not (0 <= layer < n_layers and 0 <= h < n_heads):
            raise JuryboxError(f"head ({layer}, {h}) is not in scores with {n_layers} layers x {n_heads} heads")
        x = s[:, layer, h, :]
        total += x - x.mean(axis=-1, keepdims=True)
    return np.argmax(total, axis=-1)
