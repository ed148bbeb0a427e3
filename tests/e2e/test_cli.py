"""The CLI on real files: user errors exit 2 with one line; a SIGKILLed run resumes exactly once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

PY = sys.executable


def run(args, cwd, env=None, timeout=600):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([PY, "-m", "jurybox.cli", *args], cwd=cwd, capture_output=True, text=True, env=e,
                          timeout=timeout)


def one_line_error(p):
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("jurybox: error: "), p.stderr
    assert "Traceback" not in p.stderr
    return lines[0]


@pytest.fixture
def sentiment_file(tmp_path):
    p = tmp_path / "reviews.jsonl"
    rows = [{"review": f"review number {i}: {'great, loved it' if i % 2 else 'awful, hated it'}",
             "label": "positive" if i % 2 else "negative"} for i in range(30)]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def test_user_errors_exit_2_with_one_line_and_no_output(tmp_path, sentiment_file, need_gemma):
    out = tmp_path / "out.jsonl"
    cases = [
        (["judge", str(tmp_path / "missing.jsonl"), "--protocol", "classify", "--labels", "a,b"], "file not found"),
        (["judge", str(sentiment_file), "--protocol", "classify", "--labels", "positive,negative"],
         "missing required column 'text'"),
        (["judge", str(sentiment_file), "--protocol", "classify"], "needs --labels"),
        (["judge", str(sentiment_file), "--protocol", "classify", "--labels", "positive,negative",
          "--field", "text=review", "--human", "label", "--model", str(tmp_path / "none.gguf")],
         "neither a known model"),
        (["judge", str(sentiment_file), "--protocol", "classify", "--labels", "good,bad", "--field", "text=review",
          "--human", "label", "--model", "gemma-3-270m"], "row 1, field 'label'"),
    ]
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    cases.append((["judge", str(empty), "--protocol", "score"], "file is empty"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"response": "x"}\n{"response": \n')
    cases.append((["judge", str(bad), "--protocol", "score"], "line 2: malformed JSON"))
    for args, expected in cases:
        p = run([*args, "--out", str(out), "--quiet"], cwd=tmp_path)
        line = one_line_error(p)
        assert expected in line, (args, line)
        assert not out.exists()
    notgguf = tmp_path / "fake.gguf"
    notgguf.write_bytes(b"not a model")
    p = run(["judge", str(sentiment_file), "--protocol", "classify", "--labels", "positive,negative",
             "--field", "text=review", "--model", str(notgguf), "--out", str(out), "--quiet"], cwd=tmp_path)
    assert "not a GGUF file" in one_line_error(p)
    p = run(["judge", str(sentiment_file), "--protocol", "classify", "--labels", "positive,negative",
             "--field", "text=review", "--store", "/proc/jurybox/s.sqlite", "--out", str(out), "--quiet",
             "--model", "gemma-3-270m"], cwd=tmp_path)
    assert "cannot open the verdict store" in one_line_error(p)
    assert not out.exists()


def test_corrupt_cached_model_is_rebuilt(tmp_path, need_gemma):
    from jurybox.models import REGISTRY, resolve

    env_cache = tmp_path / "cache"
    os.environ["JURYBOX_CACHE"] = str(env_cache)
    try:
        r = resolve("gemma-3-270m")
        good = r.path.stat().st_size
        with open(r.path, "r+b") as f:  # a partial file: truncated
            f.truncate(good // 2)
        r2 = resolve("gemma-3-270m")
        assert r2.path.stat().st_size == good and r2.sha256 == REGISTRY["gemma-3-270m"].sha256
        with open(r.path, "r+b") as f:  # same size, flipped bytes
            f.seek(1000)
            f.write(b"\x00" * 16)
        from jurybox.models import verify
        ok, msg = verify("gemma-3-270m")
        assert not ok and "mismatch" in msg
        assert resolve("gemma-3-270m").path.stat().st_size == good
        assert verify("gemma-3-270m")[0]
    finally:
        del os.environ["JURYBOX_CACHE"]


def test_wrong_sha256_is_refused(tmp_path, monkeypatch, need_gemma):
    from dataclasses import replace

    from jurybox import models
    from jurybox.errors import ModelError

    monkeypatch.setenv("JURYBOX_CACHE", str(tmp_path / "cache"))
    bad = replace(models.REGISTRY["gemma-3-270m"], sha256="0" * 64)
    monkeypatch.setitem(models.REGISTRY, "gemma-3-270m", bad)
    with pytest.raises(ModelError, match="refusing to use it"):
        models.resolve("gemma-3-270m")
    assert not list((tmp_path / "cache" / "models").glob("*.gguf"))


@pytest.mark.e2e
def test_sigkill_mid_run_then_resume_gives_exactly_once_and_identical_output(tmp_path, sentiment_file, need_gemma):
    args = ["judge", str(sentiment_file), "--protocol", "classify", "--labels", "positive,negative",
            "--field", "text=review", "--model", "gemma-3-270m", "--quiet"]
    store = tmp_path / "crash.sqlite"
    out = tmp_path / "crash.jsonl"
    env = dict(os.environ)
    proc = subprocess.Popen([PY, "-m", "jurybox.cli", *args, "--store", str(store), "--out", str(out)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    n = 0
    while time.time() < deadline and proc.poll() is None:
        if store.exists():
            try:
                with sqlite3.connect(store, timeout=5) as con:
                    n = con.execute("select count(*) from verdicts").fetchone()[0]
            except sqlite3.OperationalError:
                n = 0
            if n >= 5:
                break
        time.sleep(0.05)
    if proc.poll() is not None:
        raise AssertionError(f"the run ended (status {proc.returncode}) before it could be killed: "
                             f"{proc.stderr.read().decode()[-2000:]}")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()  # nothing half-written
    with sqlite3.connect(store) as con:
        killed_at = con.execute("select count(*) from verdicts").fetchone()[0]
    assert 5 <= killed_at < 30
    p = run([*args, "--store", str(store), "--out", str(out), "--json"], cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    assert summary["cached"] == killed_at and summary["model_calls"] == 30 - killed_at
    with sqlite3.connect(store) as con:
        assert con.execute("select count(*), count(distinct key) from verdicts").fetchone() == (30, 30)
    ref_out = tmp_path / "ref.jsonl"
    p = run([*args, "--store", str(tmp_path / "ref.sqlite"), "--out", str(ref_out)], cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert out.read_text() == ref_out.read_text()
