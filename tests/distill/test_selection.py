"""Selection strategies on synthetic data where the best choice is known."""

from __future__ import annotations

import numpy as np
import pytest

from jurybox.distill.selection import (
    entropy,
    k_center_greedy,
    llkd_keep,
    locle_pick,
    select_and_label,
    uncertain_first,
)
from jurybox.distill.student import fit_logreg, predict_proba_linear
from jurybox.errors import OptionError


def blobs(centers, per, seed=0, scale=0.05):
    rng = np.random.default_rng(seed)
    X = np.vstack([c + scale * rng.standard_normal((n, len(c))) for c, n in zip(centers, per)])
    y = np.concatenate([[k] * n for k, n in enumerate(per)])
    return X, y


def test_entropy_values():
    h = entropy([[1.0, 0.0], [0.5, 0.5], [0.25, 0.75]])
    assert h[0] == 0.0
    assert h[1] == pytest.approx(np.log(2))
    assert 0 < h[2] < h[1]


def test_k_center_covers_every_cluster_once():
    # three far-apart clusters of very different sizes: farthest-first takes one point of each
    X, y = blobs([np.array([0.0, 0.0]), np.array([10.0, 0.0]), np.array([0.0, 10.0])], [200, 5, 3])
    for seed in range(5):
        picked = k_center_greedy(X, 3, seed=seed)
        assert sorted(y[picked]) == [0, 1, 2]
    # random picks of 3 almost never cover the two small clusters
    rng = np.random.default_rng(0)
    hits = sum(len(set(y[rng.choice(len(y), 3, replace=False)])) == 3 for _ in range(200))
    assert hits < 20


def test_k_center_with_centers_goes_elsewhere_and_sparse_matches_dense():
    from scipy import sparse

    X, y = blobs([np.array([0.0, 0.0]), np.array([10.0, 0.0]), np.array([0.0, 10.0])], [20, 20, 20])
    labelled = [0, 20]  # clusters 0 and 1 are covered
    picked = k_center_greedy(X, 1, centers=labelled)
    assert y[picked[0]] == 2
    dense = k_center_greedy(X, 5, seed=3)
    sp = k_center_greedy(sparse.csr_matrix(X), 5, seed=3)
    assert list(dense) == list(sp)
    assert len(set(dense)) == 5


def test_uncertain_first_picks_highest_entropy():
    p = np.array([[0.99, 0.01], [0.5, 0.5], [0.7, 0.3], [0.6, 0.4]])
    assert list(uncertain_first(p, [0, 1, 2, 3], 2)) == [1, 3]
    assert list(uncertain_first(p, [0, 2], 1)) == [2]


def test_locle_pick_is_uncertain_and_diverse():
    # two uncertain groups (near-duplicates within each) and a confident group: a batch of 2 takes
    # one item from each uncertain group, not two near-duplicates
    X, _ = blobs([np.array([0.0, 0.0]), np.array([5.0, 5.0]), np.array([9.0, 0.0])], [10, 10, 10], scale=0.01)
    p = np.vstack([np.tile([0.5, 0.5], (10, 1)), np.tile([0.55, 0.45], (10, 1)), np.tile([0.99, 0.01], (10, 1))])
    picked = locle_pick(X, p, np.arange(30), labelled=[], k=2, widen=10)
    groups = sorted(int(i) // 10 for i in picked)
    assert groups == [0, 1]


def test_llkd_keep_filters_unconfident_and_helps_rare_classes():
    # nothing kept yet: the bar is tau for everyone
    keep = llkd_keep(["a", "b", None], [0.95, 0.5, 0.99], 0.8, {})
    assert list(keep) == [True, False, False]  # None (unreadable) is never kept
    # 'b' has few kept examples: its bar is lower, so a 0.5-confidence 'b' is kept, a 0.5 'a' is not
    keep = llkd_keep(["a", "b"], [0.5, 0.5], 0.8, {"a": 100, "b": 10})
    assert list(keep) == [False, True]


def test_budget_errors():
    X = np.zeros((10, 2))
    with pytest.raises(OptionError, match="budget 11 is larger than the data \\(10 rows\\)"):
        select_and_label("random", X, 11, lambda r: ([], []), lambda *a: None)
    with pytest.raises(OptionError, match="strategy must be one of"):
        select_and_label("best", X, 5, lambda r: ([], []), lambda *a: None)
    with pytest.raises(OptionError, match="at least 1"):
        select_and_label("random", X, 0, lambda r: ([], []), lambda *a: None)


def _problem(seed=0):
    """A pool where random sampling wastes the budget: 90% of the items are near-duplicates of one
    class; eight small classes sit elsewhere."""
    rng = np.random.default_rng(seed)
    centers = [np.array([0.0, 0.0])] + [6 * np.array([np.cos(a), np.sin(a)]) for a in np.linspace(0, 2 * np.pi, 9)[:-1]]
    per = [900] + [12] * 8
    X, y = blobs(centers, per, seed=seed, scale=0.6)
    perm = rng.permutation(len(y))
    return X[perm], y[perm]


def _run(strategy, X, y, budget, seed, teacher_noise=None):
    names = np.array([f"c{k}" for k in y])

    def teacher(rows):
        labels = [str(names[r]) for r in rows]
        conf = [1.0] * len(rows) if teacher_noise is None else [float(teacher_noise[r]) for r in rows]
        return labels, conf

    classes = sorted(set(names))

    def train_predict(rows, ys, ws):
        idx = np.array([classes.index(v) for v in ys])
        coef, b = fit_logreg(X[rows], idx, C=10.0, sample_weight=ws)
        if len(set(idx)) < len(classes):  # pad unseen classes
            full_c, full_b = np.zeros((len(classes), X.shape[1])), np.full(len(classes), -1e4)
            seen = np.unique(idx)
            if coef.shape[0] == 1:
                coef, b = np.vstack([-coef[0] / 2, coef[0] / 2]), np.array([-b[0] / 2, b[0] / 2])
            full_c[seen], full_b[seen] = coef, b
            coef, b = full_c, full_b
        return predict_proba_linear(X, coef, b)

    sel = select_and_label(strategy, X, budget, teacher, train_predict, rounds=3, seed=seed)
    assert len(sel.asked) == budget and len(set(sel.asked)) == budget
    rows, ys, ws = sel.training_set()
    p = train_predict(np.array(rows), ys, np.array(ws))
    acc = float(np.mean(np.array(classes)[p.argmax(1)] == names))
    return sel, acc


def test_locle_and_llkd_beat_random_when_the_pool_is_redundant():
    accs = {s: [] for s in ("random", "llkd", "locle")}
    coverage = {s: [] for s in accs}
    for seed in range(6):
        X, y = _problem(seed)
        for s in accs:
            sel, acc = _run(s, X, y, 30, seed)
            accs[s].append(acc)
            coverage[s].append(len(set(y[sel.asked])))
    # k-center + entropy finds the small classes that 30 random draws mostly miss
    assert np.mean(coverage["locle"]) >= 8.5
    assert np.mean(coverage["locle"]) > np.mean(coverage["random"]) + 2
    assert np.mean(accs["locle"]) > np.mean(accs["random"]) + 0.01
    # uncertainty sampling (LLKD) also asks about the boundary items random skips
    assert np.mean(coverage["llkd"]) > np.mean(coverage["random"])


def test_llkd_leaves_out_unconfident_teacher_labels_and_weights_by_confidence():
    X, y = _problem(1)
    rng = np.random.default_rng(0)
    conf = np.where(rng.random(len(y)) < 0.3, 0.2, 0.95)
    sel, _ = _run("llkd", X, y, 40, 0, teacher_noise=conf)
    kept = np.array(sel.kept)
    asked_conf = conf[np.array(sel.asked)]
    assert kept.sum() < len(kept)
    assert not kept[asked_conf == 0.2].any()  # every low-confidence label is left out
    rows, ys, ws = sel.training_set()
    assert set(ws) == {0.95}
    assert len(sel.thresholds) == len(sel.rounds)


def test_random_is_seeded_and_unreadable_answers_are_spent_not_labelled():
    X = np.random.default_rng(0).standard_normal((50, 3))

    def teacher(rows):
        return [None if r % 2 else "a" for r in rows], [None if r % 2 else 0.9 for r in rows]

    a = select_and_label("random", X, 10, teacher, lambda *x: None, seed=4)
    b = select_and_label("random", X, 10, teacher, lambda *x: None, seed=4)
    assert a.asked == b.asked
    rows, ys, _ = a.training_set()
    assert all(r % 2 == 0 for r in rows) and set(ys) <= {"a"}
    assert len(rows) == sum(1 for r in a.asked if r % 2 == 0)


def test_kmeans_medoids_represent_every_cluster_by_its_central_row():
    from jurybox.distill.selection import kmeans_medoids

    X, y = blobs([np.array([0.0, 0.0]), np.array([10.0, 0.0]), np.array([0.0, 10.0])], [200, 30, 30], scale=1.0)
    X[0] = [0.0, 0.0]  # the exact centre of the big cluster
    picked = kmeans_medoids(X, 3, seed=0)
    assert sorted(y[picked]) == [0, 1, 2]
    big = picked[y[picked] == 0][0]
    assert np.linalg.norm(X[big]) < 0.5  # the row nearest the centre, not an outlying one
    # farthest-first picks the most outlying rows instead
    kc = k_center_greedy(X, 3, seed=0)
    assert max(np.linalg.norm(X[kc] - X[kc].mean(0), axis=1)) > 3
    assert list(kmeans_medoids(X, 5, candidates=[1, 2, 3])) == [1, 2, 3]


def test_init_fraction_is_checked():
    X = np.zeros((10, 2))
    with pytest.raises(OptionError, match="init_fraction"):
        select_and_label("locle", X, 5, lambda r: ([], []), lambda *a: None, init_fraction=0)
