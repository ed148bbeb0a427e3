"""Reranking DL19 queries with the real embedded model (qwen2.5-coder-1.5b): pointwise, listwise, and a
PRP heapsort killed mid-run and resumed."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from jurybox.rank import rank, read_candidates
from jurybox.store import Store

pytestmark = pytest.mark.e2e


def dl19(shared_data, n_queries: int, depth: int) -> list:
    qs = read_candidates(shared_data / "ranking" / "bm25_top100_dl19.json")[:n_queries]
    for q in qs:
        q.candidates = q.candidates[:depth]
    return qs


def test_pointwise_and_listwise_on_the_real_model(shared_data, qwen, tmp_path):
    qs = dl19(shared_data, 2, 4)
    with Store(tmp_path / "s.sqlite") as store:
        res = rank(qs, "pointwise", model=qwen, store=store)
        assert res.stats.model_calls == 8 and res.stats.n_failed == 0
        assert sorted(res.run[res.run.query_id == qs[0].query_id].doc_id) == sorted(c.doc_id for c in qs[0].candidates)
        again = rank(qs, "pointwise", model=qwen, store=store)
        assert again.stats.model_calls == 0 and again.run.equals(res.run)
        lw = rank(qs[:1], "listwise", model=qwen, store=store, window=4)
        assert lw.stats.model_calls == 1
        s = lw.queries[0]
        # either a full permutation was read, or the window kept its input order and was counted unparsed
        assert s.n_unparsed + (s.questions - s.n_unparsed) == 1


def test_prp_heapsort_killed_mid_run_resumes_with_only_the_missing_calls(shared_data, qwen, tmp_path):
    qs = dl19(shared_data, 1, 4)
    cands = tmp_path / "cands.jsonl"
    cands.write_text(json.dumps({"query_id": qs[0].query_id, "query": qs[0].query,
                                 "candidates": [{"doc_id": c.doc_id, "text": c.text} for c in qs[0].candidates]}))
    store = tmp_path / "rank.sqlite"
    out = tmp_path / "run.trec"
    cmd = [sys.executable, "-m", "jurybox.cli", "rank", str(cands), "--method", "prp-heapsort", "--top-k", "2",
           "--model", "qwen2.5-coder-1.5b", "--store", str(store), "--out", str(out), "--quiet", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    stored = 0
    deadline = time.time() + 240
    try:
        while time.time() < deadline and proc.poll() is None:
            time.sleep(0.5)
            if store.exists():
                try:
                    with sqlite3.connect(store) as db:
                        stored = db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
                except sqlite3.OperationalError:
                    continue
            if stored >= 3:
                os.killpg(proc.pid, signal.SIGKILL)
                break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert stored >= 3, "the run finished or stalled before it could be killed"
    assert not out.exists()  # killed before the end: no half-written run
    with sqlite3.connect(store) as db:
        kept = db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
    resumed = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    assert resumed["cached"] == kept
    assert resumed["model_calls"] == resumed["tasks"] - kept
    first = out.read_text()
    third = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    assert third["model_calls"] == 0 and out.read_text() == first
    assert len(first.splitlines()) == 4
