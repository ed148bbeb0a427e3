"""End to end: a real embedded model judges a few items (jurybox judge), jurybox report builds the page
from its store, and the page in Chromium shows every item's prompts and per-order verdicts."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

try:
    from selenium.webdriver.common.by import By
except ImportError:  # the driver fixture reports it (skip, or fail under CI)
    By = None

from jurybox.items import write_table
from jurybox.store import Store

from .conftest import browser

ITEMS = [
    ("What is 2 + 2?", "4", "5", "A"),
    ("Name the capital of France.", "Berlin", "Paris", "B"),
    ("Translate 'gato' from Spanish to English.", "cat", "dog", "A"),
    ("Is water wet? Answer in one word.", "Purple.", "Yes.", "B"),
]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "jurybox.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=600)


@pytest.mark.e2e
def test_report_of_a_real_embedded_model_run(tmp_path, need_gemma, driver):
    data = tmp_path / "pairs.jsonl"
    write_table(pd.DataFrame([{"instruction": q, "response_a": a, "response_b": b, "human": h}
                              for q, a, b, h in ITEMS]), data)
    store = tmp_path / "store.sqlite"
    verdicts = tmp_path / "verdicts.jsonl"
    p = _cli("judge", data, "--protocol", "pairwise", "--model", "gemma-3-270m", "--human", "human",
             "--store", store, "--out", verdicts, "--quiet", "--json")
    assert p.returncode == 0, p.stderr
    judged = json.loads(p.stdout)
    assert judged["model_calls"] == 8 and judged["failed"] == 0  # 4 items x 2 orders, each a real model call
    out = tmp_path / "report.html"
    p = _cli("report", verdicts, "--human", "human", "--store", store, "--protocol", "pairwise", "--out", out, "--json")
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["items"] == 4 and s["details_found"] == 4 and "agreement" in s["sections"]

    driver.get("about:blank")
    driver.get_log("performance")
    driver.get_log("browser")
    url = out.resolve().as_uri()
    driver.get(url)
    browser.wait_for(driver, "return document.body.getAttribute('data-ready') === '1'")
    assert browser.console_errors(driver) == []
    assert browser.requested_urls(driver) == [url]
    card = driver.find_element(By.CSS_SELECTOR, ".card.unparsed")
    assert card.get_attribute("data-unparsed") == str(judged["status"].get("unparsed", 0))
    assert "gemma-3-270m" in driver.find_element(By.ID, "run").text  # the judge's model, from the store
    with Store(store) as st:
        stored = {(json.loads(r["request"])["prompt"]["messages"][-1]["content"], r["variant"]): json.loads(r["verdict"])
                  for r in st.requests()}
    assert len(stored) == 8
    for i, (q, _, _, _) in enumerate(ITEMS):
        driver.execute_script("window.jbShowDetail(arguments[0])", i)
        orders = driver.find_elements(By.CSS_SELECTOR, "#detail .order")
        assert sorted(o.get_attribute("data-variant") for o in orders) == ["AB", "BA"]
        for o in orders:
            prompt = o.find_element(By.CSS_SELECTOR, "pre.prompt").text
            assert q in prompt
            probs = {b.get_attribute("data-option"): float(b.find_element(By.CSS_SELECTOR, ".b").get_attribute("data-p"))
                     for b in o.find_elements(By.CSS_SELECTOR, ".pbar")}
            match = [v for (text, variant), v in stored.items() if variant == o.get_attribute("data-variant") and q in text]
            assert len(match) == 1 and probs == pytest.approx(match[0]["probs"])
    driver.save_screenshot(str(tmp_path / "report-e2e.png"))
