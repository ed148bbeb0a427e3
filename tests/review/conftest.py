"""The review server run in a thread for tests, a flagged file with XSS payloads, and the browser."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import threading
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from jurybox.items import write_table
from jurybox.review.decisions import errors_review_set
from jurybox.review.server import ReviewServer, serve
from jurybox.store import Store

HERE = Path(__file__).resolve().parent


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


browser = _load("jurybox_test_browser", HERE.parent / "report" / "browser.py")
missing = _load("jurybox_tests_root_conftest", HERE.parent / "conftest.py").missing
LABELS = ["neg", "neu", "pos"]


@pytest.fixture
def flagged(tmp_path):
    """A flagged file (12 rows, payloads in the text) and the dataset it was found in."""
    rows, data = [], []
    for i in range(12):
        given = LABELS[i % 3]
        text = browser.XSS[i % len(browser.XSS)] + f" review text {i}"
        data.append({"text": text, "label": given})
        rows.append({"rank": i + 1, "row": i + 1, "text": text, "label": given, "given_label": given,
                     "suggested_label": LABELS[(i + 1) % 3], "confidence": round(0.95 - 0.05 * i, 2),
                     "flagged_by": "llm", "score": 0.1, "review": None})
    path = tmp_path / "flagged.jsonl"
    write_table(pd.DataFrame(rows), path)
    ds = tmp_path / "data.jsonl"
    write_table(pd.DataFrame(data), ds)
    return path, ds


@contextmanager
def running(review_set, store_path, *, reviewer="alice", n_resamples=200):
    """A review server on a free port of 127.0.0.1, in a thread; yields (server, url)."""
    ready = threading.Event()
    box: dict = {}
    store = Store(store_path)
    server = ReviewServer(review_set, store, reviewer=reviewer, n_resamples=n_resamples)

    def run() -> None:
        loop = asyncio.new_event_loop()
        box["loop"] = loop
        task = loop.create_task(serve(server, "127.0.0.1", 0, ready=lambda url: (box.update(url=url), ready.set())))
        box["task"] = task
        try:
            loop.run_until_complete(task)
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # noqa: BLE001  (kept, raised in the test's thread)
            box["error"] = exc
            ready.set()
        finally:
            loop.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert ready.wait(10), "the review server did not start"
    if "error" in box:
        raise box["error"]
    try:
        yield server, box["url"]
    finally:
        box["loop"].call_soon_threadsafe(box["task"].cancel)
        t.join(10)
        store.close()


def review_set_of(path: Path):
    from jurybox.items import read_table

    return errors_review_set(read_table(path), source=str(path))


def post(url: str, path: str, body: dict | str | None, *, token: str | None, headers: dict | None = None,
         method: str = "POST"):
    """(status, text) of a request to the server."""
    import urllib.error
    import urllib.request

    base = url.split("/?", 1)[0]
    data = None if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
    h = {"Content-Type": "application/json"}
    if token is not None:
        h["X-Jurybox-Token"] = token
    h.update(headers or {})
    req = urllib.request.Request(base + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    d = browser.start_browser(tmp_path_factory.mktemp("chromium"), missing)
    yield d
    d.quit()
