"""The report's data and file without a browser: escaping, secrets, sections present only with their
data, audit and jury sections against direct computations, and the command line."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from jurybox.audit.dataset import audit_dataset
from jurybox.backends.scripted import ScriptedBackend
from jurybox.items import write_table
from jurybox.report import build_report, json_for_script, write_report
from jurybox.stats import cohen_kappa

from .conftest import _options, browser


def _data_text(html: str) -> str:
    """The JSON text in #jb-data, decompressed when the page stores it gzip-compressed."""
    tag, rest = html.split('id="jb-data">', 1)
    part = rest.split("</script>", 1)[0]
    if 'data-encoding="gzip-base64"' in tag.rsplit("<script", 1)[1]:
        assert re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", part)  # base64 only: nothing that can end the element
        return gzip.decompress(base64.b64decode(part, validate=True)).decode("utf-8")
    return part


def _data_json(html: str) -> dict:
    return json.loads(_data_text(html))


def _data_form(html: str) -> str:
    return "gzip" if 'type="application/octet-stream" data-encoding="gzip-base64" id="jb-data"' in html else "json"


@pytest.mark.parametrize("value", browser.XSS + ["a & b", "\u2028\u2029", "<!--", "]]>", "\\u003c"])
def test_json_for_script_escapes_once_and_round_trips(value):
    text = json_for_script({"v": value, "k": [value]})
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(text) == {"v": value, "k": [value]}


def test_large_data_is_stored_compressed_and_decodes_to_the_same_json(tmp_path, judged):
    from jurybox.report.html import COMPRESS_OVER

    verdicts, store, res = judged
    data = build_report(verdicts, human="human")
    small = tmp_path / "small.html"
    write_report(data, small)  # auto: a 40-item report stays plain JSON
    assert _data_form(small.read_text(encoding="utf-8")) == "json"
    # ~2.4 MB of varied text with every payload in it: over the threshold, so auto compresses
    rng = np.random.default_rng(0)
    big = dict(data, filler=[browser.XSS[i % len(browser.XSS)] + rng.bytes(300).hex() for i in range(4000)])
    plain_json = json_for_script(big)
    assert len(plain_json.encode()) > COMPRESS_OVER
    sizes = {}
    for mode in ("auto", "always", "never"):
        out = tmp_path / f"{mode}.html"
        sizes[mode] = write_report(big, out, compress=mode)
        html = out.read_text(encoding="utf-8")
        assert _data_form(html) == ("json" if mode == "never" else "gzip"), mode
        assert _data_text(html) == plain_json  # the same escaped JSON, byte for byte, in either form
        assert html.count("<script") == 2  # the data element and the page's script: no payload made a third
        csp = re.search(r'Content-Security-Policy" content="([^"]*)"', html).group(1)
        assert "default-src 'none'" in csp and "connect-src 'none'" in csp and "blob:" not in csp
    assert sizes["auto"] == sizes["always"] < 0.7 * sizes["never"]
    # the same page is written twice the same (gzip without a time stamp)
    write_report(big, tmp_path / "again.html", compress="always")
    assert (tmp_path / "again.html").read_bytes() == (tmp_path / "always.html").read_bytes()
    always_small = tmp_path / "always-small.html"
    write_report(data, always_small, compress="always")
    assert _data_form(always_small.read_text(encoding="utf-8")) == "gzip"
    assert _data_json(always_small.read_text(encoding="utf-8")) == _data_json(small.read_text(encoding="utf-8"))
    with pytest.raises(ValueError, match="compress must be one of"):
        write_report(data, tmp_path / "bad.html", compress="zip")
    assert not (tmp_path / "bad.html").exists()


def test_no_secret_from_the_environment_reaches_the_report(tmp_path, monkeypatch):
    secret = "sk-test-0123456789abcdefSECRET"
    monkeypatch.setenv("JUDGE_SERVICE_API_KEY", secret)
    rows = [{"instruction": f"q{i}", "response_a": "a", "response_b": "b", "human": "A"} for i in range(6)]
    data = tmp_path / "d.jsonl"
    write_table(pd.DataFrame(rows), data)
    store = tmp_path / "s.sqlite"
    from jurybox.api import run_judge

    def fail(text: str):  # a server that echoes the key back in its error
        return f"401 unauthorized for key {secret}" if "q1" in text else None

    res = run_judge(data, "pairwise", model=ScriptedBackend(_options, fail=fail, identity=f"srv-{secret}"),
                    store=store, human="human")
    table = res.table.copy()
    table["verdict_error"] = table["verdict_error"].astype(object)
    table.loc[2, "verdict_error"] = f"Authorization: Bearer {secret}"
    v = tmp_path / "v.jsonl"
    write_table(table, v)
    out = tmp_path / "r.html"
    write_report(build_report(v, human="human", store=store, spec="pairwise"), out)
    html = out.read_text(encoding="utf-8")
    assert secret not in html
    d = _data_json(html)
    assert d["run"]["failures"] and all(secret not in f["error"] for f in d["run"]["failures"])
    assert d["run"]["failed"] >= 1 and "***" in json.dumps(d["run"])


def test_sections_follow_the_data(tmp_path, judged):
    verdicts, store, res = judged
    bare = build_report(verdicts)  # no human labels, no store
    for k in ("agreement", "confusion", "calibration", "disagreements", "audit", "jury", "errors"):
        assert k not in bare
    assert bare["items"]["orders"] is None and "tasks" not in bare["run"]
    full = build_report(verdicts, human="human", store=store, spec="pairwise")
    assert {"agreement", "confusion", "calibration", "disagreements"} <= set(full)
    assert full["details_found"] == 40 and full["run"]["model_calls"] == 80
    # disagreements: the most confident first, and each is a real disagreement
    conf = [d["confidence"] for d in full["disagreements"]]
    assert conf == sorted(conf, reverse=True)
    assert all(d["human"] != d["judge"] for d in full["disagreements"])


def test_audit_and_jury_sections(tmp_path, judged):
    verdicts, store, res = judged
    rows = [{"instruction": f"q{i}", "response_a": "short" * (1 + i % 3), "response_b": "longer answer" * (1 + i % 4),
             "human": "A" if i % 2 else "B"} for i in range(30)]
    data = tmp_path / "a.jsonl"
    write_table(pd.DataFrame(rows), data)
    rep = audit_dataset(data, "pairwise", probes=("position", "length"), model=ScriptedBackend(_options),
                        human="human", store=tmp_path / "a.sqlite", n_resamples=200)
    audit_json = tmp_path / "audit.json"
    audit_json.write_text(json.dumps(rep.to_dict(), default=str))
    # a jury table: three judges' columns
    rng = np.random.default_rng(0)
    truth = rng.choice(["A", "B"], 600)  # at 60 items Dawid-Skene did not recover the order of the accuracies
    judges = {name: np.where(rng.random(600) < acc, truth, np.where(truth == "A", "B", "A"))
              for name, acc in (("j1", 0.9), ("j2", 0.75), ("j3", 0.6))}
    jt = pd.DataFrame({"instruction": [f"q{i}" for i in range(600)], "human": truth,
                       **{f"verdict[{k}]": v for k, v in judges.items()}, "jury_verdict": truth,
                       "jury_confidence": np.linspace(0.5, 1.0, 600)})
    jpath = tmp_path / "jury.jsonl"
    write_table(jt, jpath)
    d = build_report(jpath, human="human", audit=audit_json)
    rows_by = {(r["probe"], r["statistic"]): r for r in d["audit"]["rows"]}
    expected = [(row.probe, row.statistic, row.estimate) for row in rep.rows()]
    assert expected and all(rows_by[(p, s)]["estimate"] == pytest.approx(e, nan_ok=True) for p, s, e in expected)
    j = d["jury"]
    assert j["judges"] == ["j1", "j2", "j3"]
    assert j["kappa"][0][1] == pytest.approx(cohen_kappa(judges["j1"], judges["j2"]))
    assert len(j["dawid_skene_accuracy"]) == 3 and j["dawid_skene_accuracy"][0] > j["dawid_skene_accuracy"][2]
    assert d["calibration"]["n"] == 600  # the jury's confidence column is its confidence
    # the jury's verdict is the one compared with the human labels
    assert d["agreement"]["statistics"]["accuracy"]["estimate"] == 1.0 and d["items"]["verdict"][:3] == list(truth[:3])


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "jurybox.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def test_the_command_line(tmp_path, judged):
    verdicts, store, res = judged
    out = tmp_path / "r.html"
    p = _cli("report", verdicts, "--human", "human", "--store", store, "--protocol", "pairwise", "--out", out, "--json")
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["items"] == 40 and s["details_found"] == 40 and s["bytes"] == out.stat().st_size
    assert {"run", "agreement", "confusion", "calibration", "disagreements"} <= set(s["sections"])
    assert _data_form(out.read_text(encoding="utf-8")) == "json"  # auto: small data stays plain
    p = _cli("report", verdicts, "--human", "human", "--out", tmp_path / "c.html", "--compress", "always")
    assert p.returncode == 0, p.stderr
    assert _data_form((tmp_path / "c.html").read_text(encoding="utf-8")) == "gzip"
    # a stored run alone
    run_id = _data_json(out.read_text(encoding="utf-8"))["run"]["runs"][0]["run_id"]
    p = _cli("report", "--store", store, "--run", run_id, "--out", tmp_path / "run.html", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["items"] == 80  # one row per task: 40 items x 2 orders
    # bad input: one line, exit 2
    for args in (["report", "--out", tmp_path / "x.html"], ["report", "--store", store, "--run", "nope"],
                 ["report", verdicts, "--human", "no_such_column"], ["report", verdicts, "--out", verdicts],
                 ["report", verdicts, "--out", tmp_path / "x.html", "--compress", "zip"]):
        p = _cli(*args)
        assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, (args, p.stderr)
    assert not (tmp_path / "x.html").exists()


def test_one_judge_per_report_when_the_store_has_several(tmp_path, judged):
    from jurybox.api import run_judge

    verdicts, store, first = judged
    data = tmp_path / "pairs.jsonl"  # the judged fixture's dataset, asked again of another "model"
    second = run_judge(data, "pairwise", model=ScriptedBackend(lambda t, o: {o[0]: 0.7, o[1]: 0.3}, identity="other"),
                       store=store, human="human")
    names = {"pairwise:default@scripted:report-test", "pairwise:default@scripted:other"}
    d = build_report(verdicts, human="human", store=store, spec="pairwise")
    assert d["details_judge"]["judge"] == "pairwise:default@scripted:other"  # both cover every prompt: the last asked
    assert set([d["details_judge"]["judge"], *d["details_judge"]["other_judges"]]) == names
    assert d["items"]["orders"][5]["AB"][2] == pytest.approx(second.variants[5]["AB"].probs)
    d = build_report(verdicts, human="human", store=store, spec="pairwise", judge="pairwise:default@scripted:report-test")
    assert d["items"]["orders"][5]["AB"][2] == pytest.approx(first.variants[5]["AB"].probs)
    assert d["run"]["runs"][0]["run_id"] == first.stats.run_id
    from jurybox.errors import JuryboxError

    with pytest.raises(JuryboxError, match="judges found"):
        build_report(verdicts, human="human", store=store, spec="pairwise", judge="nobody")


def test_scores_at_the_ordinal_level(tmp_path):
    from jurybox.api import run_judge

    rng = np.random.default_rng(3)
    rows = [{"instruction": f"q{i}", "response": f"answer {i}", "human": int(rng.integers(1, 6))} for i in range(50)]
    data = tmp_path / "scores.jsonl"
    write_table(pd.DataFrame(rows), data)

    def opts(text, options):  # peaked on a text-dependent score
        k = int(hashlib.sha256(text.encode()).hexdigest()[:2], 16) % len(options)
        return {o: (0.6 if i == k else 0.4 / (len(options) - 1)) for i, o in enumerate(options)}

    res = run_judge(data, "score", model=ScriptedBackend(opts), store=tmp_path / "s.sqlite", human="human")
    v = tmp_path / "scores.verdicts.jsonl"
    write_table(res.table, v)
    d = build_report(v, human="human", level="ordinal", store=tmp_path / "s.sqlite", spec="score")
    assert {"cohen_kappa_quadratic", "spearman", "kendall_tau_b"} <= set(d["agreement"]["statistics"])
    labels = d["confusion"]["labels"]
    assert labels == sorted(labels, key=float) and set(labels) <= {"1", "2", "3", "4", "5"}
    assert sum(map(sum, d["confusion"]["matrix"])) == d["agreement"]["n_used"] == 50
    assert d["calibration"]["n"] == 50 and all(c == pytest.approx(0.6) for c in d["items"]["confidence"])
    assert d["details_found"] == 50


def test_review_decisions_appear_in_the_report(tmp_path, judged):
    from jurybox.review.decisions import current_decisions, reviewer_agreement, verdicts_review_set
    from jurybox.stats.table import agreement_table
    from jurybox.store import Store

    verdicts, store, res = judged
    assert "reviews" not in build_report(verdicts, human="human", store=store)
    rs = verdicts_review_set(agreement_table(pd.read_json(verdicts, lines=True), "human"), source="x")
    with Store(store) as st:
        for it in rs.items[:5]:
            st.add_review(rs.id, it["key"], "dana", "keep")
        st.add_review(rs.id, rs.items[0]["key"], "dana", "", undo=True)
        st.add_review(rs.id, rs.items[1]["key"], "eve", "relabel", it["judge"])
        rows = st.reviews(rs.id)
    d = build_report(verdicts, human="human", store=store)
    (r,) = d["reviews"]
    assert r["decided"] == 4 and r["counts"] == {"keep": 3, "relabel": 1, "drop": 0}
    assert r["rows"] == 7 and r["undos"] == 1 and r["reviewers"] == ["dana", "eve"]
    assert r["agreement"] == reviewer_agreement(rs, current_decisions(rows))


def test_a_missing_browser_is_reported_not_hidden(tmp_path, monkeypatch):
    from pathlib import Path

    class Missing(Exception):
        pass

    def missing(reason):
        raise Missing(reason)

    monkeypatch.setattr(browser, "CHROMIUM", Path("/nonexistent/chromium"))
    with pytest.raises(Missing, match="make browser"):
        browser.start_browser(tmp_path, missing)


def test_review_of_routed_rows_without_human_labels_appears(tmp_path, judged):
    from jurybox.review.decisions import verdicts_review_set
    from jurybox.store import Store

    verdicts, store, res = judged
    df = pd.read_json(verdicts, lines=True)
    rs = verdicts_review_set(df, source="x", rows=[7, 30])
    with Store(store) as st:
        st.add_review(rs.id, "7", "fay", "keep")
        st.add_review(rs.id, "30", "fay", "relabel", "A")
    (r,) = build_report(verdicts, store=store)["reviews"]
    assert r["decided"] == 2 and r["counts"]["relabel"] == 1 and r["of"] == "verdicts (no human labels)"
    assert r["agreement"]["n"] == 2
