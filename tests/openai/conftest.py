"""Fixtures: a real llama.cpp server (llama-cpp-python[server]) with gemma-3-270m on loopback,
and the tests' fault-injecting proxy in front of it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from loopback_servers import FaultProxy, LatencyServer, start_llama_server  # noqa: E402


@pytest.fixture(scope="session")
def llama_server():
    proc, url = start_llama_server()
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except Exception:
            proc.kill()


@pytest.fixture(scope="session")
def _proxy_session(llama_server):
    proxy = FaultProxy(llama_server).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def proxy(_proxy_session):
    _proxy_session.reset()
    yield _proxy_session
    _proxy_session.reset()


@pytest.fixture
def latency_server():
    server = LatencyServer(latency=0.02).start()
    yield server
    server.stop()
