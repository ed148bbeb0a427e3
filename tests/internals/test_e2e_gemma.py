"""The transformers backend on a real GGUF model (gemma-3-270m, dequantised by transformers): load
time, the exam features of a few MMLU questions through the engine and store, the mcqa protocol's
letter scoring on the same backend, and the same prompt on llama.cpp."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.e2e

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mmlu" / "marketing_test.csv"


def _root_conftest():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("jurybox_tests_root_conftest", Path(__file__).parents[1] / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


missing = _root_conftest().missing


@pytest.fixture(scope="module")
def gemma():
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
        missing("the internals extra is not installed (pip install 'jurybox[internals]')")
    if not DATA.is_file():
        missing(f"MMLU not found at {DATA}")
    from jurybox.internals.backend import TransformersBackend

    t0 = time.perf_counter()
    b = TransformersBackend("gemma-3-270m", dtype="float32")
    print(f"\ngemma-3-270m float32 loaded from {b.load_source} in {time.perf_counter() - t0:.1f} s, "
          f"RSS {b.rss_after_load / 2**30:.2f} GiB")
    assert b.n_layers == 18 and b.n_heads == 4 and not b.chat
    return b


def test_exam_features_on_mmlu_through_the_store(gemma, tmp_path):
    import pandas as pd

    from jurybox.internals.exam import exam_features
    from jurybox.mcqa import run_mcqa
    from jurybox.mcqa.data import read_mcqa
    from jurybox.store import Store

    df = pd.read_csv(DATA).head(6)
    data = read_mcqa(df)
    with Store(tmp_path / "s.sqlite") as st:
        t0 = time.perf_counter()
        f, s1 = exam_features(data, gemma, st)
        took = time.perf_counter() - t0
        _, s2 = exam_features(data, gemma, st)
        report = run_mcqa(df, model=gemma, store=st, scoring="letter")
    print(f"6 questions: {took:.1f} s ({took / 6:.2f} s each, mean {f.prompt_tokens.mean():.0f} prompt tokens)")
    assert s1.model_calls == 6 and s2.model_calls == 0
    assert f.qk.shape == (6, 18, 4, 4) and f.deltas.shape == (6, 4, 18, 640)
    assert np.isfinite(f.qk).all() and np.isfinite(f.deltas).all()
    # the mcqa protocol's letter scoring on the same backend and prompts gives the same answers
    letters = [str(v) for v in report.table["verdict"]]
    assert letters == ["ABCD"[i] for i in np.argmax(f.letter_logprobs, axis=1)]
    probs = np.array([[p[k] for k in "ABCD"] for p in report.table["verdict_probs"]])
    np.testing.assert_allclose(probs, np.exp(f.letter_logprobs), atol=1e-6)


def test_same_prompt_on_llama_cpp_gives_close_letter_probabilities(gemma):
    from jurybox.backends.embedded import EmbeddedBackend
    from jurybox.types import Message, OptionsRequest, Prompt

    p = Prompt((Message("user", "The capital of France is?\nA. Berlin\nB. Paris\nC. Rome\nD. Madrid"),),
               prefill="Answer:")
    req = OptionsRequest(p, tuple("ABCD"))
    hf = gemma.option_logprobs(req)
    emb = EmbeddedBackend("gemma-3-270m", chat=False)
    try:
        cpp = emb.option_logprobs(req)
    finally:
        emb.close()
    assert gemma.render(p) == emb.render(p)
    d = max(abs(np.exp(hf.logprobs[k]) - np.exp(cpp.logprobs[k])) for k in "ABCD")
    print(f"max letter-probability difference transformers vs llama.cpp: {d:.4f}")
    assert d < 0.05
