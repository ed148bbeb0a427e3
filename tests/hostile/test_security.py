"""Security drills: prompt templates run in a sandbox; an API key echoed by a server is never kept."""

from __future__ import annotations

import json
import sqlite3

import pytest

from jurybox.errors import BackendCallError, JuryboxError, redact, register_secret
from jurybox.protocols.registry import make_protocol

from .conftest import FakeServer, assert_one_line_error, run_cli

# Each payload tries to reach Python internals from a template; the sandbox must refuse all of them.
PAYLOADS = {
    "self-globals-popen": "{{ self.__init__.__globals__.__builtins__['__import__']('os').popen('id > pwned.txt').read() }}",
    "class-mro": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "cycler-globals": "{{ cycler.__init__.__globals__.os.popen('id > pwned.txt').read() }}",
    "lipsum-globals": "{{ lipsum.__globals__['os'].popen('id > pwned.txt').read() }}",
    "lipsum-os-attribute": "{{ lipsum.__globals__.os.system('id > pwned.txt') }}",
    "joiner-globals": "{{ joiner.__init__.__globals__.__builtins__.open('pwned.txt', 'w') }}",
    "namespace-globals": "{{ namespace.__init__.__globals__.sys.modules.os.system('id > pwned.txt') }}",
    "format-string": "{{ '{0.__class__.__base__.__subclasses__}'.format(response) }}",
    "context-private": "{{ self._TemplateReference__context.cycler.__init__.__globals__.os }}",
    "item-class": "{{ response.__class__.__base__ }}",
}


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_template_payloads_are_refused_naming_file_and_line(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / f"{name}.j2"
    path.write_text("Rate this response.\n{{ response }}\n" + PAYLOADS[name] + "\nScore:\n")
    proto = make_protocol("score", template=str(path))
    with pytest.raises(JuryboxError) as e:
        proto.requests({"response": "hello"})
    msg = str(e.value)
    assert f"prompt template {path}, line 3" in msg, msg
    assert "\n" not in msg
    assert not (tmp_path / "pwned.txt").exists()


def test_template_payload_through_the_cli_runs_nothing(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"response": "hi"}\n')
    evil = tmp_path / "evil.j2"
    evil.write_text("{{ response }}\n" + PAYLOADS["self-globals-popen"] + "\n")
    # the server is never reached: rendering fails first
    proc = run_cli("judge", data, "--template", evil, "--model", "openai:m@http://127.0.0.1:9/v1", "--quiet",
                   "--store", tmp_path / "s.sqlite", cwd=tmp_path)
    line = assert_one_line_error(proc)
    assert str(evil) in line and "line 2" in line and "unsafe" in line
    assert not (tmp_path / "pwned.txt").exists()
    assert not (tmp_path / "d.verdicts.jsonl").exists()


def test_shipped_templates_still_render_in_the_sandbox():
    for proto, item in [
        (make_protocol("score"), {"response": "r", "instruction": "i", "reference": "x"}),
        (make_protocol("pairwise"), {"instruction": "i", "response_a": "a", "response_b": "b"}),
        (make_protocol("classify", labels=["positive", "negative"], descriptions={"positive": "good"},
                       examples=[{"text": "t", "label": "negative"}]), {"text": "t"}),
        (make_protocol("correctness"), {"question": "q", "answer": "a", "reference": ["r1", "r2"]}),
    ]:
        assert proto.requests(item)


KEY = "sk-test-0123456789abcdefSECRETSECRET"


def _leaks(blob: bytes) -> bool:
    """Any 10 consecutive characters of the key (a cut error text must not keep part of it either)."""
    return any(KEY[i:i + 10].encode() in blob for i in range(len(KEY) - 9))


def test_api_key_echoed_by_a_server_is_never_stored_written_or_printed(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"response": f"answer {i}"}) + "\n" for i in range(5)))
    store = tmp_path / "s.sqlite"
    out = tmp_path / "out.jsonl"
    with FakeServer(mode="echo", status=503) as server:  # 503 honours retry-after-ms: fast retries
        proc = run_cli("judge", data, "--model", server.model(), "--store", store, "--out", out, "--quiet",
                       cwd=tmp_path, env={"OPENAI_API_KEY": KEY})
        assert any(KEY in a for a in server.auth_seen)  # the key was sent, and echoed back
    assert proc.returncode == 1, proc.stderr  # every task failed: exit 1
    assert "Traceback" not in proc.stderr
    assert "tasks failed" in proc.stderr and "***" in proc.stderr
    assert not _leaks(proc.stderr.encode()) and not _leaks(proc.stdout.encode())
    assert not _leaks(out.read_bytes())
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert all(r["verdict_status"] == "error" and "***" in r["verdict_error"] for r in rows)
    for f in tmp_path.glob("s.sqlite*"):  # the store, its WAL and shared-memory files
        assert not _leaks(f.read_bytes()), f
    with sqlite3.connect(store) as conn:
        errors = [r[0] for r in conn.execute("SELECT error FROM failures")]
    assert len(errors) == 5 and all("***" in e for e in errors)


def test_api_key_echoed_in_a_500_through_the_api(tmp_path, monkeypatch):
    from jurybox.api import run_judge
    from jurybox.backends.openai import OpenAIBackend

    monkeypatch.setenv("JB_TEST_GATEWAY_KEY", KEY)
    with FakeServer(mode="echo", status=500) as server:
        backend = OpenAIBackend("fake", server.url, api_key_env="JB_TEST_GATEWAY_KEY", max_retries=1,
                                backoff_base=0.001, concurrency=2)
        res = run_judge(_one_row(tmp_path), "score", model=backend, store=tmp_path / "s.sqlite")
    assert res.stats.n_failed == 1
    text = json.dumps(res.stats.failures) + res.table.to_json()
    assert not _leaks(text.encode()) and "HTTP 500" in text
    for f in tmp_path.glob("s.sqlite*"):
        assert not _leaks(f.read_bytes())


def _one_row(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"response": "x"}\n')
    return p


@pytest.mark.parametrize("text", [
    "HTTP 500: Authorization: Bearer abcdef0123456789",
    '{"headers": {"authorization": "Bearer abcdef0123456789"}}',
    "upstream said: bearer abcdef0123456789",
    "key sk-abcdef0123456789 rejected",
    "x-api-key: abcdef0123456789",
    "connect to https://user:abcdef0123456789@proxy.example failed",
])
def test_redact_masks_tokens_headers_and_keys(text):
    out = redact(text)
    assert "abcdef0123456789" not in out and "***" in out


def test_backend_errors_are_masked_when_created():
    register_secret("registered-secret-value")
    assert "registered-secret-value" not in str(BackendCallError("HTTP 502: echo registered-secret-value"))
    assert "registered-secret-value" not in str(JuryboxError("bad: registered-secret-value"))


def test_failure_texts_are_masked_before_the_run_returns_them(tmp_path):
    """An executor reporting a provider's raw error text (as batch-file import does, without a
    BackendCallError) gets it masked by the engine itself: the run's failures, the verdicts, the store."""
    import pandas as pd

    from jurybox.api import run_judge
    from jurybox.backends.scripted import ScriptedBackend

    token = "sk-live-9f8e7d6c5b4a39281706"

    class EchoingExecutor:
        def run(self, todo, backend, finish, stats):
            for task in todo:
                finish(task, None, 0.0, f"gateway said: Authorization: Bearer {token}")

    res = run_judge(pd.DataFrame({"response": ["r1", "r2"]}), "score", model=ScriptedBackend(),
                    store=tmp_path / "s.sqlite", executor=EchoingExecutor())
    assert res.stats.n_failed == 2
    texts = [f["error"] for f in res.stats.failures] + [v.error or "" for v in res.verdicts]
    assert len(texts) == 4 and all("gateway said" in t for t in texts)
    assert not any(token in t or token[:12] in t for t in texts)
    assert token.encode() not in (tmp_path / "s.sqlite").read_bytes()
