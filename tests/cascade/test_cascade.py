"""The cascade on synthetic confidences and on the scripted backend: the threshold search hits its
target with the fewest items escalated, exactly the items below the threshold go to the large judge,
a rerun makes no model call, the cascade is a judge for judge / jury / audit, and bad input is one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jurybox.api import run_judge
from jurybox.audit.dataset import audit_dataset
from jurybox.backends.registry import get_backend
from jurybox.backends.scripted import ScriptedBackend
from jurybox.cascade import (
    ESCALATE_ALL,
    CascadeJudge,
    cascade_curve,
    cascade_report,
    choose_threshold,
    fit_cascade,
    read_cascade,
)
from jurybox.errors import JuryboxError
from jurybox.jury.api import jury_table
from jurybox.spec import JudgeSpec
from jurybox.store import Store

N = 200
RNG = np.random.default_rng(3)
GOLD = RNG.choice(["pos", "neg"], N)
CONF = RNG.uniform(0.5, 1.0, N).round(3)  # the cheap judge's planted confidence per item
CHEAP_RIGHT = RNG.random(N) < CONF  # right with probability = its confidence (calibrated)
LARGE_RIGHT = RNG.random(N) < 0.9


def item_of(text: str) -> int:
    return int(re.search(r"item (\d+)\.", text).group(1))


def cheap_backend() -> ScriptedBackend:
    def options(text: str, opts: tuple[str, ...]) -> dict[str, float]:
        i = item_of(text)
        said = GOLD[i] if CHEAP_RIGHT[i] else ("neg" if GOLD[i] == "pos" else "pos")
        return {o: (CONF[i] if o == said else 1 - CONF[i]) for o in opts}

    return ScriptedBackend(options, identity="cheap")


def large_backend() -> ScriptedBackend:
    def options(text: str, opts: tuple[str, ...]) -> dict[str, float]:
        i = item_of(text)
        said = GOLD[i] if LARGE_RIGHT[i] else ("neg" if GOLD[i] == "pos" else "pos")
        return {o: (0.7 if o == said else 0.3) for o in opts}

    return ScriptedBackend(options, identity="large")


def data(n: int = N) -> pd.DataFrame:
    return pd.DataFrame({"text": [f"item {i}." for i in range(n)], "gold": list(GOLD[:n])})


def spec(model) -> JudgeSpec:
    return JudgeSpec("classify", {"labels": ("pos", "neg")}, model=model)


def test_threshold_search_hits_the_target_with_the_fewest_escalations():
    cheap = [g if r else ("neg" if g == "pos" else "pos") for g, r in zip(GOLD, CHEAP_RIGHT, strict=True)]
    large = [g if r else ("neg" if g == "pos" else "pos") for g, r in zip(GOLD, LARGE_RIGHT, strict=True)]
    curve = cascade_curve(cheap, CONF, large, list(GOLD))
    assert curve.escalated[0] == 0.0 and curve.escalated[-1] == 1.0
    assert curve.accuracy[-1] == pytest.approx(LARGE_RIGHT.mean())
    for target in (0.8, 0.85, 0.88):
        t = choose_threshold(curve, target=target)
        acc, share = curve.at(t)
        assert acc >= target
        # every candidate that escalates fewer items misses the target
        assert (curve.accuracy[curve.escalated < share] < target).all()
        # the definition, counted directly
        esc = ~(CONF >= t)
        direct = np.mean(np.where(esc, LARGE_RIGHT, CHEAP_RIGHT))
        assert acc == pytest.approx(direct) and share == pytest.approx(esc.mean())
    t = choose_threshold(curve, within=0.01)
    assert curve.at(t)[0] >= LARGE_RIGHT.mean() - 0.01
    assert choose_threshold(curve, target=0.999) == ESCALATE_ALL
    with pytest.raises(JuryboxError, match="exactly one of target"):
        choose_threshold(curve)


def test_cascade_escalates_exactly_the_items_below_the_threshold(tmp_path: Path):
    cheap, large = cheap_backend(), large_backend()
    judge = CascadeJudge("cheap", large="large", threshold=0.8, backends={"cheap": cheap, "large": large})
    with Store(tmp_path / "s.sqlite") as st:
        res = run_judge(data(), spec(judge), store=st, human="gold")
        below = {i for i in range(N) if CONF[i] < 0.8}
        assert cheap.calls == N
        assert {item_of(t) for t in large.seen} == below and large.calls == len(below)
        stages = [v.extra["cascade"]["stage"] for v in res.verdicts]
        assert {i for i, s in enumerate(stages) if s == "large"} == below
        for i, v in enumerate(res.verdicts):
            said_large = GOLD[i] if LARGE_RIGHT[i] else ("neg" if GOLD[i] == "pos" else "pos")
            said_cheap = GOLD[i] if CHEAP_RIGHT[i] else ("neg" if GOLD[i] == "pos" else "pos")
            assert v.label == (said_large if i in below else said_cheap)
        assert res.stats.model_calls == N + len(below)
        again = run_judge(data(), spec(judge), store=st)
        assert again.stats.model_calls == 0 and [v.label for v in again.verdicts] == [v.label for v in res.verdicts]
        # the cheap and large stages use the keys of single-judge runs: judging with the large model
        # alone costs only the items the cascade did not escalate
        alone = run_judge(data(), spec(large), store=st)
        assert alone.stats.model_calls == N - len(below)


def test_fit_cascade_writes_a_file_the_judge_reads(tmp_path: Path):
    cheap, large = cheap_backend(), large_backend()
    bks = {"cheap": cheap, "large": large}
    with Store(tmp_path / "s.sqlite") as st:
        fit = fit_cascade(data(), spec(None), cheap="cheap", large="large", human="gold", within=0.01,
                          max_labels=100, store=st, out=tmp_path / "c.json", backends=bks)
        assert len(fit.rows) == 100 and fit.stats.model_calls == 200
        rep = fit.report
        assert rep["cascade"]["accuracy"] >= rep["large"]["accuracy"] - 0.01
        assert rep["share_escalated"] < 1.0 and rep["cost"]["cascade_calls"] == 100 + rep["escalated"]
        assert rep["accuracy_minus_large_ci"][0] <= rep["accuracy_minus_large"] <= rep["accuracy_minus_large_ci"][1]
        cfg = read_cascade(tmp_path / "c.json")
        assert cfg.threshold == fit.config.threshold and cfg.protocol == "classify"
        judge = CascadeJudge(file=str(tmp_path / "c.json"), backends=bks)
        res = run_judge(data(), spec(judge), store=st)
        esc = [v.extra["cascade"]["stage"] == "large" for v in res.verdicts]
        assert esc == list(~(CONF >= cfg.threshold))
        report = cascade_report([v for v in run_judge(data(), spec(cheap), store=st).verdicts],
                                [v for v in run_judge(data(), spec(large), store=st).verdicts], list(GOLD),
                                cfg.threshold)
        assert report["escalated"] == sum(esc)


def test_cascade_from_the_model_spec_in_jury_and_audit(tmp_path: Path):
    # the registry builds a cascade from text: cascade:CHEAP with its options
    c = get_backend("cascade:scripted:a", large="scripted:b", threshold=0.7)
    assert isinstance(c, CascadeJudge) and c.config.large == "scripted:b" and c.label == "cascade(scripted:a>scripted:b@0.7)"
    s = JudgeSpec.parse("classify", params=["labels=pos,neg"], model="cascade:scripted:a",
                        backend_options=["large=scripted:b", "threshold=0.6"])
    assert s.make_backend().config.threshold == 0.6
    with pytest.raises(JuryboxError, match="unknown option 'thresh'"):
        get_backend("cascade:scripted:a", thresh=0.5)
    st = Store(tmp_path / "s.sqlite")
    bks = {"cheap": cheap_backend(), "large": large_backend()}
    jr = jury_table(data(40), [{"model": CascadeJudge("cheap", large="large", threshold=0.9, backends=bks),
                                "name": "cascade"}, {"model": "large", "name": "large"}],
                    protocol="classify", params={"labels": ["pos", "neg"]}, human="gold", store=st,
                    backends={"large": bks["large"]})
    assert jr.judges == ("cascade", "large")
    # audit: a pairwise cascade answers the position probe with the stage each item went to
    pair = pd.DataFrame({"instruction": [f"item {i}." for i in range(12)], "response_a": ["x"] * 12,
                         "response_b": ["y"] * 12, "gold": ["A"] * 12})
    first = ScriptedBackend(lambda t, o: {"a": 0.95, "b": 0.05}, identity="first")
    unsure = ScriptedBackend(lambda t, o: {"a": 0.55, "b": 0.45}, identity="unsure")
    casc = CascadeJudge("unsure", large="first", threshold=0.6, backends={"unsure": unsure, "first": first})
    rep = audit_dataset(pair, JudgeSpec("pairwise", model=casc), probes=["position"], human="gold", store=st,
                        n_resamples=50)
    assert rep.results["position"] is not None and first.calls == 24 and unsure.calls == 24


def test_bad_cascade_input_is_one_clear_line(tmp_path: Path):
    with pytest.raises(JuryboxError, match="needs its cheap model"):
        CascadeJudge()
    with pytest.raises(JuryboxError, match="threshold must be between 0 and 1"):
        CascadeJudge("a", threshold=3.0)
    bad = tmp_path / "c.json"
    bad.write_text(json.dumps({"format": "jurybox-cascade", "version": 1, "cheap": "a", "large": "", "threshold": 0.5}))
    with pytest.raises(JuryboxError, match=r"c\.json: field 'large' must name a model"):
        read_cascade(bad)
    bad.write_text("not json")
    with pytest.raises(JuryboxError, match=r"c\.json: not a readable JSON cascade file"):
        CascadeJudge(file=str(bad))
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps({"format": "jurybox-cascade", "version": 1, "cheap": "cheap", "large": "large",
                              "threshold": 0.5, "protocol": "pairwise"}))
    judge = CascadeJudge(file=str(ok), backends={"cheap": cheap_backend(), "large": large_backend()})
    with pytest.raises(JuryboxError, match="chosen for protocol pairwise, not classify"):
        run_judge(data(3), spec(judge), store=tmp_path / "s.sqlite")
    with pytest.raises(JuryboxError, match="cannot answer"):
        judge.option_logprobs(None)
    with pytest.raises(JuryboxError, match="no row has a human label"):
        fit_cascade(data(5).assign(gold=None), spec(None), cheap="cheap", large="large", human="gold",
                    store=tmp_path / "s.sqlite", backends={"cheap": cheap_backend(), "large": large_backend()})


def test_cascade_command_writes_the_file_and_judge_uses_it(tmp_path: Path, capsys):
    from jurybox.cli import main

    f = tmp_path / "d.jsonl"
    data(30).to_json(f, orient="records", lines=True)
    store = str(tmp_path / "s.sqlite")
    out = tmp_path / "c.json"
    # the scripted backends' default answers are uniform: confidence 0.5 everywhere, so every item escalates
    rc = main(["cascade", str(f), "--protocol", "classify", "--labels", "pos,neg", "--human", "gold",
               "--cheap", "scripted:a", "--large", "scripted:b", "--out", str(out), "--store", store, "--quiet"])
    assert rc in (0, None)
    text = capsys.readouterr().out
    assert "30 labelled rows, 60 model calls" in text and out.is_file()
    cfg = read_cascade(out)
    assert cfg.cheap == "scripted:a" and cfg.protocol == "classify"
    rc = main(["judge", str(f), "--protocol", "classify", "--labels", "pos,neg", "--model", f"cascade:{out}",
               "--store", store, "--quiet", "--json", "--out", str(tmp_path / "v.jsonl")])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["model_calls"] == 0 and summary["items"] == 30  # both stages are in the store already
    with pytest.raises(SystemExit) as exc:
        main(["cascade", str(f), "--protocol", "classify", "--labels", "pos,neg", "--human", "gold",
              "--cheap", "scripted:a", "--model", "scripted:c", "--out", str(out), "--store", store])
    assert exc.value.code == 2 and "--model does not apply to cascade" in capsys.readouterr().err
