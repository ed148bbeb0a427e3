"""Report generation time and file size for 1,000 and 10,000 verdicts (jurybox report).

For each size N and profile: a pairwise dataset of N items judged by a scripted backend (no model:
the answers are text-dependent probabilities) into a fresh store, so every item has two stored
orders with their rendered prompts. Profiles: ``long``, synthetic words at LLMBar's lengths
(instruction 60-400 characters, each response 100-1,500); ``short``, a sentence each; ``llmbar``,
LLMBar's own text from ../shared/data/llmbar (the 784 items with all three fields not empty,
cycled to N: a repeat comes over 1 MB after its original, far outside gzip's 32 KB window, so it
compresses as fresh real text would). The synthetic words compress far better than real text, so
for them the gzip figures flatter. Then, timed separately (median of --repeats):

* ``table``: the report from the verdict table alone (--human; no store);
* ``store``: the report with the store and --protocol pairwise: each item's prompts and per-order
  verdicts, looked up by rendering the requests again (no model loaded).

Each case is written in both forms of the page's data (``--compress``): ``json``, the data as plain
JSON, and ``gzip``, the same JSON gzip-compressed and base64-encoded, which the page decompresses
with the browser's DecompressionStream (what ``auto`` picks above 2 MB of JSON).

Printed per case and form: generation seconds (building the data, median, plus writing that form,
median), the write alone, file size (MB), the file's own gzip size (for sending it), bytes per
item, and (plain form) the share of the file that is the items' own text. With Chromium installed
(make browser) it also opens each file from disk headless and prints the time from navigation
start until the page has drawn (``data-ready`` set, recorded in the page; median of 3 loads).
Run: ``python bench/report_size.py [--sizes 1000,10000] [--repeats 3] [--no-browser]``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import itertools
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


#: the two forms of the page's data and the --compress value that writes each
FORMS = {"json": "never", "gzip": "always"}

LLMBAR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "llmbar"

#: (instruction, response) character ranges: LLMBar-like lengths, and short items (a sentence each);
#: and "llmbar", LLMBar's own items
PROFILES = {"long": ((60, 400), (100, 1500)), "short": ((20, 120), (20, 200))}


def _llmbar_rows(n: int) -> list[dict]:
    from jurybox.benchdata.llmbar import LLMBAR_SETS, load_llmbar

    real = load_llmbar(LLMBAR, list(LLMBAR_SETS))
    cols = ["instruction", "response_a", "response_b"]
    real = real[real[cols].apply(lambda c: c.astype(str).str.strip() != "").all(axis=1)]  # a judge needs all three
    return [{"id": i, "instruction": r.instruction, "response_a": r.response_a, "response_b": r.response_b,
             "human": r.gold} for i, r in zip(range(n), itertools.cycle(real.itertuples()))]


def make(n: int, folder: Path, profile: str) -> tuple[Path, Path, int]:
    rng = np.random.default_rng(n)
    if profile == "llmbar":
        rows = _llmbar_rows(n)
    else:
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


#: recorded in the page: the time from navigation start until the report sets data-ready
_READY_AT = ("new MutationObserver(function (ms, obs) {"
             " if (document.body && document.body.getAttribute('data-ready') === '1') {"
             " window.__jbReadyAt = performance.now(); obs.disconnect(); } })"
             ".observe(document, {subtree: true, attributes: true, attributeFilter: ['data-ready']});")


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
            d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _READY_AT})
            times = []
            for _ in range(loads):
                d.get("about:blank")
                d.get(path.resolve().as_uri())
                browser.wait_for(d, "return typeof window.__jbReadyAt === 'number'", timeout=120)
                times.append(d.execute_script("return window.__jbReadyAt") / 1000)
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
    ap.add_argument("--profiles", default="long,short,llmbar",
                    help="items: long (LLMBar-like lengths), short, llmbar (LLMBar's own text, cycled)")
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    print(f"{'N':>6} {'text':>6} {'case':>6} {'form':>5} {'gen s':>7} {'write s':>7} {'MB':>7} {'gzip MB':>8} "
          f"{'B/item':>8} {'text share':>10} {'page s':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for profile in args.profiles.split(","):
            for n in (int(x) for x in args.sizes.split(",")):
                t0 = time.perf_counter()
                verdicts, store, text_bytes = make(n, folder, profile)
                setup = time.perf_counter() - t0
                for case in ("table", "store"):
                    builds: list[float] = []
                    writes: dict[str, list[float]] = {"json": [], "gzip": []}
                    sizes: dict[str, int] = {}
                    for _ in range(args.repeats):
                        t = time.perf_counter()
                        kw = {"store": store, "spec": "pairwise"} if case == "store" else {}
                        data = build_report(verdicts, human="human", **kw)
                        builds.append(time.perf_counter() - t)
                        for form, mode in FORMS.items():
                            t = time.perf_counter()
                            sizes[form] = write_report(data, folder / f"report{n}-{profile}-{case}-{form}.html",
                                                       compress=mode)
                            writes[form].append(time.perf_counter() - t)
                    for form in FORMS:
                        out = folder / f"report{n}-{profile}-{case}-{form}.html"
                        page = None if args.no_browser else page_ready_seconds(out)
                        gz = len(gzip.compress(out.read_bytes(), compresslevel=6))
                        size, w = sizes[form], statistics.median(writes[form])
                        share = f"{text_bytes / size:.0%}" if form == "json" else "-"  # the text is inside the gzip
                        print(f"{n:>6} {profile:>6} {case:>6} {form:>5} {statistics.median(builds) + w:>7.2f} {w:>7.2f} "
                              f"{size / 1e6:>7.2f} {gz / 1e6:>8.2f} {size / n:>8.0f} {share:>10} "
                              f"{'-' if page is None else f'{page:.2f}':>7}", flush=True)
                print(f"       (setup: judging {n} {profile} items x 2 orders with the scripted backend: {setup:.1f} s; "
                      f"the items' own text is {text_bytes / 1e6:.2f} MB)")

if __name__ == "__main__":
    main()
