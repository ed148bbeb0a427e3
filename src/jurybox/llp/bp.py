"""Loopy belief propagation for learning from label proportions (Havaldar et al., arXiv 2310.08056).

Binary labels y_i in {0, 1}; the Gibbs distribution

    p(y) ∝ prod_i exp(u_i y_i) * prod_(i,j) in E exp(a_ij [y_i == y_j]) * prod_b phi_b(sum_(i in b) y_i)

has a unary log-odds ``u`` (0 unless a prior is given), an edge potential on a k-NN graph that
rewards neighbours agreeing (coupling ``a_ij``), and one cardinality factor per bag on its label
count. Messages are log-odds. A bag's message to item k needs the distribution of the other
items' count: a prefix dynamic program (the Poisson-binomial distribution of items before k) and
a suffix one in "value" form (the expected potential given the count so far, rescaled at every
step), so all of a bag's n messages cost O(n^2) and no deconvolution is needed.

Pure numpy: arrays in, marginals out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import expit

from jurybox.errors import JuryboxError
from jurybox.types import Record

BagPotential = Literal["hard", "laplace", "gaussian"]
_FLOOR = 1e-300
_FLUSH = 1e-250  # counts less likely than this (relative to the bulk) are dropped
_QCLIP = 1e-12  # an item's incoming probability is kept in [1e-12, 1 - 1e-12]


def knn_graph(X: np.ndarray, k: int = 10, *, weighted: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The symmetric k-nearest-neighbour graph (cosine) of the rows of ``X``: undirected edges
    ``(E, 2)`` with i < j, each once, and their weights (1, or the cosine similarity clipped at 0
    with ``weighted``)."""
    from sklearn.neighbors import NearestNeighbors

    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or len(X) < 2:
        raise JuryboxError(f"the graph needs a 2-D array of at least 2 rows; got shape {X.shape}")
    k = min(int(k), len(X) - 1)
    if k < 1:
        raise JuryboxError(f"k must be at least 1; got {k}", option="k")
    norm = np.linalg.norm(X, axis=1, keepdims=True)
    Xn = X / np.where(norm > 0, norm, 1.0)
    nn = NearestNeighbors(n_neighbors=k + 1, metric="euclidean").fit(Xn)
    dist, ind = nn.kneighbors(Xn)
    rows = np.repeat(np.arange(len(X)), k + 1)
    cols, d = ind.ravel(), dist.ravel()
    keep = rows != cols
    a, b, d = np.minimum(rows, cols)[keep], np.maximum(rows, cols)[keep], d[keep]
    pairs, first = np.unique(a * len(X) + b, return_index=True)
    edges = np.stack([pairs // len(X), pairs % len(X)], axis=1)
    w = np.clip(1.0 - d[first] ** 2 / 2.0, 0.0, 1.0) if weighted else np.ones(len(edges))
    return edges.astype(np.int64), w


def bag_potential(sizes: np.ndarray, counts: np.ndarray, kind: BagPotential = "laplace",
                  strength: float = 1.0) -> np.ndarray:
    """``phi_b(s)`` for s = 0..max size, one row per bag: ``hard`` 1 at the known count only;
    ``laplace`` exp(-strength |s - c|); ``gaussian`` exp(-strength (s - c)^2 / 2). Counts past a
    bag's size have potential 0."""
    sizes = np.asarray(sizes, dtype=int)
    counts = np.asarray(counts, dtype=float)
    s = np.arange(int(sizes.max()) + 1)[None, :]
    c = counts[:, None]
    if kind == "hard":
        phi = (np.abs(s - np.round(c)) < 0.5).astype(float)
    elif kind == "laplace":
        phi = np.exp(-strength * np.abs(s - c))
    elif kind == "gaussian":
        phi = np.exp(-strength * (s - c) ** 2 / 2.0)
    else:
        raise JuryboxError(f"bag potential must be hard, laplace or gaussian; got {kind!r}", option="bag_potential")
    return np.where(s <= sizes[:, None], phi, 0.0)


def cardinality_messages(q: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Log-odds messages from cardinality factors to their items.

    ``q``: ``(B, n)`` the items' incoming probabilities P(y=1) (pad a short bag with zeros: a
    padded item adds nothing to the count; ignore its message); ``phi``: ``(B, n+1)`` potentials.
    Returns ``(B, n)``: log m_k(1) - log m_k(0) with m_k(y) = sum_s phi(s) P(count of the others = s - y)."""
    q = np.asarray(q, dtype=float)
    B, n = q.shape
    if phi.shape != (B, n + 1):
        raise JuryboxError(f"phi must be ({B}, {n + 1}); got {phi.shape}")
    pre = np.empty((n, B, n + 1))
    P = np.zeros((B, n + 1))
    P[:, 0] = 1.0
    for k in range(n):
        pre[k] = P
        qk = q[:, k:k + 1]
        nxt = (1.0 - qk) * P
        nxt[:, 1:] += qk * P[:, :-1]
        nxt[nxt < _FLUSH] = 0.0  # far tails: subnormal numbers would make every later step ~20x slower
        P = nxt
    out = np.empty((B, n))
    G = phi.astype(float).copy()
    G /= np.maximum(G.max(1, keepdims=True), _FLOOR)
    for k in range(n - 1, -1, -1):
        Pk = pre[k]
        m0 = (Pk * G).sum(1)
        m1 = (Pk[:, :-1] * G[:, 1:]).sum(1)
        out[:, k] = np.log(np.maximum(m1, _FLOOR)) - np.log(np.maximum(m0, _FLOOR))
        qk = q[:, k:k + 1]
        nxt = (1.0 - qk) * G
        nxt[:, :-1] += qk * G[:, 1:]
        G = nxt / np.maximum(nxt.max(1, keepdims=True), _FLOOR)
        G[G < _FLUSH] = 0.0
    return out


def _pad_bags(bags: np.ndarray, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Bag id per item -> ``(B, n)`` item numbers (-1 pads) and the bag sizes."""
    bags = np.asarray(bags)
    if bags.shape != (n_items,):
        raise JuryboxError(f"bags must give one bag per item ({n_items}); got shape {bags.shape}")
    codes = bags.astype(np.int64)
    n_bags = int(codes.max()) + 1
    sizes = np.bincount(codes, minlength=n_bags)
    order = np.argsort(codes, kind="stable")
    start = np.r_[0, np.cumsum(sizes)[:-1]]
    pos = np.arange(n_items) - np.repeat(start, sizes)
    table = np.full((n_bags, int(sizes.max())), -1, dtype=np.int64)
    table[codes[order], pos] = order
    return table, sizes


@dataclass(frozen=True)
class BPResult(Record):
    """Marginals P(y_i = 1) and how the message passing ended."""

    marginals: np.ndarray
    iterations: int
    converged: bool
    max_delta: float
    damping: float

    def to_dict(self) -> dict[str, object]:
        return {"iterations": self.iterations, "converged": self.converged, "max_delta": self.max_delta,
                "damping": self.damping, "n_items": int(len(self.marginals))}


def loopy_bp(n_items: int, edges: np.ndarray, bags: np.ndarray, counts: np.ndarray, *,
             coupling: float | np.ndarray = 1.0, bag_kind: BagPotential = "laplace", bag_strength: float = 1.0,
             unary: np.ndarray | None = None, damping: float = 0.5, max_iter: int = 200,
             tol: float = 1e-4) -> BPResult:
    """Marginals of the LLP Gibbs distribution by loopy BP with parallel, damped updates.

    ``edges``: undirected ``(E, 2)``; ``coupling``: a scalar or one value per edge (log-potential
    of agreement); ``bags``: bag number (0..B-1) per item; ``counts``: the known number of
    positives per bag (a proportion times the size; need not be an integer for the soft
    potentials). Converged when no message moves by more than ``tol`` in log-odds."""
    if not 0.0 <= damping < 1.0:
        raise JuryboxError(f"damping must be in [0, 1); got {damping}", option="damping")
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    table, sizes = _pad_bags(bags, n_items)
    counts = np.asarray(counts, dtype=float)
    if counts.shape != (len(sizes),):
        raise JuryboxError(f"counts must give one count per bag ({len(sizes)}); got shape {counts.shape}")
    if ((counts < 0) | (counts > sizes)).any():
        b = int(np.flatnonzero((counts < 0) | (counts > sizes))[0])
        raise JuryboxError(f"bag {b}: count {counts[b]:g} is outside 0..{sizes[b]}")
    phi = bag_potential(sizes, counts, bag_kind, bag_strength)[:, : table.shape[1] + 1]
    u = np.zeros(n_items) if unary is None else np.asarray(unary, dtype=float)
    src = np.r_[edges[:, 0], edges[:, 1]]
    dst = np.r_[edges[:, 1], edges[:, 0]]
    E = len(edges)
    a = np.broadcast_to(np.asarray(coupling, dtype=float), (E,))
    a2 = np.r_[a, a]
    rev = np.r_[np.arange(E, 2 * E), np.arange(E)]
    mu = np.zeros(2 * E)  # message along each directed edge (log-odds at dst)
    beta = np.zeros(n_items)  # bag -> item
    valid = table >= 0
    safe = np.where(valid, table, 0)
    delta = np.inf
    it = 0
    while it < max_iter:
        it += 1
        L = u + beta + np.bincount(dst, weights=mu, minlength=n_items)
        h = L[src] - mu[rev]
        new_mu = np.logaddexp(a2 + h, 0.0) - np.logaddexp(h, a2)
        cav = L - beta
        qb = np.where(valid, np.clip(expit(cav[safe]), _QCLIP, 1.0 - _QCLIP), 0.0)
        msg = cardinality_messages(qb, phi)
        new_beta = np.zeros(n_items)
        new_beta[table[valid]] = msg[valid]
        new_mu = damping * mu + (1 - damping) * new_mu
        new_beta = damping * beta + (1 - damping) * new_beta
        delta = float(max(np.abs(new_mu - mu).max(initial=0.0), np.abs(new_beta - beta).max(initial=0.0)))
        mu, beta = new_mu, new_beta
        if delta < tol:
            break
    L = u + beta + np.bincount(dst, weights=mu, minlength=n_items)
    return BPResult(expit(L), it, bool(delta < tol), delta, damping)
