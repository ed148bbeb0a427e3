"""Faults between jurybox and a real llama.cpp server, injected by the tests' proxy.

The job finishes, no verdict is lost or duplicated, every failure is recorded with its reason,
and a rerun retries exactly the failed tasks.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict

from test_openai_backend import MODEL, items

from jurybox.api import run_judge
from jurybox.backends.openai import OpenAIBackend
from jurybox.store import Store

N = 6
FAULT_REASON = {"429": "HTTP 429", "500": "HTTP 500", "timeout": "timed out", "truncated": "invalid JSON",
                "drop": "connection error"}


def backend(url: str, **kw) -> OpenAIBackend:
    opts = {"concurrency": 3, "timeout": 6.0, "max_retries": 6, "backoff_base": 0.05, "backoff_max": 0.3}
    opts.update(kw)
    return OpenAIBackend(MODEL, url, **opts)


def verdict_rows(path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as c:
        return list(c.execute("SELECT key, label FROM verdicts ORDER BY key"))


def warm(proxy, tmp_path) -> None:
    """A clean pass through the proxy: the real server answers every prompt once (see FaultProxy)."""
    res = run_judge(items(N), "score", model=backend(proxy.url, timeout=300), store=tmp_path / "warm.sqlite")
    assert res.stats.n_failed == 0
    proxy.reset()


def test_job_survives_every_fault_kind(proxy, tmp_path):
    n = N
    clean = run_judge(items(n), "score", model=backend(proxy.url, timeout=300), store=tmp_path / "clean.sqlite")
    assert clean.stats.n_done == n and clean.stats.n_failed == 0
    pattern = ["429", None, "500", "timeout", None, "truncated", "drop", None]
    proxy.plan = lambda i, body: pattern[i % len(pattern)]
    proxy.retry_after = "0.2"
    proxy.hang_s = 2.0
    b = backend(proxy.url, timeout=1.0)
    res = run_judge(items(n), "score", model=b, store=tmp_path / "faulty.sqlite")
    assert res.stats.n_failed == 0 and res.stats.n_done == n
    assert set(proxy.faults()) == set(FAULT_REASON), proxy.faults()
    rows = verdict_rows(tmp_path / "faulty.sqlite")
    assert len(rows) == n == len({k for k, _ in rows})  # nothing lost, nothing duplicated
    assert rows == verdict_rows(tmp_path / "clean.sqlite")  # same keys, same answers as without faults
    assert sum(b.retries.values()) == sum(proxy.faults().values())


def test_each_failure_is_recorded_with_its_reason_and_retried_next_run(proxy, tmp_path):
    n = N
    warm(proxy, tmp_path)
    kinds = ["429", "500", "timeout", "truncated", "drop", None]
    proxy.plan = lambda i, body: kinds[int(re.search(r"ITEM-(\d+)", str(body)).group(1)) % 6]
    proxy.retry_after = "0"
    proxy.hang_s = 2.0
    store = tmp_path / "s.sqlite"
    first = run_judge(items(n), "score", model=backend(proxy.url, max_retries=0, timeout=1.0), store=store)
    assert first.stats.n_failed == 5 and first.stats.n_done == 1
    by_item: dict[int, str] = {}
    with Store(store) as st:
        failures = st.failures()
        assert len(failures) == 5
    rows_of_key = {f["key"]: f for f in failures}
    assert len(rows_of_key) == 5
    status = first.table["verdict_status"].tolist()
    errors = first.table["verdict_error"].tolist()
    for i in range(n):
        kind = kinds[i % 6]
        if kind is None:
            assert status[i] == "ok"
        else:
            assert status[i] == "error" and FAULT_REASON[kind] in errors[i], (kind, errors[i])
            by_item[i] = errors[i]
    assert {f["error"] for f in failures} == set(by_item.values())
    # the rerun (faults gone) calls the model for the failed tasks only
    proxy.reset()
    second = run_judge(items(n), "score", model=backend(proxy.url), store=store)
    assert second.stats.n_cached == 1 and second.stats.model_calls == 5 and second.stats.n_failed == 0
    assert len(proxy.log) == 5
    rows = verdict_rows(store)
    assert len(rows) == n == len({k for k, _ in rows})


def test_retry_after_is_honoured(proxy, tmp_path):
    seen: dict[int, int] = defaultdict(int)

    def plan(i, body):
        item = int(re.search(r"ITEM-(\d+)", str(body)).group(1))
        seen[item] += 1
        return "429" if seen[item] == 1 else None

    warm(proxy, tmp_path)
    proxy.plan = plan
    proxy.retry_after = "1"
    res = run_judge(items(2), "score", model=backend(proxy.url, concurrency=2), store=tmp_path / "s.sqlite")
    assert res.stats.n_done == 2
    times: dict[int, list[float]] = defaultdict(list)
    for t, item, _ in proxy.log:
        times[item].append(t)
    for ts in times.values():
        assert len(ts) == 2 and ts[1] - ts[0] >= 0.95
