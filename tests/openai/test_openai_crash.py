"""A SIGKILLed run against a server resumes exactly once, with verdicts committed in groups."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

N = 3000


def _count(path) -> int:
    try:
        with sqlite3.connect(path, timeout=5) as con:
            return int(con.execute("select count(*) from verdicts").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_sigkill_during_a_server_run_loses_only_uncommitted_answers(latency_server, tmp_path):
    data = tmp_path / "answers.jsonl"
    data.write_text("".join(json.dumps({"instruction": "Summarise the report.", "response": f"summary {i}"}) + "\n"
                            for i in range(N)))
    args = [sys.executable, "-m", "jurybox.cli", "judge", str(data), "--protocol", "score",
            "--model", f"openai:bench@{latency_server.url}", "--quiet"]
    store, out = tmp_path / "crash.sqlite", tmp_path / "crash.jsonl"
    proc = subprocess.Popen([*args, "--store", str(store), "--out", str(out)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and _count(store) < 300:
        time.sleep(0.02)
    if proc.poll() is not None:
        raise AssertionError(f"the run ended (status {proc.returncode}) before it could be killed: "
                             f"{proc.stderr.read().decode()[-2000:]}")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()  # nothing half-written
    killed_at = _count(store)  # what the groups committed before the kill
    assert 300 <= killed_at < N
    p = subprocess.run([*args, "--store", str(store), "--out", str(out), "--json"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    assert (summary["cached"], summary["model_calls"]) == (killed_at, N - killed_at)
    with sqlite3.connect(store) as con:
        assert con.execute("select count(*), count(distinct key) from verdicts").fetchone() == (N, N)
        runs = con.execute("select n_tasks, n_cached, n_done from runs where finished_at is not null").fetchall()
    assert runs == [(N, killed_at, N - killed_at)]  # a streamed run records its counts at the end
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == N and all(r["verdict_status"] == "ok" for r in rows)
    ref = tmp_path / "ref.jsonl"
    p = subprocess.run([*args, "--store", str(tmp_path / "ref.sqlite"), "--out", str(ref)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert out.read_text() == ref.read_text()  # the same table as a run that was never killed
