"""The stacked jury on planted data and on the scripted backend: the regression recovers a planted
weighting, beats majority vote when one judge is anti-informative, is saved and reused as a judge,
makes no model call on a rerun, and refuses bad input in one line."""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jurybox.api import run_judge
from jurybox.backends.scripted import ScriptedBackend
from jurybox.errors import JuryboxError
from jurybox.jury.api import jury_table
from jurybox.spec import JudgeSpec
from jurybox.stacking import (
    StackedJudge,
    cross_validate,
    feature_layout,
    feature_matrix,
    feature_names,
    fit_stack,
    fit_stacked_jury,
    read_stack,
)
from jurybox.store import Store
from jurybox.types import Verdict

N = 120
GOLD = np.random.default_rng(7).choice(["A", "B"], N)


def planted_judge(identity: str, accuracy: float, unparsed_every: int = 0) -> ScriptedBackend:
    """A pairwise judge that 'believes' the better response with probability ``accuracy`` per item
    (the same belief in both orders) and says so with probability 0.8 for the response it believes in."""

    def options(text: str, opts: tuple[str, ...]) -> dict[str, float]:
        i = int(re.search(r"Q(\d+)\.", text).group(1))
        first_is_a = text.index(f"respA{i}.") < text.index(f"respB{i}.")
        r = np.random.default_rng(zlib.crc32(f"{identity}:{i}".encode()))
        right = r.random() < accuracy
        believes_a = (GOLD[i] == "A") == right
        p_first = 0.2 + 0.6 * r.random() if believes_a == first_is_a else 0.2 * r.random()
        return {"a": p_first, "b": 1.0 - p_first}

    return ScriptedBackend(options, identity=identity)


def data(n: int = N) -> pd.DataFrame:
    return pd.DataFrame({"instruction": [f"Q{i}." for i in range(n)], "response_a": [f"respA{i}." for i in range(n)],
                         "response_b": [f"respB{i}." for i in range(n)], "gold": list(GOLD[:n])})


def backends() -> dict[str, ScriptedBackend]:
    return {"good": planted_judge("good", 0.75), "fair": planted_judge("fair", 0.7),
            "anti": planted_judge("anti", 0.12)}


JUDGES = [{"model": "good", "name": "good"}, {"model": "fair", "name": "fair"}, {"model": "anti", "name": "anti"}]


def test_fit_recovers_a_planted_weighting():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 3))
    w, b = np.array([2.0, -1.0, 0.0]), 0.5
    y = np.where(rng.random(4000) < 1 / (1 + np.exp(-(x @ w + b))), "pos", "neg")
    m = fit_stack(x, y, ["f0", "f1", "f2"], C=100.0)
    # the two-class fit is stored as rows (-w/2, w/2): the difference is the planted weighting
    est = (m.coef[1] - m.coef[0]) / m.scale
    assert m.classes == ("neg", "pos")
    np.testing.assert_allclose(est, w, atol=0.15)
    np.testing.assert_allclose(m.intercept[1] - m.intercept[0] - est @ m.mean, b, atol=0.15)
    # numpy prediction = scikit-learn's
    from sklearn.linear_model import LogisticRegression

    z = (x - m.mean) / m.scale
    ref = LogisticRegression(C=100.0, max_iter=2000).fit(z, y).predict_proba(z)
    np.testing.assert_allclose(m.predict_proba(x), ref, atol=1e-6)


def test_three_classes_and_cross_validation_are_well_formed():
    rng = np.random.default_rng(1)
    y = rng.choice(["0", "1", "2"], 300)
    x = np.stack([(y == "1") + rng.normal(scale=0.3, size=300), (y == "2") + rng.normal(scale=0.3, size=300)], 1)
    cv = cross_validate(x, y, ["a", "b"], folds=5, repeats=2)
    assert cv.folds == 5 and cv.repeats == 2 and len(cv.oof) == 2 and len(cv.oof[0]) == 300
    assert cv.accuracy > 0.8 and cv.accuracy_low <= cv.accuracy <= cv.accuracy_high
    np.testing.assert_allclose(cv.oof_proba.sum(axis=2), 1.0, atol=1e-9)


def test_stacking_beats_majority_with_an_anti_informative_judge(tmp_path: Path):
    store = Store(tmp_path / "s.sqlite")
    res = fit_stacked_jury(data(), JUDGES, protocol="pairwise", human="gold", store=store, backends=backends(),
                           folds=5, repeats=3, out=tmp_path / "fit.json")
    acc = {row["method"].split(" ")[0]: row["accuracy"] for row in res.comparison}
    assert acc["anti"] < 0.3 and acc["good"] > 0.65
    assert acc["stacked"] >= acc["majority"] + 0.15, acc
    assert "dawid-skene" in acc  # unsupervised, it can learn to flip the anti judge as well (no assertion on order)
    assert res.cv.accuracy_low <= res.cv.accuracy <= res.cv.accuracy_high
    # the anti-informative judge's margins get the opposite sign of the good judge's
    m = res.stack.model
    w = dict(zip(m.features, (m.coef[m.classes.index("A")] - m.coef[m.classes.index("B")]) / m.scale, strict=True))
    assert w["good|AB|A"] > 0 and w["anti|AB|A"] < 0
    assert res.table is not None and res.table["stack_out_of_fold"].all()
    saved = read_stack(tmp_path / "fit.json")
    assert [mm.name for mm in saved.members] == ["good", "fair", "anti"]
    assert saved.model.features == res.stack.model.features


def test_saved_stack_is_a_judge_and_a_rerun_makes_no_call(tmp_path: Path):
    store = Store(tmp_path / "s.sqlite")
    bks = backends()
    fit_stacked_jury(data(60), JUDGES, protocol="pairwise", human="gold", store=store, backends=bks,
                     out=tmp_path / "fit.json")
    fresh = data()  # 60 new items as well as the 60 fitted on
    spec = JudgeSpec("pairwise", model=StackedJudge(str(tmp_path / "fit.json"), backends=bks))
    res = run_judge(fresh, spec, store=store)
    assert res.stats.model_calls == 3 * 2 * 60  # only the 60 new items, 3 judges x 2 orders
    labels = [v.label for v in res.verdicts]
    acc = np.mean([a == g for a, g in zip(labels[60:], GOLD[60:], strict=True)])
    assert acc > 0.75
    assert all(v.extra["method"] == "stack" for v in res.verdicts)
    assert set(res.variants[0]) == {"AB", "BA"}  # the stack on the item and on its swapped twin
    again = run_judge(fresh, spec, store=store)
    assert again.stats.model_calls == 0 and [v.label for v in again.verdicts] == labels
    # the same fit through the jury: aggregation 'stacked' with the file
    jr = jury_table(fresh, JUDGES, protocol="pairwise", human="gold", store=store, backends=bks,
                    aggregation="stacked", stack={"file": str(tmp_path / "fit.json")})
    assert jr.stats.model_calls == 0 and list(jr.table["jury_verdict"]) == labels


def test_jury_stacked_fits_with_cross_validation_and_saves(tmp_path: Path):
    store = Store(tmp_path / "s.sqlite")
    jr = jury_table(data(), JUDGES, protocol="pairwise", human="gold", store=store, backends=backends(),
                    aggregation="stacked", stack={"folds": 4, "repeats": 2, "save": str(tmp_path / "f.json")})
    rows = {r["judge_name"]: r for r in jr.agreement}
    assert rows["jury (stacked)"]["accuracy"] > rows["anti"]["accuracy"] + 0.5
    assert jr.details["stack"]["cv"]["folds"] == 4 and Path(jr.details["stack"]["saved"]).is_file()
    methods = [r["method"] for r in jr.details["stack"]["comparison"]]
    assert methods[1:3] == ["majority", "dawid-skene"]


def test_unparsed_member_answers_are_missing_features_not_labels():
    ok = Verdict("A", {"A": 0.9, "B": 0.1}, extra={"logprobs": {"A": np.log(0.9), "B": np.log(0.1)}})
    bad = Verdict(None, status="unparsed", raw="hmm")
    variants = [[{"AB": ok, "BA": ok}, {"AB": bad, "BA": ok}]]
    layout = feature_layout(["j"], variants)
    x, miss = feature_matrix(layout, ["j"], variants)
    names = feature_names(layout)
    assert names == ["j|AB|A", "j|AB|B", "j|AB|missing", "j|BA|A", "j|BA|B", "j|BA|missing"]
    assert np.isnan(x[1, 0]) and np.isnan(x[1, 1]) and x[1, 2] == 1.0 and x[0, 2] == 0.0
    assert miss.tolist() == [[False, False], [True, False]]
    m = fit_stack(np.vstack([x, x]), ["A", "B", "A", "B"], names)
    # imputed with the training mean: a missing block is not read as any label's log-probability
    np.testing.assert_allclose(m.impute[0], np.log(0.9))


def test_bad_input_is_one_clear_line(tmp_path: Path):
    with pytest.raises(JuryboxError, match="at least two classes; the labelled set has only 'A'"):
        fit_stack(np.zeros((5, 1)), ["A"] * 5, ["f"])
    store = Store(tmp_path / "s.sqlite")
    one_class = data(20).assign(gold="A")
    with pytest.raises(JuryboxError, match="at least two classes"):
        fit_stacked_jury(one_class, JUDGES, human="gold", store=store, backends=backends())
    fit_stacked_jury(data(40), JUDGES, human="gold", store=store, backends=backends(), out=tmp_path / "fit.json")
    other = [{"model": "good", "name": "good"}, {"model": "fair", "name": "fair"}]
    with pytest.raises(JuryboxError, match=r"fit\.json: fitted for judges \['good', 'fair', 'anti'\], but the jury "
                                           r"has \['good', 'fair'\]"):
        jury_table(data(40), other, human="gold", store=store, backends=backends(), aggregation="stacked",
                   stack={"file": str(tmp_path / "fit.json")})
    changed = [{**j, "template": "concise"} if j["name"] == "anti" else j for j in JUDGES]
    with pytest.raises(JuryboxError, match="judge anti asks a different prompt"):
        jury_table(data(40), changed, human="gold", store=store, backends=backends(), aggregation="stacked",
                   stack={"file": str(tmp_path / "fit.json")})
    with pytest.raises(JuryboxError, match="fitted for protocol pairwise, not score"):
        run_judge(pd.DataFrame({"response": ["x"]}),
                  JudgeSpec("score", model=StackedJudge(str(tmp_path / "fit.json"), backends=backends())), store=store)
    broken = tmp_path / "broken.json"
    d = json.loads((tmp_path / "fit.json").read_text())
    d["model"]["coef"] = [[1.0]]
    broken.write_text(json.dumps(d))
    with pytest.raises(JuryboxError, match="broken.json: field 'coef' has shape"):
        read_stack(broken)
    with pytest.raises(JuryboxError, match="not a jurybox stack file"):
        (tmp_path / "x.json").write_text("{}")
        read_stack(tmp_path / "x.json")
    with pytest.raises(JuryboxError, match="unknown stack setting"):
        jury_table(data(10), JUDGES, human="gold", store=store, backends=backends(), aggregation="stacked",
                   stack={"fold": 3})


def test_jury_config_fits_a_stack_and_judge_reuses_it_from_the_command_line(tmp_path: Path, capsys):
    from jurybox.cli import main

    data(24).to_json(tmp_path / "d.jsonl", orient="records", lines=True)
    (tmp_path / "jury.yaml").write_text(
        "data: d.jsonl\nprotocol: pairwise\nhuman: gold\nstore: s.sqlite\naggregation: stacked\n"
        "judges:\n  - {model: 'scripted:a', name: a}\n  - {model: 'scripted:b', name: b}\n"
        "stack: {folds: 3, repeats: 2, save: fit.json}\n")
    main(["jury", str(tmp_path / "jury.yaml"), "--quiet"])
    text = capsys.readouterr().out
    assert "96 model calls" in text and "stack fitted on 24 labelled rows: 3-fold x 2" in text
    assert (tmp_path / "fit.json").is_file()
    main(["judge", str(tmp_path / "d.jsonl"), "--protocol", "pairwise", "--model", f"stack:{tmp_path / 'fit.json'}",
          "--store", str(tmp_path / "s.sqlite"), "--quiet", "--json", "--out", str(tmp_path / "v.jsonl")])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["model_calls"] == 0 and summary["status"] == {"ok": 24}
    with pytest.raises(SystemExit) as exc:
        main(["judge", str(tmp_path / "d.jsonl"), "--protocol", "pairwise", "--template", "concise", "--model",
              f"stack:{tmp_path / 'fit.json'}", "--store", str(tmp_path / "s.sqlite"), "--quiet"])
    assert exc.value.code == 2 and "does not apply to it" in capsys.readouterr().err


def test_audit_position_probe_reads_the_stack_on_the_item_and_its_swapped_twin(tmp_path: Path):
    from jurybox.audit.dataset import audit_dataset

    store = Store(tmp_path / "s.sqlite")
    bks = backends()
    fit_stacked_jury(data(60), JUDGES, human="gold", store=store, backends=bks, out=tmp_path / "fit.json")
    spec = JudgeSpec("pairwise", model=StackedJudge(str(tmp_path / "fit.json"), backends=bks))
    rep = audit_dataset(data(60), spec, probes=["position"], human="gold", store=store, n_resamples=50)
    assert rep.model_calls == 0 and "position" in rep.results
    res = run_judge(data(60), spec, store=store)
    for v in res.variants:  # the swapped twin's verdict, mapped back, is a verdict on the same item
        assert v["AB"].label in ("A", "B") and v["BA"].label in ("A", "B")
        assert v["AB"].extra["first_position_won"] == (v["AB"].label == "A")
        assert v["BA"].extra["first_position_won"] == (v["BA"].label == "B")
