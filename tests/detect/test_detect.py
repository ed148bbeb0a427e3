"""J-Detector on synthetic judges whose answer is known, its pieces, and its input errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from jurybox.cli import main
from jurybox.detect import (
    Judgments,
    evaluate_detector,
    feature_importance,
    judgments_from_qrels,
    judgments_from_table,
    make_groups,
    text_properties,
    weighted_auroc,
)
from jurybox.detect.detector import consensus_property
from jurybox.errors import InputError


def synthetic(llm_scorer, *, n_keys=10, n_items=40, n_llm=4, seed=0, texts=False):
    """One human and ``n_llm`` LLM judges (two families) over the same items; each item has a
    hidden quality and a length; the human scores quality, the LLMs score with ``llm_scorer``."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n_keys):
        q = rng.normal(size=n_items)
        length = rng.normal(size=n_items)
        words = [" ".join(["word"] * int(5 + 40 * (1 / (1 + np.exp(-x))))) for x in length]
        h = np.clip(np.round(1.5 + q + 0.5 * rng.normal(size=n_items)), 0, 3)
        judges = [("human", 0, "human", h)]
        for m in range(n_llm):
            judges.append((f"llm{m}", 1, f"fam{m % 2}", llm_scorer(q, length, rng)))
        for name, is_llm, fam, s in judges:
            for i in range(n_items):
                rows.append({"judge": name, "producer": "llm" if is_llm else "human", "group": f"q{k}",
                             "item": f"d{k}_{i}", "score": float(s[i]), "family": fam,
                             **({"text": words[i]} if texts else {})})
    return pd.DataFrame(rows)


def lenient(q, length, rng):
    return np.clip(np.round(2.8 + q + 0.5 * rng.normal(size=len(q))), 0, 3)


def same(q, length, rng):
    return np.clip(np.round(1.5 + q + 0.5 * rng.normal(size=len(q))), 0, 3)


def length_biased(q, length, rng):  # the same marginal as the human, but it follows length
    return np.clip(np.round(1.5 + 0.3 * q + 0.95 * length + 0.5 * rng.normal(size=len(q))), 0, 3)


def test_separable_judges_reach_high_auroc_rising_with_group_size():
    j, _ = judgments_from_table(synthetic(lenient), family="family")
    res = evaluate_detector(j, (1, 8), n_folds=5, n_resamples=200)
    one, eight = res
    assert eight.auroc.estimate > 0.95
    assert eight.auroc.low > 0.85
    assert one.auroc.estimate > 0.6
    assert eight.auroc.estimate > one.auroc.estimate
    assert set(eight.per_family) == {"fam0", "fam1"}
    assert one.n_fits == 10  # 5 key folds x 2 held-out families


def test_identical_judges_are_at_chance():
    j, _ = judgments_from_table(synthetic(same, n_keys=12), family="family")
    for r in evaluate_detector(j, (1, 8), n_folds=4, n_resamples=300):
        assert abs(r.auroc.estimate - 0.5) < 0.12, r
        assert r.auroc.low < 0.5 < r.auroc.high or abs(r.auroc.estimate - 0.5) < 0.06


def test_text_properties_reveal_a_length_biased_judge_the_scores_alone_miss():
    df = synthetic(length_biased, n_keys=12, texts=True)
    j, texts = judgments_from_table(df, family="family", text="text")
    alone = evaluate_detector(j, (16,), n_folds=4, n_resamples=100)[0]
    from jurybox.detect import with_properties

    tp, names = text_properties(texts)
    jt = with_properties(j, tp, names)
    withtext = evaluate_detector(jt, (16,), n_folds=4, n_resamples=100)[0]
    assert withtext.auroc.estimate > 0.9
    assert withtext.auroc.estimate > alone.auroc.estimate + 0.15
    imp = feature_importance(jt, 16, n_folds=4, n_repeats=2)
    abl = {i.name: i for i in imp if i.kind == "ablation"}
    assert abl["without interactions"].drop > 0.15  # the score-length interaction carries it
    perm = [i for i in imp if i.kind == "permutation"]
    assert "log_words" in perm[0].name or "log_words" in perm[1].name


def test_text_properties_values():
    p, names = text_properties(["the cat sat on the mat.", ""])
    assert names[0] == "log_words"
    assert p[0, 0] == pytest.approx(np.log1p(6))
    assert p[0, 2] == pytest.approx(5 / 6)  # "the" twice
    assert p[0, 3] == pytest.approx(17 / 6)
    assert p[1, 0] == 0 and np.isnan(p[1, 1])


def test_weighted_auroc_matches_sklearn_with_ties():
    rng = np.random.default_rng(1)
    s = rng.integers(0, 5, 300).astype(float)
    y = rng.integers(0, 2, 300)
    assert weighted_auroc(s, y) == pytest.approx(roc_auc_score(y, s))
    w = rng.integers(0, 3, 300).astype(float)
    rep = np.repeat(np.arange(300), w.astype(int))
    assert weighted_auroc(s, y, w) == pytest.approx(roc_auc_score(y[rep], s[rep]))


def test_groups_stay_within_one_judge_and_key_and_do_not_reuse_items():
    j, _ = judgments_from_table(synthetic(lenient, n_keys=3, n_items=10), family="family")
    g = make_groups(j, 4)
    assert g.idx.shape[1] == 4
    assert len(np.unique(g.idx)) == g.idx.size
    for row in g.idx:
        assert len(set(j.judge[row])) == 1 and len(set(j.key[row])) == 1
    assert len(g.idx) == 3 * 5 * 2  # 10 items -> 2 groups of 4 per (judge, key), 5 judges, 3 keys


def test_consensus_leaves_out_the_heldout_and_own_family():
    j = Judgments(np.array(["h", "a1", "a2", "b1"]), np.array([0, 1, 1, 1]), np.array(["q"] * 4),
                  np.array(["d"] * 4), np.array([0.0, 1.0, 2.0, 3.0]), family=np.array(["h", "a", "a", "b"]))
    c = consensus_property(j, "b")
    # human: mean of family a (b held out); a1, a2: no reference left (own family a, b held out); b1: family a
    assert c[0] == pytest.approx(1.5) and np.isnan(c[1]) and np.isnan(c[2]) and c[3] == pytest.approx(1.5)
    c = consensus_property(j, None)
    assert c[0] == pytest.approx(2.0) and c[1] == pytest.approx(3.0) and c[3] == pytest.approx(1.5)


def test_bad_score_names_file_row_and_field(tmp_path: Path):
    df = synthetic(lenient, n_keys=2, n_items=3)
    df["score"] = df["score"].astype(object)
    df.loc[2, "score"] = "high"
    p = tmp_path / "j.csv"
    df.to_csv(p, index=False)
    with pytest.raises(InputError) as e:
        judgments_from_table(p)
    assert str(e.value) == f"{p}, row 3, field 'score': expected a number, got 'high'"


def test_bad_producer_and_mixed_judge(tmp_path: Path):
    df = synthetic(lenient, n_keys=2, n_items=3)
    df.loc[4, "producer"] = "robot"
    with pytest.raises(InputError, match="row 5, field 'producer'.*'robot'"):
        judgments_from_table(df)
    df.loc[4, "producer"] = "human"  # row 5 belongs to the human judge? make an LLM judge claim human
    llm_row = int(np.flatnonzero(df.judge.to_numpy() == "llm0")[1])
    df.loc[llm_row, "producer"] = "human"
    with pytest.raises(InputError, match="marked both human and llm"):
        judgments_from_table(df)


def _run(argv, capsys):
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_table_and_qrels(tmp_path: Path, capsys):
    df = synthetic(lenient, n_keys=6, n_items=16)
    p = tmp_path / "j.jsonl"
    df.to_json(p, orient="records", lines=True)
    out = tmp_path / "res.json"
    code, stdout, err = _run(["detect-judge", str(p), "--family", "family", "--sizes", "1,4", "--folds", "3",
                              "--resamples", "50", "--out", str(out)], capsys)
    assert code == 0, err
    assert "group size" in stdout
    d = json.loads(out.read_text())
    assert [r["group_size"] for r in d["by_group_size"]] == [1, 4]
    assert d["by_group_size"][1]["auroc"]["estimate"] > 0.8
    # the same judgments as TREC qrels files
    (tmp_path / "llm").mkdir()
    for name, g in df.groupby("judge"):
        target = tmp_path / "human.txt" if name == "human" else tmp_path / "llm" / f"{name}.txt"
        target.write_text("".join(f"{r.group} 0 {r.item} {int(r.score)}\n" for r in g.itertuples()))
    j = judgments_from_qrels([tmp_path / "human.txt"], sorted((tmp_path / "llm").iterdir()))
    assert len(j) == len(df) and int(j.is_llm.sum()) == int((df.producer == "llm").sum())
    code, stdout, err = _run(["detect-judge", "--human-qrels", str(tmp_path / "human.txt"), "--llm-qrels",
                              str(tmp_path / "llm"), "--sizes", "4", "--folds", "3", "--resamples", "50",
                              "--json", "--consensus", "--importance-size", "0"], capsys)
    assert code == 0, err
    d = json.loads(stdout)
    assert "llm_consensus_mean" in d["features"]
    bad = tmp_path / "bad.csv"
    df.assign(score=df.score.astype(object).where(df.index != 6, "x")).to_csv(bad, index=False)
    code, stdout, err = _run(["detect-judge", str(bad)], capsys)
    assert code == 2
    assert err.strip().splitlines() == [f"jurybox: {bad}, row 7, field 'score': expected a number, got 'x'"] or \
        (len(err.strip().splitlines()) == 1 and "row 7, field 'score'" in err)


def test_dataset_entry_point_reads_a_table_with_texts():
    import jurybox

    df = synthetic(length_biased, n_keys=8, texts=True)
    rep = jurybox.detect_judgments(df, columns={"family": "family", "text": "text"}, group_sizes=(16,), n_folds=4,
                                   n_resamples=100, importance_size=0)
    assert "log_words_mean" in rep.features and "score_log_words_corr" in rep.features
    assert rep.by_group_size[0].auroc.estimate > 0.85
    assert rep.n_judges_human == 1 and rep.n_judges_llm == 4 and rep.n_llm_families == 2


def test_llm_properties_go_through_the_engine_and_store(tmp_path: Path):
    from jurybox.backends.scripted import ScriptedBackend
    from jurybox.detect import llm_properties

    def options(text, opts):
        long = "long long long" in text
        return {o: (0.9 if (o == "5") == long else 0.1 / (len(opts) - 1)) for o in opts}

    texts = ["short one", "long long long text here", "short one", "another long long long text"]
    store = tmp_path / "v.sqlite"
    vals, names, stats = llm_properties(texts, model=ScriptedBackend(options=options), store=store)
    assert names == ("polish", "specificity") and vals.shape == (4, 2)
    assert vals[1, 0] > 4 and vals[0, 0] < 3 and vals[0, 0] == vals[2, 0]  # one call per distinct text
    assert stats["polish"]["model_calls"] == 3 and stats["distinct_texts"] == 3
    again, _, stats2 = llm_properties(texts, model=ScriptedBackend(options=options), store=store)
    assert stats2["polish"]["model_calls"] == 0 and stats2["specificity"]["model_calls"] == 0
    assert np.array_equal(again, vals)


def test_missing_properties_are_imputed_with_the_training_mean():
    from jurybox.detect import GroupFeaturizer

    props = np.array([[1.0], [np.nan], [3.0], [5.0]])
    fz = GroupFeaturizer().fit(np.array([0.0, 1.0, 2.0, 3.0]), props, ["p"])
    X = fz.transform(np.array([[0, 1], [2, 3]]), np.array([0.0, 1.0, 2.0, 3.0]), props)
    names, _ = fz.names()
    col = names.index("p_mean")
    z = (np.array([1.0, 3.0, 3.0, 5.0]) - 3.0) / np.std([1.0, 3.0, 5.0])
    assert X[:, col] == pytest.approx([z[:2].mean(), z[2:].mean()])
    assert np.isfinite(X).all()
