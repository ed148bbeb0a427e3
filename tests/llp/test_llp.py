"""LLP by belief propagation: the cardinality messages and BP against enumeration, label recovery
on separable clusters, the baselines, and input errors."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jurybox.cli import main
from jurybox.errors import InputError, JuryboxError
from jurybox.llp import (
    bag_mean_baseline,
    bag_potential,
    bag_proportions,
    cardinality_messages,
    dllp_baseline,
    knn_graph,
    learn_from_proportions,
    loopy_bp,
    random_bags,
)
from jurybox.llp.api import llp_dataset


def exact_marginals(n, edges, bags, counts, coupling, kind, strength, unary):
    phi = bag_potential(np.bincount(bags), counts, kind, strength)
    Z, marg = 0.0, np.zeros(n)
    for ys in itertools.product([0, 1], repeat=n):
        y = np.array(ys)
        w = np.exp((unary * y).sum() + sum(coupling for i, j in edges if y[i] == y[j]))
        for b in range(len(counts)):
            w *= phi[b, y[bags == b].sum()]
        Z += w
        marg += w * y
    return marg / Z


def test_cardinality_messages_match_enumeration():
    rng = np.random.default_rng(0)
    q = rng.uniform(0.02, 0.98, size=(3, 6))
    phi = rng.uniform(0, 1, size=(3, 7))
    m = cardinality_messages(q, phi)
    for b in range(3):
        for k in range(6):
            m0 = m1 = 0.0
            for ys in itertools.product([0, 1], repeat=6):
                w = np.prod([q[b, i] if y else 1 - q[b, i] for i, y in enumerate(ys) if i != k]) * phi[b, sum(ys)]
                if ys[k]:
                    m1 += w
                else:
                    m0 += w
            assert m[b, k] == pytest.approx(np.log(m1 / m0), abs=1e-9)


def test_padding_a_bag_with_empty_items_changes_nothing():
    rng = np.random.default_rng(1)
    q = rng.uniform(0.1, 0.9, size=(1, 4))
    phi = bag_potential(np.array([4]), np.array([2.0]), "hard")
    padded = np.c_[q, np.zeros((1, 2))]
    phi_p = np.c_[phi, np.zeros((1, 2))]
    assert cardinality_messages(padded, phi_p)[:, :4] == pytest.approx(cardinality_messages(q, phi))


@pytest.mark.parametrize("kind", ["hard", "laplace", "gaussian"])
def test_bp_is_exact_on_a_tree(kind):
    rng = np.random.default_rng(2)
    edges = np.array([[2, 3], [5, 6]])  # bag {0,1,2} - edge - bag {3,4,5} - edge - bag {6,7}
    bags = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    counts = np.array([1.0, 2.0, 1.0])
    u = rng.normal(size=8)
    r = loopy_bp(8, edges, bags, counts, coupling=0.8, bag_kind=kind, unary=u, damping=0.3, tol=1e-10, max_iter=500)
    assert r.converged and r.iterations < 500
    assert r.marginals == pytest.approx(exact_marginals(8, edges, bags, counts, 0.8, kind, 1.0, u), abs=1e-8)


def test_loopy_bp_is_close_on_a_small_loopy_graph_and_reports_convergence():
    rng = np.random.default_rng(3)
    edges = np.array([[0, 3], [1, 4], [2, 5], [0, 1]])
    bags = np.array([0, 0, 0, 1, 1, 1])
    counts = np.array([1.0, 2.0])
    u = rng.normal(size=6)
    r = loopy_bp(6, edges, bags, counts, coupling=0.5, bag_kind="laplace", unary=u, damping=0.5, tol=1e-9)
    exact = exact_marginals(6, edges, bags, counts, 0.5, "laplace", 1.0, u)
    assert r.converged
    assert np.abs(r.marginals - exact).max() < 0.05
    short = loopy_bp(6, edges, bags, counts, coupling=0.5, bag_kind="laplace", unary=u, max_iter=2, tol=1e-12)
    assert not short.converged and short.iterations == 2 and short.max_delta > 1e-12


def test_hard_bag_potential_alone_gives_the_proportion():
    bags = np.repeat(np.arange(4), 10)
    counts = np.array([0.0, 3.0, 7.0, 10.0])
    r = loopy_bp(40, np.zeros((0, 2), dtype=int), bags, counts, bag_kind="hard", tol=1e-13)
    assert r.marginals == pytest.approx(np.repeat(counts / 10, 10), abs=1e-9)


def clusters(n=400, d=5, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    centres = np.zeros((2, d))
    centres[1, 0] = 6.0
    return centres[y] + rng.normal(size=(n, d)), y


def test_llp_recovers_labels_of_separable_clusters():
    X, y = clusters()
    bags = random_bags(len(X), 16, seed=0)
    props = bag_proportions(y, bags)
    res = learn_from_proportions(X, bags, props, k=8, coupling=0.3)
    assert res.rounds[0].converged
    assert ((res.pseudo_labels > 0.5) == y).mean() > 0.97
    Xt, yt = clusters(seed=1)
    assert ((res.predict_proba(Xt) > 0.5) == yt).mean() > 0.97
    # the bag-mean baseline's labels carry only the proportions; DLLP also learns the direction
    assert ((dllp_baseline(X, bags, props).predict_proba(Xt) > 0.5) == yt).mean() > 0.9
    mean_model = bag_mean_baseline(X, bags, props)
    assert mean_model.predict_proba(Xt).std() < res.predict_proba(Xt).std()


def test_a_refined_round_improves_the_pseudo_labels():
    X, y = clusters(n=400)
    bags = random_bags(len(X), 20, seed=1)
    props = bag_proportions(y, bags)
    one = learn_from_proportions(X, bags, props, k=6, coupling=0.3, rounds=1)
    two = learn_from_proportions(X, bags, props, k=6, coupling=0.3, rounds=2, hidden=16)
    assert len(two.rounds) == 2 and len(two.n_edges) == 2 and all(r.converged for r in two.rounds)
    acc1, acc2 = (((r.pseudo_labels > 0.5) == y).mean() for r in (one, two))
    assert acc2 > 0.97 and acc2 > acc1


def test_knn_graph_is_symmetric_and_unique():
    X, _ = clusters(n=50)
    e, w = knn_graph(X, 4)
    assert (e[:, 0] < e[:, 1]).all()
    assert len(np.unique(e[:, 0] * 50 + e[:, 1])) == len(e)
    assert len(e) >= 50 * 4 / 2 and (w == 1).all()


def test_bad_bp_arguments():
    with pytest.raises(JuryboxError, match="count 5 is outside 0..3"):
        loopy_bp(3, np.zeros((0, 2), dtype=int), np.zeros(3, dtype=int), np.array([5.0]))
    with pytest.raises(JuryboxError, match="damping"):
        loopy_bp(3, np.zeros((0, 2), dtype=int), np.zeros(3, dtype=int), np.array([1.0]), damping=1.0)
    X, y = clusters(n=20)
    with pytest.raises(JuryboxError, match="proportion"):
        learn_from_proportions(X, np.zeros(20), [1.5])


def test_dataset_errors_name_file_row_and_field(tmp_path: Path):
    X, y = clusters(n=40)
    bags = random_bags(40, 8)
    df = pd.DataFrame({"bag": bags, "proportion": bag_proportions(y, bags)[bags]})
    emb = tmp_path / "e.npy"
    np.save(emb, X)
    bad = df.copy()
    bad.loc[4, "proportion"] = 1.5
    p = tmp_path / "b.csv"
    bad.to_csv(p, index=False)
    with pytest.raises(InputError) as e:
        llp_dataset(p, embeddings=emb)
    assert str(e.value) == f"{p}, row 5, field 'proportion': expected a proportion between 0 and 1, got '1.5'"
    bad = df.copy()
    r = int(np.flatnonzero(bags == bags[0])[1])
    bad.loc[r, "proportion"] = (bad.loc[r, "proportion"] + 0.5) % 1.0
    bad.to_csv(p, index=False)
    with pytest.raises(InputError, match=f"row {r + 1}, field 'proportion': bag"):
        llp_dataset(p, embeddings=emb)
    df.to_csv(p, index=False)
    np.save(tmp_path / "short.npy", X[:30])
    with pytest.raises(InputError, match="one row per table row"):
        llp_dataset(p, embeddings=tmp_path / "short.npy")


def test_cli_llp(tmp_path: Path, capsys):
    X, y = clusters(n=160)
    bags = random_bags(160, 16)
    pd.DataFrame({"bag": bags, "proportion": bag_proportions(y, bags)[bags], "y": y}).to_csv(tmp_path / "b.csv",
                                                                                           index=False)
    np.savez(tmp_path / "e.npz", train=X)
    try:
        main(["llp", str(tmp_path / "b.csv"), "--embeddings", str(tmp_path / "e.npz"), "--k", "6", "--coupling",
              "0.3", "--json"])
    except SystemExit as exc:
        assert not exc.code
    d = json.loads(capsys.readouterr().out)
    assert d["n_bags"] == 10 and d["bp"]["rounds"][0]["converged"]
    out = pd.read_csv(d["out"])
    assert ((out.llp_pseudo_label > 0.5) == out.y).mean() > 0.9
    with pytest.raises(SystemExit) as e:
        main(["llp", str(tmp_path / "b.csv"), "--embeddings", str(tmp_path / "missing.npy")])
    assert e.value.code == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_multiclass_one_vs_rest_recovers_three_separable_clusters():
    from jurybox.llp import learn_from_proportions_multiclass

    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 450)
    centres = np.array([[0, 0, 0, 0], [6, 0, 0, 0], [0, 6, 0, 0]], dtype=float)
    X = centres[y] + rng.normal(size=(450, 4))
    bags = random_bags(450, 15, seed=2)
    P = np.stack([bag_proportions((y == c).astype(int), bags) for c in range(3)], axis=1)
    res = learn_from_proportions_multiclass(X, bags, P, k=8, coupling=0.3, classes=["a", "b", "c"])
    assert res.pseudo_labels.shape == (450, 3) and np.allclose(res.pseudo_labels.sum(1), 1)
    assert (res.pseudo_labels.argmax(1) == y).mean() > 0.95
    assert all(r.converged for r in res.rounds)
    yt = rng.integers(0, 3, 300)
    Xt = centres[yt] + rng.normal(size=(300, 4))
    assert (res.predict_proba(Xt).argmax(1) == yt).mean() > 0.95
    assert res.model.classes == ("a", "b", "c")
    with pytest.raises(JuryboxError, match="sum to"):
        learn_from_proportions_multiclass(X, bags, P * 0.9)


def test_cli_llp_multiclass_and_its_errors(tmp_path: Path, capsys):
    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 300)
    X = np.array([[0, 0, 0], [6, 0, 0], [0, 6, 0]], dtype=float)[y] + rng.normal(size=(300, 3))
    bags = random_bags(300, 15, seed=3)
    df = pd.DataFrame({"bag": bags, **{f"p_{c}": bag_proportions((y == i).astype(int), bags)[bags]
                                       for i, c in enumerate("abc")}, "y": np.array(list("abc"))[y]})
    df.to_csv(tmp_path / "m.csv", index=False)
    np.save(tmp_path / "m.npy", X)
    main_args = ["llp", str(tmp_path / "m.csv"), "--embeddings", str(tmp_path / "m.npy"), "--proportion",
                 "p_a,p_b,p_c", "--coupling", "0.3", "--out", str(tmp_path / "o.csv")]
    try:
        main(main_args)
    except SystemExit as exc:
        assert not exc.code
    out = pd.read_csv(tmp_path / "o.csv")
    assert {"llp_probability_p_a", "llp_label"} <= set(out.columns)
    assert (out.llp_label.str[-1] == out.y).mean() > 0.95
    capsys.readouterr()
    df.loc[df.bag == df.bag[0], "p_a"] = 0.99
    df.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(SystemExit) as e:
        main(main_args)
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and "\n" not in err and "row 1, field 'p_c'" in err and "sum to" in err


def test_dataset_embeds_a_text_column_with_tfidf():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 120)
    words = [["card", "lost", "stolen", "pin"], ["transfer", "bank", "account", "pending"]]
    texts = [" ".join(rng.choice(words[v], size=4)) for v in y]
    bags = random_bags(120, 12, seed=4)
    df = pd.DataFrame({"text": texts, "bag": bags, "proportion": bag_proportions(y, bags)[bags]})
    res = llp_dataset(df, text="text", embedder="tfidf", k=5, coupling=0.5)
    assert ((res.table.llp_pseudo_label > 0.5) == y).mean() > 0.95
    assert res.n_bags == 10 and res.to_dict()["bp"]["rounds"][0]["converged"]
    base = llp_dataset(df, text="text", embedder="tfidf", method="dllp")
    assert "llp_pseudo_label" not in base.table and base.fit is None
    with pytest.raises(JuryboxError, match="embeddings"):
        llp_dataset(df)


def test_heldout_bags_tell_a_good_method_from_the_base_rate_without_labels():
    from jurybox.llp import heldout_bag_error

    X, y = clusters(n=480)
    bags = random_bags(len(X), 16, seed=5)
    props = bag_proportions(y, bags)
    bp = heldout_bag_error(X, bags, props, lambda X, b, p: learn_from_proportions(X, b, p, k=8, coupling=0.3))
    mean = heldout_bag_error(X, bags, props, bag_mean_baseline)
    assert bp["n_heldout_bags"] == 6
    assert bp["mae"] < 0.5 * bp["mae_constant"]
    assert bp["mae"] < mean["mae"]
    with pytest.raises(JuryboxError, match="cannot be split"):
        heldout_bag_error(X, np.zeros(len(X), dtype=int), [0.5], bag_mean_baseline)
