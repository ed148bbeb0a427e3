"""Multiple-choice statistics: pure functions of arrays (no I/O, no model calls).

Likelihood scoring follows EleutherAI's lm-evaluation-harness (``lm_eval/api/task.py``,
``process_results`` for ``output_type: multiple_choice``), with ``lls`` the summed
log-likelihood of each option's continuation (" " + option text) after the prompt:

* ``acc``: ``argmax(lls)``, the raw summed log-likelihood;
* ``acc_norm``: ``argmax(lls / completion_len)`` with ``completion_len = len(choice)``, the
  number of **characters** of the option text as ``doc_to_choice`` gives it (without the leading
  space of the target delimiter);
* ``acc_bytes``: ``argmax(lls / byte_length)``, the UTF-8 byte length of the option text;
* ``acc_mutual_info``: ``argmax(lls - lls_unconditional)``, the log-likelihood minus the
  option's log-likelihood without the question (``log P(choice | ctx) - log P(choice)``);
* ``acc_token_norm`` (jurybox's, **not** a harness metric): ``argmax(lls / n_tokens)``, the
  mean log-likelihood per token of the continuation.

``np.argmax`` breaks ties by the first index, as in the harness. Accuracies come with Wilson
score intervals (binomial, over questions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jurybox.errors import JuryboxError
from jurybox.stats import DEFAULT_CONFIDENCE, Interval, wilson_interval
from jurybox.types import Record

__all__ = ["NORMALISATIONS", "AccuracyTable", "LetterBias", "Routing", "accuracy_table", "harness_predictions",
           "letter_bias", "route_by_confidence"]

#: likelihood metric -> how its normalisation is named in every output
NORMALISATIONS = {
    "acc": "none: the summed log-likelihood of the option's tokens (lm-evaluation-harness acc)",
    "acc_norm": "by characters: log-likelihood / len(option text) (lm-evaluation-harness acc_norm)",
    "acc_bytes": "by UTF-8 bytes: log-likelihood / bytes of the option text (lm-evaluation-harness acc_bytes)",
    "acc_token_norm": "by tokens: log-likelihood / tokens of the continuation (jurybox; not a harness metric)",
    "acc_mutual_info": "mutual information: log-likelihood minus the option's log-likelihood after 'Answer:' "
                       "alone (lm-evaluation-harness acc_mutual_info, with jurybox's unconditional prompt)",
}


def harness_predictions(
    lls: Sequence[float],
    choices: Sequence[str],
    *,
    token_counts: Sequence[int] | None = None,
    unconditional: Sequence[float] | None = None,
) -> dict[str, int]:
    """The option each likelihood metric picks for one question (0-based index; see the module
    docstring for the definitions). ``token_counts`` adds ``acc_token_norm``, ``unconditional``
    adds ``acc_mutual_info``."""
    ll = np.asarray(lls, dtype=float)
    if ll.ndim != 1 or len(ll) != len(choices) or len(ll) < 1:
        raise JuryboxError(f"one log-likelihood per choice expected: {len(ll)} for {len(choices)} choices")
    completion_len = np.array([float(len(c)) for c in choices])
    byte_length = np.array([float(len(c.encode("utf-8"))) for c in choices])
    if (completion_len == 0).any():
        raise JuryboxError("an empty option text has no character length to normalise by")
    out = {"acc": int(np.argmax(ll)), "acc_norm": int(np.argmax(ll / completion_len)),
           "acc_bytes": int(np.argmax(ll / byte_length))}
    if token_counts is not None:
        tc = np.asarray(token_counts, dtype=float)
        if len(tc) != len(ll) or (tc <= 0).any():
            raise JuryboxError("token_counts must give a positive count per choice")
        out["acc_token_norm"] = int(np.argmax(ll / tc))
    if unconditional is not None:
        u = np.asarray(unconditional, dtype=float)
        if len(u) != len(ll):
            raise JuryboxError("unconditional must give one log-likelihood per choice")
        out["acc_mutual_info"] = int(np.argmax(ll - u))
    return out


@dataclass(frozen=True)
class AccuracyTable(Record):
    """Accuracy overall and per group (subject), each with its Wilson interval; ``n`` counts the
    questions with an answer key, ``correct`` the ones answered right (unparsed answers count as
    wrong: they are in ``n``, not in ``correct``)."""

    overall: Interval
    n: int
    correct: int
    groups: dict[str, Interval]
    group_n: dict[str, int]


def accuracy_table(correct: Sequence[bool], groups: Sequence[Any] | None = None, *,
                   confidence: float = DEFAULT_CONFIDENCE) -> AccuracyTable:
    """Accuracy with Wilson score intervals, overall and per value of ``groups`` (in first-seen
    order)."""
    c = np.asarray(correct, dtype=bool)
    g = [str(x) for x in groups] if groups is not None else ["all"] * len(c)
    if len(g) != len(c):
        raise JuryboxError("groups must give one group per question")
    per: dict[str, Interval] = {}
    per_n: dict[str, int] = {}
    for name in dict.fromkeys(g):
        mask = np.array([x == name for x in g])
        per[name] = wilson_interval(int(c[mask].sum()), int(mask.sum()), confidence)
        per_n[name] = int(mask.sum())
    return AccuracyTable(wilson_interval(int(c.sum()), len(c), confidence), len(c), int(c.sum()), per, per_n)


@dataclass(frozen=True)
class LetterBias(Record):
    """Position bias per letter over every (question, option order) answered: ``predicted_share``
    is how often the model chose the option shown at that letter, ``gold_share`` how often the
    right option was shown there, ``recall`` the accuracy when the right option was at that letter
    (Wilson interval). An unbiased model has predicted_share close to gold_share and equal recall
    across letters."""

    letters: list[str]
    predicted_share: dict[str, float]
    gold_share: dict[str, float]
    recall: dict[str, Interval]
    n: int


def letter_bias(shown_predicted: Sequence[str | None], shown_gold: Sequence[str], letters: Sequence[str], *,
                confidence: float = DEFAULT_CONFIDENCE) -> LetterBias:
    """Position bias from the letters as shown (unparsed answers: None, counted in ``n`` and
    in recall as wrong, in no letter's predicted share)."""
    if len(shown_predicted) != len(shown_gold):
        raise JuryboxError("one shown prediction per shown answer key expected")
    n = len(shown_gold)
    pred_share = {k: (sum(p == k for p in shown_predicted) / n if n else float("nan")) for k in letters}
    gold_share = {k: (sum(g == k for g in shown_gold) / n if n else float("nan")) for k in letters}
    recall = {}
    for k in letters:
        idx = [i for i, g in enumerate(shown_gold) if g == k]
        recall[k] = wilson_interval(sum(shown_predicted[i] == k for i in idx), len(idx), confidence)
    return LetterBias(list(letters), pred_share, gold_share, recall, n)


@dataclass(frozen=True)
class Routing(Record):
    """The CMExam workflow: the model pre-labels every question with its confidence; questions
    below ``threshold`` go to human reviewers. ``auto_accuracy`` is the accuracy of the labels
    kept without review, ``routed_accuracy`` the model's accuracy on the routed ones, and
    ``errors_routed`` the share of the model's errors that reach a human (None without answer
    keys)."""

    threshold: float
    n: int
    n_auto: int
    n_routed: int
    coverage: float
    auto_accuracy: Interval | None
    routed_accuracy: Interval | None
    errors_routed: float | None


def route_by_confidence(confidence: Sequence[float | None], threshold: float, correct: Sequence[bool] | None = None,
                        *, ci: float = DEFAULT_CONFIDENCE) -> tuple[list[bool], Routing]:
    """Which questions go to humans (confidence below ``threshold``, or no confidence: an
    unparsed answer always goes), and the :class:`Routing` summary."""
    if not 0.0 <= threshold <= 1.0:
        raise JuryboxError(f"the review threshold must be a probability between 0 and 1, got {threshold}",
                           option="review_below")
    routed = [c is None or not np.isfinite(c) or c < threshold for c in confidence]
    n = len(routed)
    n_routed = sum(routed)
    auto = routed_acc = None
    errors_routed = None
    if correct is not None:
        ok = list(correct)
        auto_idx = [i for i in range(n) if not routed[i]]
        r_idx = [i for i in range(n) if routed[i]]
        auto = wilson_interval(sum(ok[i] for i in auto_idx), len(auto_idx), ci)
        routed_acc = wilson_interval(sum(ok[i] for i in r_idx), len(r_idx), ci)
        wrong = [i for i in range(n) if not ok[i]]
        errors_routed = sum(routed[i] for i in wrong) / len(wrong) if wrong else float("nan")
    return routed, Routing(threshold, n, n - n_routed, n_routed, (n - n_routed) / n if n else float("nan"),
                           auto, routed_acc, errors_routed)
