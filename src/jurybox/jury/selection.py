"""Candidate selection for N sampled answers to one question: Best-of-N, majority, Best-of-Majority.

Definitions (Di et al., "Best-of-Majority", arXiv 2510.03199, ICLR 2026; method card 2):

* normalise each final answer (:func:`normalise_answer`) so equivalent answers group together;
* frequency pi(y) = (number of candidates whose normalised answer is y) / N;
* Best-of-N (BoN): the top-k candidates by score (judge or reward score);
* majority vote: the most frequent normalised answer (ties broken by the higher best score, then by
  first appearance); the representative candidate is the best-scored one with that answer;
* Best-of-Majority (BoM): keep the answers with pi(y) >= alpha, then submit the top-k of those
  answers by score (each answer represented by its best-scored candidate). alpha = 0 is plain
  Best-of-N over distinct answers. When fewer than k answers survive, only the survivors are
  returned (the paper leaves this case open).

Candidates with a missing score (NaN: the judge's answer was unreadable) count towards frequencies
but are never selected. Published check (MATH-500, Pass@1, Qwen3-4B + AceMath-7B-RM): BoN 83.6,
BoM(alpha=0.005) 86.8, BoM(alpha=0.015) 87.4, majority 86.4; the tests check the definitions on
constructed candidate sets where BoN and BoM must differ.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jurybox.errors import JuryboxError

_BOXED = re.compile(r"\\boxed\{((?:[^{}]|\{[^{}]*\})*)\}")
_ANSWER_IS = re.compile(r"(?:final answer|answer)\s*(?:is|:)\s*(.+)$", re.IGNORECASE | re.DOTALL)
_NUMBER = re.compile(r"^[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")


def normalise_answer(text: str) -> str:
    r"""Canonical form of a final answer: the last ``\boxed{...}`` or the text after "answer is"/"answer:"
    when present; then lower case, collapsed whitespace, surrounding ``$``, quotes and final
    punctuation stripped; a number loses thousands separators and trailing zeros ("1,000.50" -> "1000.5")."""
    t = str(text).strip()
    boxed = _BOXED.findall(t)
    if boxed:
        t = boxed[-1]
    else:
        m = _ANSWER_IS.search(t)
        if m:
            t = m.group(1)
    t = re.sub(r"\s+", " ", t).strip().strip("$").strip().strip("\"'`").rstrip(".!;,").strip().lower()
    if _NUMBER.match(t):
        t = t.replace(",", "")
        if "." in t:
            t = t.rstrip("0").rstrip(".")
        if t.startswith("+"):
            t = t[1:]
        if t in ("-0", ""):
            t = "0"
    return t


@dataclass(frozen=True)
class Selection:
    """Chosen candidate indices (best first), and the normalised answers with their frequencies."""

    method: str
    chosen: tuple[int, ...]
    answers: tuple[str, ...]
    frequency: dict[str, float]
    survivors: tuple[str, ...]

    @property
    def best(self) -> int | None:
        return self.chosen[0] if self.chosen else None

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "chosen": list(self.chosen), "answers": list(self.answers),
                "frequency": self.frequency, "survivors": list(self.survivors)}


def _prepare(answers: Sequence[str] | None, scores: Any, n: int | None = None) -> tuple[list[str], np.ndarray]:
    s = np.asarray(scores, dtype=float) if scores is not None else np.full(n or 0, np.nan)
    if s.ndim != 1:
        raise JuryboxError("scores must be one number per candidate")
    norm = [normalise_answer(a) for a in answers] if answers is not None else [str(i) for i in range(len(s))]
    if answers is not None and scores is not None and len(norm) != len(s):
        raise JuryboxError(f"{len(norm)} answers but {len(s)} scores")
    if not norm:
        raise JuryboxError("no candidates to select from")
    return norm, s


def _freq(norm: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for a in norm:
        out[a] = out.get(a, 0.0) + 1.0 / len(norm)
    return out


def _best_of(idx: Sequence[int], s: np.ndarray) -> int | None:
    ok = [i for i in idx if not np.isnan(s[i])]
    return max(ok, key=lambda i: (s[i], -i)) if ok else None


def best_of_n(scores: Any, *, k: int = 1, answers: Sequence[str] | None = None) -> Selection:
    """The top-k candidates by score (ties: the earlier candidate first); NaN scores never chosen."""
    if k < 1:
        raise JuryboxError("k must be >= 1")
    norm, s = _prepare(answers, scores)
    order = sorted((i for i in range(len(s)) if not np.isnan(s[i])), key=lambda i: (-s[i], i))
    return Selection("best-of-n", tuple(order[:k]), tuple(norm), _freq(norm), tuple(dict.fromkeys(norm)))


def majority_answer(answers: Sequence[str], scores: Any = None) -> Selection:
    """The most frequent normalised answer and its representative candidate (module docstring).

    Without scores the representative is the first candidate with that answer.
    """
    norm, s = _prepare(answers, scores, n=len(answers))
    freq = _freq(norm)
    groups: dict[str, list[int]] = {}
    for i, a in enumerate(norm):
        groups.setdefault(a, []).append(i)

    def key(a: str) -> tuple[float, float, int]:
        b = _best_of(groups[a], s)
        return (freq[a], s[b] if b is not None else -np.inf, -groups[a][0])

    top = max(groups, key=key)
    rep = _best_of(groups[top], s)
    chosen = (rep,) if rep is not None else (groups[top][0],)
    return Selection("majority", chosen, tuple(norm), freq, (top,))


def best_of_majority(answers: Sequence[str], scores: Any, *, alpha: float, k: int = 1) -> Selection:
    """Best-of-Majority: answers with frequency >= alpha, then the top-k of them by score."""
    if not 0.0 <= alpha <= 1.0:
        raise JuryboxError(f"alpha must be in [0, 1], got {alpha}")
    if k < 1:
        raise JuryboxError("k must be >= 1")
    norm, s = _prepare(answers, scores)
    freq = _freq(norm)
    survivors = [a for a in dict.fromkeys(norm) if freq[a] >= alpha - 1e-12]
    reps = []
    for a in survivors:
        b = _best_of([i for i, x in enumerate(norm) if x == a], s)
        if b is not None:
            reps.append(b)
    reps.sort(key=lambda i: (-s[i], i))
    return Selection(f"best-of-majority(alpha={alpha})", tuple(reps[:k]), tuple(norm), freq, tuple(survivors))
