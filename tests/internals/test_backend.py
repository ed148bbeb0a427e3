"""The transformers backend on tiny randomly initialised models (qwen2 and gemma3 architectures),
the engine and store around it (a rerun makes 0 model calls), and its one-line errors."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
    if os.environ.get("CI"):  # the dev extra installs them: under CI their absence is a failure
        raise RuntimeError("torch/transformers missing: pip install 'jurybox[internals]'")
    pytest.skip("the internals extra is not installed (pip install 'jurybox[internals]')", allow_module_level=True)

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from tiny import tiny_backend  # noqa: E402

from jurybox.backends.base import call  # noqa: E402
from jurybox.errors import BackendConfigError, InputError, ModelError, StoreError  # noqa: E402
from jurybox.internals.exam import exam_features, exam_report  # noqa: E402
from jurybox.internals.runner import run_internals  # noqa: E402
from jurybox.internals.spa import pair_logprobs, spa_pairs, spa_preferences  # noqa: E402
from jurybox.mcqa.data import read_mcqa  # noqa: E402
from jurybox.store import Store  # noqa: E402
from jurybox.types import (  # noqa: E402
    ContinuationRequest,
    GenerateRequest,
    InternalsRequest,
    Message,
    OptionsRequest,
    Prompt,
)

QUESTION = "Which of these is a fruit?\nA. apple\nB. stone\nC. car\nD. river"
MARKS = ("\nA. apple", "\nB. stone", "\nC. car", "\nD. river")


def prompt() -> Prompt:
    return Prompt((Message("user", QUESTION),), prefill="Answer:")


@pytest.fixture(params=["qwen2", "gemma3"])
def backend(request):
    return tiny_backend(request.param)


def test_qk_scores_are_the_attention_logits(backend):
    """<q, k> * scaling equals log(attention weight) up to one constant per head (the softmax's
    normaliser), checked against transformers' eager attention weights."""
    r = backend.internals(InternalsRequest(prompt(), marks=MARKS, qk=True))
    assert r.arrays["qk"].shape == (3, 4, 4)
    ids = backend.tokens(prompt())
    backend.model.set_attn_implementation("eager")
    try:
        with torch.inference_mode():
            att = backend.model(torch.tensor([ids]), output_attentions=True).attentions
    finally:
        backend.model.set_attn_implementation("jurybox_qk")
    log_att = np.stack([np.log(a[0, :, len(ids) - 1, r.positions[1:]].numpy()) for a in att])
    dev = log_att - r.arrays["qk"]
    dev -= dev.mean(axis=-1, keepdims=True)
    assert np.abs(dev).max() < 1e-4
    # the marks are the tokens holding each option line's last character
    text = backend.render(prompt())
    enc = backend.tokenizer(text, return_offsets_mapping=True)
    for m, pos in zip(MARKS, r.positions[1:]):
        end = text.index(m) + len(m) - 1
        s, e = enc["offset_mapping"][pos]
        assert s <= end < e


def test_continuations_and_hidden_states_equal_a_pass_from_scratch(backend):
    conts = (" A", " B the sea")
    r = backend.internals(InternalsRequest(prompt(), continuations=conts, hidden=True, options=tuple("ABCD")))
    text = backend.render(prompt())
    n_ctx = len(backend.tokens(prompt()))
    for j, c in enumerate(conts):
        whole = backend.tokenizer(text + c)["input_ids"]
        with torch.inference_mode():
            out = backend.model(torch.tensor([whole]), output_hidden_states=True)
        lsm = torch.log_softmax(out.logits[0].double(), -1)
        ref = sum(float(lsm[i - 1, whole[i]]) for i in range(n_ctx, len(whole)))
        assert r.continuation_logprobs[j] == pytest.approx(ref, abs=1e-4)
        h_end = torch.stack([h[0, -1] for h in out.hidden_states]).numpy()
        np.testing.assert_allclose(r.arrays["hidden_end"][:, j], h_end, atol=1e-4)
        h_start = torch.stack([h[0, n_ctx - 1] for h in out.hidden_states]).numpy()
        np.testing.assert_allclose(r.arrays["hidden_prompt"][:, 0], h_start, atol=1e-4)
    assert r.continuation_tokens[0] == 1 and r.arrays["token_logprobs"].shape == (sum(r.continuation_tokens),)
    # the same numbers as the ordinary primitives on the same prompt
    opt = backend.option_logprobs(OptionsRequest(prompt(), tuple("ABCD")))
    assert opt.raw_logprobs == pytest.approx(r.option_logprobs)
    cs = backend.continuation_logprobs(ContinuationRequest(prompt(), conts))
    assert cs.loglikelihoods == pytest.approx(r.continuation_logprobs, abs=1e-6)


def test_one_token_answers_in_one_batch_equal_a_pass_from_scratch(backend):
    conts = (" A", " B", " C", " D")
    r = backend.internals(InternalsRequest(prompt(), continuations=conts, hidden=True))
    assert r.continuation_tokens == [1, 1, 1, 1]
    text = backend.render(prompt())
    for j, c in enumerate(conts):
        whole = backend.tokenizer(text + c)["input_ids"]
        with torch.inference_mode():
            out = backend.model(torch.tensor([whole]), output_hidden_states=True)
        h_end = torch.stack([h[0, -1] for h in out.hidden_states]).numpy()
        np.testing.assert_allclose(r.arrays["hidden_end"][:, j], h_end, atol=1e-4)
        lsm = torch.log_softmax(out.logits[0, -2].double(), -1)
        assert r.continuation_logprobs[j] == pytest.approx(float(lsm[whole[-1]]), abs=1e-6)


def test_generate_is_seeded(backend):
    req = GenerateRequest(prompt(), max_tokens=6, temperature=1.0, seed=3)
    a, b = backend.generate(req), backend.generate(req)
    assert a.text == b.text and a.completion_tokens <= 6
    with pytest.raises(BackendConfigError, match="JSON schema"):
        backend.generate(GenerateRequest(prompt(), schema="{}"))


def test_a_mark_missing_from_the_prompt_is_one_line(backend):
    with pytest.raises(ModelError, match="mark 'E. nothing' is not in the rendered prompt") as exc:
        backend.internals(InternalsRequest(prompt(), marks=("E. nothing",), qk=True))
    assert "\n" not in str(exc.value)


def test_rerun_makes_no_model_call_and_reads_the_arrays(tmp_path):
    b = tiny_backend("qwen2")
    reqs = [InternalsRequest(prompt(), continuations=(" A", " B"), marks=MARKS, hidden=True, qk=True,
                             options=tuple("ABCD")),
            InternalsRequest(Prompt((Message("user", QUESTION.replace("fruit", "stone")),), prefill="Answer:"),
                             marks=MARKS, qk=True)]
    with Store(tmp_path / "s.sqlite") as st:
        first, s1 = run_internals(b, st, reqs)
        calls = b.calls
        second, s2 = run_internals(b, st, reqs)
    assert s1.model_calls == 2 and s2.model_calls == 0 and s2.n_cached == 2 and b.calls == calls
    for x, y in zip(first, second):
        assert x.arrays.keys() == y.arrays.keys()
        for k in x.arrays:
            np.testing.assert_array_equal(x.arrays[k], y.arrays[k])
    assert first[0].option_logprobs == second[0].option_logprobs
    # another backend (other weights) is another task
    with Store(tmp_path / "s.sqlite") as st:
        _, s3 = run_internals(tiny_backend("qwen2", seed=1), st, reqs[:1])
    assert s3.model_calls == 1


def test_a_verdict_without_its_arrays_is_a_clear_store_error(tmp_path):
    b = tiny_backend("qwen2")
    reqs = [InternalsRequest(prompt(), marks=MARKS, qk=True)]
    with Store(tmp_path / "s.sqlite") as st:
        run_internals(b, st, reqs)
        st.conn.execute("DELETE FROM arrays")
        with pytest.raises(StoreError, match="not its arrays"):
            run_internals(b, st, reqs)


def test_backends_without_internals_refuse_in_one_line():
    from jurybox.backends.scripted import ScriptedBackend

    out = None
    with pytest.raises(BackendConfigError, match=r"jurybox\[internals\]") as exc:
        out = call(ScriptedBackend(), InternalsRequest(prompt()))
    assert out is None and "\n" not in str(exc.value)


def test_missing_torch_names_the_extra(monkeypatch):
    from jurybox.internals import backend as mod

    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(BackendConfigError, match=r"pip install 'jurybox\[internals\]'") as exc:
        mod.require_torch()
    assert "\n" not in str(exc.value)


def test_exam_features_through_the_store(tmp_path):
    import pandas as pd

    rows = [{"question": f"Which of these is item {i}?", "choice0": "apple", "choice1": "stone", "choice2": "car",
             "choice3": "river", "answer": i % 4} for i in range(12)]
    data = read_mcqa(pd.DataFrame(rows))
    b = tiny_backend("gemma3")
    with Store(tmp_path / "s.sqlite") as st:
        f, s1 = exam_features(data, b, st)
        f2, s2 = exam_features(data, b, st)
    assert s1.model_calls == 12 and s2.model_calls == 0
    assert f.qk.shape == (12, 3, 4, 4) and f.deltas.shape == (12, 4, 3, 32)
    np.testing.assert_array_equal(f.deltas, f2.deltas)
    np.testing.assert_allclose(np.exp(f.letter_logprobs).sum(axis=1), 1.0)
    rep = exam_report(f, val_fraction=0.5, heads=(1,), k=3, top=(1,), draws=5)
    assert rep.n_val == 6 and rep.n_test == 6
    data.answers[3] = None
    with pytest.raises(Exception, match="question 4 has no answer key"):
        exam_features(data, b, Store(tmp_path / "t.sqlite"))


def test_spa_with_identical_policy_and_reference_has_no_preference(tmp_path):
    items = [{"instruction": "Write a poem about the sea.", "response_a": "The sea is blue.",
              "response_b": "The quick brown fox."},
             {"instruction": "Name a fruit.", "response_a": "apple", "response_b": "stone car river"}]
    pol, ref = tiny_backend("qwen2", seed=0), tiny_backend("qwen2", seed=1)
    with Store(tmp_path / "s.sqlite") as st:
        lp_pol, s1 = pair_logprobs(items, pol, st)
        lp_ref, _ = pair_logprobs(items, ref, st)
        _, s3 = pair_logprobs(items, pol, st)
    assert s1.model_calls == 2 and s3.model_calls == 0
    same = spa_preferences(lp_pol, lp_pol)
    assert same.winner == (None, None) and np.allclose(same.p_first, 0.5)
    # the known ratio: P = sigmoid(beta * (log-ratio of A - log-ratio of B)), from the stored log-probabilities
    p = spa_preferences(lp_pol, lp_ref, beta=0.3)
    direct = [pol.continuation_logprobs(ContinuationRequest(Prompt((Message("user", it["instruction"]),),
                                                                   prefill="Response:\n"),
                                                            (it["response_a"], it["response_b"]))).loglikelihoods
              for it in items]
    assert lp_pol.a == pytest.approx([d[0] for d in direct]) and lp_pol.b == pytest.approx([d[1] for d in direct])
    margin = 0.3 * ((lp_pol.a - lp_ref.a) - (lp_pol.b - lp_ref.b))
    assert p.p_first == pytest.approx(1 / (1 + np.exp(-margin)))
    pairs = spa_pairs(items, p, tmp_path / "pairs.jsonl")
    lines = (tmp_path / "pairs.jsonl").read_text().splitlines()
    assert len(lines) == len(pairs.pairs) == 2
    assert pairs.pairs[0]["confidence"] == pytest.approx(max(p.p_first[0], 1 - p.p_first[0]))


def test_spa_bad_item_names_row_and_field(tmp_path):
    with pytest.raises(InputError, match="response_b") as exc:
        pair_logprobs([{"instruction": "x", "response_a": "y", "response_b": ""}], tiny_backend("qwen2"),
                      Store(tmp_path / "s.sqlite"))
    assert exc.value.row == 1


def test_api_entry_points_on_tiny_models(tmp_path):
    import pandas as pd

    from jurybox.internals.api import exam, implicit_preferences

    rows = [{"question": f"Which of these is item {i}?", "choice0": "apple", "choice1": "stone", "choice2": "car",
             "choice3": "river", "answer": i % 4} for i in range(10)]
    path = tmp_path / "exam.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    b = tiny_backend("qwen2")
    result, feats = exam([path], model=b, store=tmp_path / "s.sqlite", limit=8, heads=(1,), k=3, top=(1,))
    assert result.questions == 8 and result.model_calls == 8 and feats.qk.shape[0] == 8
    again, _ = exam([path], model=b, store=tmp_path / "s.sqlite", limit=8, heads=(1,), k=3, top=(1,))
    assert again.model_calls == 0 and again.report.letter == result.report.letter
    items = [{"instruction": "Name a fruit.", "response_a": "apple", "response_b": "stone car river"}] * 3
    r = implicit_preferences(items, b, tiny_backend("qwen2", seed=2), store=tmp_path / "s.sqlite",
                             gold=["A", "a", "B"], pairs_out=tmp_path / "p.jsonl")
    assert r.n_items == 3 and r.model_calls == 2  # one request per distinct item and model
    assert r.accuracy is not None and r.accuracy["n_units"] == 3
    assert r.accuracy["estimate"] in (1 / 3, 2 / 3)  # the same winner for the three identical items
    with pytest.raises(InputError, match="gold must be A or B"):
        implicit_preferences(items, b, None, store=tmp_path / "s.sqlite", gold=["A", "C", "B"])
