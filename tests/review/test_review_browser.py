"""The review page in headless Chromium: keyboard decisions land in SQLite in order, undo appends,
a restart resumes, two sessions at once lose nothing, and payloads in the items never run."""

from __future__ import annotations

try:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
except ImportError:  # the driver fixture reports it (skip, or fail under CI)
    ActionChains = By = Keys = None

from jurybox.store import Store

from .conftest import LABELS, browser, review_set_of, running


def _open(driver, url):
    driver.get("about:blank")
    driver.get_log("performance")
    driver.get_log("browser")
    driver.get(url)
    browser.wait_for(driver, "return document.body.getAttribute('data-ready') === '1'")


def _press(driver, key, *, expect_rows=None, db=None):
    ActionChains(driver).send_keys(key).perform()
    if expect_rows is not None:
        browser.wait_for(driver, f"return window.jbReviewState().n_rows === {expect_rows}")


def _key(driver):
    return driver.find_element(By.ID, "card").get_attribute("data-key")


def test_keyboard_decisions_undo_and_restart(driver, tmp_path, flagged):
    fl, _ = flagged
    db = tmp_path / "s.sqlite"
    rs = review_set_of(fl)
    with running(rs, db) as (server, url):
        _open(driver, url)
        assert _key(driver) == "1"
        assert driver.find_element(By.ID, "progress").text == "0 of 12 decided"
        _press(driver, "k", expect_rows=1)                 # keep row 1
        _press(driver, "3", expect_rows=2)                 # relabel row 2 to the third label
        _press(driver, "r")                                # a reason for the next decision
        ActionChains(driver).send_keys("ambiguous text").send_keys(Keys.ENTER).perform()
        _press(driver, "d", expect_rows=3)                 # drop row 3, with the reason
        _press(driver, "u", expect_rows=4)                 # undo: appends a row, back on row 3
        assert _key(driver) == "3"
        _press(driver, "n")                                # next without deciding: row 4
        assert _key(driver) == "4"
        _press(driver, "1", expect_rows=5)                 # relabel row 4 to the first label
        assert driver.find_element(By.ID, "progress").get_attribute("data-decided") == "3"
        assert driver.find_element(By.ID, "kappa").get_attribute("data-n") == "3"
        assert "kappa" in driver.find_element(By.ID, "kappa").text
        urls = browser.requested_urls(driver)
        base = url.split("/?", 1)[0]
        assert urls and all(u.startswith(base + "/") for u in urls), urls  # only its own server
        assert browser.console_errors(driver) == []
        driver.save_screenshot(str(tmp_path / "review.png"))
    with Store(db) as st:
        rows = st.reviews(rs.id)
    assert [(r["item"], r["decision"], r["new_label"], r["reason"], r["replaces"]) for r in rows] == [
        ("1", "keep", None, None, None), ("2", "relabel", LABELS[2], None, None),
        ("3", "drop", None, "ambiguous text", None), ("3", "undo", None, None, rows[2]["id"]),
        ("4", "relabel", LABELS[0], None, None)]
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)

    # a restart (new server, new token, same store) shows everything and resumes at the first open item
    with running(rs, db) as (server, url):
        _open(driver, url)
        assert driver.find_element(By.ID, "progress").text == "3 of 12 decided"
        assert _key(driver) == "3"  # row 3's drop was undone: it is open again
        assert "not decided" in driver.find_element(By.ID, "decision").text
        _press(driver, "n")
        assert driver.find_element(By.ID, "decision").text.startswith("relabel \u2192 " + LABELS[0])
    with Store(db) as st:
        assert len(st.reviews(rs.id)) == 5  # reading changed nothing


def test_two_sessions_at_once_lose_nothing(driver, tmp_path, flagged):
    fl, _ = flagged
    db = tmp_path / "s.sqlite"
    rs = review_set_of(fl)
    other = browser.start_browser(tmp_path / "second", browser_missing)
    try:
        with running(rs, db) as (server, url):
            _open(driver, url)
            _open(other, url)
            # both fire 30 decisions at once, on overlapping items
            script = """
              var done = arguments[arguments.length - 1], who = arguments[0], tok = new URLSearchParams(location.search).get('token');
              var calls = [];
              for (var i = 0; i < 30; i++) {
                calls.push(fetch('/api/decide', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-Jurybox-Token': tok},
                  body: JSON.stringify({item: String(1 + (i % 12)), decision: i % 2 ? 'keep' : 'drop', reason: who + i})}).then(function (r) { return r.status; }));
              }
              Promise.all(calls).then(done);"""
            driver.set_script_timeout(60)
            other.set_script_timeout(60)
            import threading

            res: dict = {}
            t = threading.Thread(target=lambda: res.update(b=other.execute_async_script(script, "b")))
            t.start()
            res["a"] = driver.execute_async_script(script, "a")
            t.join(60)
            assert res["a"] == [200] * 30 and res["b"] == [200] * 30
            # a keyboard decision in each window still lands
            _press(driver, "k", expect_rows=61)
            ActionChains(other).send_keys("d").perform()
            browser.wait_for(other, "return window.jbReviewState().n_rows === 62")
        with Store(db) as st:
            rows = st.reviews(rs.id)
        reasons = {r["reason"] for r in rows if r["reason"]}
        assert reasons == {f"{w}{i}" for w in "ab" for i in range(30)}  # all 60 concurrent decisions kept
        assert len(rows) == 62
        # each item's chain is consistent: every decision replaces the one in force just before it
        for item in {r["item"] for r in rows}:
            chain = [r for r in rows if r["item"] == item]
            assert chain[0]["replaces"] is None
            assert all(b["replaces"] == a["id"] for a, b in zip(chain, chain[1:]))
    finally:
        other.quit()


def browser_missing(reason):
    from .conftest import missing

    missing(reason)


def test_review_page_never_runs_payloads(driver, tmp_path, flagged):
    fl, _ = flagged
    rs = review_set_of(fl)
    with running(rs, tmp_path / "s.sqlite") as (server, url):
        _open(driver, url)
        for _ in range(len(rs.items)):
            _press(driver, "n")
        for _ in range(len(rs.items)):
            _press(driver, "p")
        assert driver.execute_script("return window.__xss") is None
        assert driver.execute_script("return document.querySelectorAll('img, iframe, a, svg').length") == 0
        text = driver.find_element(By.CSS_SELECTOR, "#card pre.field").text
        assert "<script>window.__xss = 1</script>" in text  # shown, as text
        _press(driver, "k", expect_rows=1)
        assert driver.execute_script("return window.__xss") is None
        assert browser.console_errors(driver) == []
