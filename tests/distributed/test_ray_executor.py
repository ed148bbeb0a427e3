"""The Ray executor on a local cluster: same keys and verdicts as in-process, exactly once, and a
worker killed mid-run loses nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time

import pandas as pd
import pytest

from jurybox.api import run_judge
from jurybox.backends.openai import OpenAIBackend
from jurybox.distributed import RayExecutor
from jurybox.errors import JuryboxError


def items(n: int, tag: str = "") -> pd.DataFrame:
    return pd.DataFrame([{"response": f"answer {tag}{i}: " + "words " * (i % 7)} for i in range(n)])


def rows(path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as c:
        return list(c.execute("SELECT key, label FROM verdicts ORDER BY key"))


def test_ray_gives_the_same_verdicts_under_the_same_keys(ray_cluster, slow_server, tmp_path):
    b = OpenAIBackend("m", slow_server.url, concurrency=8)
    local = run_judge(items(40), "score", model=b, store=tmp_path / "local.sqlite")
    ex = RayExecutor(workers=2, batch_size=10)
    dist = run_judge(items(40), "score", model=b, store=tmp_path / "ray.sqlite", executor=ex)
    assert dist.stats.n_done == 40 and dist.stats.model_calls == 40 and dist.stats.n_failed == 0
    assert rows(tmp_path / "ray.sqlite") == rows(tmp_path / "local.sqlite")
    assert [v.label for v in dist.verdicts] == [v.label for v in local.verdicts]
    assert len(ex.worker_pids) == 2 and os.getpid() not in ex.worker_pids
    again = run_judge(items(40), "score", model=b, store=tmp_path / "ray.sqlite", executor=ex)
    assert again.stats.n_cached == 40 and again.stats.model_calls == 0


def test_killing_a_worker_mid_run_loses_nothing(ray_cluster, slow_server, tmp_path):
    n = 160
    b = OpenAIBackend("m", slow_server.url, concurrency=4)
    ex = RayExecutor(workers=2, batch_size=8)  # each batch takes ~0.2 s: workers stay busy
    killed: list[int] = []

    def killer() -> None:
        deadline = time.monotonic() + 60
        # wait until both workers are known and the server has answered two batches' worth of calls,
        # so that the killed worker is in the middle of a batch (a worker killed while idle between
        # batches has nothing to retry); 160 items in batches of 8 keep both busy for ~2 s after that
        while (len(ex.worker_pids) < 2 or slow_server.requests < 16) and time.monotonic() < deadline:
            time.sleep(0.01)
        pid = sorted(ex.worker_pids)[0]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    t = threading.Thread(target=killer)
    t.start()
    res = run_judge(items(n, "k"), "score", model=b, store=tmp_path / "s.sqlite", executor=ex)
    t.join()
    assert killed, "the test did not kill a worker"
    with pytest.raises(ProcessLookupError):
        os.kill(killed[0], 0)
    assert res.stats.n_done == n and res.stats.n_failed == 0
    r = rows(tmp_path / "s.sqlite")
    assert len(r) == n == len({k for k, _ in r})
    assert slow_server.requests > n, "the killed worker's batch was not retried (no call was made again)"
    assert len(ex.worker_pids - set(killed)) >= 2, "a restarted worker finished the work"


def test_backend_that_cannot_travel_is_a_clear_error(ray_cluster, tmp_path):
    from jurybox.backends.scripted import ScriptedBackend

    b = ScriptedBackend(options=lambda text, opts: {o: 1.0 for o in opts})
    with pytest.raises(JuryboxError, match="cannot be sent to Ray workers"):
        run_judge(items(2), "score", model=b, store=tmp_path / "s.sqlite", executor=RayExecutor(workers=1))
