"""Fitting the per-label bias of a judge on a labelled dataset, with k-fold estimates of what it buys.

:func:`fit_calibration` judges the dataset through the engine and the store (a rerun makes no
model call; with ``contextual=True`` in the spec, the content-free tasks too), fits b on every
labelled item's per-variant label log-probabilities (both orders of a pairwise item are two rows
of one group), and estimates the gain by k-fold cross-validation over items: b fitted on k-1
folds, the held-out items' verdicts combined with it by the protocol's own rule, and accuracy,
Cohen's kappa (and, for graded labels, Spearman's rho of the expected grade) computed on those
out-of-fold verdicts against the uncalibrated ones on the same items. The fit is written with
:func:`~jurybox.calibration.files.save_label_bias` when ``out`` is given.

:func:`bias_rows`, :func:`fit_label_bias`, :func:`cross_validated_verdicts` and
:func:`agreement` work on verdicts already in hand (the benchmark uses them on stored runs).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jurybox.calibration.bias import DEFAULT_L2, fit_bias, targets
from jurybox.calibration.files import SPACES, LabelBias, save_label_bias
from jurybox.calibration.protocol import ABSENT, CalibratedProtocol
from jurybox.calibration.wrap import innermost, option_labels
from jurybox.errors import JuryboxError
from jurybox.protocols.base import JudgeProtocol
from jurybox.types import Verdict

__all__ = ["CalibrationFit", "agreement", "bias_rows", "cross_validated_verdicts", "fit_calibration",
           "fit_label_bias"]


def _as_calibrated(protocol: JudgeProtocol, contextual: bool) -> CalibratedProtocol:
    if isinstance(protocol, CalibratedProtocol):
        if protocol.bias is not None:
            protocol = protocol.inner  # fit on the log-probabilities before any bias
        else:
            return protocol
    return CalibratedProtocol(protocol, contextual=contextual)


def option_names(protocol: CalibratedProtocol, items: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """Every answer option of these items' variants, in first-seen order (an option-space bias's
    columns: a shortlist's letters A, B, ...)."""
    seen: dict[str, None] = {}
    for item in items:
        for options in protocol.answer_options(item).values():
            seen.update(dict.fromkeys(options))
    return tuple(seen)


def bias_rows(protocol: CalibratedProtocol, items: Sequence[Mapping[str, Any]],
              variants: Sequence[Mapping[str, Verdict]], human: Sequence[str | None], *,
              space: str = "label", columns: Sequence[str] | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fitting rows: per labelled item and variant with log-probabilities, the label
    log-probabilities over ``protocol.labels()`` (absent labels at -1e4), the one-hot human label
    and the item's index as its group. With ``space="option"`` the columns are answer options
    (``columns``, default :func:`option_names`) and the target is the option that stands for the
    human label in that variant. A row whose human label is not among its options (a label
    outside a shortlist's candidates) is left out: no bias can make the judge give it."""
    if space == "option":
        names = tuple(columns) if columns is not None else option_names(protocol, items)
        opts_of = protocol.answer_options
    else:
        names = protocol.labels()
    col = {lab: k for k, lab in enumerate(names)}
    z, lab_rows, groups = [], [], []
    for i, (item, vs, h) in enumerate(zip(items, variants, human, strict=True)):
        if h is None:
            continue
        opts = opts_of(item) if space == "option" else {}
        per_variant = (protocol.option_logprobs(item, vs, bias=False) if space == "option"
                       else protocol.label_logprobs(item, vs, bias=False))
        for v, lps in per_variant.items():
            if lps is None:
                continue
            if space == "option":
                to_label = option_labels(protocol.base, v, opts[v])
                target = next((o for o, lab in to_label.items() if lab == h), None)
            else:
                target = h if h in lps else None
            if target is None:  # the human label is not an answer option here (outside a shortlist)
                continue
            row = np.full(len(names), ABSENT)
            for lab, lp in lps.items():
                row[col[lab]] = lp
            z.append(row)
            lab_rows.append(target)
            groups.append(i)
    if not z:
        raise JuryboxError("no labelled item has option log-probabilities to fit the bias on")
    return np.array(z), targets(lab_rows, names), np.array(groups)


def fit_label_bias(protocol: JudgeProtocol, items: Sequence[Mapping[str, Any]],
                   variants: Sequence[Mapping[str, Verdict]], human: Sequence[str | None], *,
                   contextual: bool = False, l2: float = DEFAULT_L2, judge: str = "",
                   space: str = "label") -> LabelBias:
    """The :class:`LabelBias` fitted on these items' verdicts (see :func:`bias_rows`): one bias
    per label, or with ``space="option"`` one per answer option (a position bias)."""
    if space not in SPACES:
        raise JuryboxError(f"space must be one of {', '.join(SPACES)}, got {space!r}", option="space")
    cal = _as_calibrated(protocol, contextual)
    names = option_names(cal, items) if space == "option" else tuple(cal.labels())
    z, t, _ = bias_rows(cal, items, variants, human, space=space, columns=names)
    fit = fit_bias(z, t, l2=l2)
    return LabelBias(protocol=cal.name, labels=tuple(names), bias=tuple(float(x) for x in fit.bias),
                     contextual=cal.contextual, l2=l2, n=fit.n, loglik=fit.loglik, loglik_zero=fit.loglik_zero,
                     judge=judge, space=space)


def cross_validated_verdicts(protocol: JudgeProtocol, items: Sequence[Mapping[str, Any]],
                             variants: Sequence[Mapping[str, Verdict]], human: Sequence[str | None], *,
                             contextual: bool = False, folds: int = 5, seed: int = 0,
                             l2: float = DEFAULT_L2, space: str = "label") -> list[Verdict]:
    """Each item's verdict combined with the bias fitted on the other folds' labelled items
    (folds over items; an unlabelled item is in a fold too and gets that fold's bias)."""
    cal = _as_calibrated(protocol, contextual)
    n = len(items)
    if n < 2:
        raise JuryboxError(f"cross-validation needs at least 2 items, got {n}")
    k = max(2, min(folds, n))
    fold = np.random.default_rng(seed).permutation(n) % k
    out: list[Verdict | None] = [None] * n
    for f in range(k):
        train = [i for i in range(n) if fold[i] != f]
        fit = fit_label_bias(cal, [items[i] for i in train], [variants[i] for i in train],
                             [human[i] for i in train], contextual=cal.contextual, l2=l2, space=space)
        with_bias = CalibratedProtocol(cal.inner, contextual=cal.contextual, bias=fit)
        for i in range(n):
            if fold[i] == f:
                out[i] = with_bias.combine(items[i], variants[i])
    return [v for v in out if v is not None]


def _numeric(xs: Sequence[Any]) -> np.ndarray | None:
    try:
        return np.array([np.nan if x is None else float(x) for x in xs])
    except (TypeError, ValueError):
        return None


def agreement(verdicts: Sequence[Verdict], human: Sequence[str | None], labels: Sequence[str]) -> dict[str, float]:
    """Accuracy and Cohen's kappa of the verdicts' labels against ``human`` over the labelled,
    answered items (an unanswered item counts as wrong for accuracy and is left out of kappa), and
    Spearman's rho of the verdict score with the human label when both are numeric."""
    from jurybox.stats import cohen_kappa, spearman

    pairs = [(v.label, h) for v, h in zip(verdicts, human, strict=True) if h is not None]
    answered = [(a, h) for a, h in pairs if a is not None]
    out: dict[str, float] = {"n": float(len(pairs)), "answered": float(len(answered))}
    out["accuracy"] = float(np.mean([a == h for a, h in pairs])) if pairs else float("nan")
    out["kappa"] = (cohen_kappa([a for a, _ in answered], [h for _, h in answered], labels=list(labels))
                    if len(answered) >= 2 else float("nan"))
    hs = _numeric([h for v, h in zip(verdicts, human, strict=True) if h is not None])
    if hs is not None:
        sc = np.array([np.nan if v.score is None else v.score
                       for v, h in zip(verdicts, human, strict=True) if h is not None])
        out["spearman"] = spearman(sc, hs)
    return out


@dataclass
class CalibrationFit:
    """The fit, the k-fold estimates (uncalibrated vs calibrated on the same items) and the run."""

    fit: LabelBias
    cv: dict[str, dict[str, float]]
    model_calls: int
    n_items: int
    n_labelled: int
    path: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"fit": self.fit.to_dict(), "cv": self.cv, "model_calls": self.model_calls, "n_items": self.n_items,
                "n_labelled": self.n_labelled, "path": self.path, "notes": self.notes}


def fit_calibration(data: Any, spec: Any, *, human: str, store: Any = None,
                    fields: Sequence[str] | Mapping[str, str] | None = None, folds: int = 5, seed: int = 0,
                    l2: float = DEFAULT_L2, out: str | os.PathLike[str] | None = None, encoding: str | None = None,
                    progress: bool = False, space: str = "label") -> CalibrationFit:
    """Judge ``data`` with ``spec`` (its own calibration file, if any, is ignored: the bias is
    refitted), fit the per-label (``space="option"``: per-option) bias on the ``human`` labels and
    estimate its gain (module docstring); write the fit to ``out``."""
    from jurybox.engine import Judge, evaluate
    from jurybox.items import load_dataset
    from jurybox.spec import as_spec
    from jurybox.store import open_store

    spec = as_spec(spec).replace(calibration=None)
    proto = _as_calibrated(spec.make_protocol(), spec.contextual)
    ds = load_dataset(data, proto, fields=fields, human=human, encoding=encoding)
    assert ds.human is not None
    labelled = sum(h is not None for h in ds.human)
    if labelled < 2:
        raise JuryboxError(f"the bias fit needs at least 2 labelled items, got {labelled}", option="human")
    with open_store(store) as st:
        judge = Judge(proto, spec.make_backend(), spec.name)
        raw, variants, stats = evaluate(judge, ds.items, st, progress=progress,
                                        description=f"calibrate ({len(ds.items)} items)")
    labels = innermost(proto).labels()
    fit = fit_label_bias(proto, ds.items, variants, ds.human, contextual=spec.contextual, l2=l2,
                         judge=judge.name, space=space)
    cv_verdicts = cross_validated_verdicts(proto, ds.items, variants, ds.human, contextual=spec.contextual,
                                           folds=folds, seed=seed, l2=l2, space=space)
    cv = {"uncalibrated": agreement(raw if not spec.contextual else
                                    [CalibratedProtocol(proto.inner).combine(it, vs)
                                     for it, vs in zip(ds.items, variants, strict=True)], ds.human, labels),
          "calibrated": agreement(cv_verdicts, ds.human, labels), "folds": {"k": float(min(folds, len(ds.items)))}}
    if spec.contextual:
        cv["contextual_only"] = agreement(raw, ds.human, labels)
    fit = LabelBias(**{**fit.__dict__, "cv": cv})
    notes = []
    if stats.n_failed:
        notes.append(f"{stats.n_failed} tasks failed (left out; rerun to retry them)")
    path = str(save_label_bias(fit, out)) if out is not None else None
    return CalibrationFit(fit, cv, stats.model_calls, len(ds.items), labelled, path, notes)
