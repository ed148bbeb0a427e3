"""Position and length statistics: definitions on small arrays, and a simulated judge with known biases
(run through the engine on the scripted backend) measured back within the 95% interval."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from jurybox.audit import (
    accuracy_gap,
    first_position_win_rate,
    flip_rate,
    length_bias,
    length_controlled_margins,
    length_controlled_scores,
    length_effect,
    position_bias,
    positional_agreement,
    rubric_order_shift,
    run_audit,
)
from jurybox.backends.scripted import ScriptedBackend
from jurybox.errors import JuryboxError
from jurybox.store import Store

FIRST = re.compile(r"# Output \(a\):\n(.*?)\n\n# Output \(b\):\n(.*?)\n\n# Which", re.S)


def test_flip_rate_and_unparsed_rules():
    ab = ["A", "A", "B", None, None]
    ba = ["A", "B", "B", "A", None]
    assert flip_rate(ab, ba) == pytest.approx(1 / 3)  # unread dropped: 3 items, one flip
    # LLMBar counts an unread answer as a label of its own: None==None agrees, None!=A flips
    assert positional_agreement(ab, ba, unparsed="category") == pytest.approx(3 / 5)
    with pytest.raises(JuryboxError):
        flip_rate(["A"], ["A", "B"])


def test_first_position_win_rate_pools_both_orders():
    assert first_position_win_rate([True, False, None], [True, True, True]) == pytest.approx(4 / 5)


def test_accuracy_gap_by_hand():
    judge = ["A", "A", "B", "B", "tie"]
    human = ["A", "B", "B", "A", "A"]
    la = [10, 10, 5, 5, 20]
    lb = [5, 5, 10, 10, 1]
    # human-chosen longer: items 0 (A, 10>5), 2 (B, 10>5), 4 (A, 20>1): judge right on 0, 2; tie wrong on 4
    # human-chosen not longer: items 1 (B is 5<10), 3 (A is 5<10): judge wrong on both
    assert accuracy_gap(human=human, judge=judge, len_a=la, len_b=lb) == pytest.approx(2 / 3 - 0)


def test_rubric_order_shift_is_mean_difference():
    res = rubric_order_shift([3.0, 4.0, None], [3.5, 4.5, 2.0], n_resamples=200)
    assert res.rubric_order_shift.estimate == pytest.approx(0.5)
    assert res.n_items == 2


def _position_judge(bias: float):
    """P(first shown wins) = sigmoid(q_first - q_second + bias), q = the number after 'quality '."""

    def options(text: str, opts: tuple[str, ...]) -> dict[str, float]:
        a, b = FIRST.search(text).groups()  # type: ignore[union-attr]
        q = float(a.split()[1]) - float(b.split()[1])
        p = 1.0 / (1.0 + math.exp(-(q + bias)))
        return {"a": p, "b": 1.0 - p}

    return options


def test_simulated_position_bias_is_measured_back(tmp_path):
    rng = np.random.default_rng(1)
    bias = 0.5
    items = []
    for i in range(400):
        qa, qb = rng.uniform(-1, 1, size=2)
        items.append({"instruction": f"task {i}", "response_a": f"quality {qa:.6f}", "response_b": f"quality {qb:.6f}"})
    q = np.array([float(it["response_a"].split()[1]) - float(it["response_b"].split()[1]) for it in items])
    backend = ScriptedBackend(_position_judge(bias))
    with Store(tmp_path / "s.sqlite") as store:
        rep = run_audit(items, backend, store, probes=["position"], n_resamples=500)
        pos = rep.results["position"]
        # a flip happens exactly when |q| < bias; the expected rate under the simulation:
        # q = qa - qb with qa, qb ~ U(-1, 1) (triangular on [-2, 2]): P(|q| < 0.5) = 1 - (1.5/2)^2 = 0.4375
        expected_flip = 1 - (1.5 / 2) ** 2
        assert pos.flip_rate.low <= expected_flip <= pos.flip_rate.high
        assert pos.flip_rate.estimate == pytest.approx(np.mean(np.abs(q) < bias))
        expected_first = 0.5 + expected_flip / 2  # every flip goes to the first position
        assert pos.first_position_win_rate.low <= expected_first <= pos.first_position_win_rate.high
        assert pos.first_position_logodds.estimate == pytest.approx(bias, abs=1e-9)
        calls = backend.calls
        again = run_audit(items, backend, store, probes=["position"], n_resamples=500)
        assert backend.calls == calls  # the rerun is answered by the store
        assert again.model_calls == 0
        assert again.results["position"].to_dict() == pos.to_dict()


def test_order_blind_judge_shows_no_position_bias(tmp_path):
    items = [{"instruction": "t", "response_a": f"quality {x}", "response_b": "quality 0.1"} for x in (0.0, 0.5, 0.2)]
    with Store(tmp_path / "s.sqlite") as store:
        pos = run_audit(items, ScriptedBackend(_position_judge(0.0)), store, probes=["position"],
                        n_resamples=100).results["position"]
    assert pos.flip_rate.estimate == 0.0
    assert pos.first_position_win_rate.estimate == pytest.approx(0.5)


def _length_items(n: int, beta0: float, beta_h: float, beta_len: float, seed: int):
    """Items with human labels whose judge log-odds for A are beta0 + beta_h h + beta_len z + logistic noise."""
    rng = np.random.default_rng(seed)
    la, lb = rng.integers(20, 600, size=n), rng.integers(20, 600, size=n)
    d = (la - lb).astype(float)
    z = np.tanh(d / d.std())
    h = rng.choice([-1.0, 1.0], size=n)
    u = rng.uniform(size=n)
    noise = np.log(u / (1 - u))
    logit = beta0 + beta_h * h + beta_len * z + noise
    items = [{"instruction": f"task {i}", "response_a": "a" * int(la[i]), "response_b": "b" * int(lb[i]),
              "gold": "A" if h[i] > 0 else "B", "logit": float(logit[i])} for i in range(n)]
    return items, h


def test_simulated_length_bias_is_measured_back(tmp_path):
    beta0, beta_h, beta_len = 0.4, 1.0, 1.5
    items, h = _length_items(800, beta0, beta_h, beta_len, seed=3)
    by_instruction = {it["instruction"]: it["logit"] for it in items}

    def options(text: str, opts: tuple[str, ...]) -> dict[str, float]:
        instr = re.search(r"# Instruction:\n(.*?)\n", text).group(1)  # type: ignore[union-attr]
        first = FIRST.search(text).group(1)  # type: ignore[union-attr]
        m = by_instruction[instr] if first.startswith("a") else -by_instruction[instr]
        p = 1.0 / (1.0 + math.exp(-m))
        return {"a": p, "b": 1.0 - p}

    with Store(tmp_path / "s.sqlite") as store:
        rep = run_audit(items, ScriptedBackend(options), store, probes=["position", "length"], human="gold",
                        n_resamples=300)
    ln = rep.results["length"]
    assert ln.length_effect.low <= beta_len <= ln.length_effect.high
    assert ln.length_effect.low > 0.5
    true_lc = float(np.mean(1 / (1 + np.exp(-(beta0 + beta_h * h)))))
    assert ln.length_controlled_win_rate.low <= true_lc <= ln.length_controlled_win_rate.high
    assert ln.prefers_longer.estimate > ln.human_prefers_longer.estimate
    assert ln.accuracy_gap.low > 0  # the judge is right more often when the human-chosen one is longer
    assert rep.results["position"].flip_rate.estimate == 0.0  # same log-odds in both orders


def test_length_blind_judge_has_no_length_effect():
    items, h = _length_items(800, 0.0, 1.0, 0.0, seed=1)
    judge = ["A" if it["logit"] > 0 else "B" for it in items]
    res = length_bias(human=[it["gold"] for it in items], judge=judge, len_a=[len(it["response_a"]) for it in items],
                      len_b=[len(it["response_b"]) for it in items], n_resamples=300)
    assert res.length_effect.low <= 0.0 <= res.length_effect.high
    # over 20 simulated datasets the point estimates centre on 0 (within 3 standard errors)
    ests = []
    for seed in range(20):
        its, _ = _length_items(800, 0.0, 1.0, 0.0, seed=seed)
        ests.append(length_effect(human=[it["gold"] for it in its], judge=["A" if it["logit"] > 0 else "B" for it in its],
                                  len_a=[len(it["response_a"]) for it in its],
                                  len_b=[len(it["response_b"]) for it in its]))
    assert abs(np.mean(ests)) < 3 * np.std(ests) / np.sqrt(len(ests))
    d = res.to_dict()
    assert d["length_effect"]["estimate"] == res.length_effect.estimate


def test_length_controlled_margins_remove_the_length_term():
    items, _ = _length_items(1500, 0.0, 0.0, 2.0, seed=7)
    margin = np.array([it["logit"] for it in items])
    la = [len(it["response_a"]) for it in items]
    lb = [len(it["response_b"]) for it in items]
    judge = ["A" if m > 0 else "B" for m in margin]
    before = length_bias(human=None, judge=judge, len_a=la, len_b=lb, n_resamples=100).length_effect.estimate
    adjusted = length_controlled_margins(margin, la, lb)
    after = length_bias(human=None, judge=["A" if m > 0 else "B" for m in adjusted], len_a=la, len_b=lb,
                        n_resamples=100).length_effect
    assert before > 1.0
    assert abs(after.estimate) < 0.35 * before


def test_length_controlled_scores_keep_the_mean_and_drop_the_trend():
    rng = np.random.default_rng(0)
    lengths = rng.integers(10, 1000, size=500).astype(float)
    human = rng.integers(1, 6, size=500).astype(float)
    z = np.tanh((lengths - lengths.mean()) / lengths.std())
    scores = human + 1.2 * z + rng.normal(0, 0.3, size=500)
    adj = length_controlled_scores(scores, lengths, human)
    resid = adj - human
    assert abs(np.corrcoef(resid, z)[0, 1]) < 0.05
    assert np.corrcoef(scores - human, z)[0, 1] > 0.8


def test_unknown_probe_is_a_user_error(tmp_path):
    with Store(tmp_path / "s.sqlite") as store, pytest.raises(JuryboxError, match="unknown probe"):
        run_audit([{"instruction": "i", "response_a": "a", "response_b": "b"}], ScriptedBackend(), store,
                  probes=["vibes"])
    with Store(tmp_path / "s.sqlite") as store, pytest.raises(JuryboxError, match="not available for the score"):
        run_audit([{"response": "a"}], ScriptedBackend(), store, protocol="score", probes=["self_preference"])


def test_position_bias_result_json():
    res = position_bias(["A", "B"], ["A", "A"], [True, False], [False, True], [1.0, -1.0], [-1.0, 2.0],
                        n_resamples=50)
    d = res.to_dict()
    assert set(d) >= {"flip_rate", "first_position_win_rate", "first_position_logodds", "n_items"}
    assert [r.statistic for r in res.rows()] == ["flip_rate", "first_position_win_rate", "first_position_logodds"]


def test_score_rubric_order_probe_through_the_engine(tmp_path):
    """A score judge that picks whichever score is listed first in the rubric: reversing it moves 1 -> 5."""

    def options(text: str, opts: tuple[str, ...]) -> dict[str, float]:
        first = re.search(r"Rubric:\n(\d):", text).group(1)  # type: ignore[union-attr]
        return {o: (0.96 if o == first else 0.01) for o in opts}

    items = [{"response": f"r{i}", "instruction": "q"} for i in range(5)]
    with Store(tmp_path / "s.sqlite") as store:
        res = run_audit(items, ScriptedBackend(options), store, protocol="score", probes=["position"],
                        n_resamples=50).results["position"]
    assert res.rubric_order_shift.estimate == pytest.approx((0.96 * 5 + 0.01 * 10) - (0.96 + 0.01 * 14))
    assert res.n_items == 5


def test_score_length_effect_through_the_engine(tmp_path):
    """A score judge whose expected score is human score + 1.0 * tanh(standardised length)."""
    rng = np.random.default_rng(2)
    n = 300
    lengths = rng.integers(10, 800, size=n)
    human = rng.integers(1, 5, size=n).astype(float)  # 1..4, so +1 stays on the scale
    z = np.tanh((lengths - lengths.mean()) / lengths.std())
    target = {f"r{i} " + "x" * int(lengths[i]): float(np.clip(human[i] + z[i], 1, 5)) for i in range(n)}

    def options(text: str, opts: tuple[str, ...]) -> dict[str, float]:
        resp = text.split("# Response:\n")[1].split("\n\n# Score")[0]
        e = target[resp]  # put the mass on the two neighbouring scores so the expected score is e
        lo = int(np.floor(e))
        hi = min(lo + 1, 5)
        w = e - lo
        p = {o: 1e-9 for o in opts}
        p[str(lo)] += 1 - w
        p[str(hi)] += w
        return p

    items = [{"response": r, "human": h} for r, h in zip(target, human, strict=True)]
    with Store(tmp_path / "s.sqlite") as store:
        res = run_audit(items, ScriptedBackend(options), store, protocol="score", probes=["length"], human="human",
                        n_resamples=300).results["length"]
    # clipping at 1 and 5 flattens the trend a little; the true slope is 1 before clipping
    assert 0.8 < res.score_length_effect.estimate <= 1.0 + 1e-6
    assert res.score_length_effect.low <= res.score_length_effect.estimate <= res.score_length_effect.high
