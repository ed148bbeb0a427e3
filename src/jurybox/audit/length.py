"""Length bias of a pairwise judge, and length-controlled debiasing.

Notation, per item i: y_i = 1 when the judge prefers response A, 0 when it prefers B (ties and
unread verdicts are dropped); h_i = +1 when the human prefers A, -1 when B (0 when unknown);
d_i = len(A) - len(B) in characters (any length measure can be passed); z_i = tanh(d_i / sd(d)),
the length feature of AlpacaEval's length-controlled win rate (Dubois et al. 2024, "Length-
Controlled AlpacaEval", arXiv 2404.04475: a GLM with a tanh of the standardised length
difference, whose length term is set to zero to get the length-controlled win rate).

* length effect = beta_len in logit P(y_i = 1) = beta_0 + beta_h h_i + beta_len z_i, by
  maximum likelihood (IRLS, tiny ridge). The log-odds change of preferring A when A becomes much
  longer than B (z from 0 to 1), holding the human preference fixed. 0 for a length-blind judge.
* P(judge prefers the longer) = share of items (unequal lengths) where the judge picks the
  longer response; the human rate on the same items is its reference.
* accuracy gap (Wei et al. 2024, "Systematic Evaluation of LLM-as-a-Judge", length bias) =
  accuracy on items where the human-preferred response is longer - accuracy where it is not
  (equal lengths count as not longer). Accuracy is the combined (both-order) verdict; a tie is
  wrong, an unread verdict is dropped.
* length-controlled win rate of A = mean_i sigmoid(beta_0 + beta_h h_i): the predicted rate of
  preferring A with the length term set to zero (AlpacaEval LC); without human labels h = 0, so
  it is sigmoid(beta_0). Compare with the raw win rate mean(y).

Debiasing: :func:`length_controlled_margins` removes beta_len z_i from each item's log-odds
margin; :func:`length_controlled_scores` removes a score judge's linear length trend.
No published number covers these exact statistics; the tests recover a known simulated length
bias within its interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from jurybox.audit._common import ResultMixin, interval
from jurybox.audit._logit import fit_logistic, sigmoid
from jurybox.errors import JuryboxError
from jurybox.stats import DEFAULT_RESAMPLES, Interval
from jurybox.stats._validate import as_float, as_object, missing_mask, same_length


def length_feature(diff: np.ndarray) -> np.ndarray:
    """tanh(d / sd(d)) (sd with ddof=0; all-zero differences give zeros)."""
    sd = float(np.std(diff)) if diff.size else 0.0
    return np.tanh(diff / sd) if sd > 0 else np.zeros_like(diff)


def _coded(judge: Any, human: Any, len_a: Any, len_b: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y, h, d) as floats: y in {0, 1, NaN}, h in {+1, -1, 0}, d the length difference."""
    j = as_object(judge, "judge")
    a, b = as_float(len_a, "len_a"), as_float(len_b, "len_b")
    h = as_object(human, "human") if human is not None else np.full(len(j), None, dtype=object)
    same_length(("judge", j), ("human", h), ("len_a", a), ("len_b", b))
    y = np.array([1.0 if v == "A" else 0.0 if v == "B" else np.nan for v in j])
    hh = np.array([1.0 if v == "A" else -1.0 if v == "B" else 0.0 for v in h])
    return y, hh, a - b


def _design(y: np.ndarray, h: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    keep = ~np.isnan(y) & ~np.isnan(d)
    z = length_feature(d[keep])
    use_h = bool(np.any(h[keep] != 0))
    cols = [np.ones(keep.sum()), h[keep], z] if use_h else [np.ones(keep.sum()), z]
    return np.column_stack(cols), y[keep], use_h


def length_effect(human: Any, judge: Any, len_a: Any, len_b: Any) -> float:
    """beta_len: log-odds of preferring A per unit of tanh(d / sd(d)), controlling for the human label."""
    x, y, _ = _design(*_coded(judge, human, len_a, len_b))
    if len(y) < 3:
        return float("nan")
    return float(fit_logistic(x, y)[-1])


def length_controlled_win_rate(judge: Any, len_a: Any, len_b: Any, human: Any = None) -> float:
    """AlpacaEval-style length-controlled rate of preferring A: the fitted GLM with its length term at 0."""
    x, y, use_h = _design(*_coded(judge, human, len_a, len_b))
    if len(y) < 3:
        return float("nan")
    beta = fit_logistic(x, y)
    eta = beta[0] + (beta[1] * x[:, 1] if use_h else 0.0)
    return float(np.mean(sigmoid(eta)))


def win_rate(judge: Any) -> float:
    """Share of items (with a verdict A or B) where the judge prefers A."""
    j = as_object(judge, "judge")
    y = np.array([1.0 if v == "A" else 0.0 if v == "B" else np.nan for v in j])
    y = y[~np.isnan(y)]
    return float(y.mean()) if y.size else float("nan")


def prefers_longer_rate(judge: Any, len_a: Any, len_b: Any) -> float:
    """Share of items with unequal lengths (and a verdict A or B) where the judge picks the longer."""
    y, _, d = _coded(judge, None, len_a, len_b)
    keep = ~np.isnan(y) & (d != 0) & ~np.isnan(d)
    if not keep.any():
        return float("nan")
    return float(np.mean((y[keep] == 1.0) == (d[keep] > 0)))


def _accuracy_split(judge: Any, human: Any, len_a: Any, len_b: Any, longer: bool) -> float:
    j, h = as_object(judge, "judge"), as_object(human, "human")
    a, b = as_float(len_a, "len_a"), as_float(len_b, "len_b")
    same_length(("judge", j), ("human", h), ("len_a", a), ("len_b", b))
    ok = ~missing_mask(j) & np.isin(h, ["A", "B"])
    chosen_longer = np.where(h == "A", a > b, b > a)
    sel = ok & (chosen_longer if longer else ~chosen_longer)
    return float(np.mean(j[sel] == h[sel])) if sel.any() else float("nan")


def accuracy_gap(human: Any, judge: Any, len_a: Any, len_b: Any) -> float:
    """Accuracy when the human-preferred response is longer minus accuracy when it is not (Wei et al.)."""
    return (_accuracy_split(judge, human, len_a, len_b, True)
            - _accuracy_split(judge, human, len_a, len_b, False))


@dataclass(frozen=True)
class LengthResult(ResultMixin):
    """Length bias of a pairwise judge (definitions in the module docstring)."""

    probe: ClassVar[str] = "length"
    length_effect: Interval
    prefers_longer: Interval
    human_prefers_longer: Interval
    accuracy_gap: Interval
    accuracy_when_chosen_longer: Interval
    accuracy_when_chosen_not_longer: Interval
    win_rate: Interval
    length_controlled_win_rate: Interval
    human_win_rate: Interval
    n_items: int
    n_unparsed: int
    length_unit: str


def _acc_longer(j: Any, h: Any, a: Any, b: Any) -> float:
    return _accuracy_split(j, h, a, b, True)


def _acc_shorter(j: Any, h: Any, a: Any, b: Any) -> float:
    return _accuracy_split(j, h, a, b, False)


def text_lengths(texts: Any, unit: str = "chars") -> np.ndarray:
    """Lengths of texts in characters (``"chars"``) or whitespace-separated words (``"words"``)."""
    measure: Callable[[str], int]
    if unit == "chars":
        measure = len
    elif unit == "words":
        def measure(t: str) -> int:
            return len(t.split())
    else:
        raise JuryboxError(f"length unit must be 'chars' or 'words', got {unit!r}")
    return np.array([measure(str(t)) for t in texts], dtype=float)


def length_bias(human: Any, judge: Any, len_a: Any, len_b: Any, *, n_resamples: int = DEFAULT_RESAMPLES,
                seed: int | None = 0, length_unit: str = "chars") -> LengthResult:
    """All length statistics with 95% bootstrap intervals over items.

    ``human``: "A"/"B" or None (the human statistics are NaN without it); ``judge``: the combined
    verdict per item ("A", "B", "tie" or None).
    """
    j = as_object(judge, "judge")
    h = as_object(human, "human") if human is not None else np.full(len(j), None, dtype=object)
    a, b = as_float(len_a, "len_a"), as_float(len_b, "len_b")
    same_length(("judge", j), ("human", h), ("len_a", a), ("len_b", b))
    kw: dict[str, Any] = {"n_resamples": n_resamples, "seed": seed}
    return LengthResult(
        length_effect=interval(length_effect, h, j, a, b, **kw),
        prefers_longer=interval(prefers_longer_rate, j, a, b, **kw),
        human_prefers_longer=interval(prefers_longer_rate, h, a, b, **kw),
        accuracy_gap=interval(accuracy_gap, h, j, a, b, **kw),
        accuracy_when_chosen_longer=interval(_acc_longer, j, h, a, b, **kw),
        accuracy_when_chosen_not_longer=interval(_acc_shorter, j, h, a, b, **kw),
        win_rate=interval(win_rate, j, **kw),
        length_controlled_win_rate=interval(length_controlled_win_rate, j, a, b, h, **kw),
        human_win_rate=interval(win_rate, h, **kw),
        n_items=len(j),
        n_unparsed=int(missing_mask(j).sum()),
        length_unit=length_unit,
    )


def length_controlled_margins(margin: Any, len_a: Any, len_b: Any, human: Any = None) -> np.ndarray:
    """Debiased pairwise log-odds: margin_i - beta_len * tanh(d_i / sd(d)).

    beta_len is fitted on the judge's own hard preferences (sign of the margin), with the human
    label as a control when given. NaN margins stay NaN.
    """
    m = as_float(margin, "margin")
    labels = np.array([None if np.isnan(v) else ("A" if v > 0 else "B") for v in m], dtype=object)
    beta = length_effect(human, labels, len_a, len_b)
    d = as_float(len_a, "len_a") - as_float(len_b, "len_b")
    z = np.full(len(d), np.nan)
    ok = ~np.isnan(d)
    z[ok] = length_feature(d[ok])
    return np.asarray(m - beta * z)


def _length_z(lengths: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(lengths)
    if not ok.any():
        return np.full(len(lengths), np.nan)
    sd = float(np.std(lengths[ok]))
    return np.tanh((lengths - float(np.mean(lengths[ok]))) / sd) if sd > 0 else np.zeros(len(lengths))


def _score_fit(s: np.ndarray, ln: np.ndarray, hv: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Least squares score = a [+ c human] + g z; returns (z, rows used, g)."""
    z = _length_z(ln)
    ok = ~np.isnan(s) & ~np.isnan(z)
    use_h = bool(np.any(~np.isnan(hv[ok])))
    if use_h:
        ok &= ~np.isnan(hv)
    if ok.sum() < 3:
        return z, ok, float("nan")
    cols = [np.ones(ok.sum()), hv[ok], z[ok]] if use_h else [np.ones(ok.sum()), z[ok]]
    coef, *_ = np.linalg.lstsq(np.column_stack(cols), s[ok], rcond=None)
    return z, ok, float(coef[-1])


def score_length_effect(scores: Any, lengths: Any, human: Any = None) -> float:
    """g in score = a + c human + g tanh((len - mean) / sd) by least squares (human optional).

    The change in a score judge's (expected) score from an average-length response to a much longer
    one, holding the human score fixed. Missing values: the item is dropped.
    """
    s, ln = as_float(scores, "scores"), as_float(lengths, "lengths")
    hv = as_float(human, "human") if human is not None else np.full(len(s), np.nan)
    same_length(("scores", s), ("lengths", ln), ("human", hv))
    return _score_fit(s, ln, hv)[2]


@dataclass(frozen=True)
class ScoreLengthResult(ResultMixin):
    """Length effect of a score judge (see :func:`score_length_effect`)."""

    probe: ClassVar[str] = "length"
    score_length_effect: Interval
    n_items: int
    length_unit: str


def score_length_bias(scores: Any, lengths: Any, human: Any = None, *, n_resamples: int = DEFAULT_RESAMPLES,
                      seed: int | None = 0, length_unit: str = "chars") -> ScoreLengthResult:
    s, ln = as_float(scores, "scores"), as_float(lengths, "lengths")
    hv = as_float(human, "human") if human is not None else np.full(len(s), np.nan)
    same_length(("scores", s), ("lengths", ln), ("human", hv))
    return ScoreLengthResult(
        score_length_effect=interval(score_length_effect, s, ln, hv, n_resamples=n_resamples, seed=seed),
        n_items=int((~np.isnan(s) & ~np.isnan(ln)).sum()), length_unit=length_unit)


def length_controlled_scores(scores: Any, lengths: Any, human: Any = None) -> np.ndarray:
    """Score-judge debiasing: remove the least-squares trend of score on tanh(standardised length).

    Fits score = a + c * human + g * z (z = tanh((len - mean) / sd)), human optional, and returns
    score - g * z, so the mean score is unchanged and length no longer predicts the score beyond
    what the human score explains.
    """
    s, ln = as_float(scores, "scores"), as_float(lengths, "lengths")
    hv = as_float(human, "human") if human is not None else np.full(len(s), np.nan)
    same_length(("scores", s), ("lengths", ln), ("human", hv))
    z, used, g = _score_fit(s, ln, hv)
    if g != g:
        return s.copy()
    return np.asarray(s - g * (z - float(np.mean(z[used]))))
