"""The openai backend against a real llama.cpp server (and, for timing, a loopback latency server)."""

from __future__ import annotations

import json
import math
import pickle
import time

import pandas as pd
import pytest

from jurybox.api import run_judge
from jurybox.backends.openai import (
    BackendConfigError,
    OpenAIBackend,
    TokenBucket,
    normalise_base_url,
    parse_retry_after,
    scores_from_top_logprobs,
)
from jurybox.errors import JuryboxError
from jurybox.store import Store
from jurybox.types import GenerateRequest, Message, OptionsRequest, Prompt

MODEL = "gemma-3-270m"
GOOD = "The capital of France is Paris, a city on the Seine known for the Eiffel Tower."
BAD = "The capital of France is Berlin and the moon is made of cheese."


def items(n: int) -> pd.DataFrame:
    return pd.DataFrame([{"instruction": "What is the capital of France?",
                          "response": f"ITEM-{i}. " + (GOOD if i % 2 else BAD)} for i in range(n)])


# -- pure helpers


def test_top_logprobs_sum_tokenizer_variants_and_prefixes():
    top = [{"token": "4", "logprob": math.log(0.5)}, {"token": " 4", "logprob": math.log(0.2)},
           {"token": "5", "logprob": math.log(0.1)}, {"token": "Score", "logprob": math.log(0.15)}]
    raw, method = scores_from_top_logprobs(top, ("1", "2", "3", "4", "5"))
    assert math.exp(raw["4"]) == pytest.approx(0.7)
    assert math.exp(raw["5"]) == pytest.approx(0.1)
    assert raw["1"] == float("-inf") and method == "logprobs"
    raw, method = scores_from_top_logprobs([{"token": " pos", "logprob": -0.1}, {"token": "neg", "logprob": -3.0}],
                                           ("positive", "negative"))
    assert method == "logprobs-prefix" and raw["positive"] == pytest.approx(-0.1)


def test_retry_after_forms():
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "250", "Retry-After": "9"}) == 0.25
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 < parse_retry_after({"Retry-After": date}) <= 30  # type: ignore[operator]
    assert parse_retry_after({}) is None


def test_base_url_and_config_errors():
    assert normalise_base_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080/v1"
    assert normalise_base_url("http://h:1/v1/") == "http://h:1/v1"
    with pytest.raises(JuryboxError, match="HOST:PORT"):
        normalise_base_url("localhost:8080")
    with pytest.raises(JuryboxError, match="model name"):
        OpenAIBackend("", "http://127.0.0.1:1/v1")


def test_api_key_never_in_fingerprint_pickle_or_repr(monkeypatch):
    monkeypatch.setenv("JB_TEST_KEY", "sk-secret-value-123")
    b = OpenAIBackend("m", "http://127.0.0.1:9/v1", api_key_env="JB_TEST_KEY")
    assert b._headers()["Authorization"] == "Bearer sk-secret-value-123"
    for text in (b.fingerprint(), repr(b), pickle.dumps(b).decode("latin-1")):
        assert "sk-secret" not in text
    assert b.fingerprint() == "openai:http://127.0.0.1:9/v1#m"


def test_token_bucket_paces_requests(latency_server):
    import asyncio

    async def go() -> float:
        bucket = TokenBucket(600)  # 10 per second, 10 of burst
        t = time.monotonic()
        for _ in range(30):
            await bucket.take(1)
        return time.monotonic() - t

    assert 1.8 < asyncio.run(go()) < 3.0


def test_rpm_limit_bounds_a_run(latency_server, tmp_path):
    b = OpenAIBackend("m", latency_server.url, concurrency=16, rpm=1200)  # 20/s with a burst of 20
    t = time.monotonic()
    res = run_judge(items(60), "score", model=b, store=tmp_path / "s.sqlite")
    elapsed = time.monotonic() - t
    assert res.stats.n_done == 60 and latency_server.requests == 60
    assert elapsed > 1.8  # 40 requests beyond the burst at 20/s


# -- against the llama.cpp server


def test_option_logprobs_from_llama_server(proxy, tmp_path):
    b = OpenAIBackend(MODEL, proxy.url, concurrency=2)
    res = run_judge(items(2), "score", model=b, store=tmp_path / "s.sqlite")
    for v in res.verdicts:
        assert v.status == "ok" and v.extra["method"].startswith("logprobs")
        assert sum(v.probs.values()) == pytest.approx(1.0)
        assert 0 < v.extra["option_mass"] <= 1.0001
        assert v.prompt_tokens > 20
    # the sync path (a private event-loop thread) works too
    req = OptionsRequest(Prompt((Message("user", "Rate 1-5: " + GOOD),), "Score:"), ("1", "2", "3", "4", "5"))
    a = b.option_logprobs(req)
    assert a.method.startswith("logprobs") and sum(math.exp(v) for v in a.logprobs.values()) == pytest.approx(1)
    b.close()


def test_no_logprobs_falls_back_to_constrained_generation(proxy, tmp_path):
    proxy.strip_logprobs = True
    b = OpenAIBackend(MODEL, proxy.url, concurrency=2)
    res = run_judge(items(2), "score", model=b, store=tmp_path / "s.sqlite")
    for v in res.verdicts:
        assert v.status == "ok", v.error
        assert v.extra["method"] == "generate-parse"
        assert v.status == "ok" and v.label in {"1", "2", "3", "4", "5"}
    assert b.logprobs is False  # detected once, not asked again
    schema_bodies = [x for x in proxy.bodies if "response_format" in x]
    assert schema_bodies, "the fallback asks for a JSON answer constrained to the options"
    assert schema_bodies[0]["response_format"]["json_schema"]["schema"]["properties"]["answer"]["enum"] == [
        "1", "2", "3", "4", "5"]


def test_grammar_fallback_on_llama_server(proxy, tmp_path):
    proxy.strip_logprobs = True
    b = OpenAIBackend(MODEL, proxy.url, concurrency=1, logprobs=False, fallback="grammar")
    res = run_judge(items(2), "score", model=b, store=tmp_path / "s.sqlite")
    assert all(v.status == "ok" and v.extra["method"] == "generate-parse" for v in res.verdicts)
    assert all("grammar" in x for x in proxy.bodies)


def test_unreadable_answer_is_unparsed_never_a_default(proxy, tmp_path):
    proxy.strip_logprobs = True
    proxy.rewrite = "I would rather not say."
    b = OpenAIBackend(MODEL, proxy.url, concurrency=2)
    res = run_judge(items(2), "score", model=b, store=tmp_path / "s.sqlite")
    for v in res.verdicts:
        assert v.status == "unparsed" and v.label is None and v.raw == "I would rather not say."


def test_structured_output_detects_json_object_servers(proxy):
    """The llama.cpp Python server refuses json_schema; the backend switches to json_object + schema once."""
    schema = {"type": "object", "properties": {"grade": {"type": "integer", "enum": [1, 2, 3]}},
              "required": ["grade"]}
    req = GenerateRequest(Prompt((Message("user", "Give a grade from 1 to 3 as JSON."),)),
                          schema=json.dumps(schema), max_tokens=20)
    b = OpenAIBackend(MODEL, proxy.url, concurrency=1)
    for _ in range(2):
        assert json.loads(b.generate(req).text)["grade"] in (1, 2, 3)
    assert b.structured == "json_object"
    kinds = [x["response_format"]["type"] for x in proxy.bodies]
    assert kinds == ["json_schema", "json_object", "json_object"]
    assert proxy.bodies[-1]["response_format"]["schema"] == schema
    b.close()


def test_key_sent_to_server_but_never_stored(proxy, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-store-this-987")
    seen: list[str] = []
    proxy.plan = lambda n, body: seen.append("x") and None
    store = tmp_path / "s.sqlite"
    b = OpenAIBackend(MODEL, proxy.url, concurrency=2)
    run_judge(items(2), "score", model=b, store=store)
    assert seen
    for f in tmp_path.iterdir():
        assert b"sk-never-store-this" not in f.read_bytes()


def test_bad_key_stops_the_run_with_one_clear_error(proxy, tmp_path):
    proxy.plan = lambda n, body: "401"
    b = OpenAIBackend(MODEL, proxy.url, concurrency=2, max_retries=3)
    with pytest.raises(BackendConfigError, match="refused the API key"):
        run_judge(items(2), "score", model=b, store=tmp_path / "s.sqlite")
    assert len(proxy.log) == 2  # no retries for a bad key
    with Store(tmp_path / "s.sqlite") as st:
        assert st.count() == 0
