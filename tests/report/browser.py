"""Headless Chromium for the report and review page tests: Debian's chromium and chromium-driver
(installed by `make browser`, which `make test` runs), driven by selenium pointed at those two
files, so nothing downloads a browser or a driver at run time."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def start_browser(tmp_path: Path, missing: Any) -> Any:
    """A headless Chromium with its console and network (CDP performance) logs kept."""
    for exe in (CHROMIUM, CHROMEDRIVER):
        if not os.access(exe, os.X_OK):
            missing(f"{exe} not found: install Debian's chromium and chromium-driver (make browser)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing("selenium is not installed (pip install -e '.[dev]')")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager may not fetch anything, even if asked
    opts = Options()
    opts.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-default-apps", "--disable-extensions", "--window-size=1400,1000",
                f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=opts)
    driver.set_page_load_timeout(30)
    return driver


def console_errors(driver: Any) -> list[dict[str, Any]]:
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def requested_urls(driver: Any) -> list[str]:
    """Every URL the page asked for since the last call (CDP Network.requestWillBeSent)."""
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def wait_for(driver: Any, script: str, timeout: float = 10.0) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script))


#: XSS payloads for the item text: each sets window.__xss if it ever runs.
XSS = [
    "<script>window.__xss = 1</script>",
    "</script><script>window.__xss = 2</script>",
    "\"><img src=x onerror=\"window.__xss = 3\">",
    "<a href=\"javascript:window.__xss = 4\">click</a> javascript:window.__xss=4",
    "<svg onload=\"window.__xss = 5\"></svg>",
    "<!-- </script> -->\u2028\u2029<iframe srcdoc=\"<script>parent.__xss = 6</script>\"></iframe>",
]
