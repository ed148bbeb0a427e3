"""The jury as a dataset-level API: judges (models x templates) over a table, aggregated, with agreement.

``jury_table(data, judges=[{"model": ..., "templates": [...]}, ...], protocol=..., aggregation=...)``
runs every judge through the engine (:func:`run_jury`) and returns the table with one verdict column
per judge plus the jury's ``jury_verdict``, ``jury_confidence`` and ``jury_score``; with a human label
column, each judge's and the jury's accuracy and Cohen's kappa against it.

Aggregations: ``majority`` (plurality, ties give no verdict), ``weighted`` (one ``weight`` per judge
spec), ``dawid-skene`` (EM, no human labels), ``mean``/``median`` (of verdict scores), ``pre``
(qualification exam on a random ``exam`` share of the human-labelled rows, threshold ``threshold``,
weights log(p/(1-p)); agreement is then reported on the other rows only), ``stacked`` (a logistic
regression over the judges' option log-probabilities, :mod:`jurybox.stacking`: applied from a saved
fit with ``stack={"file": FIT.json}``, else fitted on the human-labelled rows with repeated k-fold,
``stack={"folds": 5, "repeats": 3, "C": 1.0, "max_labels": None, "seed": 0, "balanced": False,
"save": FIT.json}``;
a fitting row's verdict is then its out-of-fold prediction).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from jurybox.backends.base import Backend
from jurybox.backends.registry import BackendOptionError, parse_backend_options
from jurybox.engine import Judge, RunStats
from jurybox.errors import JuryboxError
from jurybox.items import load_dataset
from jurybox.jury.aggregate import agreement_with, mean_score, median_score, weighted_vote
from jurybox.jury.dawid_skene import dawid_skene
from jurybox.jury.pre import qualify, zscore_pool
from jurybox.jury.runner import label_matrix, run_jury, score_matrix
from jurybox.spec import JudgeSpec
from jurybox.stats import cohen_kappa
from jurybox.stats._validate import nan_to_none
from jurybox.store import Store, open_store

__all__ = ["AGGREGATIONS", "JuryResult", "build_judges", "judge_specs", "jury_table"]

AGGREGATIONS = ("majority", "weighted", "dawid-skene", "mean", "median", "pre", "stacked")
STACK_KEYS = ("file", "save", "folds", "repeats", "C", "max_labels", "seed", "balanced")


@dataclass
class JuryResult:
    """The output table, each judge's and the jury's agreement with the human labels, and run stats."""

    table: pd.DataFrame
    judges: tuple[str, ...]
    agreement: list[dict[str, Any]]
    stats: RunStats
    items: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


_SPEC_KEYS = ("model", "templates", "template", "name", "weight", "params", "backend_options")
#: a config judge's few-shot and calibration keys: JudgeSpec fields of the same names
_QUALITY_KEYS = ("examples", "shots", "select", "examples_fields", "examples_label", "contextual", "calibration")


def judge_specs(specs: Sequence[Mapping[str, Any] | JudgeSpec], protocol: str,
                params: Mapping[str, Any]) -> tuple[list[JudgeSpec], list[float]]:
    """Expand a jury config's judges into one :class:`JudgeSpec` per model x template, and their
    weights. A config judge is a mapping (``model``, ``templates`` or ``template``, optional
    ``name``, ``weight``, ``params``, ``backend_options``: the model's backend options such as
    ``{concurrency: 8, rpm: 600}``, typed as ``--backend-option`` values are) or a JudgeSpec."""
    expanded = _expand(specs, protocol, params)
    return [s for _, s, _ in expanded], [w for _, _, w in expanded]


def _expand(specs: Sequence[Mapping[str, Any] | JudgeSpec], protocol: str,
            params: Mapping[str, Any]) -> list[tuple[int, JudgeSpec, float]]:
    """(config judge number, spec, weight) per model x template."""
    if not specs:
        raise JuryboxError("the jury config lists no judges")
    out: list[tuple[int, JudgeSpec, float]] = []
    for n, spec in enumerate(specs, start=1):
        if isinstance(spec, JudgeSpec):
            out.append((n, spec, 1.0))
            continue
        unknown = set(spec) - set(_SPEC_KEYS) - set(_QUALITY_KEYS)
        if unknown:
            raise JuryboxError(f"judge {n}: unknown key(s) {sorted(unknown)} "
                               "(use model, templates, name, weight, params, backend_options, or the few-shot and "
                               "calibration keys examples, shots, select, contextual, calibration)")
        quality = {k: spec[k] for k in _QUALITY_KEYS if k in spec}
        model = spec.get("model")
        templates = spec.get("templates") or [spec.get("template", "default")]
        if isinstance(templates, str):
            templates = [templates]
        options = spec.get("backend_options") or {}
        if not isinstance(options, Mapping):
            raise JuryboxError(f"judge {n}: backend_options must map option names to values, got {options!r}")
        try:
            typed = parse_backend_options(model, options) if options else {}
        except BackendOptionError as exc:
            # a key of the jury config, not a command-line flag
            raise BackendOptionError(f"judge {n}: {exc}", option=None, key=exc.key) from exc
        w = spec.get("weight", 1.0)
        try:
            weight = float(w)
        except (TypeError, ValueError) as exc:
            raise JuryboxError(f"judge {n}: weight must be a number, got {w!r}") from exc
        merged = {**dict(params), **dict(spec.get("params") or {})}
        merged.pop("template", None)
        for t in templates:
            base = spec.get("name") or f"{model or 'default-model'}"
            name = f"{base}:{t}" if len(templates) > 1 or not spec.get("name") else base
            out.append((n, JudgeSpec(protocol, merged, str(t), model, typed, name, **quality), weight))
    return out


def build_judges(specs: Sequence[Mapping[str, Any] | JudgeSpec], protocol: str, params: Mapping[str, Any],
                 backends: Mapping[str, Backend] | None = None) -> tuple[list[Judge], list[float]]:
    """The engine's judges for a jury config's judges (see :func:`judge_specs`), and their weights.
    ``backends`` maps model specs to backends already built (a model passed as an object)."""
    judges: list[Judge] = []
    weights: list[float] = []
    built: dict[int, Backend] = {}  # one backend per config judge, shared by its templates
    for n, spec, weight in _expand(specs, protocol, params):
        if n not in built:
            given = (backends or {}).get(str(spec.model)) if spec.model is not None else None
            if given is not None and spec.backend_options:
                raise JuryboxError(f"judge {n}: backend_options cannot be given for a model passed as a backend "
                                   "object")
            built[n] = given or spec.make_backend()
        judges.append(Judge(spec.make_protocol(), built[n], spec.name))
        weights.append(weight)
    return judges, weights


def _agreement_row(name: str, labels: Sequence[Any], human: Sequence[Any], rows: np.ndarray) -> dict[str, Any]:
    lab = np.asarray(labels, dtype=object)[rows]
    hum = np.asarray(human, dtype=object)[rows]
    has = np.array([h is not None for h in hum])
    answered = np.array([x is not None for x in lab]) & has
    acc = float(agreement_with(lab[None, :], list(hum))[0]) if has.any() else float("nan")
    kappa = float(cohen_kappa(list(hum[answered]), list(lab[answered]))) if answered.sum() > 1 else float("nan")
    return {"judge_name": name, "n_labelled": int(has.sum()), "n_answered": int(answered.sum()), "accuracy": acc,
            "kappa": kappa}


def _stacked(run: Any, js: Sequence[Judge], gold: Sequence[Any] | None, judges: Sequence[Mapping[str, Any] | JudgeSpec],
             protocol: str, params: Mapping[str, Any], cfg: Mapping[str, Any],
             details: dict[str, Any]) -> tuple[list[Any], np.ndarray]:
    """The stacked jury's labels and confidences (from a saved fit, or fitted here with k-fold)."""
    from jurybox.stacking.api import stack_jury
    from jurybox.stacking.judge import apply_stack, read_stack, write_stack

    if cfg.get("file"):
        fitted = read_stack(cfg["file"])
        verdicts = apply_stack(fitted, list(run.judges), run.variants)
        details["stack"] = {"file": str(cfg["file"])}
    else:
        assert gold is not None
        specs, _ = judge_specs(judges, protocol, params)
        max_labels = cfg.get("max_labels")
        res = stack_jury(run, js, gold, specs=specs, folds=int(cfg.get("folds", 5)),
                         repeats=int(cfg.get("repeats", 3)), C=float(cfg.get("C", 1.0)),
                         seed=int(cfg.get("seed", 0)), max_labels=None if max_labels is None else int(max_labels),
                         balanced=bool(cfg.get("balanced", False)))
        verdicts = res.verdicts
        details["stack"] = {"n_fit": len(res.fit_rows), "cv": res.cv.to_dict(), "comparison": res.comparison}
        if cfg.get("save"):
            write_stack(res.stack, cfg["save"])
            details["stack"]["saved"] = str(cfg["save"])
    labels = [v.label for v in verdicts]
    conf = np.array([max(v.probs.values()) if v.probs else np.nan for v in verdicts], dtype=float)
    return labels, conf


def jury_table(
    data: pd.DataFrame | str | os.PathLike[str],
    judges: Sequence[Mapping[str, Any] | JudgeSpec],
    *,
    protocol: str = "pairwise",
    params: Mapping[str, Any] | None = None,
    aggregation: str = "majority",
    fields: Sequence[str] | Mapping[str, str] | None = None,
    human: str | None = None,
    store: Store | str | os.PathLike[str] | None = None,
    exam: float = 0.2,
    threshold: float = 0.6,
    seed: int = 0,
    progress: bool = False,
    backends: Mapping[str, Backend] | None = None,
    encoding: str | None = None,
    stack: Mapping[str, Any] | None = None,
) -> JuryResult:
    """Run a jury over a dataset and aggregate (module docstring)."""
    if aggregation not in AGGREGATIONS:
        raise JuryboxError(f"unknown aggregation '{aggregation}' (use {', '.join(AGGREGATIONS)})")
    stack_cfg = dict(stack or {})
    unknown = sorted(set(stack_cfg) - set(STACK_KEYS))
    if unknown:
        raise JuryboxError(f"unknown stack setting(s) {unknown} (use {', '.join(STACK_KEYS)})")
    if stack_cfg and aggregation != "stacked":
        raise JuryboxError("stack settings are for aggregation 'stacked'")
    js, weights = build_judges(judges, protocol, params or {}, backends)
    proto = js[0].protocol
    dataset = load_dataset(data, proto, fields=fields, human=human, encoding=encoding)
    df, items, gold = dataset.table, dataset.items, dataset.human
    if aggregation == "pre" and gold is None:
        raise JuryboxError("aggregation 'pre' needs human labels for its qualification exam (set 'human')")
    if aggregation == "stacked" and not stack_cfg.get("file") and gold is None:
        raise JuryboxError("aggregation 'stacked' needs human labels to fit on (set 'human'), or a saved fit "
                           "(stack: {file: FIT.json})")
    if aggregation == "stacked" and stack_cfg.get("file"):
        from jurybox.stacking.judge import read_stack

        fitted = read_stack(stack_cfg["file"])
        if fitted.protocol != protocol:
            raise JuryboxError(f"{fitted.path}: the stack was fitted for protocol {fitted.protocol}, not {protocol}")
        fitted.check_judges(js)  # before any model call
    with open_store(store) as st:
        run = run_jury(js, items, st, progress=progress)
    labels = label_matrix(run.verdicts)
    scores = score_matrix(run.verdicts)
    n = len(items)
    eval_rows = np.arange(n)
    details: dict[str, Any] = {"aggregation": aggregation}
    jury_label: list[Any] = [None] * n
    conf = np.full(n, np.nan)
    jscore = np.full(n, np.nan)
    if aggregation in ("majority", "weighted"):
        v = weighted_vote(labels, weights if aggregation == "weighted" else None, label_set=proto.labels() or None)
        jury_label, conf = list(v.label), v.support
    elif aggregation == "dawid-skene":
        ds = dawid_skene(labels, label_set=proto.labels() or None)
        jury_label, conf = list(ds.label), ds.posterior.max(axis=1)
        details["dawid_skene_accuracy"] = dict(zip(run.judges, ds.accuracy.tolist(), strict=True))
    elif aggregation == "stacked":
        jury_label, conf = _stacked(run, js, gold, judges, protocol, params or {}, stack_cfg, details)
    elif aggregation in ("mean", "median"):
        pooled = mean_score(scores) if aggregation == "mean" else median_score(scores)
        jscore = pooled.score
    else:  # pre
        assert gold is not None
        labelled = np.array([i for i, g in enumerate(gold) if g is not None])
        rng = np.random.default_rng(seed)
        k = max(1, int(round(exam * len(labelled))))
        exam_rows = np.sort(rng.permutation(labelled)[:k])
        eval_rows = np.setdiff1d(np.arange(n), exam_rows)
        q = qualify(labels[:, exam_rows], [gold[i] for i in exam_rows], threshold=threshold, judges=run.judges)
        details["qualification"] = q.to_dict()
        details["exam_rows"] = (exam_rows + 1).tolist()
        if not q.qualified.any():
            raise JuryboxError(f"no judge passed the qualification exam (agreement > {threshold}); agreements: "
                               + ", ".join(f"{j} {p:.3f}" for j, p in zip(run.judges, q.agreement, strict=True)))
        if protocol == "score":
            jscore = zscore_pool(scores, q.weights).score
        else:
            v = weighted_vote(labels, q.weights, label_set=proto.labels() or None)
            jury_label, conf = list(v.label), v.support
    out = df.copy()
    for j, name in enumerate(run.judges):
        out[f"verdict[{name}]"] = list(labels[j])
    out["jury_verdict"] = jury_label
    out["jury_confidence"] = nan_to_none(conf)
    if protocol in ("score",) or aggregation in ("mean", "median"):
        out["jury_score"] = nan_to_none(jscore)
    if aggregation == "pre":
        in_exam = np.zeros(n, dtype=bool)
        in_exam[np.setdiff1d(np.arange(n), eval_rows)] = True
        out["jury_exam"] = in_exam
    agreement: list[dict[str, Any]] = []
    if gold is not None:
        for j, name in enumerate(run.judges):
            agreement.append(_agreement_row(name, labels[j], gold, eval_rows))
        if any(x is not None for x in jury_label):
            agreement.append(_agreement_row(f"jury ({aggregation})", jury_label, gold, eval_rows))
    return JuryResult(out, run.judges, agreement, run.stats, items, details)
