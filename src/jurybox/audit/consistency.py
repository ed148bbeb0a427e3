"""Wording sensitivity (K template variants) and internal consistency (K repeats at temperature > 0).

Both use one statistic over an items x K matrix of labels (None = unread, dropped):

    P(agree) = mean over items with m_i >= 2 read labels of  sum_c n_ic (n_ic - 1) / (m_i (m_i - 1)),

the probability that two different columns (templates, or repeats) chosen at random give the same
label; n_ic counts label c in row i. For repeats this is Wei et al.'s p_consist ("Systematic
Evaluation of LLM-as-a-Judge", 2024: "the probability that two repeat runs agree", K = 5 there).
For templates, wording flip rate = 1 - P(agree); ``any_flip`` = share of items whose K labels are
not all equal. Level: nominal.

Repeats are real model calls: :class:`Repeated` wraps a protocol so that every option request
becomes K generation requests at ``temperature`` (variants ``"<variant>#<k>"``). Repeat k's sampling
seed is derived from the prompt and k (:func:`repeat_seed`), so the repeats of different items are
independent draws (with seeds 0..K-1 for every item, item i's repeat k and item j's repeat k would
share one random stream) and a rerun reproduces them exactly. Each repeat is a task with its own
key, so repeats are stored and an audit rerun makes no calls.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from jurybox.audit._common import ResultMixin, Row, interval
from jurybox.errors import JuryboxError
from jurybox.protocols.base import JudgeProtocol
from jurybox.stats import DEFAULT_RESAMPLES, Interval
from jurybox.stats._validate import as_object, missing_mask
from jurybox.types import BackendResult, GenerateRequest, OptionsRequest, Prompt, Request, Verdict


def repeat_seed(prompt: Prompt, variant: str, k: int) -> int:
    """A sampling seed in [0, 2**31) from the prompt's content, its variant and the repeat number."""
    text = json.dumps([prompt.to_dict(), variant, k], sort_keys=True, ensure_ascii=False)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big") & 0x7FFFFFFF


def _matrix(labels: Any) -> np.ndarray:
    m = np.asarray(labels, dtype=object)
    if m.ndim != 2:
        raise JuryboxError(f"labels must be an items x K matrix; got shape {m.shape}")
    return m


def _counts(labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the count of each distinct label (rows x labels) and the number of read labels."""
    m = _matrix(labels)
    miss = missing_mask(m.ravel()).reshape(m.shape)
    text = np.where(miss, "", m.astype(str))
    uniq = np.unique(text[~miss]) if (~miss).any() else np.array([], dtype=str)
    counts = (text[:, :, None] == uniq[None, None, :]) & ~miss[:, :, None]
    c = counts.sum(axis=1)
    return c, c.sum(axis=1)


def agreement_probability(labels: Any) -> float:
    """P(two columns agree), averaged over rows with at least two read labels (see module docstring)."""
    c, k = _counts(labels)
    ok = k >= 2
    if not ok.any():
        return float("nan")
    return float(np.mean((c[ok] * (c[ok] - 1)).sum(axis=1) / (k[ok] * (k[ok] - 1))))


def flip_rate_across(labels: Any) -> float:
    """1 - :func:`agreement_probability`: chance two columns (templates) disagree on an item."""
    return 1.0 - agreement_probability(labels)


def any_flip_rate(labels: Any) -> float:
    """Share of rows (with >= 2 read labels) whose read labels are not all equal."""
    c, k = _counts(labels)
    ok = k >= 2
    return float(np.mean((c[ok] > 0).sum(axis=1) > 1)) if ok.any() else float("nan")


def _accuracy(judge: Any, human: Any) -> float:
    j, h = as_object(judge, "judge"), as_object(human, "human")
    ok = ~missing_mask(j) & ~missing_mask(h)
    return float(np.mean(j[ok] == h[ok])) if ok.any() else float("nan")


@dataclass(frozen=True)
class WordingResult(ResultMixin):
    """Verdict changes across K meaning-preserving templates, and each template's accuracy."""

    probe: ClassVar[str] = "wording"
    templates: tuple[str, ...]
    flip_rate: Interval
    any_flip: Interval
    accuracy: dict[str, Interval]
    n_items: int

    def rows(self) -> Any:
        yield from super().rows()
        for t, iv in self.accuracy.items():
            yield Row(self.probe, f"accuracy[{t}]", iv.estimate, iv.low, iv.high, iv.n_units)


def wording_sensitivity(labels: Mapping[str, Any], human: Any = None, *, n_resamples: int = DEFAULT_RESAMPLES,
                        seed: int | None = 0) -> WordingResult:
    """``labels``: template name -> per-item labels (all the same length)."""
    if len(labels) < 2:
        raise JuryboxError(f"the wording probe needs at least two templates; got {list(labels)}")
    names = tuple(labels)
    m = np.column_stack([as_object(labels[t], f"labels[{t}]") for t in names])
    kw: dict[str, Any] = {"n_resamples": n_resamples, "seed": seed}
    acc = {t: interval(_accuracy, as_object(labels[t], t), as_object(human, "human"), **kw)
           for t in names} if human is not None else {}
    return WordingResult(templates=names, flip_rate=interval(flip_rate_across, m, **kw),
                         any_flip=interval(any_flip_rate, m, **kw), accuracy=acc, n_items=m.shape[0])


@dataclass(frozen=True)
class ConsistencyResult(ResultMixin):
    """P(two repeats at temperature > 0 agree), over items x presentation orders."""

    probe: ClassVar[str] = "consistency"
    p_consist: Interval
    repeats: int
    temperature: float
    n_rows: int
    n_unparsed: int


def internal_consistency(labels: Any, *, temperature: float, n_resamples: int = DEFAULT_RESAMPLES,
                         seed: int | None = 0) -> ConsistencyResult:
    """``labels``: rows (item, or item x order) x K repeats; None for an unread answer."""
    m = _matrix(labels)
    return ConsistencyResult(p_consist=interval(agreement_probability, m, n_resamples=n_resamples, seed=seed),
                             repeats=m.shape[1], temperature=temperature, n_rows=m.shape[0],
                             n_unparsed=int(missing_mask(m.ravel()).sum()))


class Repeated(JudgeProtocol):
    """Ask ``inner``'s questions ``k`` times by sampling at ``temperature`` (seeds: :func:`repeat_seed`).

    Each option request becomes a generation request of at most ``max_tokens`` tokens; the answer
    is read by the inner protocol's text path (an answer matching no option stays unparsed).
    """

    name: ClassVar[str] = "repeated"
    required: ClassVar[tuple[str, ...]] = ()

    def __init__(self, inner: JudgeProtocol, *, k: int = 5, temperature: float = 1.0, max_tokens: int = 4) -> None:
        if k < 2:
            raise JuryboxError(f"repeats must be at least 2, got {k}")
        if temperature <= 0:
            raise JuryboxError(f"repeats need a temperature > 0, got {temperature}")
        self.inner = inner
        self.k, self.temperature, self.max_tokens = k, temperature, max_tokens
        self.criteria, self.template = inner.criteria, inner.template
        self.template_text, self._template = inner.template_text, inner._template
        self.required = inner.required  # type: ignore[misc]
        self.prefill = inner.prefill  # type: ignore[misc]

    def labels(self) -> tuple[str, ...]:
        return self.inner.labels()

    def params(self) -> dict[str, Any]:
        return {**self.inner.params(), "repeats": {"k": self.k, "temperature": self.temperature,
                                                    "max_tokens": self.max_tokens}}

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        out: list[tuple[str, Request]] = []
        for variant, req in self.inner.requests(item):
            prompt = req.prompt
            if not isinstance(req, OptionsRequest):
                raise JuryboxError("repeats need a protocol that asks option questions")
            for r in range(self.k):
                out.append((f"{variant}#{r}", GenerateRequest(prompt, max_tokens=self.max_tokens,
                                                              temperature=self.temperature,
                                                              seed=repeat_seed(prompt, variant, r))))
        return out

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        base, _, r = variant.rpartition("#")
        v = self.inner.interpret(base, result)
        v.extra["repeat"] = int(r)
        return v

    def combine(self, item: Mapping[str, Any], verdicts: Mapping[str, Verdict]) -> Verdict:
        """The first repeat's verdict, with every variant's label under extra["repeats"]."""
        first = next(iter(verdicts.values()))
        out = Verdict(label=first.label, probs=first.probs, status=first.status, raw=first.raw,
                      extra={"repeats": {k: v.label for k, v in verdicts.items()}})
        return out


def repeat_matrix(variants: Sequence[Mapping[str, Verdict]], k: int) -> np.ndarray:
    """Rows (item x base variant) x K labels from a :class:`Repeated` run's per-variant verdicts."""
    rows: list[list[Any]] = []
    for vs in variants:
        bases: dict[str, list[Any]] = {}
        for name, v in vs.items():
            base = name.rpartition("#")[0]
            bases.setdefault(base, []).append(v.label if v.status == "ok" else None)
        rows.extend(labels for labels in bases.values())
    if any(len(r) != k for r in rows):
        raise JuryboxError("every item must have the same number of repeats")
    return np.array(rows, dtype=object).reshape(len(rows), k)
