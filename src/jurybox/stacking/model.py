"""The stacked jury's model: a multinomial logistic regression over the member judges' option
log-probabilities, fitted on a small labelled set, with repeated k-fold estimates (pure: arrays in,
results out).

Features (:func:`feature_matrix`): for every member judge and every variant it asks (both orders of
a pairwise judge) the normalised log-probability of each label, clipped to [-20, 0] (an option the
model gave probability 0 is -inf, which no regression can use). A member variant whose answer was
not read (unparsed, failed, or read from generated text without log-probabilities) is *missing*:
its log-probabilities are imputed with the training mean of that feature and an indicator feature
``MEMBER|VARIANT|missing`` is set to 1, so the regression learns what a missing answer is worth
instead of reading a default label into it.

Model (:func:`fit_stack`): features standardised with the training mean and standard deviation
(a constant feature keeps scale 1), then scikit-learn's ``LogisticRegression`` (lbfgs, L2 penalty
with inverse strength ``C``, multinomial softmax for K > 2 classes). The fit is kept as plain
numbers (:class:`StackModel`: classes, feature names, imputation values, means, scales, coefficients,
intercepts) and predicts with numpy, so a saved fit is JSON and needs no pickle.

Cross-validation (:func:`cross_validate`): ``repeats`` times a stratified ``folds``-fold split
(scikit-learn's ``RepeatedStratifiedKFold``, seeded); every item gets one out-of-fold prediction per
repeat. Accuracy and Cohen's kappa are given per repeat and as their mean; the 95% interval is a
percentile bootstrap over items of the per-item share of repeats predicted right.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jurybox.errors import JuryboxError
from jurybox.stats import bootstrap_ci, cohen_kappa
from jurybox.stats._validate import is_missing

__all__ = ["FEATURE_CLIP", "CrossValidation", "StackModel", "cross_validate", "feature_layout", "feature_matrix",
           "fit_stack"]

FEATURE_CLIP = -20.0

#: (member, variant) -> the labels whose log-probabilities it gives
Layout = list[tuple[str, str, tuple[str, ...]]]


def feature_layout(members: Sequence[str], variants: Sequence[Sequence[Mapping[str, Any]]]) -> Layout:
    """Which (member, variant, labels) blocks the features have: for each member, every variant name
    seen on any item, with the labels of the first read log-probabilities of that variant.

    ``variants[j][i]`` maps variant name -> per-variant verdict (a :class:`~jurybox.types.Verdict`
    or its dict) of member ``j`` on item ``i``."""
    out: Layout = []
    for name, per_item in zip(members, variants, strict=True):
        seen: dict[str, tuple[str, ...] | None] = {}
        for vs in per_item:
            for var, v in vs.items():
                lps = _logprobs(v)
                if var not in seen or (seen[var] is None and lps):
                    seen[var] = tuple(sorted(lps)) if lps else None
        for var in sorted(seen):
            labels = seen[var]
            if labels is None:
                raise JuryboxError(f"judge {name}: variant {var} has no option log-probabilities on any item (a "
                                   "stacked jury needs judges that answer by option probabilities)")
            out.append((name, var, labels))
    if not out:
        raise JuryboxError("a stacked jury needs at least one judge with option log-probabilities")
    return out


def _logprobs(v: Any) -> dict[str, float] | None:
    if v is None:
        return None
    if isinstance(v, Mapping):
        status, extra = v.get("status"), v.get("extra") or {}
    else:
        status, extra = v.status, v.extra or {}
    if status != "ok":
        return None
    lps = extra.get("logprobs")
    return dict(lps) if lps else None


def feature_names(layout: Layout) -> list[str]:
    names: list[str] = []
    for member, var, labels in layout:
        names.extend(f"{member}|{var}|{lab}" for lab in labels)
        names.append(f"{member}|{var}|missing")
    return names


def feature_matrix(layout: Layout, members: Sequence[str],
                   variants: Sequence[Sequence[Mapping[str, Any]]]) -> tuple[np.ndarray, np.ndarray]:
    """(items x features) log-probabilities with NaN where a member variant is missing, and the
    (items x blocks) boolean mask of missing blocks. Columns follow :func:`feature_names`."""
    index = {m: j for j, m in enumerate(members)}
    missing_members = [m for m, _, _ in layout if m not in index]
    if missing_members:
        raise JuryboxError(f"the stack expects judge(s) {sorted(set(missing_members))}, which are not in this jury "
                           f"(judges: {', '.join(members)})")
    n = len(variants[0]) if variants else 0
    cols = sum(len(labels) + 1 for _, _, labels in layout)
    x = np.full((n, cols), np.nan)
    miss = np.zeros((n, len(layout)), dtype=bool)
    c = 0
    for b, (member, var, labels) in enumerate(layout):
        per_item = variants[index[member]]
        for i in range(n):
            lps = _logprobs(per_item[i].get(var))
            if lps is None or any(lab not in lps for lab in labels):
                miss[i, b] = True
                x[i, c + len(labels)] = 1.0
                continue
            x[i, c:c + len(labels)] = [max(FEATURE_CLIP, float(lps[lab])) for lab in labels]
            x[i, c + len(labels)] = 0.0
        c += len(labels) + 1
    return x, miss


def json_ready(obj: Any) -> Any:
    """Plain JSON values for a saved fit: numpy values as Python ones, NaN and infinities as None."""
    if isinstance(obj, Mapping):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [json_ready(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class StackModel:
    """A fitted stack as plain numbers: ``predict_proba(x)`` imputes NaN features with ``impute``,
    standardises with ``mean``/``scale`` and applies the softmax of ``coef @ x + intercept`` (one
    row per class; a two-class fit is stored as the two rows -w/2, w/2, which gives the same
    probabilities as scikit-learn's single row)."""

    classes: tuple[str, ...]
    features: tuple[str, ...]
    impute: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    C: float = 1.0
    n_train: int = 0
    balanced: bool = False

    def logits(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise JuryboxError(f"the stack expects {len(self.features)} features, got an array of shape {x.shape}")
        filled = np.where(np.isnan(x), self.impute[None, :], x)
        z = (filled - self.mean[None, :]) / self.scale[None, :]
        return z @ self.coef.T + self.intercept[None, :]

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return _softmax(self.logits(x))

    def predict(self, x: np.ndarray) -> list[str]:
        p = self.predict_proba(x)
        return [self.classes[int(k)] for k in p.argmax(axis=1)]

    def to_dict(self) -> dict[str, Any]:
        return {"classes": list(self.classes), "features": list(self.features), "impute": self.impute.tolist(),
                "mean": self.mean.tolist(), "scale": self.scale.tolist(), "coef": self.coef.tolist(),
                "intercept": self.intercept.tolist(), "C": self.C, "n_train": self.n_train,
                "balanced": self.balanced}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, source: str = "stack") -> StackModel:
        try:
            classes = tuple(str(c) for c in d["classes"])
            features = tuple(str(f) for f in d["features"])
            arrays = {k: np.asarray(d[k], dtype=float) for k in ("impute", "mean", "scale", "coef", "intercept")}
            model = cls(classes, features, arrays["impute"], arrays["mean"], arrays["scale"], arrays["coef"],
                        arrays["intercept"], float(d.get("C", 1.0)), int(d.get("n_train", 0)),
                        bool(d.get("balanced", False)))
        except (KeyError, TypeError, ValueError) as exc:
            raise JuryboxError(f"{source}: not a stack model ({type(exc).__name__}: {exc})") from None
        f, k = len(features), len(classes)
        shapes = {"impute": (f,), "mean": (f,), "scale": (f,), "coef": (k, f), "intercept": (k,)}
        for name, shape in shapes.items():
            if getattr(model, name).shape != shape:
                raise JuryboxError(f"{source}: field '{name}' has shape {getattr(model, name).shape}, expected {shape}")
        if not all(np.isfinite(getattr(model, n)).all() for n in shapes) or (model.scale <= 0).any():
            raise JuryboxError(f"{source}: the model's numbers must be finite (and its scales > 0)")
        return model


def _check_labels(y: Sequence[Any]) -> list[str]:
    labels = [str(v) for v in y]
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise JuryboxError(f"a stack needs labelled items of at least two classes; the labelled set has only "
                           f"{classes[0] if classes else 'no labels'!r} ({len(labels)} items)")
    return labels


def fit_stack(x: np.ndarray, y: Sequence[Any], features: Sequence[str], *, C: float = 1.0,
              classes: Sequence[str] | None = None, balanced: bool = False) -> StackModel:
    """Fit the stack on features ``x`` (NaN = missing, see :func:`feature_matrix`) and labels ``y``.

    ``classes`` fixes the class order (default: the sorted labels seen); a class of ``classes``
    absent from ``y`` is an error (the regression cannot learn it). ``balanced`` weights each item
    by n / (K * n_class), so a rare class counts as much as a frequent one (scikit-learn's
    ``class_weight="balanced"``): it trades accuracy for kappa when the classes are skewed."""
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x, dtype=float)
    labels = _check_labels(y)
    if x.shape != (len(labels), len(features)):
        raise JuryboxError(f"features have shape {x.shape}, expected ({len(labels)}, {len(features)})")
    if C <= 0:
        raise JuryboxError(f"C (inverse regularisation strength) must be > 0, got {C}")
    cls = tuple(classes) if classes is not None else tuple(sorted(set(labels)))
    absent = [c for c in cls if c not in labels]
    if absent:
        raise JuryboxError(f"class(es) {absent} have no labelled item to fit the stack on")
    unknown = sorted(set(labels) - set(cls))
    if unknown:
        raise JuryboxError(f"label(s) {unknown} are not among the classes {list(cls)}")
    with np.errstate(all="ignore"):
        impute = np.nanmean(x, axis=0)
    impute = np.where(np.isnan(impute), 0.0, impute)  # a feature missing on every training item
    filled = np.where(np.isnan(x), impute[None, :], x)
    mean = filled.mean(axis=0)
    scale = filled.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    z = (filled - mean) / scale
    lr = LogisticRegression(C=C, max_iter=2000, class_weight="balanced" if balanced else None)
    lr.fit(z, labels)
    if len(cls) == 2:  # scikit-learn keeps one row w for classes_[1]: softmax(-w/2, w/2) = sigmoid(w)
        w, b = lr.coef_[0], float(lr.intercept_[0])
        rows = {lr.classes_[0]: (-w / 2, -b / 2), lr.classes_[1]: (w / 2, b / 2)}
        coef = np.stack([rows[c][0] for c in cls])
        intercept = np.array([rows[c][1] for c in cls])
    else:
        order = [list(lr.classes_).index(c) for c in cls]
        coef, intercept = lr.coef_[order], lr.intercept_[order]
    return StackModel(cls, tuple(features), impute, mean, scale, np.asarray(coef, dtype=float),
                      np.asarray(intercept, dtype=float), float(C), len(labels), bool(balanced))


@dataclass(frozen=True)
class CrossValidation:
    """Repeated stratified k-fold estimates: ``oof[r][i]`` the out-of-fold prediction of item ``i``
    in repeat ``r``; per-repeat accuracy and kappa, their mean, and the bootstrap interval of the
    accuracy (over items, of the per-item share of repeats right)."""

    folds: int
    repeats: int
    n: int
    classes: tuple[str, ...]
    oof: list[list[str]]
    oof_proba: np.ndarray  # (repeats x items x classes)
    accuracy: float
    accuracy_low: float
    accuracy_high: float
    kappa: float
    accuracy_by_repeat: list[float] = field(default_factory=list)
    kappa_by_repeat: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"folds": self.folds, "repeats": self.repeats, "n": self.n, "classes": list(self.classes),
                "accuracy": self.accuracy, "accuracy_ci": [self.accuracy_low, self.accuracy_high],
                "kappa": self.kappa, "accuracy_by_repeat": self.accuracy_by_repeat,
                "kappa_by_repeat": self.kappa_by_repeat}


def cross_validate(x: np.ndarray, y: Sequence[Any], features: Sequence[str], *, folds: int = 5, repeats: int = 3,
                   C: float = 1.0, seed: int = 0, n_resamples: int = 1000, balanced: bool = False) -> CrossValidation:
    """Out-of-fold predictions of :func:`fit_stack` (module docstring). ``folds`` is lowered to the
    size of the smallest class when that is smaller (at least 2 items per class are needed)."""
    from sklearn.model_selection import RepeatedStratifiedKFold

    labels = _check_labels(y)
    classes = tuple(sorted(set(labels)))
    counts = {c: labels.count(c) for c in classes}
    smallest = min(counts.values())
    if smallest < 2:
        rare = [c for c, k in counts.items() if k < 2]
        raise JuryboxError(f"cross-validation needs at least 2 labelled items of each class; {rare} have 1")
    if folds < 2 or repeats < 1:
        raise JuryboxError(f"folds must be >= 2 and repeats >= 1, got folds={folds}, repeats={repeats}")
    k = min(folds, smallest)
    x = np.asarray(x, dtype=float)
    y_arr = np.asarray(labels, dtype=object)
    oof = [[""] * len(labels) for _ in range(repeats)]
    proba = np.full((repeats, len(labels), len(classes)), np.nan)
    split = RepeatedStratifiedKFold(n_splits=k, n_repeats=repeats, random_state=seed)
    for s, (tr, te) in enumerate(split.split(x, labels)):
        r = s // k
        tr_classes = sorted(set(y_arr[tr]))
        m = fit_stack(x[tr], list(y_arr[tr]), features, C=C, classes=tr_classes, balanced=balanced)
        p = m.predict_proba(x[te])
        for col, c in enumerate(m.classes):
            proba[r, te, classes.index(c)] = p[:, col]
        for i, lab in zip(te, m.predict(x[te]), strict=True):
            oof[r][int(i)] = lab
    proba = np.nan_to_num(proba, nan=0.0)
    acc_r = [float(np.mean([p == g for p, g in zip(pred, labels, strict=True)])) for pred in oof]
    kap_r = [float(cohen_kappa(labels, pred)) for pred in oof]
    right = np.mean([[p == g for p, g in zip(pred, labels, strict=True)] for pred in oof], axis=0).astype(float)
    ci = bootstrap_ci(np.mean, right, n_resamples=n_resamples, seed=seed)
    return CrossValidation(k, repeats, len(labels), classes, oof, proba, float(np.mean(acc_r)), ci.low, ci.high,
                           float(np.nanmean(kap_r)), acc_r, kap_r)


def labelled_rows(y: Sequence[Any]) -> np.ndarray:
    """Indices of the items with a label."""
    return np.array([i for i, v in enumerate(y) if not is_missing(v)], dtype=int)
