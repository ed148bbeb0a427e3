"""Contextual calibration and the fitted per-label bias: the pure parts, the protocol wrapper on the
scripted backend, the saved fit, and the command line."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from jurybox.api import run_judge
from jurybox.backends.scripted import ScriptedBackend
from jurybox.calibration import (
    LabelBias,
    apply_bias,
    content_free_distribution,
    contextual_calibrate,
    cross_validate,
    fit_bias,
    load_label_bias,
    save_label_bias,
    targets,
)
from jurybox.calibration.api import cross_validated_verdicts, fit_label_bias
from jurybox.calibration.protocol import CalibratedProtocol
from jurybox.cli import main
from jurybox.engine import Judge, evaluate
from jurybox.errors import InputError, JuryboxError
from jurybox.protocols import make_protocol
from jurybox.spec import JudgeSpec
from jurybox.store import Store
from jurybox.types import Verdict

CF_TOKENS = ("N/A", "[MASK]")


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# -- pure parts -----------------------------------------------------------------------------------
def test_contextual_calibration_divides_out_the_content_free_distribution():
    p_cf = content_free_distribution([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
    assert np.allclose(p_cf, [0.4, 0.25, 0.35])
    q = contextual_calibrate([[0.4, 0.25, 0.35], [0.8, 0.1, 0.1]], p_cf)
    assert np.allclose(q[0], [1 / 3] * 3)  # the content-free input itself becomes uniform
    w = np.array([0.8, 0.1, 0.1]) / p_cf
    assert np.allclose(q[1], w / w.sum())
    with pytest.raises(JuryboxError, match="options"):
        contextual_calibrate([0.5, 0.5], [0.2, 0.3, 0.5])


def test_ml_bias_fit_recovers_a_planted_bias():
    rng = np.random.default_rng(0)
    n, k = 6000, 4
    u = rng.normal(0, 1.5, size=(n, k))  # the calibrated logits: human labels are drawn from them
    y = np.array([rng.choice(k, p=p) for p in _softmax(u)])
    planted = np.array([1.2, -0.4, 0.0, -0.8])
    z = np.log(_softmax(u - planted))  # the judge's biased log-probabilities
    fit = fit_bias(z, targets(y.tolist(), list(range(k))), l2=0.01)
    assert np.allclose(fit.bias, planted - planted.mean(), atol=0.1)
    assert abs(fit.bias.sum()) < 1e-9
    assert fit.loglik > fit.loglik_zero
    # at the optimum the penalised gradient vanishes
    q = np.exp(apply_bias(z, fit.bias))
    grad = (targets(y.tolist(), list(range(k))) - q).sum(axis=0) - 2 * 0.01 * fit.bias
    assert np.abs(grad).max() < 1e-4


def test_bias_fit_with_soft_targets_and_unlabelled_rows():
    z = np.log(np.array([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]))
    t = np.array([[1.0, 0.0], [0.7, 0.3], [0.0, 0.0], [1.0, 0.0]])  # row 3 unlabelled: left out
    fit = fit_bias(z, t, l2=0.0)
    assert fit.n == 3
    p = np.exp(apply_bias(z[0], fit.bias))
    assert p[0] == pytest.approx((1 + 0.7 + 1) / 3, abs=1e-6)  # the MLE of a constant model: the mean target


def test_cross_validation_keeps_groups_together_and_uses_held_out_fits():
    rng = np.random.default_rng(1)
    z = np.log(_softmax(rng.normal(size=(40, 2)) + [1.0, 0.0]))
    y = rng.integers(0, 2, size=40)
    groups = np.repeat(np.arange(20), 2)
    out = cross_validate(z, targets(y.tolist(), [0, 1]), groups=groups, folds=4)
    assert out.shape == z.shape
    assert np.allclose(np.exp(out).sum(axis=1), 1)
    # rows of one group got the same bias (the same fold): the shift log q - z is equal within a group
    shift = (out - z)[:, 0] - (out - z)[:, 1]
    assert np.allclose(shift[0::2], shift[1::2])
    assert len(np.unique(np.round(shift, 9))) > 1  # different folds, different fits


# -- the protocol wrapper on the scripted backend ------------------------------------------------
TRUE = {"good": [0.05, 0.05, 0.1, 0.3, 0.5], "bad": [0.5, 0.3, 0.1, 0.05, 0.05], "mid": [0.1, 0.2, 0.4, 0.2, 0.1]}
BIAS = np.array([0.05, 0.05, 0.1, 0.2, 0.6])  # what the judge says to any content-free input


def _score_backend():
    def options(text, opts):
        body = text.split("# Response:")[-1]
        for name, p in TRUE.items():
            if name in body:
                q = np.array(p) * BIAS
                return dict(zip(opts, q / q.sum(), strict=True))
        return dict(zip(opts, BIAS, strict=True))  # "N/A", "", "[MASK]"
    return ScriptedBackend(options)


def test_a_known_content_free_bias_is_removed_exactly(tmp_path):
    data = pd.DataFrame({"response": ["good answer", "bad answer", "mid answer"]})
    backend = _score_backend()
    spec = JudgeSpec("score", model=backend, contextual=True)
    res = run_judge(data, spec, store=tmp_path / "s.sqlite")
    for v, name in zip(res.verdicts, ["good", "bad", "mid"], strict=True):
        assert [v.probs[str(s)] for s in range(1, 6)] == pytest.approx(TRUE[name], abs=1e-9)
        raw = np.array(TRUE[name]) * BIAS
        assert [v.extra["uncalibrated"]["probs"][str(s)] for s in range(1, 6)] == pytest.approx(raw / raw.sum())
        assert v.extra["calibration"] == "contextual"
        assert v.score == pytest.approx(sum((s + 1) * p for s, p in enumerate(TRUE[name])))
    # the content-free tasks are shared by every item: 3 items + 3 content-free prompts
    assert res.stats.model_calls == 6
    assert sum(v.startswith("cf") for v in res.variants[0]) == 3
    again = run_judge(data, spec, store=tmp_path / "s.sqlite")
    assert again.stats.model_calls == 0
    assert [v.probs for v in again.verdicts] == [v.probs for v in res.verdicts]


def test_contextual_calibration_of_pairwise_works_per_order_and_reads_content_free_in_option_space(tmp_path):
    # the judge prefers position (a) by a factor 3 everywhere; on real items A is really better 2:1
    def options(text, opts):
        first = text.split("# Output (a):")[-1].split("# Output (b):")[0]
        if "N/A" in first or "[MASK]" in first or first.strip() == "":
            return {"a": 0.75, "b": 0.25}
        a_first = "alpha" in first
        p_a_first = (2 * 3) / (2 * 3 + 1) if a_first else (1 * 3) / (1 * 3 + 2)
        return {"a": p_a_first, "b": 1 - p_a_first}
    data = pd.DataFrame({"instruction": ["q"], "response_a": ["alpha"], "response_b": ["beta"]})
    res = run_judge(data, JudgeSpec("pairwise", model=ScriptedBackend(options), contextual=True),
                    store=tmp_path / "s.sqlite")
    v = res.verdicts[0]
    for order in ("AB", "BA"):
        per = v.extra["orders"][order]
        assert per["probs"]["A"] == pytest.approx(2 / 3)  # the 3:1 position preference is gone in each order
        assert per["extra"]["uncalibrated_probs"]["A"] != pytest.approx(2 / 3)
    assert v.label == "A"


def test_unparsed_answers_stay_unparsed_and_missing_content_free_answers_are_said():
    proto = CalibratedProtocol(make_protocol("score"), contextual=True)
    item = {"response": "x"}
    unparsed = Verdict(label=None, status="unparsed", raw="hmm")
    out = proto.combine(item, {"": unparsed})
    assert out.status == "unparsed" and out.label is None
    ok = proto.interpret("", _options_result({"1": 0.1, "2": 0.1, "3": 0.2, "4": 0.3, "5": 0.3}))
    out = proto.combine(item, {"": ok})  # no content-free verdicts given
    assert "content-free answers missing" in out.extra["calibration"]
    assert out.probs == ok.probs


def _options_result(probs):
    from jurybox.types import OptionScores

    lps = {k: math.log(v) for k, v in probs.items()}
    return OptionScores(logprobs=lps, raw_logprobs=lps, mass=1.0)


def _pairwise_items(n, seed=0):
    rng = np.random.default_rng(seed)
    items, human = [], []
    for i in range(n):
        better_a = bool(rng.random() < 0.5)
        items.append({"instruction": f"q{i}", "response_a": f"{'alpha' if better_a else 'beta'}{i}",
                      "response_b": f"{'beta' if better_a else 'alpha'}{i}"})
        human.append("A" if better_a else "B")
    return items, human


def test_the_fitted_bias_is_saved_reused_and_refused_for_another_label_set(tmp_path):
    items, human = _pairwise_items(40)
    base = make_protocol("pairwise")
    backend = ScriptedBackend(lambda text, opts: {"a": 0.2, "b": 0.8})  # always position b: a position bias
    with Store(tmp_path / "s.sqlite") as st:
        _, variants, _ = evaluate(Judge(base, backend), items, st)
    fit = fit_label_bias(base, items, variants, human)
    assert fit.labels == ("A", "B", "tie") and fit.n == 80
    path = save_label_bias(fit, tmp_path / "fit.json")
    back = load_label_bias(path)
    assert back.bias == pytest.approx(fit.bias) and back.source == str(path)
    with pytest.raises(InputError, match="fitted for protocol pairwise, not score"):
        CalibratedProtocol(make_protocol("score"), bias=back)
    other = LabelBias("classify", ("x", "y"), (0.1, -0.1))
    with pytest.raises(InputError, match="labels"):
        CalibratedProtocol(make_protocol("classify", labels=["a", "b"]), bias=other)
    with pytest.raises(InputError, match="with contextual calibration"):
        CalibratedProtocol(base, bias=LabelBias("pairwise", ("A", "B", "tie"), (0, 0, 0), contextual=True))
    cv = cross_validated_verdicts(base, items, variants, human, folds=5)
    assert len(cv) == len(items) and all(v.status == "ok" for v in cv)


def test_bias_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="bad.json"):
        load_label_bias(bad)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(InputError, match="not a jurybox calibration file"):
        load_label_bias(other)
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps({"format": "jurybox-label-bias", "version": 1, "protocol": "score",
                               "labels": ["1", "2"], "bias": {"1": 0.0}}))
    with pytest.raises(InputError, match="'bias' must give one number"):
        load_label_bias(odd)
    with pytest.raises(InputError, match="not found"):
        load_label_bias(tmp_path / "absent.json")


def cli(args, capsys):
    """Run the command line: (exit status, stdout, stderr)."""
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_calibrate_command_fits_writes_and_judge_reuses_the_fit(tmp_path, capsys):
    items, human = _pairwise_items(30, seed=3)
    data = tmp_path / "pairs.jsonl"
    pd.DataFrame([{**it, "gold": h} for it, h in zip(items, human, strict=True)]).to_json(
        data, orient="records", lines=True)
    fit_path, store = tmp_path / "fit.json", tmp_path / "s.sqlite"
    code, out, err = cli(["calibrate", data, "--protocol", "pairwise", "--model", "scripted:lean-b", "--human", "gold",
                          "--out", fit_path, "--store", store, "--quiet"], capsys)
    assert code == 0, err
    assert "out-of-fold" in out and fit_path.is_file()
    saved = json.loads(fit_path.read_text())
    assert set(saved["cv"]) >= {"uncalibrated", "calibrated"}
    code, out, err = cli(["judge", data, "--protocol", "pairwise", "--model", "scripted:lean-b", "--calibration",
                          fit_path, "--store", store, "--quiet", "--out", tmp_path / "out.jsonl"], capsys)
    assert code == 0, err
    assert "0 model calls" in out  # the fit acts on stored verdicts
    code, out, err = cli(["judge", data, "--protocol", "score", "--field", "response=response_a", "--model",
                          "scripted:lean-b", "--calibration", fit_path, "--quiet", "--out", tmp_path / "o2.jsonl"],
                         capsys)
    assert code == 2
    assert "fitted for protocol pairwise, not score" in err and str(fit_path) in err
    assert len(err.strip().splitlines()) == 1


def test_contextual_calibration_refuses_a_generating_protocol():
    proto = CalibratedProtocol(make_protocol("checklist_writer"), contextual=True)
    with pytest.raises(JuryboxError, match="option probabilities"):
        proto.requests({"instruction": "write a poem"})


def test_a_human_label_outside_the_shortlist_is_left_out_of_the_bias_fit():
    from jurybox.calibration.api import bias_rows

    names = ["x", "y", "z"]
    cal = CalibratedProtocol(make_protocol("classify_shortlist", labels=names))
    items = [{"text": "t1", "candidates": "x;y"}, {"text": "t2", "candidates": "y;z"}, {"text": "t3", "candidates": "x;z"}]
    vs = []
    for it in items:
        ((variant, _),) = cal.requests(it)
        first, second = variant.split(";")  # the stored log-probabilities are keyed by label
        vs.append({variant: Verdict(label=first, probs={first: 0.7, second: 0.3}, status="ok", raw="A",
                                    extra={"logprobs": {first: math.log(0.7), second: math.log(0.3)},
                                           "option_mass": 1.0})})
    z, t, groups = bias_rows(cal, items, vs, ["y", "x", "z"])  # item 2's human label x is not on its shortlist
    assert list(groups) == [0, 2] and t.argmax(axis=1).tolist() == [1, 2]
    assert z[0, 2] < -1e3 and z[1, 1] < -1e3  # labels off the shortlist are absent, not zero log-probability


def _shortlist_run(n, seed, planted):
    """Shortlist items whose judge knows the answer a little (+1 on the right letter) and prefers the
    last letter by ``planted`` whatever it says: the position bias of a small judge."""
    rng = np.random.default_rng(seed)
    names = [f"intent{k}" for k in range(12)]
    cal = CalibratedProtocol(make_protocol("classify_shortlist", labels=names))
    items, vs, human = [], [], []
    for _ in range(n):
        cands = list(rng.choice(names, 4, replace=False))
        gold = cands[int(rng.integers(4))]
        z = rng.normal(0, 1, 4) + np.array([1.0 if c == gold else 0.0 for c in cands])
        z[-1] += planted
        lp = z - np.log(np.exp(z).sum())
        item = {"text": f"text {len(items)}", "candidates": ";".join(cands)}
        ((variant, _),) = cal.requests(item)
        logprobs = {c: float(x) for c, x in zip(cands, lp, strict=True)}
        label = cands[int(np.argmax(lp))]
        items.append(item)
        vs.append({variant: Verdict(label=label, probs={c: math.exp(x) for c, x in logprobs.items()}, status="ok",
                                    raw="A", extra={"logprobs": logprobs, "option_mass": 1.0})})
        human.append(gold)
    return cal, items, vs, human


def test_an_option_bias_recovers_a_planted_position_bias_and_a_label_bias_cannot(tmp_path):
    cal, items, vs, human = _shortlist_run(400, 0, planted=2.0)
    fit = fit_label_bias(cal.inner, items, vs, human, space="option")
    assert fit.space == "option" and fit.labels == ("A", "B", "C", "D")
    b = dict(zip(fit.labels, fit.bias, strict=True))
    assert b["D"] - np.mean([b["A"], b["B"], b["C"]]) == pytest.approx(-2.0, abs=0.35)
    by_label = fit_label_bias(cal.inner, items, vs, human)  # the intents are spread over the positions
    assert max(abs(x) for x in by_label.bias) < 0.5
    # held-out items: the option bias repairs accuracy, the label bias does not
    _, items2, vs2, human2 = _shortlist_run(400, 1, planted=2.0)

    def accuracy(bias):
        proto = CalibratedProtocol(cal.inner, bias=bias) if bias is not None else cal.inner
        return np.mean([proto.combine(it, v).label == h for it, v, h in zip(items2, vs2, human2, strict=True)])

    assert accuracy(fit) > accuracy(None) + 0.10  # 0.37 -> 0.51 with these seeds
    assert abs(accuracy(by_label) - accuracy(None)) < 0.05
    # saved and read back as an option-space fit, applied to another label set of the same protocol
    path = save_label_bias(fit, tmp_path / "opt.json")
    again = load_label_bias(path)
    assert again.space == "option" and again.bias == fit.bias
    other = make_protocol("classify_shortlist", labels=["x", "y", "z"])
    CalibratedProtocol(other, bias=again)  # no label-set check for a bias on options
    with pytest.raises(InputError, match="not a jurybox calibration file|'space' must be one of"):
        d = json.loads(path.read_text())
        d["space"] = "letters"
        (tmp_path / "bad.json").write_text(json.dumps(d))
        load_label_bias(tmp_path / "bad.json")


def test_calibrate_command_fits_a_bias_per_option(tmp_path, capsys):
    items, human = _pairwise_items(30, seed=3)
    data = tmp_path / "pairs.jsonl"
    pd.DataFrame([{**it, "gold": h} for it, h in zip(items, human, strict=True)]).to_json(
        data, orient="records", lines=True)
    fit_path = tmp_path / "fit.json"
    code, out, err = cli(["calibrate", data, "--protocol", "pairwise", "--model", "scripted:lean-b", "--human", "gold",
                          "--out", fit_path, "--store", tmp_path / "s.sqlite", "--quiet", "--space", "option"], capsys)
    assert code == 0, err
    assert "bias per option" in out
    saved = json.loads(fit_path.read_text())
    assert saved["space"] == "option" and sorted(saved["labels"]) == ["a", "b"]  # the answer positions
    code, out, err = cli(["calibrate", data, "--protocol", "pairwise", "--model", "scripted:lean-b", "--human", "gold",
                          "--out", fit_path, "--quiet", "--space", "letters"], capsys)
    assert code == 2 and "space must be one of label, option" in err and len(err.strip().splitlines()) == 1
