"""Choosing and measuring a cascade on labelled data.

:func:`fit_cascade` asks the cheap and the large judge (one protocol and template, two models) for
every labelled item of a slice (at most ``max_labels``, drawn with ``seed``) through the engine and
the store, draws the curve of accuracy against share escalated
(:func:`~jurybox.cascade.threshold.cascade_curve`), picks the threshold for the target
(:func:`~jurybox.cascade.threshold.choose_threshold`) and saves it as a cascade file for
``--model cascade:FILE.json``.

:func:`cascade_report` measures a cascade with a given threshold on items where both judges'
verdicts are known (pure): accuracy and Cohen's kappa of the cascade, of the cheap judge and of the
large judge alone, with 95% bootstrap intervals; the share escalated; and the cost, as model calls
(tasks) and model seconds (the stored latency of each verdict), of the cascade against always
asking the large judge.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jurybox.cascade.judge import DEFAULT_LARGE, CascadeConfig, confidence, write_cascade
from jurybox.cascade.threshold import CascadeCurve, cascade_curve, choose_threshold, escalated
from jurybox.engine import Judge, RunStats, evaluate
from jurybox.errors import JuryboxError
from jurybox.stats import bootstrap_ci, cohen_kappa
from jurybox.stats._validate import is_missing
from jurybox.store import Store, open_store
from jurybox.types import Verdict

__all__ = ["CascadeFit", "cascade_report", "fit_cascade"]


def _agreement(pred: Sequence[Any], gold: Sequence[Any], n_resamples: int, seed: int) -> dict[str, Any]:
    right = np.array([not is_missing(p) and p == g for p, g in zip(pred, gold, strict=True)], dtype=float)
    ci = bootstrap_ci(np.mean, right, n_resamples=n_resamples, seed=seed)
    answered = [i for i, p in enumerate(pred) if not is_missing(p)]
    kappa = kap_lo = kap_hi = float("nan")
    if len(answered) > 1:
        a_g, a_p = [gold[i] for i in answered], [pred[i] for i in answered]
        kappa = float(cohen_kappa(a_g, a_p))
        kci = bootstrap_ci(cohen_kappa, a_g, a_p, n_resamples=n_resamples, seed=seed)
        kap_lo, kap_hi = kci.low, kci.high
    return {"accuracy": float(right.mean()) if len(right) else float("nan"), "accuracy_ci": [ci.low, ci.high],
            "kappa": kappa, "kappa_ci": [kap_lo, kap_hi], "n_answered": len(answered)}


def _calls(variants: Sequence[Mapping[str, Verdict]] | None, n: int) -> list[int]:
    return [len(vs) for vs in variants] if variants is not None else [1] * n


def cascade_report(cheap: Sequence[Verdict], large: Sequence[Verdict], gold: Sequence[Any], threshold: float, *,
                   cheap_variants: Sequence[Mapping[str, Verdict]] | None = None,
                   large_variants: Sequence[Mapping[str, Verdict]] | None = None,
                   n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """The cascade with ``threshold`` against each judge alone, on the items with a gold label
    (module docstring). The paired difference of accuracy (cascade - large) has its own interval."""
    if not (len(cheap) == len(large) == len(gold)):
        raise JuryboxError(f"cheap, large and gold differ in length ({len(cheap)}, {len(large)}, {len(gold)})")
    keep = [i for i, g in enumerate(gold) if not is_missing(g)]
    if not keep:
        raise JuryboxError("no item has a human label")
    conf = [confidence(cheap[i]) for i in keep]
    esc = escalated(conf, threshold)
    g = [gold[i] for i in keep]
    ch = [cheap[i].label if cheap[i].status == "ok" else None for i in keep]
    la = [large[i].label if large[i].status == "ok" else None for i in keep]
    cas = [la[k] if esc[k] else ch[k] for k in range(len(keep))]
    c_calls = _calls(cheap_variants, len(cheap))
    l_calls = _calls(large_variants, len(large))
    c_s = np.array([cheap[i].latency_s for i in keep])
    l_s = np.array([large[i].latency_s for i in keep])
    cc = np.array([c_calls[i] for i in keep])
    lc = np.array([l_calls[i] for i in keep])
    cascade_s = float(c_s.sum() + l_s[esc].sum())
    cascade_calls = int(cc.sum() + lc[esc].sum())
    right_c = np.array([not is_missing(p) and p == t for p, t in zip(cas, g, strict=True)], dtype=float)
    right_l = np.array([not is_missing(p) and p == t for p, t in zip(la, g, strict=True)], dtype=float)
    diff = bootstrap_ci(lambda a, b: float(np.mean(a) - np.mean(b)), right_c, right_l, n_resamples=n_resamples,
                        seed=seed)
    return {
        "n": len(keep), "threshold": threshold, "escalated": int(esc.sum()), "share_escalated": float(esc.mean()),
        "cascade": _agreement(cas, g, n_resamples, seed), "cheap": _agreement(ch, g, n_resamples, seed),
        "large": _agreement(la, g, n_resamples, seed),
        "accuracy_minus_large": diff.estimate, "accuracy_minus_large_ci": [diff.low, diff.high],
        "cost": {"cascade_calls": cascade_calls, "large_calls": int(lc.sum()), "cheap_calls": int(cc.sum()),
                 "cascade_model_s": cascade_s, "large_model_s": float(l_s.sum()), "cheap_model_s": float(c_s.sum()),
                 "calls_ratio": cascade_calls / max(1, int(lc.sum())),
                 "model_s_ratio": cascade_s / float(l_s.sum()) if l_s.sum() > 0 else float("nan")},
    }


@dataclass
class CascadeFit:
    """The chosen cascade, the curve it was chosen on, the slice's report at that threshold, the
    rows of the slice and the run statistics."""

    config: CascadeConfig
    curve: CascadeCurve
    report: dict[str, Any]
    rows: np.ndarray
    stats: RunStats = field(default_factory=RunStats)


def fit_cascade(
    data: Any,
    protocol: Any = "pairwise",
    *,
    cheap: str,
    large: str = DEFAULT_LARGE,
    human: str,
    target: float | None = None,
    within: float | None = None,
    max_labels: int | None = None,
    seed: int = 0,
    cheap_options: Mapping[str, Any] | None = None,
    large_options: Mapping[str, Any] | None = None,
    fields: Sequence[str] | Mapping[str, str] | None = None,
    store: Store | str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    backends: Mapping[str, Any] | None = None,
    progress: bool = False,
    encoding: str | None = None,
    **protocol_params: Any,
) -> CascadeFit:
    """Choose a cascade's threshold on the labelled slice of ``data`` (module docstring); ``protocol``
    is a protocol name or a :class:`~jurybox.spec.JudgeSpec` (its model is not used: the cascade's
    models are ``cheap`` and ``large``). Without ``target`` or ``within``, ``within=0.01``."""
    from jurybox.backends.registry import get_backend, parse_backend_options
    from jurybox.items import load_dataset
    from jurybox.spec import as_spec

    if target is None and within is None:
        within = 0.01
    spec = as_spec(protocol, None, protocol_params)
    proto = spec.make_protocol()
    ds = load_dataset(data, proto, fields=fields, human=human, encoding=encoding)
    if ds.human is None:
        raise JuryboxError("choosing a cascade threshold needs human labels", option="human")
    labelled = np.array([i for i, h in enumerate(ds.human) if not is_missing(h)], dtype=int)
    if len(labelled) == 0:
        raise JuryboxError("no row has a human label to choose the threshold on", option="human")
    rows = labelled
    if max_labels is not None and len(labelled) > max_labels:
        rows = np.sort(np.random.default_rng(seed).choice(labelled, size=max_labels, replace=False))
    items = [ds.items[i] for i in rows]
    gold = [ds.human[i] for i in rows]
    given = dict(backends or {})

    def backend(model: str, options: Mapping[str, Any] | None) -> Any:
        return given.get(model) or get_backend(model, **parse_backend_options(model, dict(options or {})))

    stats = RunStats()
    with open_store(store) as st:
        vc, varc, s1 = evaluate(Judge(proto, backend(cheap, cheap_options)), items, st, progress=progress,
                                description=f"cascade slice: cheap {cheap}")
        stats.merge(s1)
        vl, varl, s2 = evaluate(Judge(proto, backend(large, large_options)), items, st, progress=progress,
                                description=f"cascade slice: large {large}")
        stats.merge(s2)
    conf = [confidence(v) for v in vc]
    curve = cascade_curve([v.label if v.status == "ok" else None for v in vc], conf,
                          [v.label if v.status == "ok" else None for v in vl], gold)
    threshold = choose_threshold(curve, target=target, within=within)
    report = cascade_report(vc, vl, gold, threshold, cheap_variants=varc, large_variants=varl)
    info = {"n_slice": len(rows), "target": target, "within": within, "slice": report, "seed": seed}
    cfg = CascadeConfig(cheap, large, threshold, dict(cheap_options or {}), dict(large_options or {}),
                        proto.name, info)
    if out is not None:
        write_cascade(cfg, out)
        cfg = CascadeConfig(cfg.cheap, cfg.large, cfg.threshold, cfg.cheap_options, cfg.large_options, cfg.protocol,
                            cfg.info, str(out))
    return CascadeFit(cfg, curve, report, rows, stats)
