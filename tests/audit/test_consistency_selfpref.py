"""Wording flip rate, internal consistency (repeats), self-preference and leniency by slice."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from jurybox.audit import (
    Repeated,
    agreement_probability,
    any_flip_rate,
    leniency_by_slice,
    run_audit,
    self_preference,
)
from jurybox.backends.scripted import ScriptedBackend
from jurybox.engine import Judge, build_tasks
from jurybox.errors import JuryboxError
from jurybox.protocols import Pairwise
from jurybox.store import Store
from jurybox.types import GenerateRequest, Generation


def test_agreement_probability_by_hand():
    # row 1: A A B -> pairs agreeing 1 of 3; row 2: A A A -> 1; row 3: one read label -> skipped
    m = [["A", "A", "B"], ["A", "A", "A"], ["A", None, None]]
    assert agreement_probability(m) == pytest.approx((1 / 3 + 1) / 2)
    assert any_flip_rate(m) == pytest.approx(1 / 2)


class SeededBackend(ScriptedBackend):
    """Generation that depends on the request's seed: answers "a)" with probability p_a."""

    def __init__(self, p_a: float) -> None:
        super().__init__()
        self.p_a = p_a

    def generate(self, request: GenerateRequest) -> Generation:
        self.calls += 1
        assert request.temperature > 0
        text = "\n".join(m.content for m in request.prompt.messages)
        rng = random.Random(f"{request.seed}|{text}")
        return Generation("a)" if rng.random() < self.p_a else "b)")


def test_repeats_measure_consistency_of_a_coin_judge(tmp_path):
    p = 0.8  # every answer is a)/b) with prob 0.8/0.2: P(two repeats agree) = p^2 + (1-p)^2 = 0.68
    items = [{"instruction": f"task {i}", "response_a": "x", "response_b": "y"} for i in range(150)]
    backend = SeededBackend(p)
    with Store(tmp_path / "s.sqlite") as store:
        rep = run_audit(items, backend, store, probes=["consistency"], repeats=5, temperature=0.7, n_resamples=300)
        res = rep.results["consistency"]
        assert res.p_consist.low <= p**2 + (1 - p) ** 2 <= res.p_consist.high
        assert res.n_rows == 300 and res.repeats == 5
        calls = backend.calls
        assert calls == 150 * 2 * 5
        run_audit(items, backend, store, probes=["consistency"], repeats=5, temperature=0.7, n_resamples=50)
        assert backend.calls == calls


def test_repeated_tasks_have_distinct_keys_and_keep_unparsed():
    proto = Repeated(Pairwise(), k=3, temperature=1.0)
    flat, _ = build_tasks(Judge(proto, ScriptedBackend()), [{"instruction": "i", "response_a": "a", "response_b": "b"}])
    assert len({t.key for t in flat}) == 6
    assert [t.variant for t in flat][:3] == ["AB#0", "AB#1", "AB#2"]
    v = proto.interpret("BA#1", Generation("maybe both"))
    assert v.status == "unparsed" and v.label is None
    with pytest.raises(JuryboxError):
        Repeated(Pairwise(), k=3, temperature=0.0)


def test_wording_flip_rate_across_templates(tmp_path):
    # a judge that reads the template: prefers the first output under "rules", the second otherwise
    def options(text: str, opts: tuple[str, ...]) -> dict[str, float]:
        first = "rules of the evaluation" in text
        return {"a": 0.9, "b": 0.1} if first else {"a": 0.1, "b": 0.9}

    items = [{"instruction": f"t{i}", "response_a": "x", "response_b": "y", "gold": "A"} for i in range(20)]
    with Store(tmp_path / "s.sqlite") as store:
        res = run_audit(items, ScriptedBackend(options), store, probes=["wording"], human="gold",
                        templates=["default", "concise", "rules"], n_resamples=100).results["wording"]
    # the judge prefers a *position* under every template: the log-odds margins of the two orders
    # cancel, so every template's combined verdict is a tie and no template changes the verdict
    assert res.templates == ("default", "concise", "rules")
    assert res.flip_rate.estimate == 0.0
    assert res.accuracy["rules"].estimate == 0.0  # a tie is not the human's "A"


def test_wording_detects_a_template_that_changes_the_verdict(tmp_path):
    def options(text: str, opts: tuple[str, ...]) -> dict[str, float]:
        a_first = re.search(r"Output \(a\):\s*xx", text) is not None
        likes_x = "rules of the evaluation" in text
        pa = 0.9 if likes_x == a_first else 0.1
        return {"a": pa, "b": 1 - pa}

    items = [{"instruction": f"t{i}", "response_a": "xx", "response_b": "yy", "gold": "A"} for i in range(10)]
    with Store(tmp_path / "s.sqlite") as store:
        res = run_audit(items, ScriptedBackend(options), store, probes=["wording"], human="gold",
                        templates=["default", "concise", "rules"], n_resamples=100).results["wording"]
    assert res.flip_rate.estimate == pytest.approx(2 / 3)  # one template disagrees with two: 2 of 3 pairs
    assert res.any_flip.estimate == 1.0
    assert res.accuracy["rules"].estimate == 1.0 and res.accuracy["default"].estimate == 0.0
    with Store(tmp_path / "s.sqlite") as store, pytest.raises(JuryboxError, match="at least two"):
        run_audit(items, ScriptedBackend(options), store, probes=["wording"], templates=["default"])


def test_self_preference_against_human_rate():
    rng = np.random.default_rng(0)
    n = 2000
    own_a = rng.random(n) < 0.5
    model_a = np.where(own_a, "Qwen2.5-7B", "llama-3-8b")
    model_b = np.where(own_a, "llama-3-8b", "qwen-72b-chat")
    own = np.where(own_a, "A", "B")
    other = np.where(own_a, "B", "A")
    human = np.where(rng.random(n) < 0.5, own, other)  # humans: no preference for qwen's responses
    judge = np.where(rng.random(n) < 0.7, own, other)  # judge picks its own family 70% of the time
    res = self_preference(human=human, judge=judge, model_a=model_a, model_b=model_b, family="qwen", n_resamples=300)
    assert res.self_preference.low <= 0.2 <= res.self_preference.high
    assert res.judge_own_rate.low <= 0.7 <= res.judge_own_rate.high
    both_qwen = self_preference(human=["A"], judge=["A"], model_a=["qwen-a"], model_b=["qwen-b"], family="qwen",
                                 n_resamples=10)
    assert both_qwen.n_items == 0  # neither response is the other family's: not informative


def test_leniency_by_slice():
    judge = [4, 5, 3, 2, np.nan]
    human = [3, 4, 3, 3, 1]
    res = leniency_by_slice(human=human, judge=judge, slices=["en", "en", "sw", "sw", "sw"], n_resamples=100)
    d = {s.slice: s for s in res.slices}
    assert d["en"].leniency.estimate == pytest.approx(1.0)
    assert d["sw"].leniency.estimate == pytest.approx(-0.5)
    assert d["sw"].n == 2
    assert res.overall.leniency.estimate == pytest.approx(0.25)
    assert [r.statistic for r in res.rows()][0] == "judge-human[(all)]"


def test_calibrated_threshold_fixes_a_lenient_judge():
    from jurybox.audit import calibrate_threshold

    rng = np.random.default_rng(0)
    y = (rng.random(600) < 0.4).astype(float)
    # a lenient judge: failures score 0.55 and passes 0.85 on average, so the naive 0.5 passes most failures
    s = np.clip(0.55 + 0.3 * y + rng.normal(0, 0.08, size=600), 0, 1)
    cal = calibrate_threshold(s, y, default=0.5)
    assert 0.64 < cal.threshold < 0.76  # equal-variance classes: the best cut is near the midpoint 0.70
    assert cal.balanced_accuracy > cal.balanced_accuracy_default + 0.1
    assert cal.balanced_accuracy_cv > cal.balanced_accuracy_default + 0.1
    assert cal.balanced_accuracy_cv <= cal.balanced_accuracy + 1e-9
    assert list(cal.apply([0.9, None, 0.1])[[0, 2]]) == [1.0, 0.0]
    with pytest.raises(JuryboxError):
        calibrate_threshold([0.5, 0.6], [2, 3])


def test_repeat_seeds_differ_across_items_and_repeats_and_are_stable():
    """Seeds 0..K-1 for every item made item i's repeat k and item j's repeat k share a random stream."""
    proto = Repeated(Pairwise(), k=4, temperature=1.0)
    items = [{"instruction": f"task {i}", "response_a": "a", "response_b": "b"} for i in range(3)]
    flat, _ = build_tasks(Judge(proto, ScriptedBackend()), items)
    seeds = [t.request.seed for t in flat]
    assert len(seeds) == 3 * 2 * 4 and len(set(seeds)) == len(seeds)
    assert all(isinstance(s, int) and 0 <= s < 2**31 for s in seeds)
    again, _ = build_tasks(Judge(proto, ScriptedBackend()), items)
    assert [t.request.seed for t in again] == seeds and [t.key for t in again] == [t.key for t in flat]
