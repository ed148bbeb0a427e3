"""The few-shot and calibration options in a jury config and in an audit (scripted backend)."""

from __future__ import annotations

import pandas as pd

from jurybox.audit.dataset import audit_dataset
from jurybox.backends.scripted import ScriptedBackend
from jurybox.jury.api import jury_table
from jurybox.spec import JudgeSpec


def _data(n=12):
    return pd.DataFrame({"instruction": [f"q{i}" for i in range(n)], "response_a": [f"good {i}" for i in range(n)],
                         "response_b": [f"bad {i}" for i in range(n)], "gold": ["A" if i % 3 else "B" for i in range(n)]})


def test_a_jury_config_judge_takes_examples_and_contextual_calibration(tmp_path):
    data = _data()
    examples = data.rename(columns={"gold": "label"}).head(4)
    res = jury_table(data, [{"model": "scripted:a", "name": "plain"},
                            {"model": "scripted:a", "name": "fewshot", "examples": examples, "shots": 2,
                             "select": "balanced", "contextual": True}],
                     protocol="pairwise", human="gold", store=tmp_path / "s.sqlite")
    assert list(res.judges) == ["plain", "fewshot"]
    # plain: 2 orders per item; few-shot: 2 orders per item + 3 content-free prompts x 2 orders per distinct
    # example set: the 2 fixed examples, and for each of the 2 items that are one of them, the other alone
    assert res.stats.model_calls == 24 + 24 + 6 * 3
    again = jury_table(data, [{"model": "scripted:a", "name": "plain"},
                              {"model": "scripted:a", "name": "fewshot", "examples": examples, "shots": 2,
                               "select": "balanced", "contextual": True}],
                       protocol="pairwise", human="gold", store=tmp_path / "s.sqlite")
    assert again.stats.model_calls == 0


def test_an_audit_runs_the_calibrated_judge(tmp_path):
    calls = []

    def options(text, opts):
        calls.append(text)
        return {"a": 0.7, "b": 0.3}  # a pure position preference: contextual calibration removes it

    spec = JudgeSpec("pairwise", model=ScriptedBackend(options), contextual=True)
    report = audit_dataset(_data(), spec, probes=["length"], human="gold", store=tmp_path / "s.sqlite",
                           n_resamples=50)
    assert any("N/A" in t for t in calls)
    assert report.model_calls == 24 + 6
