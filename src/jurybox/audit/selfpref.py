"""Self-preference: does the judge favour responses written by its own model family?

Items record which model wrote each response (``model_a``, ``model_b``). The audit keeps the items
where exactly one response comes from the judge's family (``family`` matched case-insensitively as
a substring of the model name, so "qwen" matches "Qwen2.5-7B-Instruct"); "own" is that response.

* judge own rate = share of those items (with a verdict A or B) where the judge picks its own;
* human own rate = the same share for the human label, on the same items;
* self-preference = judge own rate - human own rate (paired: both on the items where both exist).
  Without human labels the reference is 0.5 (no preference).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from jurybox.audit._common import ResultMixin, interval
from jurybox.errors import JuryboxError
from jurybox.stats import DEFAULT_RESAMPLES, Interval
from jurybox.stats._validate import as_object, missing_mask, same_length


def own_side(model_a: Any, model_b: Any, family: str) -> np.ndarray:
    """"A" or "B" where exactly one response is by ``family``, else None."""
    if not family.strip():
        raise JuryboxError("self-preference needs the judge's model family, e.g. family='qwen'")
    a, b = as_object(model_a, "model_a"), as_object(model_b, "model_b")
    same_length(("model_a", a), ("model_b", b))
    f = family.strip().lower()
    ia = np.array([f in str(v).lower() if v is not None else False for v in a])
    ib = np.array([f in str(v).lower() if v is not None else False for v in b])
    out = np.full(len(a), None, dtype=object)
    out[ia & ~ib] = "A"
    out[ib & ~ia] = "B"
    return out


def _own_rate(labels: Any, own: Any) -> float:
    lab, o = as_object(labels, "labels"), as_object(own, "own")
    ok = np.isin(lab, ["A", "B"]) & ~missing_mask(o)
    return float(np.mean(lab[ok] == o[ok])) if ok.any() else float("nan")


def _self_pref(human: Any, judge: Any, own: Any) -> float:
    j, h, o = as_object(judge, "judge"), as_object(human, "human"), as_object(own, "own")
    ok = np.isin(j, ["A", "B"]) & np.isin(h, ["A", "B"]) & ~missing_mask(o)
    if not ok.any():
        return float("nan")
    return float(np.mean(j[ok] == o[ok]) - np.mean(h[ok] == o[ok]))


def _vs_half(judge: Any, own: Any) -> float:
    return _own_rate(judge, own) - 0.5


@dataclass(frozen=True)
class SelfPreferenceResult(ResultMixin):
    """Judge's rate of picking its own family's response against the human rate."""

    probe: ClassVar[str] = "self_preference"
    family: str
    judge_own_rate: Interval
    human_own_rate: Interval
    self_preference: Interval
    n_items: int


def self_preference(human: Any, judge: Any, model_a: Any, model_b: Any, family: str, *,
                    n_resamples: int = DEFAULT_RESAMPLES, seed: int | None = 0) -> SelfPreferenceResult:
    """Self-preference statistics with 95% bootstrap intervals over the items with one own response.

    ``human``: the human label per item ("A"/"B", or None for no human labels at all); ``judge``: the
    judge's verdict per item.
    """
    own = own_side(model_a, model_b, family)
    sel = ~missing_mask(own)
    j = as_object(judge, "judge")[sel]
    h = (as_object(human, "human") if human is not None else np.full(len(own), None, dtype=object))[sel]
    o = own[sel]
    kw: dict[str, Any] = {"n_resamples": n_resamples, "seed": seed}
    diff = interval(_self_pref, h, j, o, **kw) if human is not None else interval(_vs_half, j, o, **kw)
    return SelfPreferenceResult(family=family, judge_own_rate=interval(_own_rate, j, o, **kw),
                                human_own_rate=interval(_own_rate, h, o, **kw), self_preference=diff,
                                n_items=int(sel.sum()))
