"""Position bias of a pairwise judge, and rubric-order bias of a score judge.

Definitions (per item i, a pairwise judge asked in both presentation orders; labels name the
*response*, "A" or "B", never the position):

* flip rate = mean_i [label_AB(i) != label_BA(i)]: the verdict changes when the two responses
  swap places (Wei et al. 2024, "position bias" = inconsistency rate).
* positional agreement = 1 - flip rate (LLMBar's ``equal`` in statistics.json).
* P(first position wins) = share of per-order verdicts whose winner was shown first, pooled over
  both orders. An order-blind judge has 0.5; a judge whose flips all favour one slot has
  0.5 + flip rate / 2 (first) or 0.5 - flip rate / 2 (second).
* first-position log-odds bias b = mean_i (margin_AB(i) - margin_BA(i)) / 2, with margin the
  judge's log-odds for response A over B in that order. A judge whose log-odds get +b for
  whatever is shown first has exactly this b (it is what swap-and-combine cancels).
* rubric-order shift = mean_i (score with the rubric listed high-to-low - score listed low-to-high),
  on the expected score (Score protocol, ``reverse_rubric=True`` against False).

Missing: a verdict that could not be read (None) is dropped with its item (``unparsed="drop"``,
the default); ``unparsed="category"`` counts an unread answer as a label of its own, so two
unread answers agree; ``unparsed="disagree"`` counts it as not agreeing (flip rate and positional
agreement are :func:`jurybox.stats.flip_rate` / :func:`jurybox.stats.positional_agreement`, re-exported
here). The "category" rule is how LLMBar's evaluate.py computes ``equal``; with it,
the flip rates computed from the published GPT-4 and ChatGPT verdicts reproduce ``equal`` for all
seven Adversarial and Processed sets exactly (tests/audit/test_llmbar_crosscheck.py; for example
GPT-4 Neighbor 120/134 = 89.6%, ChatGPT GPTOut 20/47 = 42.6%, GPT-4 LLMEval^2 175/200 = 87.5%).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from jurybox.audit._common import ResultMixin, interval
from jurybox.stats import DEFAULT_RESAMPLES, Interval, mean_difference
from jurybox.stats._validate import as_float, as_object, missing_mask, same_length
from jurybox.stats.positional import Unparsed, flip_rate, positional_agreement


def first_position_win_rate(first_won_ab: Any, first_won_ba: Any) -> float:
    """Share of per-order verdicts (both orders pooled) won by the response shown first.

    Inputs: per item, whether the first-shown response won in order AB / BA (True/False, None
    when that order's verdict could not be read; those are dropped). NaN with no verdicts.
    """
    vals = np.concatenate([as_float(first_won_ab, "first_won_ab"), as_float(first_won_ba, "first_won_ba")])
    vals = vals[~np.isnan(vals)]
    return float(vals.mean()) if vals.size else float("nan")


def first_position_logodds(margin_ab: Any, margin_ba: Any) -> float:
    """mean_i (margin_AB - margin_BA) / 2: the log-odds bonus of being shown first (items with both)."""
    a, b = as_float(margin_ab, "margin_ab"), as_float(margin_ba, "margin_ba")
    same_length(("margin_ab", a), ("margin_ba", b))
    d = (a - b)[~(np.isnan(a) | np.isnan(b))] / 2.0
    return float(d.mean()) if d.size else float("nan")


@dataclass(frozen=True)
class PositionResult(ResultMixin):
    """Position bias of a pairwise judge (see the module docstring for the definitions)."""

    probe: ClassVar[str] = "position"
    flip_rate: Interval
    first_position_win_rate: Interval
    first_position_logodds: Interval
    n_items: int
    n_unparsed: int

    @property
    def positional_agreement(self) -> float:
        return 1.0 - self.flip_rate.estimate


def position_bias(label_ab: Any, label_ba: Any, first_won_ab: Any, first_won_ba: Any,
                  margin_ab: Any = None, margin_ba: Any = None, *, n_resamples: int = DEFAULT_RESAMPLES,
                  seed: int | None = 0) -> PositionResult:
    """All position statistics with 95% bootstrap intervals over items."""
    a, b = as_object(label_ab, "label_ab"), as_object(label_ba, "label_ba")
    same_length(("label_ab", a), ("label_ba", b))
    n_unparsed = int((missing_mask(a) | missing_mask(b)).sum())
    fa, fb = as_float(first_won_ab, "first_won_ab"), as_float(first_won_ba, "first_won_ba")
    nan = np.full(len(a), np.nan)
    ma = as_float(margin_ab, "margin_ab") if margin_ab is not None else nan
    mb = as_float(margin_ba, "margin_ba") if margin_ba is not None else nan
    return PositionResult(
        flip_rate=interval(flip_rate, a, b, n_resamples=n_resamples, seed=seed),
        first_position_win_rate=interval(first_position_win_rate, fa, fb, n_resamples=n_resamples, seed=seed),
        first_position_logodds=interval(first_position_logodds, ma, mb, n_resamples=n_resamples, seed=seed),
        n_items=len(a),
        n_unparsed=n_unparsed,
    )


@dataclass(frozen=True)
class RubricOrderResult(ResultMixin):
    """Shift of a score judge's expected score when the rubric is listed in reverse order."""

    probe: ClassVar[str] = "position"
    rubric_order_shift: Interval
    n_items: int


def rubric_order_shift(forward: Any, reversed_: Any, *, n_resamples: int = DEFAULT_RESAMPLES,
                       seed: int | None = 0) -> RubricOrderResult:
    """mean(score with the rubric reversed - score with the rubric in ascending order), with its interval.

    Uses jurybox.stats.mean_difference (pairwise deletion of missing scores).
    """
    f, r = as_float(forward, "forward"), as_float(reversed_, "reversed")
    same_length(("forward", f), ("reversed", r))
    return RubricOrderResult(
        rubric_order_shift=interval(mean_difference, f, r, n_resamples=n_resamples, seed=seed),
        n_items=int((~(np.isnan(f) | np.isnan(r))).sum()),
    )


__all__ = ["PositionResult", "RubricOrderResult", "Unparsed", "first_position_logodds", "first_position_win_rate",
           "flip_rate", "position_bias", "positional_agreement", "rubric_order_shift"]
