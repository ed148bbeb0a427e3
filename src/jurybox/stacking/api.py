"""Fitting a stacked jury on a jury run, with cross-validation and the comparison with the
unsupervised aggregations on the same judges.

:func:`stack_jury` takes a finished :class:`~jurybox.jury.runner.JuryRun` (every member asked
through the engine and the store) and the human labels: it fits the stack on the labelled items
(at most ``max_labels`` of them, drawn with ``seed``), estimates its accuracy by repeated
stratified k-fold, and scores majority vote, Dawid-Skene and every member alone on the same
labelled items. The jury's verdict on a labelled item is its *out-of-fold* prediction (first
repeat), so agreement reported on those items is not measured on the items the regression saw;
unlabelled items get the full fit's prediction. :func:`fit_stacked_jury` does the whole thing from
a dataset and a jury config and can save the fit for ``stack:FIT.json``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from jurybox.engine import Judge, RunStats
from jurybox.errors import JuryboxError
from jurybox.jury.aggregate import majority_vote
from jurybox.jury.dawid_skene import dawid_skene
from jurybox.jury.runner import JuryRun, label_matrix, run_jury
from jurybox.stacking.judge import Member, StackFile, _score, apply_stack, member_of, write_stack
from jurybox.stacking.model import (
    CrossValidation,
    cross_validate,
    feature_layout,
    feature_matrix,
    feature_names,
    fit_stack,
)
from jurybox.stats import bootstrap_ci, cohen_kappa
from jurybox.stats._validate import is_missing
from jurybox.store import Store, open_store
from jurybox.types import Verdict

__all__ = ["StackOutcome", "fit_stacked_jury", "method_agreement", "stack_jury"]


@dataclass
class StackOutcome:
    """The fit (``stack``), its cross-validation, the verdict per item (out-of-fold on the fitting
    items), the rows used for fitting, and each method's agreement on those rows."""

    stack: StackFile
    cv: CrossValidation
    verdicts: list[Verdict]
    fit_rows: np.ndarray
    comparison: list[dict[str, Any]]
    stats: RunStats = field(default_factory=RunStats)
    table: pd.DataFrame | None = None


def method_agreement(name: str, predicted: Sequence[Any], gold: Sequence[Any], *, n_resamples: int = 1000,
                     seed: int = 0) -> dict[str, Any]:
    """Accuracy (a missing prediction counts as wrong: an unreadable answer is not a right one) with
    its 95% bootstrap interval, and Cohen's kappa on the answered items, with its interval."""
    pred = list(predicted)
    g = list(gold)
    right = np.array([not is_missing(p) and p == t for p, t in zip(pred, g, strict=True)], dtype=float)
    ci = bootstrap_ci(np.mean, right, n_resamples=n_resamples, seed=seed)
    answered = [i for i, p in enumerate(pred) if not is_missing(p)]
    kap = float("nan")
    klo = khi = float("nan")
    if len(answered) > 1:
        a_g = [g[i] for i in answered]
        a_p = [pred[i] for i in answered]
        kap = float(cohen_kappa(a_g, a_p))
        kci = bootstrap_ci(cohen_kappa, a_g, a_p, n_resamples=n_resamples, seed=seed)
        klo, khi = kci.low, kci.high
    return {"method": name, "n": len(g), "n_answered": len(answered), "accuracy": float(right.mean()),
            "accuracy_ci": [ci.low, ci.high], "kappa": kap, "kappa_ci": [klo, khi]}


def stack_jury(run: JuryRun, judges: Sequence[Judge], gold: Sequence[Any], *, specs: Sequence[Any] | None = None,
               folds: int = 5, repeats: int = 3, C: float = 1.0, seed: int = 0, max_labels: int | None = None,
               n_resamples: int = 1000, balanced: bool = False) -> StackOutcome:
    """Fit, cross-validate and compare (module docstring)."""
    names = list(run.judges)
    if [j.name for j in judges] != names:
        raise JuryboxError("the judges do not match the jury run")
    labelled = np.array([i for i, g in enumerate(gold) if not is_missing(g)], dtype=int)
    if len(labelled) == 0:
        raise JuryboxError("a stacked jury needs human labels to fit on (set 'human')")
    fit_rows = labelled
    if max_labels is not None and len(labelled) > max_labels:
        fit_rows = np.sort(np.random.default_rng(seed).choice(labelled, size=max_labels, replace=False))
    protocol = judges[0].protocol.name
    if any(j.protocol.name != protocol for j in judges):
        raise JuryboxError("a stacked jury's judges must share one protocol")
    layout = feature_layout(names, run.variants)
    fnames = feature_names(layout)
    x, _ = feature_matrix(layout, names, run.variants)
    y = [str(gold[i]) for i in fit_rows]
    cv = cross_validate(x[fit_rows], y, fnames, folds=folds, repeats=repeats, C=C, seed=seed,
                        n_resamples=n_resamples, balanced=balanced)
    model = fit_stack(x[fit_rows], y, fnames, C=C, balanced=balanced)
    members: list[Member] = [member_of(j, specs[k] if specs is not None else None) for k, j in enumerate(judges)]
    info = {"n_fit": len(fit_rows), "cv": cv.to_dict(), "seed": seed}
    stack = StackFile(protocol, tuple(members), layout, model, info)
    verdicts = apply_stack(stack, names, run.variants)
    position = {int(r): k for k, r in enumerate(fit_rows)}
    classes = cv.classes
    for i, k in position.items():  # the fitting items: their out-of-fold prediction (first repeat)
        probs = {c: float(cv.oof_proba[0, k, j]) for j, c in enumerate(classes)}
        v = verdicts[i]
        verdicts[i] = Verdict(label=cv.oof[0][k], probs=probs, score=_score(classes, probs),
                              extra={**v.extra, "out_of_fold": True})
    labels = label_matrix(run.verdicts)
    g_fit = [str(gold[i]) for i in fit_rows]
    comparison = [method_agreement(f"stacked ({cv.folds}-fold x {cv.repeats}, out-of-fold)",
                                   [verdicts[i].label for i in fit_rows], g_fit, n_resamples=n_resamples, seed=seed)]
    maj = majority_vote(labels)
    comparison.append(method_agreement("majority", [maj.label[i] for i in fit_rows], g_fit,
                                       n_resamples=n_resamples, seed=seed))
    if len(names) > 1:
        ds = dawid_skene(labels, label_set=judges[0].protocol.labels() or None)
        comparison.append(method_agreement("dawid-skene", [ds.label[i] for i in fit_rows], g_fit,
                                           n_resamples=n_resamples, seed=seed))
    for j, name in enumerate(names):
        comparison.append(method_agreement(name, [labels[j, i] for i in fit_rows], g_fit, n_resamples=n_resamples,
                                           seed=seed))
    return StackOutcome(stack, cv, verdicts, fit_rows, comparison, run.stats)


def fit_stacked_jury(
    data: pd.DataFrame | str | os.PathLike[str],
    judges: Sequence[Mapping[str, Any] | Any],
    *,
    protocol: str = "pairwise",
    params: Mapping[str, Any] | None = None,
    human: str,
    fields: Sequence[str] | Mapping[str, str] | None = None,
    store: Store | str | os.PathLike[str] | None = None,
    folds: int = 5,
    repeats: int = 3,
    C: float = 1.0,
    seed: int = 0,
    max_labels: int | None = None,
    balanced: bool = False,
    out: str | os.PathLike[str] | None = None,
    backends: Mapping[str, Any] | None = None,
    progress: bool = False,
    encoding: str | None = None,
) -> StackOutcome:
    """Run the jury config's judges on ``data`` (engine and store), fit the stack on the ``human``
    labels, cross-validate, compare, and save the fit to ``out`` (for ``stack:OUT``)."""
    from jurybox.items import load_dataset
    from jurybox.jury.api import build_judges, judge_specs

    specs, _ = judge_specs(judges, protocol, params or {})
    js, _ = build_judges(judges, protocol, params or {}, backends)
    ds = load_dataset(data, js[0].protocol, fields=fields, human=human, encoding=encoding)
    if ds.human is None:
        raise JuryboxError("a stacked jury needs a human label column", option="human")
    with open_store(store) as st:
        run = run_jury(js, ds.items, st, progress=progress)
    res = stack_jury(run, js, ds.human, specs=specs, folds=folds, repeats=repeats, C=C, seed=seed,
                     max_labels=max_labels, balanced=balanced)
    if out is not None:
        write_stack(res.stack, out)
    table = ds.table.copy()
    table["stack_verdict"] = [v.label for v in res.verdicts]
    table["stack_probs"] = [v.probs for v in res.verdicts]
    table["stack_out_of_fold"] = [bool(v.extra.get("out_of_fold")) for v in res.verdicts]
    res.table = table
    return res
