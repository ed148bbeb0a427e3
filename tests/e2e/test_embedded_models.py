"""End-to-end tests on the real embedded models (no stand-in for the model)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import jurybox
from jurybox.protocols import Classify
from jurybox.summary import quick_agreement
from jurybox.types import Message, OptionsRequest, Prompt

pytestmark = pytest.mark.e2e

SENTIMENT = [
    ("I loved every minute of this film, the acting was superb.", "positive"),
    ("Terrible service and cold food. Never going back.", "negative"),
    ("Absolutely fantastic phone, the battery lasts for days.", "positive"),
    ("The book was boring and far too long.", "negative"),
    ("What a delightful little cafe, friendly staff and great coffee.", "positive"),
    ("It broke after two days. Complete waste of money.", "negative"),
    ("A wonderful, heartwarming story. Highly recommended!", "positive"),
    ("The worst hotel I have ever stayed in: dirty and noisy.", "negative"),
    ("Great value, fast delivery, works perfectly.", "positive"),
    ("Awful sound quality and the app keeps crashing.", "negative"),
    ("This restaurant is a gem. Every dish was delicious.", "positive"),
    ("Disappointing sequel with a lazy plot.", "negative"),
]
FEW_SHOT = [
    {"text": "Brilliant performance, I was moved to tears.", "label": "positive"},
    {"text": "The product arrived damaged and support ignored me.", "label": "negative"},
    {"text": "Lovely staff and a beautiful room.", "label": "positive"},
    {"text": "Dull, predictable and badly acted.", "label": "negative"},
]


def test_gemma_classifies_sentiment_with_few_shot_prompt(gemma, tmp_path):
    df = pd.DataFrame(SENTIMENT, columns=["review", "label"])
    res = jurybox.run_judge(df, "classify", model=gemma, store=tmp_path / "s.sqlite", labels=["positive", "negative"],
                            examples=FEW_SHOT, fields={"text": "review"}, human="label",
                            criteria="Classify the sentiment of the review.")
    assert all(v.status == "ok" for v in res.verdicts)
    for v in res.verdicts:
        assert set(v.probs) == {"positive", "negative"} and math.isclose(sum(v.probs.values()), 1.0, rel_tol=1e-9)
        assert 0 < v.extra["option_mass"] <= 1.0
    a = quick_agreement(res.human, [v.label for v in res.verdicts])
    assert a.accuracy >= 0.75, a  # a 270M base model with 4 examples; chance is 0.5
    # the rerun is free and identical
    calls = gemma.calls
    again = jurybox.run_judge(df, "classify", model=gemma, store=tmp_path / "s.sqlite", labels=["positive", "negative"],
                              examples=FEW_SHOT, fields={"text": "review"},
                              criteria="Classify the sentiment of the review.")
    assert gemma.calls == calls and again.stats.model_calls == 0
    assert [v.probs for v in again.verdicts] == [v.probs for v in res.verdicts]


def test_prefix_reuse_gives_the_same_probabilities_as_a_cold_evaluation(gemma):
    proto = Classify(labels=["positive", "negative"], examples=FEW_SHOT)
    reqs = [proto.requests({"text": t})[0][1] for t, _ in SENTIMENT[:4]]
    warm = [gemma.option_logprobs(r).logprobs for r in reqs]
    cold = []
    for r in reqs:
        gemma.llm.n_tokens = 0  # forget the cache: evaluate from scratch
        cold.append(gemma.option_logprobs(r).logprobs)
    for w, c in zip(warm, cold):
        for k in w:
            assert w[k] == pytest.approx(c[k], abs=2e-3)


def test_multi_token_options_use_sequence_scoring(gemma):
    # "in" is the first token of a tokenisation of both options' variants only if they collide; force collision
    req = OptionsRequest(Prompt((Message("user", "Is the sky blue on a clear day? Answer correct or incorrect."),),
                                "Answer:"), ("correct", "correctly wrong"))
    out = gemma.option_logprobs(req)
    assert out.method == "sequence-logprobs"
    assert math.isclose(sum(math.exp(v) for v in out.logprobs.values()), 1.0, rel_tol=1e-9)
    assert out.logprobs["correct"] > out.logprobs["correctly wrong"]


def test_generate_json_schema_constrained(gemma):
    import json

    from jurybox.types import GenerateRequest

    schema = {"type": "object", "properties": {"answer": {"type": "string", "enum": ["yes", "no"]},
                                                "certainty": {"type": "integer", "minimum": 0, "maximum": 100}},
              "required": ["answer", "certainty"]}
    req = GenerateRequest(Prompt((Message("user", "Is water wet? Reply in JSON."),), ""),
                          schema=json.dumps(schema), max_tokens=40)
    out = gemma.generate(req)
    obj = json.loads(out.text)
    # the grammar enforces structure, types and enums; llama.cpp's schema-to-grammar conversion does not
    # enforce numeric bounds, so protocols validate ranges themselves
    assert obj["answer"] in ("yes", "no") and isinstance(obj["certainty"], int)
    assert out.completion_tokens > 0


def test_prompt_too_long_is_a_clear_error_naming_the_row(gemma):
    df = pd.DataFrame({"text": ["short", "word " * 5000]})
    with pytest.raises(jurybox.InputError, match=r"row 2, field 'text': the prompt is \d+ tokens but the model's context window is 4096"):
        jurybox.judge(df, "classify", model=gemma, labels=["positive", "negative"])


def test_qwen_pairwise_both_orders(qwen, tmp_path):
    df = pd.DataFrame([
        {"instruction": "What is the capital of France?", "a": "The capital of France is Paris.",
         "b": "The capital of France is Berlin.", "gold": "A"},
        {"instruction": "What is 12 times 12?", "a": "12 times 12 is 124.", "b": "12 times 12 is 144.", "gold": "B"},
        {"instruction": "Name a mammal that can fly.", "a": "The bat is a mammal that can fly.",
         "b": "The penguin is a mammal that can fly.", "gold": "A"},
        {"instruction": "Translate 'thank you' into Spanish.", "a": "Merci.", "b": "Gracias.", "gold": "B"},
    ])
    res = jurybox.run_judge(df, "pairwise", model=qwen, store=tmp_path / "s.sqlite", human="gold",
                            fields={"response_a": "a", "response_b": "b"})
    for v, per in zip(res.verdicts, res.variants):
        assert set(per) == {"AB", "BA"} and all(p.status == "ok" for p in per.values())
        expected = (per["AB"].extra["margin"] + per["BA"].extra["margin"]) / 2
        assert v.extra["margin"] == pytest.approx(expected)
    a = quick_agreement(res.human, [v.label for v in res.verdicts])
    assert a.accuracy >= 0.75, [(v.label, v.extra["margin"]) for v in res.verdicts]


def test_qwen_correctness_with_and_without_reference(qwen, tmp_path):
    df = pd.DataFrame([
        {"question": "What is the boiling point of water at sea level in Celsius?", "answer": "100 degrees",
         "reference": "100 °C", "label": "correct"},
        {"question": "Who wrote Romeo and Juliet?", "answer": "Charles Dickens", "reference": "William Shakespeare",
         "label": "incorrect"},
        {"question": "How many continents are there?", "answer": "Seven.", "reference": "7", "label": "correct"},
        {"question": "What is the largest planet in the solar system?", "answer": "Mars", "reference": "Jupiter",
         "label": "incorrect"},
    ])
    res = jurybox.run_judge(df, "correctness", model=qwen, store=tmp_path / "s.sqlite", human="label")
    a = quick_agreement(res.human, [v.label for v in res.verdicts])
    assert a.accuracy >= 0.75, [(v.label, v.score) for v in res.verdicts]
    assert all(0.0 <= v.score <= 1.0 for v in res.verdicts)


def test_qwen_score_options_equal_plain_llama_evaluations_of_every_token_path(qwen):
    """Qwen tokenises " 4" as " " + "4": the shared " " is evaluated in the prompt's own decode
    (two output rows), and the option log-probabilities equal scoring each variant's tokens with
    plain ``Llama.eval`` calls, each token path evaluated from scratch in one batch.

    (Evaluating the " " alone after the prompt, as a separate one-token batch, moves a log-probability
    by about 0.01: llama.cpp's numbers depend slightly on how tokens are batched.)"""
    import numpy as np

    from jurybox.protocols import Score

    (_, req), = Score().requests({"instruction": "Capital of France?", "response": "Berlin"})
    got = qwen.option_logprobs(req)
    assert got.method == "sequence-logprobs"
    toks = qwen.tokens(req.prompt)
    llm = qwen.llm
    cache: dict[tuple[int, ...], np.ndarray] = {}

    def lsm_after(path: tuple[int, ...]) -> np.ndarray:
        if path not in cache:
            llm.n_tokens = 0
            llm.eval(toks + list(path))
            row = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).astype(np.float64)
            cache[path] = row - (row.max() + math.log(np.exp(row - row.max()).sum()))
        return cache[path]

    variants = {o: qwen._variants(o) for o in req.options}
    assert all(max(len(s) for s in seqs) <= 2 for seqs in variants.values())
    assert any(len(s) == 2 for seqs in variants.values() for s in seqs)  # the multi-token case is tested
    for option, seqs in variants.items():
        want = np.logaddexp.reduce([sum(float(lsm_after(tuple(seq[:j]))[seq[j]]) for j in range(len(seq)))
                                    for seq in seqs])
        assert got.raw_logprobs[option] == pytest.approx(float(want), abs=2e-3)
    llm.n_tokens = 0
