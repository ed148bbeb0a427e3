"""J-Detector (Li et al., arXiv 2509.25154): was a set of scores produced by a human or an LLM?

Pure: arrays in, results out. The data is a long table of judgments (one row per judge x item:
the judge, whether it is an LLM, the group the item belongs to (a query, a paper), the item and
the score, optionally per-item properties). Judgments of one judge within one group are cut into
groups of ``group_size`` items; each group becomes one feature row (:mod:`jurybox.detect.features`)
and a small scikit-learn classifier says "LLM" or "human".

Evaluation is held out twice: by group key (the queries of a test fold are never seen in
training) and by LLM family (the LLM judges of a test family, e.g. one team's submissions, are
never seen in training), so the AUROC measures a detector that meets new queries and a new LLM
judge. The interval is a cluster bootstrap over the test keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from jurybox.detect.features import FAMILIES, GroupFeaturizer
from jurybox.errors import JuryboxError
from jurybox.stats.bootstrap import DEFAULT_CONFIDENCE, Interval
from jurybox.types import Record

Model = Literal["logreg", "mlp", "hgb"]


@dataclass(frozen=True)
class Judgments:
    """Judgments as parallel arrays (validated by the readers in :mod:`jurybox.detect.api`).

    ``judge``: who scored (str); ``is_llm``: 1 for an LLM judge, 0 for a human; ``key``: the group
    an item belongs to (a query); ``item``: the candidate's id; ``score``: the number given;
    ``properties``: an ``(n, P)`` array of per-row candidate properties or None; ``family``: the
    LLM family each judge belongs to (held out together; defaults to the judge itself)."""

    judge: np.ndarray
    is_llm: np.ndarray
    key: np.ndarray
    item: np.ndarray
    score: np.ndarray
    properties: np.ndarray | None = None
    prop_names: tuple[str, ...] = ()
    family: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.score)
        for name in ("judge", "is_llm", "key", "item"):
            if len(getattr(self, name)) != n:
                raise JuryboxError(f"judgments: {name} has {len(getattr(self, name))} values, score has {n}")
        if self.properties is not None and self.properties.shape[0] != n:
            raise JuryboxError(f"judgments: properties has {self.properties.shape[0]} rows, score has {n}")
        if not np.isfinite(np.asarray(self.score, dtype=float)).all():
            raise JuryboxError("judgments: every score must be a finite number")

    @property
    def families(self) -> np.ndarray:
        return self.judge if self.family is None else self.family

    def __len__(self) -> int:
        return len(self.score)


@dataclass(frozen=True)
class Groups:
    idx: np.ndarray  # (n_groups, g) rows into the judgments
    judge: np.ndarray
    key: np.ndarray
    is_llm: np.ndarray
    family: np.ndarray


def make_groups(j: Judgments, group_size: int, *, rows: np.ndarray | None = None, seed: int = 0,
                repeats: int = 1) -> Groups:
    """Cut each (judge, key)'s judgments (restricted to ``rows``) into groups of ``group_size``.

    The items are shuffled and cut into consecutive chunks; a remainder smaller than the group is
    dropped. ``repeats`` > 1 draws that many shuffles (more, overlapping groups: training data);
    for testing keep 1, so that no item is in two groups."""
    if group_size < 1:
        raise JuryboxError(f"group_size must be at least 1; got {group_size}")
    rng = np.random.default_rng(seed)
    sel = np.arange(len(j)) if rows is None else np.asarray(rows)
    fam = j.families
    order = np.lexsort((j.key[sel].astype(str), j.judge[sel].astype(str)))
    sel = sel[order]
    pair = np.char.add(np.char.add(j.judge[sel].astype(str), "\x1f"), j.key[sel].astype(str))
    starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    ends = np.r_[starts[1:], len(sel)]
    chunks = []
    for a, b in zip(starts, ends):
        members = sel[a:b]
        m = (len(members) // group_size) * group_size
        if m == 0:
            continue
        for _ in range(repeats):
            chunks.append(rng.permutation(members)[:m].reshape(-1, group_size))
    if not chunks:
        return Groups(np.zeros((0, group_size), dtype=int), *(np.zeros(0, dtype=object),) * 2,
                      np.zeros(0, dtype=int), np.zeros(0, dtype=object))
    idx = np.concatenate(chunks)
    first = idx[:, 0]
    return Groups(idx, j.judge[first], j.key[first], np.asarray(j.is_llm)[first].astype(int), fam[first])


def _classifier(model: Model, seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if model == "logreg":
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000))
    if model == "hgb":
        return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, class_weight="balanced",
                                              random_state=seed)
    if model == "mlp":
        return make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(32,), alpha=1e-3, max_iter=300,
                                                             early_stopping=True, random_state=seed))
    raise JuryboxError(f"model must be logreg, mlp or hgb; got {model!r}", option="model")


def _balanced(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row numbers with the minority class resampled up to the majority's size (for the MLP)."""
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    small, big = (pos, neg) if len(pos) < len(neg) else (neg, pos)
    return np.r_[big, rng.choice(small, size=len(big), replace=True)]


@dataclass
class Detector:
    """A fitted detector: featuriser, classifier and the features it uses."""

    featurizer: GroupFeaturizer
    classifier: Any
    group_size: int
    columns: np.ndarray  # feature columns kept (an ablation drops families)
    names: list[str] = field(default_factory=list)

    def features(self, j: Judgments, groups: Groups) -> np.ndarray:
        return self.featurizer.transform(groups.idx, j.score, j.properties)[:, self.columns]

    def predict_proba(self, j: Judgments, groups: Groups) -> np.ndarray:
        """P(LLM) for each group."""
        return self.classifier.predict_proba(self.features(j, groups))[:, 1]


def fit_detector(j: Judgments, groups: Groups, *, model: Model = "logreg", families: Sequence[str] = FAMILIES,
                 seed: int = 0) -> Detector:
    """Fit the featuriser on the groups' rows and the classifier on their feature rows."""
    if len(np.unique(groups.is_llm)) < 2:
        raise JuryboxError("training needs groups by human and by LLM judges")
    rows = np.unique(groups.idx)
    fz = GroupFeaturizer().fit(j.score[rows], None if j.properties is None else j.properties[rows], j.prop_names)
    names, fams = fz.names()
    cols = np.array([i for i, f in enumerate(fams) if f in families], dtype=int)
    if not len(cols):
        raise JuryboxError(f"no features left in families {list(families)}")
    det = Detector(fz, _classifier(model, seed), groups.idx.shape[1], cols, [names[i] for i in cols])
    X = det.features(j, groups)
    y = groups.is_llm
    if model == "mlp":
        keep = _balanced(y, np.random.default_rng(seed))
        X, y = X[keep], y[keep]
    det.classifier.fit(X, y)
    return det


def weighted_auroc(scores: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> float:
    """AUROC (ties count half) with a weight per example; NaN without both classes."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(y).astype(bool)
    w = np.ones(len(s)) if w is None else np.asarray(w, dtype=float)
    order = np.argsort(s, kind="mergesort")
    s, y, w = s[order], y[order], w[order]
    return float(_auroc_sorted(s, y, w[None, :])[0])


def _auroc_sorted(s: np.ndarray, y: np.ndarray, W: np.ndarray) -> np.ndarray:
    """AUROC for each row of weights ``W`` over examples sorted by score ``s``."""
    uniq_start = np.r_[True, s[1:] != s[:-1]]
    tie_id = np.cumsum(uniq_start) - 1
    n_ties = tie_id[-1] + 1 if len(s) else 0
    wp = W * y
    wn = W * ~y
    P = np.zeros((W.shape[0], n_ties))
    N = np.zeros((W.shape[0], n_ties))
    for r in range(W.shape[0]):
        P[r] = np.bincount(tie_id, weights=wp[r], minlength=n_ties)
        N[r] = np.bincount(tie_id, weights=wn[r], minlength=n_ties)
    below = np.cumsum(N, axis=1) - N
    num = (P * (below + 0.5 * N)).sum(1)
    den = P.sum(1) * N.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, np.nan)


@dataclass(frozen=True)
class SizeResult(Record):
    """The held-out AUROC for one group size: the mean over LLM families of the AUROC of humans
    against that family, its cluster-bootstrap interval over keys, and each family's AUROC."""

    group_size: int
    auroc: Interval
    per_family: dict[str, float]
    n_groups_human: int
    n_groups_llm: int
    n_fits: int


CONSENSUS = "llm_consensus"


def consensus_property(j: Judgments, heldout_family: str | None) -> np.ndarray:
    """For each row, the mean score the reference LLM judges gave the same (key, item): every LLM
    judge except those of ``heldout_family`` (the family under test) and of the row's own family
    (so a training LLM is never compared with itself or its siblings). NaN where no reference
    judge scored the item. This is what an LLM "thinks of the candidate" (J-Detector's F_LLM read
    from other LLM judges' scores): in use, your own LLM judges scoring the same candidates."""
    import pandas as pd

    item, _ = pd.factorize(pd.Series(j.key.astype(str)) + "\x1f" + pd.Series(j.item.astype(str)))
    fam_codes, fam_names = pd.factorize(pd.Series(j.families.astype(str)))
    is_llm = np.asarray(j.is_llm).astype(bool)
    n_items, n_fam = int(item.max()) + 1, len(fam_names)
    sums = np.zeros((n_items, n_fam))
    cnts = np.zeros((n_items, n_fam))
    np.add.at(sums, (item[is_llm], fam_codes[is_llm]), j.score[is_llm])
    np.add.at(cnts, (item[is_llm], fam_codes[is_llm]), 1.0)
    tot_s, tot_c = sums.sum(1)[item], cnts.sum(1)[item]
    if heldout_family is not None and heldout_family in set(fam_names):
        h = list(fam_names).index(heldout_family)
        tot_s = tot_s - sums[item, h]
        tot_c = tot_c - cnts[item, h]
        own = is_llm & (fam_codes != h)
    else:
        own = is_llm
    tot_s = tot_s - np.where(own, sums[item, fam_codes], 0.0)
    tot_c = tot_c - np.where(own, cnts[item, fam_codes], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(tot_c > 0, tot_s / tot_c, np.nan)


def with_consensus(j: Judgments, heldout_family: str | None) -> Judgments:
    c = consensus_property(j, heldout_family)[:, None]
    old = j.properties if j.properties is not None else np.zeros((len(j), 0))
    return Judgments(j.judge, j.is_llm, j.key, j.item, j.score, np.hstack([old, c]), (*j.prop_names, CONSENSUS),
                     j.family)


def _heldout_predictions(j: Judgments, group_size: int, *, n_folds: int, model: Model,
                         families: Sequence[str], seed: int, train_repeats: int, consensus: bool = False,
                         return_parts: bool = False) -> tuple[dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
                                                              int, list[Any]]:
    """Out-of-fold P(LLM) per LLM family: {family: (p, y, key)} over the test groups of every key fold."""
    keys = np.unique(j.key.astype(str))
    if len(keys) < n_folds:
        raise JuryboxError(f"{len(keys)} group keys cannot be split into {n_folds} folds", option="folds")
    rng = np.random.default_rng(seed)
    fold_of = dict(zip(rng.permutation(keys), np.arange(len(keys)) % n_folds))
    kfold = np.array([fold_of[k] for k in j.key.astype(str)])
    is_llm = np.asarray(j.is_llm).astype(int)
    fam = j.families.astype(str)
    llm_fams = sorted(set(fam[is_llm == 1]))
    if not llm_fams or not (is_llm == 0).any():
        raise JuryboxError("detection needs judgments by at least one human and one LLM judge")
    out: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {f: [] for f in llm_fams}
    parts: list[Any] = []
    fits = 0
    base = j
    for t in llm_fams:
        j = with_consensus(base, t if len(llm_fams) > 1 else None) if consensus else base
        for f in range(n_folds):
            heldout_fam = (fam == t) if len(llm_fams) > 1 else np.zeros(len(fam), bool)
            train_rows = np.flatnonzero((kfold != f) & ~heldout_fam)
            test_rows = np.flatnonzero((kfold == f) & ((is_llm == 0) | (fam == t)))
            gtr = make_groups(j, group_size, rows=train_rows, seed=seed + 1000 * f + 1, repeats=train_repeats)
            gte = make_groups(j, group_size, rows=test_rows, seed=seed + 1000 * f + 2)
            if len(np.unique(gtr.is_llm)) < 2 or len(np.unique(gte.is_llm)) < 2:
                continue
            det = fit_detector(j, gtr, model=model, families=families, seed=seed)
            fits += 1
            p = det.predict_proba(j, gte)
            out[t].append((p, gte.is_llm, gte.key.astype(str)))
            if return_parts:
                parts.append((det, gte, j))
    merged = {t: tuple(np.concatenate(c) for c in zip(*v)) for t, v in out.items() if v}
    return merged, fits, parts  # type: ignore[return-value]


def _bootstrap_macro(merged: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], n_resamples: int,
                     confidence: float, seed: int) -> tuple[Interval, dict[str, float]]:
    """Mean over families of the AUROC, with a cluster bootstrap over keys (one key weight per
    resample shared by all families)."""
    all_keys = np.unique(np.concatenate([v[2] for v in merged.values()]))
    kpos = {k: i for i, k in enumerate(all_keys)}
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(len(all_keys), np.full(len(all_keys), 1 / len(all_keys)), size=n_resamples)
    per_family, boot = {}, np.zeros((n_resamples, len(merged)))
    for c, (t, (p, y, k)) in enumerate(merged.items()):
        order = np.argsort(p, kind="mergesort")
        ps, ys = p[order], y[order].astype(bool)
        kid = np.array([kpos[x] for x in k[order]])
        per_family[str(t)] = float(_auroc_sorted(ps, ys, np.ones((1, len(ps))))[0])
        boot[:, c] = _auroc_sorted(ps, ys, counts[:, kid].astype(float))
    est = float(np.nanmean(list(per_family.values())))
    vals = np.nanmean(boot, axis=1)
    valid = vals[~np.isnan(vals)]
    lo, hi = (np.quantile(valid, [(1 - confidence) / 2, (1 + confidence) / 2]) if len(valid)
              else (np.nan, np.nan))
    return Interval(est, float(lo), float(hi), confidence, n_resamples, int(len(valid)), len(all_keys),
                    "group"), per_family


def evaluate_detector(j: Judgments, group_sizes: Sequence[int] = (1, 2, 4, 8, 16), *, n_folds: int = 5,
                      model: Model = "logreg", families: Sequence[str] = FAMILIES, seed: int = 0,
                      train_repeats: int = 1, n_resamples: int = 1000, consensus: bool = False,
                      confidence: float = DEFAULT_CONFIDENCE) -> list[SizeResult]:
    """Held-out AUROC by group size (held out by key fold and by LLM family; see the module)."""
    results = []
    for g in group_sizes:
        merged, fits, _ = _heldout_predictions(j, int(g), n_folds=n_folds, model=model, families=families,
                                               seed=seed, train_repeats=train_repeats, consensus=consensus)
        if not merged:
            raise JuryboxError(f"group size {g}: no fold has test groups of both kinds (groups too large?)",
                               option="group_sizes")
        iv, per = _bootstrap_macro(merged, n_resamples, confidence, seed)
        nh = sum(int((v[1] == 0).sum()) for v in merged.values()) // max(len(merged), 1)
        nl = sum(int((v[1] == 1).sum()) for v in merged.values())
        results.append(SizeResult(int(g), iv, per, nh, nl, fits))
    return results


@dataclass(frozen=True)
class Importance(Record):
    """How much held-out AUROC a feature (or a family) carries: ``drop`` is the AUROC lost."""

    name: str
    kind: str  # "permutation" (one feature shuffled in the test groups) | "ablation" (family left out, refitted)
    auroc: float
    drop: float


def feature_importance(j: Judgments, group_size: int, *, n_folds: int = 5, model: Model = "logreg", seed: int = 0,
                       train_repeats: int = 1, n_repeats: int = 5, consensus: bool = False) -> list[Importance]:
    """Permutation importance of every feature (mean over folds and repeats of the AUROC lost when
    that column is shuffled within a test fold) and the ablation of each feature family (the
    detector refitted without it; with one family only, ``drop`` is negative: what it alone lacks)."""
    merged, _, parts = _heldout_predictions(j, group_size, n_folds=n_folds, model=model, families=FAMILIES,
                                            seed=seed, train_repeats=train_repeats, consensus=consensus,
                                            return_parts=True)
    base = float(np.nanmean([weighted_auroc(p, y) for p, y, _ in merged.values()]))
    rng = np.random.default_rng(seed)
    names = parts[0][0].names
    drops = np.zeros(len(names))
    for det, gte, jf in parts:
        X = det.features(jf, gte)
        ref = weighted_auroc(det.classifier.predict_proba(X)[:, 1], gte.is_llm)
        for c in range(len(names)):
            lost = []
            for _ in range(n_repeats):
                Xp = X.copy()
                Xp[:, c] = rng.permutation(Xp[:, c])
                lost.append(ref - weighted_auroc(det.classifier.predict_proba(Xp)[:, 1], gte.is_llm))
            drops[c] += float(np.mean(lost)) / len(parts)
    out = [Importance(n, "permutation", base - d, float(d)) for n, d in zip(names, drops)]
    present = {f for f in parts[0][0].featurizer.names()[1]}
    for fam in FAMILIES:
        if fam not in present:
            continue
        for kind, keep in ((f"without {fam}", [f for f in FAMILIES if f != fam]), (f"{fam} only", [fam])):
            keep = [f for f in keep if f in present]
            if not keep:
                continue
            m, _, _ = _heldout_predictions(j, group_size, n_folds=n_folds, model=model, families=keep, seed=seed,
                                           train_repeats=train_repeats, consensus=consensus)
            a = float(np.nanmean([weighted_auroc(p, y) for p, y, _ in m.values()]))
            out.append(Importance(kind, "ablation", a, base - a))
    return sorted(out, key=lambda r: (r.kind != "ablation", -r.drop))
