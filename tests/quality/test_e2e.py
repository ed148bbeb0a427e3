"""Few-shot judging and contextual calibration on the real embedded qwen2.5-coder-1.5b (tiny data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jurybox.api import run_judge
from jurybox.spec import JudgeSpec

pytestmark = pytest.mark.e2e

EXAMPLES = [
    {"text": "I loved this film, it made my whole week.", "label": "blue"},
    {"text": "Terrible service, I will never come back.", "label": "red"},
    {"text": "What a wonderful, generous host she was.", "label": "blue"},
    {"text": "The product broke after one day, awful.", "label": "red"},
]
ITEMS = ["This is the best meal I have had in years!", "The hotel room was dirty and smelled bad.",
         "Absolutely delightful, thank you so much.", "I hate this phone, it is useless."]
GOLD = ["blue", "red", "blue", "red"]


def test_few_shot_examples_teach_the_judge_labels_it_cannot_guess(qwen, tmp_path):
    # "blue"/"red" mean nothing by themselves; the examples say blue = pleased, red = displeased
    data = pd.DataFrame({"text": ITEMS})
    spec = JudgeSpec("classify", {"labels": ["blue", "red"]}, model=qwen, examples=EXAMPLES, shots=4,
                     select="balanced")
    res = run_judge(data, spec, store=tmp_path / "s.sqlite")
    labels = [v.label for v in res.verdicts]
    assert all(v.status == "ok" for v in res.verdicts)
    assert sum(a == g for a, g in zip(labels, GOLD, strict=True)) >= 3, labels
    assert res.stats.model_calls == 4
    again = run_judge(data, spec, store=tmp_path / "s.sqlite")
    assert again.stats.model_calls == 0 and [v.label for v in again.verdicts] == labels


def test_contextual_calibration_divides_out_the_models_content_free_answer(qwen, tmp_path):
    data = pd.DataFrame({"response": ["Paris is the capital of France.", "The capital of France is Berlin.",
                                      "France's capital is a city."],
                         "instruction": ["What is the capital of France?"] * 3})
    spec = JudgeSpec("score", model=qwen, contextual=True)
    res = run_judge(data, spec, store=tmp_path / "s.sqlite")
    assert res.stats.model_calls == 3 + 3  # three items, three content-free prompts shared by all
    scale = [str(s) for s in range(1, 6)]
    first = res.variants[0]
    cf = np.array([[first[f"cf{i}:"].probs[s] for s in scale] for i in range(3)])
    p_cf = cf.mean(axis=0) / cf.mean(axis=0).sum()
    assert p_cf.max() - p_cf.min() > 0.01  # the model has a prior over the scale on a content-free input
    for v in res.verdicts:
        raw = np.array([v.extra["uncalibrated"]["probs"][s] for s in scale])
        want = raw / p_cf / (raw / p_cf).sum()
        assert [v.probs[s] for s in scale] == pytest.approx(want.tolist(), abs=1e-6)
    again = run_judge(data, spec, store=tmp_path / "s.sqlite")
    assert again.stats.model_calls == 0
