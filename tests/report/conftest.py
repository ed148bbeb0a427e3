"""A judged dataset for the report tests: pairwise verdicts from a scripted backend (no model), with
XSS payloads in the judged text, human labels, an unparsed-free run and a store holding every order."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from jurybox.api import run_judge
from jurybox.backends.scripted import ScriptedBackend
from jurybox.items import write_table

HERE = Path(__file__).resolve().parent


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


browser = _load("jurybox_test_browser", HERE / "browser.py")


def _options(text: str, opts: tuple[str, ...]) -> dict[str, float]:
    """Deterministic, text-dependent probabilities: a judge that is right more often than not."""
    h = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    p = 0.15 + 0.8 * h
    return {opts[0]: p, opts[1]: 1 - p}


@pytest.fixture
def judged(tmp_path):
    """(verdicts path, store path, result, human labels) for 40 pairwise items, 6 of them XSS payloads."""
    rows = []
    for i in range(40):
        payload = browser.XSS[i % len(browser.XSS)] if i < 12 else ""
        rows.append({"id": i, "instruction": f"Question {i}: which answer is better? {payload}",
                     "response_a": f"Answer A{i} {payload}", "response_b": f"Answer B{i}",
                     "human": "A" if (i * 7) % 3 else "B"})
    data = tmp_path / "pairs.jsonl"
    write_table(pd.DataFrame(rows), data)
    store = tmp_path / "store.sqlite"
    res = run_judge(data, "pairwise", model=ScriptedBackend(_options, identity="report-test"), store=store,
                    human="human")
    out = tmp_path / "pairs.verdicts.jsonl"
    write_table(res.table, out)
    return out, store, res


#: tests/conftest.py's missing(): skip, or fail under CI
missing = _load("jurybox_tests_root_conftest", HERE.parent / "conftest.py").missing


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    d = browser.start_browser(tmp_path_factory.mktemp("chromium"), missing)
    yield d
    d.quit()
