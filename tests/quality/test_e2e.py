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


SHORT_LABELS = ["card_lost", "card_arrival", "exchange_rate", "top_up_failed"]
SHORT = pd.DataFrame({
    "text": ["I lost my card on the train", "When will my new card get here?", "What rate do you use for euros?",
             "My top up did not go through", "Someone stole my card", "Is my card in the post yet?"],
    "candidates": ["card_arrival;card_lost;exchange_rate", "card_lost;exchange_rate;card_arrival",
                   "exchange_rate;top_up_failed;card_lost", "card_arrival;top_up_failed;exchange_rate",
                   "card_lost;card_arrival;top_up_failed", "exchange_rate;card_arrival;card_lost"],
    "intent": ["card_lost", "card_arrival", "exchange_rate", "top_up_failed", "card_lost", "card_arrival"]})


def test_shortlist_in_two_orders_with_examples_and_a_bias_per_option(qwen, tmp_path):
    from jurybox.calibration.api import fit_calibration

    store = tmp_path / "s.sqlite"
    spec = JudgeSpec("classify_shortlist", {"labels": SHORT_LABELS, "orders": 2}, model=qwen)
    res = run_judge(SHORT, spec, store=store)
    assert res.stats.model_calls == 12 and all(v.status == "ok" for v in res.verdicts)
    for item, v, per in zip(SHORT.to_dict("records"), res.verdicts, res.variants, strict=True):
        names = item["candidates"].split(";")
        assert set(per) == {";".join(names), ";".join(names[::-1])}  # as given and reversed
        mean = {n: np.mean([x.probs[n] for x in per.values()]) for n in names}
        assert v.probs == pytest.approx(mean) and v.label == max(mean, key=mean.get)
    fit = fit_calibration(SHORT, spec, human="intent", store=store, folds=2, space="option", out=tmp_path / "f.json")
    assert fit.model_calls == 0 and fit.fit.space == "option" and set(fit.fit.labels) == {"A", "B", "C"}
    again = run_judge(SHORT, spec.replace(calibration=tmp_path / "f.json"), store=store)
    assert again.stats.model_calls == 0 and all(v.label in c.split(";") for v, c in
                                                zip(again.verdicts, SHORT.candidates, strict=True))
    # few-shot examples keep their own shortlists (each answered with its label's letter)
    examples = tmp_path / "ex.jsonl"
    SHORT.rename(columns={"intent": "label"}).to_json(examples, orient="records", lines=True)
    fs = run_judge(SHORT.iloc[:2], JudgeSpec("classify_shortlist", {"labels": SHORT_LABELS}, model=qwen,
                                             examples=examples, shots=2, select="balanced"), store=store)
    assert fs.stats.model_calls == 2 and all(v.status == "ok" for v in fs.verdicts)
    assert all(v.label in c.split(";") for v, c in zip(fs.verdicts, SHORT.candidates[:2], strict=True))
