"""ACORN's three judge-as-rater protocols (stats.rater): definitions checked on constructed data."""

from __future__ import annotations

import numpy as np
import pytest

from jurybox.errors import JuryboxError
from jurybox.stats import krippendorff_alpha, spearman
from jurybox.stats.rater import aggregate_ratings, judge_vs_humans, reduced_pool, replace_rater_alpha


def ratings(n=120, seed=0, noise=1.0):
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, 6, size=n).astype(float)
    human = np.clip(np.rint(truth[:, None] + rng.normal(0, noise, size=(n, 3))), 1, 5)
    return truth, human


def test_aggregate():
    r = np.array([[1, 2, 2], [1, 3, 5], [4, np.nan, np.nan], [np.nan, np.nan, np.nan], [1, 1, 5]])
    assert aggregate_ratings(r, "mean")[:3].tolist() == [pytest.approx(5 / 3), 3.0, 4.0]
    maj = aggregate_ratings(r, "majority")
    assert maj[0] == 2 and maj[1] == 3 and maj[2] == 4 and np.isnan(maj[3]) and maj[4] == 1
    with pytest.raises(JuryboxError):
        aggregate_ratings(r, "median")  # type: ignore[arg-type]


def test_replacing_a_rater_by_its_copy_changes_nothing():
    _, human = ratings()
    res = replace_rater_alpha(human, human[:, 1], n_resamples=100)
    assert res.replaced[1].estimate == pytest.approx(res.humans.estimate)
    assert res.humans.estimate == pytest.approx(krippendorff_alpha(human, level="interval"))
    manual = krippendorff_alpha(np.column_stack([human[:, 0], human[:, 2], human[:, 1]]), level="interval")
    assert res.replaced[1].estimate == pytest.approx(manual)


def test_a_random_judge_lowers_alpha_and_the_difference_interval_says_so():
    truth, human = ratings(n=200, seed=1, noise=0.6)
    rng = np.random.default_rng(5)
    res = replace_rater_alpha(human, rng.integers(1, 6, size=200), n_resamples=100)
    assert res.difference.estimate < 0 and res.difference.high < 0
    assert res.mean_replaced.estimate == pytest.approx(np.mean([r.estimate for r in res.replaced]))
    good = replace_rater_alpha(human, truth, n_resamples=100)
    assert good.difference.estimate > 0  # the truth agrees with each human better than they agree with each other


def test_spearman_with_the_mean():
    truth, human = ratings()
    iv = judge_vs_humans(human, truth, n_resamples=100)
    assert iv.estimate == pytest.approx(spearman(truth, human.mean(axis=1)))
    assert iv.low < iv.estimate < iv.high


def test_reduced_pool():
    truth, human = ratings(n=150, seed=2, noise=1.2)
    res = reduced_pool(human, truth, sizes=(1, 2, 3), n_resamples=100)
    one, two, three = res
    assert one.n_subsets == 3 and two.n_subsets == 3 and three.n_subsets == 1
    # a single rater against the full pool, by hand
    full = human.mean(axis=1)
    by_hand = np.mean([spearman(human[:, r], full) for r in range(3)])
    assert one.pool.estimate == pytest.approx(by_hand)
    held = np.mean([spearman(human[:, r], human[:, [q for q in range(3) if q != r]].mean(axis=1)) for r in range(3)])
    assert one.heldout_pool.estimate == pytest.approx(held)
    # the truth as an extra rater helps a one-rater pool, against held-out raters too
    assert one.gain.estimate > 0 and one.heldout_gain.estimate > 0
    assert one.gain.estimate == pytest.approx(one.pool_judge.estimate - one.pool.estimate)
    assert three.pool.estimate == pytest.approx(1.0) and three.heldout_pool is None
    with pytest.raises(JuryboxError):
        reduced_pool(human, truth, sizes=(4,))


def test_shapes_are_checked():
    with pytest.raises(JuryboxError, match="one rating per item"):
        judge_vs_humans(np.ones((5, 3)), np.ones(4))
    with pytest.raises(JuryboxError, match="at least 2 raters"):
        replace_rater_alpha(np.ones((5, 1)), np.ones(5))


def test_rater_command(tmp_path, capsys):
    import json

    import pandas as pd

    from jurybox.cli import main

    truth, human = ratings(n=60, seed=3)
    df = pd.DataFrame({"r1": human[:, 0], "r2": human[:, 1], "r3": human[:, 2], "judge": truth,
                       "aspect": ["x"] * 30 + ["y"] * 30})
    p = tmp_path / "ratings.csv"
    df.to_csv(p, index=False)
    main(["rater", str(p), "--human", "r1,r2,r3", "--judge", "judge", "--group", "aspect", "--resamples", "50",
          "--json"])
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"x", "y"} and out["x"]["n_items"] == 30
    assert out["x"]["spearman"]["estimate"] == pytest.approx(spearman(truth[:30], human[:30].mean(axis=1)))
    df["r2"] = df["r2"].astype(object)
    df.loc[4, "r2"] = "five"
    df.to_csv(p, index=False)
    with pytest.raises(SystemExit) as e:
        main(["rater", str(p), "--human", "r1,r2,r3", "--judge", "judge"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "row 5" in err and "r2" in err
