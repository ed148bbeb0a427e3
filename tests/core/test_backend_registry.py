"""Backends by name with options, typed KEY=VALUE options, the one timed call, and protocol plugins."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import jurybox
from jurybox.backends import registry
from jurybox.backends.base import AsyncBackend, Outcome, acall, call, concurrency, is_concurrent
from jurybox.backends.openai import OpenAIBackend
from jurybox.backends.registry import BackendOptionError, get_backend, parse_backend_options, resolve_spec
from jurybox.backends.scripted import ScriptedBackend
from jurybox.errors import BackendCallError, InputError, JuryboxError, PromptTooLong
from jurybox.types import Message, OptionsRequest, Prompt

URL = "http://127.0.0.1:9/v1"


def test_specs_pick_registered_backends_and_the_rest_is_embedded():
    assert resolve_spec("openai:gpt-x@http://h:1")[0].name == "openai"
    assert resolve_spec("openai:gpt-x@http://h:1")[1] == {"model": "gpt-x", "base_url": "http://h:1"}
    assert resolve_spec("scripted:abc") == (registry.BACKENDS["scripted"], {"identity": "abc"})
    assert resolve_spec("scripted")[1] == {}
    assert resolve_spec("qwen2.5-coder-1.5b") == (registry.BACKENDS["embedded"], {"model": "qwen2.5-coder-1.5b"})
    assert resolve_spec("embedded:./j.gguf")[1] == {"model": "./j.gguf"}
    assert resolve_spec(Path("openai:x.gguf"))[1] == {"model": "openai:x.gguf"}  # a path is always a file
    assert resolve_spec("./dir/a:b.gguf")[1] == {"model": "./dir/a:b.gguf"}
    assert resolve_spec(None)[1] == {"model": None}


def test_options_reach_the_backend():
    b = get_backend(f"openai:m@{URL}", concurrency=3, rpm=60, timeout=2.5, api_key_env="JB_KEY")
    assert isinstance(b, OpenAIBackend) and (b.concurrency, b.rpm, b.timeout, b.api_key_env) == (3, 60, 2.5, "JB_KEY")
    s = get_backend("scripted:v2", concurrency=4)
    assert isinstance(s, ScriptedBackend) and s.label == "scripted:v2" and s.concurrency == 4
    assert get_backend(s) is s


def test_unknown_option_is_one_line_naming_it_and_the_valid_ones():
    with pytest.raises(BackendOptionError) as e:
        get_backend(f"openai:m@{URL}", concurency=8)
    msg = str(e.value)
    assert isinstance(e.value, JuryboxError) and "\n" not in msg
    assert msg.startswith("unknown option 'concurency' for the openai backend (valid: api_key_env, concurrency, rpm,")
    with pytest.raises(BackendOptionError, match=r"unknown option 'n_thread' for the embedded backend \(valid: n_ctx, n_threads"):
        get_backend("qwen2.5-coder-1.5b", n_thread=2)  # checked before any model is loaded
    with pytest.raises(BackendOptionError, match="with a backend instance"):
        get_backend(ScriptedBackend(), concurrency=2)


def test_key_value_options_are_typed_by_the_backend_signature():
    spec = f"openai:m@{URL}"
    opts = parse_backend_options(spec, ["concurrency=8", "rpm=600", "logprobs=false", "timeout=2.5",
                                        "prefill=assistant", 'extra-body={"top_k": 1}', "tpm=none",
                                        "api_key_env=MY_KEY", "concurrency=16"])
    assert opts == {"concurrency": 16, "rpm": 600.0, "logprobs": False, "timeout": 2.5, "prefill": "assistant",
                    "extra_body": {"top_k": 1}, "tpm": None, "api_key_env": "MY_KEY"}
    assert type(opts["concurrency"]) is int and type(opts["rpm"]) is float
    assert parse_backend_options("qwen2.5-coder-1.5b", ["n_ctx=2048", "chat=yes", "n_threads=none"]) == \
        {"n_ctx": 2048, "chat": True, "n_threads": None}
    # a config mapping: strings are parsed, values YAML already typed are kept
    assert parse_backend_options(spec, {"concurrency": 4, "logprobs": "off"}) == {"concurrency": 4, "logprobs": False}
    b = get_backend(spec, **parse_backend_options(spec, ["concurrency=5"]))
    assert b.concurrency == 5


@pytest.mark.parametrize("option, message", [
    ("concurrency=x", "option 'concurrency' of the openai backend must be an integer, got 'x'"),
    ("rpm=fast", "option 'rpm' of the openai backend must be a number, got 'fast'"),
    ("prefill=system", "option 'prefill' of the openai backend must be one of user, assistant, got 'system'"),
    ("logprobs=maybe", "option 'logprobs' of the openai backend must be true or false, got 'maybe'"),
    ("extra_body=[1]", "option 'extra_body' of the openai backend must be a JSON object, got '[1]'"),
    ("concurrency", "a backend option must look like KEY=VALUE, got 'concurrency'"),
    ("=3", "a backend option must look like KEY=VALUE, got '=3'"),
    ("model=gpt", "unknown option 'model' for the openai backend"),
])
def test_bad_key_value_options_are_clear(option, message):
    with pytest.raises(BackendOptionError) as e:
        parse_backend_options(f"openai:m@{URL}", [option])
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_options_that_are_not_text_say_so():
    with pytest.raises(BackendOptionError, match="option 'fail' of the scripted backend cannot be set from text"):
        parse_backend_options("scripted", ["fail=x"])


def test_registering_a_backend_imports_it_lazily(monkeypatch):
    monkeypatch.setitem(registry.BACKENDS, "nowhere", registry.BackendEntry(
        "nowhere", "jurybox_no_such_module:Backend", from_spec=lambda rest: {}))
    with pytest.raises(JuryboxError, match="the nowhere backend is not available in this installation"):
        get_backend("nowhere:x")
    before = set(registry.BACKENDS)
    registry.register_backend("echo", "jurybox.backends.scripted:ScriptedBackend",
                              from_spec=lambda rest: {"identity": f"echo-{rest}"}, spec_params=("identity",))
    try:
        b = get_backend("echo:1", concurrency=2)
        assert isinstance(b, ScriptedBackend) and b.label == "scripted:echo-1"
    finally:
        registry.BACKENDS.pop("echo")
    assert set(registry.BACKENDS) == before


def _request(text: str = "x") -> OptionsRequest:
    return OptionsRequest(Prompt((Message("user", text),), "A:"), ("a", "b"))


class _Raising(ScriptedBackend):
    def __init__(self, exc: Exception | None) -> None:
        super().__init__()
        self.exc = exc

    def option_logprobs(self, request):
        if self.exc is not None:
            raise self.exc
        return super().option_logprobs(request)


def test_call_and_acall_turn_results_and_failures_into_outcomes():
    for run in (call, lambda b, r: asyncio.run(acall(b, r))):
        ok = run(_Raising(None), _request())
        assert ok.result is not None and ok.error is None and ok.too_long is None and ok.latency_s >= 0
        failed = run(_Raising(BackendCallError("HTTP 503")), _request())
        assert failed == Outcome(None, failed.latency_s, error="HTTP 503")
        long = run(_Raising(PromptTooLong(9000, 4096, 8)), _request())
        assert long.result is None and long.error is None and "9000 tokens" in str(long.too_long)
    with pytest.raises(KeyError):  # anything else is a bug and propagates
        call(_Raising(KeyError("x")), _request())


def test_the_async_contract_and_concurrency():
    serial, conc = ScriptedBackend(), ScriptedBackend(concurrency=4)
    assert isinstance(conc, AsyncBackend) and is_concurrent(conc) and concurrency(conc) == 4
    assert not is_concurrent(serial) and concurrency(serial) == 1
    assert isinstance(get_backend(f"openai:m@{URL}"), AsyncBackend)

    class SyncOnly:
        name = "sync"
        concurrency = 8

        def fingerprint(self): return "s"
        def option_logprobs(self, request): ...
        def generate(self, request): ...
        def close(self): ...

    assert not is_concurrent(SyncOnly()) and concurrency(SyncOnly()) == 1  # type: ignore[arg-type]
    with pytest.raises(JuryboxError, match="concurrency must be >= 1"):
        ScriptedBackend(concurrency=0)


def _sentiment(text, opts):
    return {"positive": 0.9, "negative": 0.1} if "good" in text.rsplit("Text:", 1)[-1] else \
        {"positive": 0.2, "negative": 0.8}


def test_streamed_and_serial_runs_give_the_same_verdicts_and_store(tmp_path):
    df = pd.DataFrame({"text": [f"good {i}" if i % 3 else f"bad {i}" for i in range(150)] + ["good 1"]})
    kw = {"labels": ["positive", "negative"]}
    serial = jurybox.run_judge(df, "classify", model=ScriptedBackend(_sentiment), store=tmp_path / "a.sqlite", **kw)
    b = ScriptedBackend(_sentiment, concurrency=8)
    streamed = jurybox.run_judge(df, "classify", model=b, store=tmp_path / "b.sqlite", **kw)
    assert [v.label for v in streamed.verdicts] == [v.label for v in serial.verdicts]
    for s in (serial.stats, streamed.stats):
        assert (s.n_tasks, s.n_cached, s.n_done, s.model_calls) == (150, 0, 150, 150)
    assert b.calls == 150  # the repeated row is one task
    again = jurybox.run_judge(df, "classify", model=b, store=tmp_path / "b.sqlite", **kw)
    assert (again.stats.n_cached, again.stats.model_calls) == (150, 0)


@pytest.mark.parametrize("conc", [None, 4])
def test_a_prompt_too_long_stops_serial_and_streamed_runs_naming_the_row(tmp_path, conc):
    class Short(ScriptedBackend):
        def option_logprobs(self, request):
            if "long" in request.prompt.messages[-1].content:
                raise PromptTooLong(5000, 4096, 1)
            return super().option_logprobs(request)

    df = pd.DataFrame({"text": ["a", "b", "long c", "d"]})
    with pytest.raises(InputError, match=r"row 3, field 'text': the prompt is 5000 tokens"):
        jurybox.run_judge(df, "classify", labels=["x", "y"], model=Short(concurrency=conc),
                          store=tmp_path / "s.sqlite")


def test_failed_calls_are_recorded_in_streamed_runs(tmp_path):
    b = ScriptedBackend(_sentiment, fail=lambda t: "HTTP 503" if "bad" in t.rsplit("Text:", 1)[-1] else None,
                        concurrency=4)
    df = pd.DataFrame({"text": ["good", "bad", "good 2"]})
    res = jurybox.run_judge(df, "classify", labels=["positive", "negative"], model=b, store=tmp_path / "s.sqlite")
    assert (res.stats.n_failed, res.stats.model_calls) == (1, 3)
    assert res.verdicts[1].status == "error" and res.verdicts[1].error == "HTTP 503"


def test_jury_config_backend_options_per_judge(tmp_path):
    from jurybox.jury.api import build_judges

    specs = [{"model": f"openai:m@{URL}", "name": "fast", "backend_options": {"concurrency": "4", "rpm": 120}},
             {"model": "scripted:j2", "backend_options": {"concurrency": 2}}]
    judges, _ = build_judges(specs, "score", {})
    assert judges[0].backend.concurrency == 4 and judges[0].backend.rpm == 120
    assert judges[1].backend.concurrency == 2
    with pytest.raises(BackendOptionError, match=r"judge 1: unknown option 'rmp' for the openai backend \(valid: "):
        build_judges([{"model": f"openai:m@{URL}", "backend_options": {"rmp": 1}}], "score", {})
    with pytest.raises(JuryboxError, match="judge 1: backend_options must map option names to values"):
        build_judges([{"model": "scripted", "backend_options": ["concurrency=2"]}], "score", {})


def test_plugin_packages_register_their_protocols_when_imported():
    # in a fresh interpreter: nothing has imported jurybox.audit yet
    code = """
import sys
from jurybox.protocols import registry
assert "jurybox.audit" not in sys.modules and "fenced-score" not in registry.PROTOCOLS
assert type(registry.make_protocol("fenced-pairwise")).__name__ == "FencedPairwise"
assert "jurybox.audit" in sys.modules and "fenced-score" in registry.available_protocols()
try:
    registry.make_protocol("nope")
except Exception as exc:
    print(exc)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("unknown protocol 'nope' (available: answer, certainty,")
    assert "fenced-pairwise, fenced-score" in out.stdout


def test_backend_option_errors_are_value_errors_naming_the_parameter_and_the_key():
    from jurybox.cli import cli_message

    with pytest.raises(ValueError) as e:  # a caller's `except ValueError` catches it
        get_backend(f"openai:m@{URL}", concurency=8)
    err = e.value
    assert isinstance(err, BackendOptionError)
    assert (err.option, err.key) == ("backend_options", "concurency")
    assert cli_message(err).endswith("(--backend-option)")
    with pytest.raises(ValueError) as e:
        parse_backend_options(f"openai:m@{URL}", ["rpm=fast"])
    assert isinstance(e.value, BackendOptionError) and e.value.key == "rpm"
    assert "--backend-option" in cli_message(e.value)
    with pytest.raises(BackendOptionError) as e:
        parse_backend_options(f"openai:m@{URL}", ["concurrency"])
    assert e.value.option == "backend_options" and e.value.key is None


def test_a_jury_config_backend_option_error_names_no_flag():
    from jurybox.cli import cli_message
    from jurybox.jury.api import judge_specs

    with pytest.raises(BackendOptionError) as e:
        judge_specs([{"model": f"openai:m@{URL}", "backend_options": {"concurency": 8}}], "score", {})
    assert e.value.option is None and e.value.key == "concurency"
    assert cli_message(e.value) == str(e.value) and str(e.value).startswith("judge 1: unknown option 'concurency'")
