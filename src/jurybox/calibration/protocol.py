"""The calibrated judge: contextual calibration and a fitted per-label bias as a protocol wrapper.

:class:`CalibratedProtocol` wraps any protocol whose requests ask for option probabilities.

* **Contextual calibration** (``contextual=True``): every item gets, besides its own tasks, one
  task per content-free string (``"N/A"``, ``""``, ``"[MASK]"`` substituted for each of the
  item's fields) and variant, under the variant name ``cf<i>:<variant>``. They are ordinary
  tasks (engine, store, exactly once); the same content-free prompt is the same task key for
  every item, so with a fixed prompt (zero-shot, or fixed few-shot examples) they are asked once
  per run, and with per-item examples once per item. Their verdicts are read in *option* space
  (the option distribution, before any option -> label mapping), so two variants with the same
  content-free prompt (both orders of a pairwise item whose responses are both "N/A") share one
  answer correctly. Each variant's option distribution p becomes q proportional to p / p_cf
  (:mod:`jurybox.calibration.contextual`).
* **Bias** (``bias=`` a :class:`~jurybox.calibration.files.LabelBias`): each variant's label
  log-probabilities get b added and are renormalised (:mod:`jurybox.calibration.bias`), after
  the contextual step when both are on.

Both act when an item's verdicts are combined, on the stored per-variant verdicts, so changing
or refitting the calibration costs no model call and task keys do not change. A calibrated
variant is read again by the wrapped protocol from its calibrated option log-probabilities (so a
pairwise margin, a score's expected grade, a correctness probability are recomputed the
protocol's own way); it keeps ``extra["uncalibrated_probs"]``, and the item verdict keeps
``extra["uncalibrated"]`` (label, probs, score of the uncalibrated combination). An unparsed or
failed answer, or one without option log-probabilities, is passed through unchanged: it stays
unparsed. An item whose content-free answers are missing keeps its uncalibrated distribution
and says so in ``extra["calibration"]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from jurybox.calibration.bias import apply_bias
from jurybox.calibration.contextual import CONTENT_FREE, content_free_distribution, contextual_calibrate
from jurybox.calibration.files import LabelBias
from jurybox.calibration.wrap import Wrapped, innermost, option_labels
from jurybox.errors import JuryboxError
from jurybox.protocols.base import JudgeProtocol
from jurybox.types import BackendResult, OptionScores, OptionsRequest, Request, Verdict

__all__ = ["CF_PREFIX", "CalibratedProtocol", "content_free_item"]

CF_PREFIX = "cf"
ABSENT = -1e4  # the log-probability of a label no option of this variant stands for (pairwise "tie")


def is_content_free(variant: str) -> bool:
    return variant.startswith(CF_PREFIX) and ":" in variant and variant[len(CF_PREFIX):variant.index(":")].isdigit()


def content_free_item(item: Mapping[str, Any], token: str, fields: Sequence[str]) -> dict[str, Any]:
    """``item`` with every text field in ``fields`` replaced by ``token`` (a list of texts by
    ``[token]``); other values are kept."""
    out = dict(item)
    for f in fields:
        v = out.get(f)
        if isinstance(v, str):
            out[f] = token
        elif isinstance(v, list | tuple) and v and all(isinstance(x, str) for x in v):
            out[f] = [token]
    return out


class CalibratedProtocol(Wrapped):
    """``inner`` with contextual calibration and/or a fitted per-label bias (module docstring)."""

    def __init__(self, inner: JudgeProtocol, *, contextual: bool = False,
                 content_free: Sequence[str] = CONTENT_FREE, bias: LabelBias | None = None) -> None:
        super().__init__(inner)
        self.base = innermost(inner)
        self.contextual = bool(contextual)
        self.content_free = tuple(content_free)
        if self.contextual and not self.content_free:
            raise JuryboxError("contextual calibration needs at least one content-free string")
        if bias is not None:
            bias.check(self.name, self.labels(), self.contextual)
        self.bias = bias

    # -- tasks
    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        out = list(self.inner.requests(item))
        if not self.contextual:
            return out
        for _, req in out:
            if not isinstance(req, OptionsRequest):
                raise JuryboxError(f"contextual calibration needs a protocol answered by option probabilities; "
                                   f"{self.name} generates text")
        fields = [f for f in (*self.base.required, *self.base.optional) if f not in self.base.structure]
        in_context = getattr(self.inner, "requests_in_context", None)
        for i, token in enumerate(self.content_free):
            cf = content_free_item(item, token, fields)
            reqs = in_context(cf, item) if in_context is not None else self.inner.requests(cf)
            out.extend((f"{CF_PREFIX}{i}:{v}", r) for v, r in reqs)
        return out

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        if not is_content_free(variant):
            return self.inner.interpret(variant, result)
        if not isinstance(result, OptionScores) or not result.logprobs:
            return Verdict(label=None, status="unparsed", raw=getattr(result, "text", ""),
                           extra={"content_free": True}, prompt_tokens=result.prompt_tokens,
                           completion_tokens=result.completion_tokens)
        probs = {o: math.exp(lp) for o, lp in result.logprobs.items()}
        return Verdict(label=max(probs, key=lambda o: probs[o]), probs=probs, raw=result.text,
                       extra={"content_free": True, "logprobs": dict(result.logprobs), "method": result.method,
                              "option_mass": result.mass},
                       prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)

    # -- calibration
    def answer_options(self, item: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
        """Each real variant's answer options for ``item``."""
        return {v: tuple(r.options) for v, r in self.base.requests(item) if isinstance(r, OptionsRequest)}

    def _p_cf(self, variant: str, options: Sequence[str], verdicts: Mapping[str, Verdict]) -> np.ndarray | None:
        rows = []
        for i in range(len(self.content_free)):
            cf = verdicts.get(f"{CF_PREFIX}{i}:{variant}")
            if cf is None or cf.status != "ok" or not cf.probs or set(cf.probs) != set(options):
                return None
            rows.append([cf.probs[o] for o in options])
        return content_free_distribution(rows)

    def option_logprobs(self, item: Mapping[str, Any], verdicts: Mapping[str, Verdict], *,
                        bias: bool = True) -> dict[str, dict[str, float] | None]:
        """Each real variant's calibrated option log-probabilities (contextual step, then the bias
        when ``bias``), or None for a variant that has none (unparsed, failed, generated) or whose
        content-free answers are missing."""
        opts = self.answer_options(item)
        out: dict[str, dict[str, float] | None] = {}
        for v, x in verdicts.items():
            if is_content_free(v):
                continue
            lps = x.extra.get("logprobs") if x.status == "ok" else None
            options = opts.get(v)
            if not lps or options is None:
                out[v] = None
                continue
            to_label = option_labels(self.base, v, options)
            if set(to_label) != set(options) or any(to_label[o] not in lps for o in options):
                out[v] = None
                continue
            lo = np.array([lps[to_label[o]] for o in options], dtype=float)
            if self.contextual:
                p_cf = self._p_cf(v, options, verdicts)
                if p_cf is None:
                    out[v] = None
                    continue
                p = np.exp(lo - lo.max())
                lo = np.log(np.maximum(contextual_calibrate(p, p_cf), 1e-300))
            if bias and self.bias is not None and self.bias.space == "option":
                # by answer option (a shortlist's letter: its position); an option the fit never saw gets 0
                b = dict(zip(self.bias.labels, self.bias.bias, strict=True))
                lo = lo + np.array([b.get(o, 0.0) for o in options])
            elif bias and self.bias is not None:
                labels = self.labels()
                z = np.full(len(labels), ABSENT)
                col = {lab: k for k, lab in enumerate(labels)}
                for j, o in enumerate(options):
                    z[col[to_label[o]]] = lo[j]
                cal = apply_bias(z, self.bias.vector(labels))
                lo = np.array([cal[col[to_label[o]]] for o in options])
            lo = lo - np.log(np.exp(lo - lo.max()).sum()) - lo.max()
            out[v] = {o: float(x_) for o, x_ in zip(options, lo, strict=True)}
        return out

    def label_logprobs(self, item: Mapping[str, Any], verdicts: Mapping[str, Verdict], *,
                       bias: bool = False) -> dict[str, dict[str, float] | None]:
        """:meth:`option_logprobs` keyed by label (what a bias is fitted on: ``bias=False``)."""
        opts = self.answer_options(item)
        out: dict[str, dict[str, float] | None] = {}
        for v, lo in self.option_logprobs(item, verdicts, bias=bias).items():
            if lo is None:
                out[v] = None
                continue
            to_label = option_labels(self.base, v, opts[v])
            out[v] = {to_label[o]: lp for o, lp in lo.items()}
        return out

    def combine(self, item: Mapping[str, Any], verdicts: Mapping[str, Verdict]) -> Verdict:
        real = {v: x for v, x in verdicts.items() if not is_content_free(v)}
        if not self.contextual and self.bias is None:
            return self.inner.combine(item, real)
        cal_lps = self.option_logprobs(item, verdicts)
        calibrated: dict[str, Verdict] = {}
        missing = []
        for v, x in real.items():
            lo = cal_lps.get(v)
            if lo is None:
                if x.status == "ok" and x.extra.get("logprobs"):
                    missing.append(v)
                calibrated[v] = x
                continue
            res = OptionScores(logprobs=lo, raw_logprobs=lo, mass=float(x.extra.get("option_mass", 1.0)),
                               method=str(x.extra.get("method", "logprobs")), text=x.raw,
                               prompt_tokens=x.prompt_tokens, completion_tokens=x.completion_tokens)
            nv = self.inner.interpret(v, res)
            nv.latency_s = x.latency_s
            nv.extra["uncalibrated_probs"] = x.probs
            calibrated[v] = nv
        out = self.inner.combine(item, calibrated)
        raw = self.inner.combine(item, real)
        out.extra["uncalibrated"] = {"label": raw.label, "probs": raw.probs, "score": raw.score}
        steps = (["contextual"] if self.contextual else []) + (["bias"] if self.bias is not None else [])
        out.extra["calibration"] = "+".join(steps) if not missing else (
            f"not applied to {', '.join(missing)}: content-free answers missing")
        return out
