"""Report generation time and file size for 1,000 and 10,000 verdicts (jurybox report).

For each size N: a pairwise dataset of N items (instruction ~60-400 characters, each response
~100-1,500, about the lengths of LLMBar), judged by a scripted backend (no model: the answers are
text-dependent probabilities) into a fresh store, so every item has two stored orders with their
rendered prompts. Then, timed separately (median of --repeats):

* ``table``: the report from the verdict table alone (--human; no store);
* ``store``: the report with the store and --protocol pairwise: each item's prompts and per-order
  verdicts, looked up by rendering the requests again (no model loaded).

Printed per case: generation seconds, file size (MB), its gzip size (for sending it: the page itself
is not compressed), bytes per item, and the share of the file that is the items' own text (the
synthetic words compress far better than real text, so the gzip column flatters). With Chromium installed (make browser) it also opens each file from
disk headless and prints the time until the page has drawn (median of 3 loads).
Run: ``python bench/report_size.py [--sizes 1000,10000] [--repeats 3] [--no-browser]``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from jurybox.api import run_judge
from jurybox.backends.scripted import ScriptedBackend
from jurybox.items import write_table
from jurybox.report import build_report, write_report

WORDS = ("the model answer question because response detail correct helpful explain example code data value "
         "result first second instruction output better worse follows clearly list step number").split()


def _text(rng: np.random.Generator, lo: int, hi: int) -> str:
    n = int(rng.integers(lo, hi))
    words = rng.choice(WORDS, size=n // 6 + 1)
    return " ".join(words)[:n]


def _options(text: str, opts: tuple[str, ...]) -> dict[str, float]:
    h = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return {opts[0]: 0.1 + 0.8 * h, opts[1]: 0.9 - 0.8 * h}


#: (instruction, response) character ranges: LLMBar-like lengths, and short items (a sentence each)
PROFILES = {"long": ((60, 400), (100, 1500)), "short": ((20, 120), (20, 200))}


def make(n: int, folder: Path, profile: str) -> tuple[Path, Path, int]:
    rng = np.random.default_rng(n)
    (ilo, ihi), (rlo, rhi) = PROFILES[profile]
    rows = [{"id": i, "instruction": _text(rng, ilo, ihi), "response_a": _text(rng, rlo, rhi),
             "response_b": _text(rng, rlo, rhi), "human": "A" if rng.random() < 0.5 else "B"} for i in range(n)]
    text_bytes = sum(len(json.dumps([r["instruction"], r["response_a"], r["response_b"]])) for r in rows)
    data = folder / f"pairs{n}-{profile}.jsonl"
    write_table(pd.DataFrame(rows), data)
    store = folder / f"store{n}-{profile}.sqlite"
    res = run_judge(data, "pairwise", model=ScriptedBackend(_options, identity="bench"), store=store, human="human")
    verdicts = folder / f"pairs{n}-{profile}.verdicts.jsonl"
    write_table(res.table, verdicts)
    return verdicts, store, text_bytes


def page_ready_seconds(path: Path, loads: int = 3) -> float | None:
    import os

    if not (os.access("/usr/bin/chromium", os.X_OK) and os.access("/usr/bin/chromedriver", os.X_OK)):
        return None
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "report"))
    import browser  # tests/report/browser.py

    def fail(reason: str) -> None:
        raise RuntimeError(reason)

    with tempfile.TemporaryDirectory() as prof:
        d = browser.start_browser(Path(prof), fail)
        try:
            times = []
            for _ in range(loads):
                d.get("about:blank")
                t0 = time.perf_counter()
                d.get(path.resolve().as_uri())
                browser.wait_for(d, "return document.body.getAttribute('data-ready') === '1'", timeout=120)
                times.append(time.perf_counter() - t0)
            errors = browser.console_errors(d)
            if errors:
                raise RuntimeError(f"console errors: {errors[:3]}")
            return statistics.median(times)
        finally:
            d.quit()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--profiles", default="long,short", help="item lengths: long (LLMBar-like), short")
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    print(f"{'N':>6} {'text':>6} {'case':>6} {'gen s':>7} {'MB':>7} {'gzip MB':>8} {'B/item':>8} {'text share':>10} "
          f"{'page s':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for profile in args.profiles.split(","):
            for n in (int(x) for x in args.sizes.split(",")):
                t0 = time.perf_counter()
                verdicts, store, text_bytes = make(n, folder, profile)
                setup = time.perf_counter() - t0
                for case in ("table", "store"):
                    out = folder / f"report{n}-{profile}-{case}.html"
                    times, size = [], 0
                    for _ in range(args.repeats):
                        t = time.perf_counter()
                        kw = {"store": store, "spec": "pairwise"} if case == "store" else {}
                        data = build_report(verdicts, human="human", **kw)
                        size = write_report(data, out)
                        times.append(time.perf_counter() - t)
                    page = None if args.no_browser else page_ready_seconds(out)
                    gz = len(gzip.compress(out.read_bytes(), compresslevel=6))
                    print(f"{n:>6} {profile:>6} {case:>6} {statistics.median(times):>7.2f} {size / 1e6:>7.2f} {gz / 1e6:>8.2f} "
                          f"{size / n:>8.0f} {text_bytes / size:>10.0%} {'-' if page is None else f'{page:.2f}':>7}",
                          flush=True)
                print(f"       (setup: judging {n} {profile} items x 2 orders with the scripted backend: {setup:.1f} s; "
                      f"the items' own text is {text_bytes / 1e6:.2f} MB)")

if __name__ == "__main__":
    main()
