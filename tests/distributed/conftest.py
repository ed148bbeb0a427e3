"""A local Ray cluster (2 CPUs) shared by the tests of this folder, and the loopback servers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "openai"))

from loopback_servers import LatencyServer  # noqa: E402


@pytest.fixture(scope="session")
def ray_cluster():
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def slow_server():
    server = LatencyServer(latency=0.1).start()
    yield server
    server.stop()
