"""Ray start-up that fails or hangs: one retry with a time limit, then one clear error. No cluster is
started: ``ray.init`` is replaced."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from jurybox.api import run_judge
from jurybox.backends.scripted import ScriptedBackend
from jurybox.distributed import RayExecutor
from jurybox.distributed.ray_executor import RayStartError
from jurybox.errors import JuryboxError

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")


class FakeRay:
    """``ray.init`` answers from a script: "ok", "hang" or an exception, one entry per attempt."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, script: list[object]) -> None:
        self.script = list(script)
        self.up = False
        self.inits: list[dict[str, object]] = []
        self.shutdowns = 0
        self.release = threading.Event()
        monkeypatch.setattr(ray, "init", self.init)
        monkeypatch.setattr(ray, "is_initialized", lambda: self.up)
        monkeypatch.setattr(ray, "shutdown", self.shutdown)

    def init(self, **kwargs: object) -> None:
        self.inits.append(kwargs)
        step = self.script.pop(0)
        if step == "hang":
            self.release.wait(30)
            return
        if isinstance(step, BaseException):
            raise step
        self.up = True

    def shutdown(self) -> None:
        self.shutdowns += 1
        self.up = False


def test_a_failed_start_is_retried_once(monkeypatch):
    fake = FakeRay(monkeypatch, [ConnectionError("GCS not ready"), "ok"])
    ex = RayExecutor(workers=3, init_timeout=5)
    assert ex._init() is ray
    assert len(fake.inits) == 2 and fake.shutdowns == 1 and ex._started
    assert fake.inits[1]["num_cpus"] == 3 and "address" not in fake.inits[1]


def test_a_hanging_start_is_retried_then_a_clear_one_line_error(monkeypatch):
    fake = FakeRay(monkeypatch, ["hang", "hang"])
    ex = RayExecutor(init_timeout=0.2)
    t0 = time.monotonic()
    try:
        with pytest.raises(RayStartError) as info:
            ex._init()
    finally:
        fake.release.set()
    assert time.monotonic() - t0 < 5
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("could not start a local Ray cluster (tried twice, 0.2 s each; "
                          "last: ray.init gave no answer within 0.2 s)")
    assert "--executor local" in msg and "init_timeout" in msg
    assert len(fake.inits) == 2 and fake.shutdowns == 2 and not ex._started


def test_an_unreachable_cluster_names_its_address_through_run_judge(monkeypatch, tmp_path):
    fake = FakeRay(monkeypatch, [ConnectionError("no GCS\nat 10.0.0.9:6379"), RuntimeError("still no GCS")])
    ex = RayExecutor("10.0.0.9:6379", init_timeout=2)
    df = pd.DataFrame({"response": ["a", "b"]})
    with pytest.raises(JuryboxError, match=r"could not connect to the Ray cluster at 10\.0\.0\.9:6379 .*"
                                           r"last: RuntimeError: still no GCS\); check that the cluster is up"):
        run_judge(df, "score", model=ScriptedBackend(), store=tmp_path / "s.sqlite", executor=ex)
    assert [k.get("address") for k in fake.inits] == ["10.0.0.9:6379"] * 2


def test_init_timeout_must_be_positive():
    with pytest.raises(JuryboxError, match="init_timeout"):
        RayExecutor(init_timeout=0)
