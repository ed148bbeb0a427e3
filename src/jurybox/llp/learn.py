"""Learning from label proportions: BP pseudo-labels and the classifier trained on them, with the
two baselines (every item labelled with its bag's proportion; DLLP's bag-level proportion loss).

Binary. Pure: arrays in, a fitted linear model and diagnostics out. The optional refinement
(steps 4-5 of the method) trains a one-hidden-layer network on the pseudo-labels plus the bag
loss, takes its hidden layer as the new embedding and runs BP again on that embedding's graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from jurybox.errors import JuryboxError
from jurybox.llp.bp import BagPotential, BPResult, knn_graph, loopy_bp
from jurybox.types import Record


@dataclass
class LinearModel:
    """P(y=1|x) = sigmoid(x @ coef + intercept) on standardised inputs."""

    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        z = ((np.asarray(X, dtype=float) - self.mean) / self.scale) @ self.coef + self.intercept
        return expit(z)


def _standardise(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = X.mean(0)
    scale = X.std(0)
    scale = np.where(scale > 0, scale, 1.0)
    return (X - mean) / scale, mean, scale


def check_bags(X: np.ndarray, bags: Any, proportions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``X`` (n, d) finite; ``bags`` one id per item (any hashable; renumbered 0..B-1 in order of
    first appearance); ``proportions`` one value in [0, 1] per bag id (a mapping or a sequence
    indexed by the renumbered bag). Returns X, bag numbers, bag sizes and proportions."""
    import pandas as pd

    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise JuryboxError(f"the embeddings must be a 2-D array; got shape {X.shape}")
    if not np.isfinite(X).all():
        r = int(np.flatnonzero(~np.isfinite(X).all(1))[0])
        raise JuryboxError(f"embedding row {r + 1} has a value that is not a finite number")
    codes, uniq = pd.factorize(pd.Series(list(bags)), sort=True)
    if len(codes) != len(X):
        raise JuryboxError(f"bags gives {len(codes)} ids for {len(X)} items")
    if (codes < 0).any():
        raise JuryboxError(f"item {int(np.flatnonzero(codes < 0)[0]) + 1} has no bag")
    if isinstance(proportions, dict):
        missing = [b for b in uniq if b not in proportions]
        if missing:
            raise JuryboxError(f"bag {missing[0]!r} has no proportion")
        props = np.array([float(proportions[b]) for b in uniq])
    else:
        props = np.asarray(proportions, dtype=float)
        if props.shape != (len(uniq),):
            raise JuryboxError(f"proportions gives {props.size} values for {len(uniq)} bags")
    bad = ~np.isfinite(props) | (props < 0) | (props > 1)
    if bad.any():
        raise JuryboxError(f"bag {uniq[int(np.flatnonzero(bad)[0])]!r}: proportion "
                           f"{props[bad][0]!r} is not in [0, 1]")
    return X, codes.astype(np.int64), np.bincount(codes, minlength=len(uniq)), props


def fit_soft_logreg(X: np.ndarray, p: np.ndarray, *, C: float = 1.0, max_iter: int = 100) -> LinearModel:
    """Logistic regression on soft labels ``p`` in [0, 1] (cross-entropy to p, L2 penalty 1/(2C)
    per coefficient, summed loss), by L-BFGS on standardised inputs."""
    Xs, mean, scale = _standardise(np.asarray(X, dtype=float))
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    n, d = Xs.shape

    def f(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = Xs @ w[:d] + w[d]
        loss = float(np.sum(np.logaddexp(0.0, z) - p * z)) + 0.5 / C * float(w[:d] @ w[:d])
        r = expit(z) - p
        return loss, np.r_[Xs.T @ r + w[:d] / C, r.sum()]

    w = minimize(f, np.zeros(d + 1), jac=True, method="L-BFGS-B", options={"maxiter": max_iter}).x
    return LinearModel(w[:d], float(w[d]), mean, scale)


def fit_dllp(X: np.ndarray, bags: np.ndarray, props: np.ndarray, *, C: float = 1.0,
             max_iter: int = 200) -> LinearModel:
    """DLLP (Ardehaly & Culotta 2017) with a linear model: the bag's mean predicted probability is
    fitted to its proportion by binary cross-entropy weighted by bag size, L2 penalty 1/(2C)."""
    Xs, mean, scale = _standardise(np.asarray(X, dtype=float))
    n, d = Xs.shape
    sizes = np.bincount(bags).astype(float)
    c = props * sizes

    def f(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = Xs @ w[:d] + w[d]
        q = expit(z)
        m = np.clip(np.bincount(bags, weights=q) / sizes, 1e-9, 1 - 1e-9)
        loss = float(-np.sum(c * np.log(m) + (sizes - c) * np.log(1 - m))) + 0.5 / C * float(w[:d] @ w[:d])
        dm = -(c / m - (sizes - c) / (1 - m))
        dz = dm[bags] * q * (1 - q) / sizes[bags]
        return loss, np.r_[Xs.T @ dz + w[:d] / C, dz.sum()]

    w = minimize(f, np.zeros(d + 1), jac=True, method="L-BFGS-B", options={"maxiter": max_iter}).x
    return LinearModel(w[:d], float(w[d]), mean, scale)


def refine_embedding(X: np.ndarray, pseudo: np.ndarray, bags: np.ndarray, props: np.ndarray, *,
                     hidden: int = 64, bag_weight: float = 1.0, l2: float = 1e-3, max_iter: int = 200,
                     seed: int = 0) -> np.ndarray:
    """Step 4: a one-hidden-layer network (tanh) fitted to the pseudo-labels (cross-entropy) plus
    the bag loss (cross-entropy of each bag's mean prediction with its proportion, times
    ``bag_weight``), by L-BFGS; returns the hidden layer as the new embedding."""
    Xs, _, _ = _standardise(np.asarray(X, dtype=float))
    n, d = Xs.shape
    rng = np.random.default_rng(seed)
    sizes = np.bincount(bags).astype(float)
    shapes = [(d, hidden), (hidden,), (hidden,), ()]
    nums = [int(np.prod(s)) for s in shapes]

    def unpack(w: np.ndarray) -> list[np.ndarray]:
        out, i = [], 0
        for s, k in zip(shapes, nums):
            out.append(w[i:i + k].reshape(s))
            i += k
        return out

    def f(w: np.ndarray) -> tuple[float, np.ndarray]:
        W1, b1, w2, b2 = unpack(w)
        H = np.tanh(Xs @ W1 + b1)
        z = H @ w2 + b2
        q = expit(z)
        loss = float(np.sum(np.logaddexp(0.0, z) - pseudo * z)) / n
        dz = (q - pseudo) / n
        m = np.clip(np.bincount(bags, weights=q) / sizes, 1e-9, 1 - 1e-9)
        c = props * sizes
        loss += bag_weight * float(-np.sum(c * np.log(m) + (sizes - c) * np.log(1 - m))) / n
        dm = -(c / m - (sizes - c) / (1 - m))
        dz = dz + bag_weight * dm[bags] * q * (1 - q) / sizes[bags] / n
        loss += 0.5 * l2 * float((W1 * W1).sum() + w2 @ w2)
        dH = np.outer(dz, w2) * (1 - H * H)
        g = [Xs.T @ dH + l2 * W1, dH.sum(0), H.T @ dz + l2 * w2, np.array(dz.sum())]
        return loss, np.concatenate([x.ravel() for x in g])

    w0 = np.concatenate([rng.normal(0, 1 / np.sqrt(d), nums[0]), np.zeros(hidden),
                         rng.normal(0, 1 / np.sqrt(hidden), hidden), np.zeros(1)])
    w = minimize(f, w0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter}).x
    W1, b1, _, _ = unpack(w)
    return np.tanh(Xs @ W1 + b1)


@dataclass(frozen=True)
class LLPResult(Record):
    """The classifier trained on the last round's pseudo-labels, the pseudo-labels, and each
    round's BP diagnostics."""

    model: LinearModel
    pseudo_labels: np.ndarray
    rounds: list[BPResult] = field(default_factory=list)
    n_edges: list[int] = field(default_factory=list)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(X)

    def to_dict(self) -> dict[str, Any]:
        return {"rounds": [r.to_dict() for r in self.rounds], "n_edges": self.n_edges}


def learn_from_proportions(X: np.ndarray, bags: Sequence[Any] | np.ndarray, proportions: Any, *, k: int = 10,
                           coupling: float = 0.2, weighted: bool = False, bag_kind: BagPotential = "hard",
                           bag_strength: float = 1.0, damping: float = 0.5, max_iter: int = 200,
                           tol: float = 1e-4, rounds: int = 1, hidden: int = 64, C: float = 1.0,
                           seed: int = 0, graph: tuple[np.ndarray, np.ndarray] | None = None) -> LLPResult:
    """LLP by belief propagation: k-NN graph on ``X``, loopy BP on the Gibbs distribution with
    neighbour-agreement edges (``coupling``) and bag-count factors (``bag_kind``,
    ``bag_strength``; the count is the proportion times the bag size), marginals as soft
    pseudo-labels, a logistic regression on them. With ``rounds`` > 1, each further round learns a
    refined embedding (:func:`refine_embedding`) and reruns BP on its graph; the final classifier
    is always trained on the original features ``X``. ``graph`` (edges, weights) replaces the
    first round's k-NN graph (to reuse one across runs)."""
    X, codes, sizes, props = check_bags(X, bags, proportions)
    if rounds < 1:
        raise JuryboxError(f"rounds must be at least 1; got {rounds}", option="rounds")
    counts = props * sizes
    Z = X
    results, n_edges = [], []
    pseudo = np.zeros(len(X))
    for r in range(rounds):
        edges, w = graph if (graph is not None and r == 0) else knn_graph(Z, k, weighted=weighted)
        res = loopy_bp(len(X), edges, codes, counts, coupling=coupling * w, bag_kind=bag_kind,
                       bag_strength=bag_strength, damping=damping, max_iter=max_iter, tol=tol)
        results.append(res)
        n_edges.append(int(len(edges)))
        pseudo = res.marginals
        if r < rounds - 1:
            Z = refine_embedding(X, pseudo, codes, props, hidden=hidden, seed=seed + r)
    return LLPResult(fit_soft_logreg(X, pseudo, C=C), pseudo, results, n_edges)


def bag_mean_baseline(X: np.ndarray, bags: Any, proportions: Any, *, C: float = 1.0) -> LinearModel:
    """Every item labelled with its bag's proportion (soft label), then the same logistic regression."""
    X, codes, _, props = check_bags(X, bags, proportions)
    return fit_soft_logreg(X, props[codes], C=C)


def dllp_baseline(X: np.ndarray, bags: Any, proportions: Any, *, C: float = 1.0) -> LinearModel:
    """DLLP's proportion loss on a linear model."""
    X, codes, _, props = check_bags(X, bags, proportions)
    return fit_dllp(X, codes, props, C=C)


def random_bags(n: int, bag_size: int, *, seed: int = 0) -> np.ndarray:
    """Bag number per item: a random permutation cut into bags of ``bag_size`` (the last one
    holds the remainder)."""
    if bag_size < 1:
        raise JuryboxError(f"bag size must be at least 1; got {bag_size}", option="bag_size")
    perm = np.random.default_rng(seed).permutation(n)
    out = np.empty(n, dtype=np.int64)
    out[perm] = np.arange(n) // bag_size
    return out


def bag_proportions(y: np.ndarray, bags: np.ndarray) -> np.ndarray:
    """The share of positives in each bag (numbered 0..B-1)."""
    y = np.asarray(y, dtype=float)
    return np.bincount(bags, weights=y) / np.bincount(bags)


@dataclass
class SoftmaxModel:
    """P(class | x) = softmax(x @ coef + intercept) on standardised inputs; ``classes`` names the columns."""

    coef: np.ndarray
    intercept: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    classes: tuple[Any, ...]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        from scipy.special import softmax

        z = ((np.asarray(X, dtype=float) - self.mean) / self.scale) @ self.coef + self.intercept
        return softmax(z, axis=1)


def fit_soft_softmax(X: np.ndarray, P: np.ndarray, *, C: float = 1.0, max_iter: int = 100,
                     classes: Sequence[Any] | None = None) -> SoftmaxModel:
    """Multinomial logistic regression on soft labels ``P`` (rows sum to 1), L2 penalty 1/(2C)."""
    from scipy.special import log_softmax

    Xs, mean, scale = _standardise(np.asarray(X, dtype=float))
    P = np.asarray(P, dtype=float)
    n, d = Xs.shape
    k = P.shape[1]

    def f(w: np.ndarray) -> tuple[float, np.ndarray]:
        W, b = w[: d * k].reshape(d, k), w[d * k:]
        ls = log_softmax(Xs @ W + b, axis=1)
        loss = float(-(P * ls).sum()) + 0.5 / C * float((W * W).sum())
        R = np.exp(ls) - P
        return loss, np.r_[(Xs.T @ R + W / C).ravel(), R.sum(0)]

    w = minimize(f, np.zeros(d * k + k), jac=True, method="L-BFGS-B", options={"maxiter": max_iter}).x
    return SoftmaxModel(w[: d * k].reshape(d, k), w[d * k:], mean, scale,
                        tuple(classes) if classes is not None else tuple(range(k)))


@dataclass(frozen=True)
class MulticlassLLPResult(Record):
    """One-vs-rest BP: per-class marginals normalised to a distribution per item, the softmax
    classifier trained on them, and each class's BP diagnostics."""

    model: SoftmaxModel
    pseudo_labels: np.ndarray  # (n, C), rows sum to 1
    rounds: list[BPResult] = field(default_factory=list)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(X)

    def to_dict(self) -> dict[str, Any]:
        return {"classes": list(self.model.classes), "bp_per_class": [r.to_dict() for r in self.rounds]}


def learn_from_proportions_multiclass(X: np.ndarray, bags: Sequence[Any] | np.ndarray, proportions: np.ndarray, *,
                                      classes: Sequence[Any] | None = None, k: int = 10, coupling: float = 0.2,
                                      bag_kind: BagPotential = "hard", bag_strength: float = 1.0,
                                      damping: float = 0.5, max_iter: int = 200, tol: float = 1e-4,
                                      C: float = 1.0, graph: tuple[np.ndarray, np.ndarray] | None = None
                                      ) -> MulticlassLLPResult:
    """Multi-class LLP as one binary BP per class (class c against the rest, with the bag's count
    of class c) on one shared k-NN graph; each item's C marginals are normalised into a
    distribution (an approximation: the classes' models are not coupled by a one-label-per-item
    constraint) and a softmax regression is trained on them. ``proportions``: ``(B, C)``, one row
    per bag in sorted bag order, each row summing to 1."""
    P = np.asarray(proportions, dtype=float)
    if P.ndim != 2 or P.shape[1] < 2:
        raise JuryboxError(f"proportions must be (bags, classes) with at least 2 classes; got shape {P.shape}")
    bad = np.abs(P.sum(1) - 1.0) > 1e-6
    if bad.any():
        raise JuryboxError(f"bag {int(np.flatnonzero(bad)[0])}: class proportions sum to "
                           f"{P[bad][0].sum():g}, not 1")
    X, codes, sizes, _ = check_bags(X, bags, P[:, 0])
    for c in range(1, P.shape[1]):
        check_bags(X, bags, P[:, c])  # each column's values in [0, 1]
    edges, w = graph if graph is not None else knn_graph(X, k)
    marg = np.zeros((len(X), P.shape[1]))
    results = []
    for c in range(P.shape[1]):
        r = loopy_bp(len(X), edges, codes, P[:, c] * sizes, coupling=coupling * w, bag_kind=bag_kind,
                     bag_strength=bag_strength, damping=damping, max_iter=max_iter, tol=tol)
        marg[:, c] = r.marginals
        results.append(r)
    marg = np.clip(marg, 1e-9, None)
    marg /= marg.sum(1, keepdims=True)
    return MulticlassLLPResult(fit_soft_softmax(X, marg, C=C, classes=classes), marg, results)


def heldout_bag_error(X: np.ndarray, bags: Any, proportions: Any, fit: Any, *, holdout: float = 0.2,
                      seed: int = 0) -> dict[str, float]:
    """A label-free check of an LLP method: hold out a share of the bags, fit on the others
    (``fit(X, bags, proportions) -> model with predict_proba``), and compare each held-out bag's
    mean predicted probability with its known proportion. Returns the mean absolute error of the
    held-out proportions (``mae``, weighted by bag size), the same for always predicting the fitted
    bags' overall share (``mae_constant``), and the number of held-out bags. Lower is better;
    it only sees proportions, so it can choose between methods and settings without labels."""
    X, codes, sizes, props = check_bags(X, bags, proportions)
    rng = np.random.default_rng(seed)
    n_bags = len(sizes)
    n_out = max(1, int(round(holdout * n_bags)))
    if n_out >= n_bags:
        raise JuryboxError(f"{n_bags} bags cannot be split to hold out {n_out}", option="holdout")
    out_bags = rng.choice(n_bags, size=n_out, replace=False)
    is_out = np.isin(codes, out_bags)
    keep_codes, keep_props = codes[~is_out], props
    model = fit(X[~is_out], keep_codes, keep_props[np.unique(keep_codes)])
    p = model.predict_proba(X[is_out])
    if p.ndim == 2:  # a multi-class model: not supported here
        raise JuryboxError("heldout_bag_error is for binary models")
    pred = np.bincount(codes[is_out], weights=p, minlength=n_bags)[out_bags] / sizes[out_bags]
    w = sizes[out_bags] / sizes[out_bags].sum()
    kept = np.unique(keep_codes)
    base = float(np.average(props[kept], weights=sizes[kept]))
    return {"mae": float(np.sum(w * np.abs(pred - props[out_bags]))),
            "mae_constant": float(np.sum(w * np.abs(base - props[out_bags]))), "n_heldout_bags": int(n_out)}
