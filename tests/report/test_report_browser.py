"""The report in headless Chromium, opened from file://: no console error, no request, the figures
of the data in the DOM, filtering and the detail panel, and no payload from the data ever runs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

try:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
except ImportError:  # the driver fixture reports it (skip, or fail under CI)
    By = Select = None

from jurybox.items import write_table
from jurybox.report import build_report, write_report
from jurybox.stats import agreement_report, confusion_matrix

from .conftest import browser


def _open(driver, path):
    driver.get("about:blank")
    driver.get_log("performance")  # drop what the browser did before the report
    driver.get_log("browser")
    url = path.resolve().as_uri()
    driver.get(url)
    browser.wait_for(driver, "return document.body.getAttribute('data-ready') === '1'")
    return url


#: both forms of the page's data: plain JSON, and gzip-compressed (what a large report uses)
FORMS = pytest.mark.parametrize("compress", ["never", "always"])


def _report(tmp_path, judged, *, unparsed_rows=(3, 4), compress="auto"):
    verdicts, store, res = judged
    df = pd.read_json(verdicts, lines=True)
    for r in unparsed_rows:  # the scripted judge always answers: mark two answers unreadable, as a model's can be
        df.loc[r, ["verdict", "verdict_status", "verdict_raw"]] = [None, "unparsed", "I cannot decide"]
    path = tmp_path / "pairs.verdicts.jsonl"
    write_table(df, path)
    data = build_report(path, human="human", store=store, spec="pairwise")
    out = tmp_path / "report.html"
    write_report(data, out, compress=compress)
    assert ('data-encoding="gzip-base64" id="jb-data"' in out.read_text(encoding="utf-8")) == (compress == "always")
    return out, data, df, res


def _stat_text(driver, name):
    return driver.find_element(By.CSS_SELECTOR, f"#agreement-table tr[data-stat='{name}'] td.est").text


@FORMS
def test_report_opens_offline_and_shows_the_data(driver, tmp_path, judged, compress):
    out, data, df, res = _report(tmp_path, judged, compress=compress)
    url = _open(driver, out)
    assert browser.console_errors(driver) == []
    urls = browser.requested_urls(driver)
    assert urls == [url], urls  # the file itself and nothing else
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0

    # the run: 40 items, 2 unparsed, shown prominently; the store's run with its model calls
    card = driver.find_element(By.CSS_SELECTOR, ".card.unparsed")
    assert card.get_attribute("data-unparsed") == "2" and "5.0%" in card.text and "2 of 40" in card.text
    assert data["run"]["model_calls"] == 80  # 40 items x 2 orders, from the store's run record
    assert "model calls" in driver.find_element(By.ID, "run").text

    # agreement figures equal an independent computation from the table (unparsed left out)
    h = df["human"].astype(object).to_numpy()
    j = df["verdict"].where(df["verdict_status"] == "ok").astype(object).to_numpy()
    j = np.array([None if (isinstance(v, float) and math.isnan(v)) else v for v in j], dtype=object)
    rep = agreement_report(h, j)
    assert rep.n_used == 38
    for name, iv in rep.statistics.items():
        assert _stat_text(driver, name) == f"{iv.estimate:.3f}", name
    circles = driver.find_elements(By.CSS_SELECTOR, "#forest circle.est")
    lines = driver.find_elements(By.CSS_SELECTOR, "#forest line.ci")
    assert len(circles) == len(rep.statistics) == len(lines)
    kappa = next(c for c in circles if c.get_attribute("data-stat") == "cohen_kappa")
    assert abs(float(kappa.get_attribute("data-estimate")) - rep.statistics["cohen_kappa"].estimate) < 1e-9

    # confusion heatmap: one cell per (human, judge) pair, counts as computed here
    keep = np.array([v is not None for v in j])
    cm = confusion_matrix(h[keep], j[keep])
    cells = driver.find_elements(By.CSS_SELECTOR, "#confusion rect.cell")
    assert len(cells) == len(cm.labels) ** 2
    got = {(int(c.get_attribute("data-row")), int(c.get_attribute("data-col"))): int(c.get_attribute("data-count"))
           for c in cells}
    assert got == {(a, b): int(cm.matrix[a, b]) for a in range(len(cm.labels)) for b in range(len(cm.labels))}

    # reliability diagram: a bar per non-empty bin, ECE shown
    bars = driver.find_elements(By.CSS_SELECTOR, "#reliability rect.bar")
    assert len(bars) == sum(1 for c in data["calibration"]["count"] if c) > 0
    assert sum(int(b.get_attribute("data-count")) for b in bars) == 38
    assert driver.find_element(By.ID, "ece").text.startswith(f"ECE {data['calibration']['ece']['estimate']:.3f}")

    # the item table: all 40 rows, then filters
    assert driver.find_element(By.ID, "shown").get_attribute("data-matching") == "40"
    assert len(driver.find_elements(By.CSS_SELECTOR, "#items-table tbody tr")) == 40
    n_dis = int(sum(1 for a, b in zip(h, j) if b is not None and a != b))
    Select(driver.find_element(By.ID, "f-dis")).select_by_value("yes")
    assert driver.find_element(By.ID, "shown").get_attribute("data-matching") == str(n_dis)
    assert len(driver.find_elements(By.CSS_SELECTOR, "#items-table tbody tr")) == n_dis
    Select(driver.find_element(By.ID, "f-dis")).select_by_value("")
    Select(driver.find_element(By.ID, "f-status")).select_by_value("unparsed")
    rows = driver.find_elements(By.CSS_SELECTOR, "#items-table tbody tr")
    assert sorted(int(r.get_attribute("data-i")) for r in rows) == [3, 4]
    Select(driver.find_element(By.ID, "f-status")).select_by_value("")
    driver.find_element(By.ID, "q").send_keys("question 17:")
    rows = driver.find_elements(By.CSS_SELECTOR, "#items-table tbody tr")
    assert [int(r.get_attribute("data-i")) for r in rows] == [17]

    # the detail panel: both orders with their prompts and probabilities, from the store
    rows[0].click()
    detail = driver.find_element(By.ID, "detail")
    assert detail.get_attribute("data-i") == "17"
    orders = detail.find_elements(By.CSS_SELECTOR, ".order")
    assert sorted(o.get_attribute("data-variant") for o in orders) == sorted(res.variants[17])
    prompts = [o.find_element(By.CSS_SELECTOR, "pre.prompt").text for o in orders]
    assert all("Question 17: which answer is better?" in p for p in prompts)
    for o in orders:
        v = res.variants[17][o.get_attribute("data-variant")]
        shown = {b.get_attribute("data-option"): float(b.find_element(By.CSS_SELECTOR, ".b").get_attribute("data-p"))
                 for b in o.find_elements(By.CSS_SELECTOR, ".pbar")}
        assert shown == {k: float(p) for k, p in v.probs.items()}
    shot = tmp_path / "report.png"
    driver.find_element(By.ID, "q").clear()
    driver.execute_script("window.scrollTo(0, 0)")
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    driver.execute_script("window.jbShowDetail(17); document.getElementById('items').scrollIntoView()")
    assert driver.save_screenshot(str(tmp_path / "report-items.png"))
    assert browser.console_errors(driver) == []


@FORMS
def test_report_never_runs_payloads_from_the_data(driver, tmp_path, judged, compress):
    out, data, df, res = _report(tmp_path, judged, unparsed_rows=(), compress=compress)
    html = out.read_text(encoding="utf-8")
    data_part = html.split('id="jb-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data_part and ">" not in data_part  # escaped once: nothing in the data can end the tag
    assert html.count("<script") == 2  # the data element and the page's own script
    url = _open(driver, out)
    for i in range(12):  # every payload item's detail, with its prompts
        driver.execute_script("window.jbShowDetail(arguments[0])", i)
    for p in browser.XSS[:3]:
        box = driver.find_element(By.ID, "q")
        box.clear()
        box.send_keys(p)
    driver.find_element(By.ID, "q").clear()
    driver.execute_script("window.jbShowDetail(0)")
    assert driver.execute_script("return window.__xss") is None
    assert driver.execute_script("return document.querySelectorAll('img, iframe, a, svg script').length") == 0
    # the payload is there, as text
    fields = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#detail pre.field")]
    assert any("<script>window.__xss = 1</script>" in t for t in fields)
    assert browser.requested_urls(driver) == [url]  # nothing fetched by a payload either
    assert driver.execute_script("return window.__xss") is None


def test_report_shows_the_human_review(driver, tmp_path, judged):
    from jurybox.review.decisions import verdicts_review_set
    from jurybox.stats.table import agreement_table
    from jurybox.store import Store

    verdicts, store, res = judged
    rs = verdicts_review_set(agreement_table(pd.read_json(verdicts, lines=True), "human"), source="x")
    with Store(store) as st:
        for it in rs.items[:3]:
            st.add_review(rs.id, it["key"], "dana", "relabel", it["judge"])
    out = tmp_path / "r.html"
    write_report(build_report(verdicts, human="human", store=store, spec="pairwise"), out)
    _open(driver, out)
    assert browser.console_errors(driver) == []
    p = driver.find_element(By.CSS_SELECTOR, "#reviews p[data-decided]")
    assert p.get_attribute("data-decided") == "3" and "3 relabelled" in p.text and "dana" in p.text
    # relabelled to the judge's label each time: the reviewer agrees with the judge on all three
    assert "agreement 1.000" in driver.find_element(By.ID, "reviews").text


def test_a_compressed_report_without_decompressionstream_says_so(driver, tmp_path, judged):
    """A browser without DecompressionStream (removed before the page runs) shows a message naming
    the problem and the way out, not a blank page; the plain form still draws there."""
    compressed, _, _, _ = _report(tmp_path, judged, compress="always")
    plain = tmp_path / "plain.html"
    write_report(build_report(judged[0], human="human"), plain, compress="never")
    handle = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                    {"source": "delete window.DecompressionStream;"})
    try:
        driver.get("about:blank")
        driver.get_log("browser")
        driver.get(compressed.resolve().as_uri())
        browser.wait_for(driver, "return document.body.getAttribute('data-error') === '1'")
        assert driver.execute_script("return typeof DecompressionStream") == "undefined"
        msg = driver.find_element(By.ID, "load-error").text
        assert "DecompressionStream" in msg and "--compress never" in msg
        assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready") is None
        assert browser.console_errors(driver) == []
        _open(driver, plain)  # the plain JSON form needs nothing more
        assert driver.find_element(By.ID, "shown").get_attribute("data-matching") == "40"
        assert browser.console_errors(driver) == []
    finally:
        driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": handle["identifier"]})
    _open(driver, compressed)  # and the compressed form draws once the browser has it again
    assert driver.find_element(By.ID, "shown").get_attribute("data-matching") == "40"


def test_long_item_text_never_runs_under_the_detail_panel(driver, tmp_path, judged):
    """Rows of long text make the item table wider than its column: it scrolls inside it."""
    verdicts, store, res = judged
    df = pd.read_json(verdicts, lines=True)
    for col in ("instruction", "response_a", "response_b"):
        df[col] = [f"{col} {i} " + "a long line of judged text " * 30 for i in range(len(df))]
    path = tmp_path / "long.verdicts.jsonl"
    write_table(df, path)
    out = tmp_path / "long.html"
    write_report(build_report(path, human="human"), out, compress="always")
    _open(driver, out)
    driver.execute_script("window.jbShowDetail(0); document.getElementById('items').scrollIntoView()")
    left = driver.execute_script("return document.querySelector('#items .layout > div').getBoundingClientRect().right")
    table_right = driver.execute_script("return document.getElementById('items-table').getBoundingClientRect().right")
    detail = driver.execute_script("var r = document.getElementById('detail').getBoundingClientRect();"
                                   "return [r.left, r.top, r.right];")
    assert table_right > detail[0]  # the table is wider than its column...
    assert left <= detail[0]  # ...and its column ends before the panel, which the table does not cover
    # at a table row's height, inside the panel: no table cell there (clipped by its scrolling column)
    under = driver.execute_script(
        "var r = document.querySelector('#items-table tbody tr').getBoundingClientRect();"
        "return document.elementsFromPoint(arguments[0] + 20, r.top + r.height / 2)"
        ".filter(function (e) { return !!e.closest('#items-table'); }).length;", detail[0])
    assert under == 0
    assert browser.console_errors(driver) == []
