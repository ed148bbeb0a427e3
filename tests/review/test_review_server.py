"""The review server without a browser: the token, CSRF and host checks, no file served, decisions
appended with their history, old stores, and `errors apply` reading the decisions."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from jurybox.review.decisions import current_decisions, reviewer_agreement
from jurybox.stats import cohen_kappa
from jurybox.store import Store

from .conftest import LABELS, post, review_set_of, running


def _get(url: str, headers: dict | None = None):
    import urllib.error

    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_requests_without_the_token_are_refused(tmp_path, flagged):
    path, _ = flagged
    db = tmp_path / "s.sqlite"
    with running(review_set_of(path), db) as (server, url):
        base = url.split("/?", 1)[0]
        assert url.startswith("http://127.0.0.1:")
        assert _get(url)[0] == 200
        assert _get(base + "/")[0] == 403
        assert _get(base + "/?token=wrong")[0] == 403
        assert _get(base + "/api/state")[0] == 403
        assert _get(base + "/api/state", {"X-Jurybox-Token": server.token})[0] == 200
        body = {"item": "1", "decision": "keep"}
        assert post(url, "/api/decide", body, token=None)[0] == 403
        assert post(url, "/api/decide", body, token="x" + server.token)[0] == 403
        assert post(url, "/api/decide", body, token=server.token, headers={"Origin": "http://evil.example"})[0] == 403
        form = {"Content-Type": "application/x-www-form-urlencoded"}  # what a cross-site form can send
        assert post(url, "/api/decide", "item=1&decision=keep", token=server.token, headers=form)[0] == 415
        assert post(url, "/api/decide", body, token=server.token, headers={"Host": "rebound.example:80"})[0] == 421
        assert _get(url, {"Host": "rebound.example"})[0] == 421
        assert post(url, "/api/decide", None, token=server.token, method="GET")[0] == 405  # state changes are POSTs
        with Store(db) as st:
            assert st.reviews() == []  # nothing refused was written
        assert post(url, "/api/decide", body, token=server.token, headers={"Origin": base})[0] == 200
        assert post(url, "/api/decide", {"item": "99", "decision": "keep"}, token=server.token)[0] == 400
        assert post(url, "/api/decide", {"item": "1", "decision": "relabel", "label": "nope"}, token=server.token)[0] == 400
        assert post(url, "/api/decide", "{not json", token=server.token)[0] == 400


@pytest.mark.parametrize("path", ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/static/..%2f..%2fpyproject.toml",
                                  "/api/../../../etc/hostname", "//etc/passwd", "/review.js", "/assets/review.js"])
def test_no_path_reaches_a_file(tmp_path, flagged, path):
    fl, _ = flagged
    with running(review_set_of(fl), tmp_path / "s.sqlite") as (server, url):
        base = url.split("/?", 1)[0]
        status, text = _get(base + path + f"?token={server.token}")
        assert status == 404, (path, status)
        assert "root:" not in text and "[project]" not in text


def test_decisions_are_appended_with_what_they_replace(tmp_path, flagged):
    fl, _ = flagged
    db = tmp_path / "s.sqlite"
    with running(review_set_of(fl), db) as (server, url):
        t = server.token
        for body in ({"item": "1", "decision": "keep"}, {"item": "1", "decision": "relabel", "label": "pos",
                                                          "reason": "clearly positive"},
                     {"item": "1", "decision": "undo"}, {"item": "2", "decision": "drop"}):
            assert post(url, "/api/decide", body, token=t)[0] == 200
    with Store(db) as st:
        rows = st.reviews()
    assert [(r["id"], r["item"], r["decision"], r["new_label"], r["reason"], r["replaces"]) for r in rows] == [
        (1, "1", "keep", None, None, None), (2, "1", "relabel", "pos", "clearly positive", 1),
        (3, "1", "undo", None, None, 2), (4, "2", "drop", None, None, None)]
    assert all(r["reviewer"] == "alice" and r["created_at"] > 0 for r in rows)
    now = current_decisions(rows)
    assert now["1"]["decision"] == "keep" and now["2"]["decision"] == "drop"


def test_an_old_store_opens_and_gains_the_reviews_table(tmp_path):
    db = tmp_path / "old.sqlite"
    old = sqlite3.connect(db)  # a store written before the reviews table existed
    old.executescript("""CREATE TABLE verdicts (key TEXT PRIMARY KEY, run_id TEXT NOT NULL, judge TEXT NOT NULL,
        variant TEXT NOT NULL, label TEXT, status TEXT NOT NULL, verdict TEXT NOT NULL, request TEXT NOT NULL,
        latency_s REAL NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
        created_at REAL NOT NULL);
        INSERT INTO verdicts VALUES ('k1', 'r1', 'j', 'AB', 'A', 'ok', '{"label": "A", "status": "ok"}', '{}', 0.1,
        3, 1, 1.0);""")
    old.commit()
    old.close()
    with Store(db) as st:
        assert st.count() == 1 and st.reviews() == []
        st.add_review("set", "1", "bob", "keep")
        assert [r["decision"] for r in st.reviews("set")] == ["keep"]
        assert next(st.rows())["label"] == "A"  # the machine verdict is untouched


def test_reviewer_kappa_matches_cohen_kappa(flagged):
    fl, _ = flagged
    rs = review_set_of(fl)
    decided = {}
    for i, it in enumerate(rs.items[:8]):
        if i % 3 == 0:
            decided[it["key"]] = {"decision": "keep", "new_label": None}
        elif i % 3 == 1:
            decided[it["key"]] = {"decision": "relabel", "new_label": it["judge"]}
        else:
            decided[it["key"]] = {"decision": "drop", "new_label": None}
    got = reviewer_agreement(rs, decided, n_resamples=200)
    rev = [it["given"] if decided[it["key"]]["decision"] == "keep" else it["judge"]
           for it in rs.items[:8] if decided[it["key"]]["decision"] != "drop"]
    jud = [it["judge"] for it in rs.items[:8] if decided[it["key"]]["decision"] != "drop"]
    assert got["n"] == len(rev) == 6
    assert got["kappa"]["estimate"] == pytest.approx(cohen_kappa(np.array(rev, dtype=object), np.array(jud, dtype=object)))
    assert got["kappa"]["low"] <= got["kappa"]["estimate"] <= got["kappa"]["high"]


def test_errors_apply_reads_the_review_pages_decisions(tmp_path, flagged):
    fl, ds = flagged
    db = tmp_path / "s.sqlite"
    with running(review_set_of(fl), db) as (server, url):
        t = server.token
        for body in ({"item": "1", "decision": "relabel", "label": "pos"}, {"item": "2", "decision": "drop"},
                     {"item": "3", "decision": "keep"}, {"item": "4", "decision": "drop"},
                     {"item": "4", "decision": "undo"}):
            assert post(url, "/api/decide", body, token=t)[0] == 200
    out = tmp_path / "clean.jsonl"
    p = subprocess.run([sys.executable, "-m", "jurybox.cli", "errors", "apply", str(fl), "--dataset", str(ds),
                        "--label-field", "label", "--out", str(out), "--store", str(db), "--json"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    assert summary["from_review_page"] == 3 and summary["counts"] == {"keep": 1, "relabel": 1, "drop": 1}
    cleaned = [json.loads(line) for line in out.read_text().split("\n") if line]  # U+2028 is in a text
    assert len(cleaned) == 11 and cleaned[0]["label"] == "pos"  # row 1 relabelled, row 2 dropped, row 4 undone
    assert [c["label"] for c in cleaned[2:4]] == [LABELS[3 % 3], LABELS[4 % 3]]
    # a row decided one way in the file and another on the page is refused, naming it
    import pandas as pd

    df = pd.read_json(fl, lines=True)
    df["review"] = df["review"].astype(object)
    df.loc[0, "review"] = "keep"
    df.to_json(fl, orient="records", lines=True)
    p = subprocess.run([sys.executable, "-m", "jurybox.cli", "errors", "apply", str(fl), "--dataset", str(ds),
                        "--label-field", "label", "--out", str(out), "--store", str(db)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "data row 1" in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_verdict_table_review_set_orders_what_a_human_should_see(tmp_path):
    import pandas as pd

    from jurybox.review.decisions import verdicts_review_set
    from jurybox.stats.table import agreement_table

    df = pd.DataFrame({
        "text": [f"t{i}" for i in range(6)],
        "label": ["A", "A", "B", "B", "A", None],
        "verdict": ["A", "B", "A", None, "A", "B"],
        "verdict_probs": [{"A": 0.9, "B": 0.1}, {"A": 0.4, "B": 0.6}, {"A": 0.95, "B": 0.05}, None,
                          {"A": 0.55, "B": 0.45}, {"A": 0.2, "B": 0.8}],
        "verdict_status": ["ok", "ok", "ok", "unparsed", "ok", "ok"],
    })
    rs = verdicts_review_set(agreement_table(df, "label"), source="v.jsonl", low_confidence=0.6)
    # disagreements, most confident first; then the unparsed one; then the unsure agreement; rows 1
    # (sure agreement) and 6 (no human label) are not asked
    assert [it["row"] for it in rs.items] == [3, 2, 4, 5]
    assert rs.items[0]["confidence"] == pytest.approx(0.95) and rs.items[2]["judge"] is None
    assert rs.labels == ["A", "B"]
    again = verdicts_review_set(agreement_table(df.copy(), "label"), source="moved.jsonl")
    assert again.id == rs.id  # the same table, wherever it is, continues the same review
    df.loc[0, "label"] = "B"
    assert verdicts_review_set(agreement_table(df, "label"), source="v.jsonl").id != rs.id


def test_the_review_command_prints_its_url_and_resumes(tmp_path, flagged):
    import re

    fl, _ = flagged
    db = tmp_path / "s.sqlite"

    def start():
        proc = subprocess.Popen([sys.executable, "-m", "jurybox.cli", "review", str(fl), "--store", str(db),
                                 "--reviewer", "carol"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = []
        for _ in range(5):
            line = proc.stdout.readline()
            lines.append(line)
            m = re.search(r"open (http://127\.0\.0\.1:\d+/\?token=\S+)", line)
            if m:
                return proc, m.group(1), lines
        proc.kill()
        raise AssertionError(f"no URL printed: {lines} {proc.stderr.read()}")

    proc, url, lines = start()
    try:
        assert "(0 decided so far) as carol" in lines[0]
        assert _get(url)[0] == 200 and _get(url.split("?")[0])[0] == 403
        token = url.split("token=")[1]
        assert post(url, "/api/decide", {"item": "5", "decision": "drop", "reason": "off-topic"}, token=token)[0] == 200
    finally:
        proc.terminate()
        proc.wait(10)
    proc, url2, lines = start()
    try:
        assert "(1 decided so far)" in lines[0] and url2 != url  # a new token each start
        status, text = _get(url2.split("/?")[0] + "/api/state", {"X-Jurybox-Token": url2.split("token=")[1]})
        assert status == 200 and json.loads(text)["decided"]["5"]["reason"] == "off-topic"
    finally:
        proc.terminate()
        proc.wait(10)


def test_verdict_review_items_show_the_judges_answer():
    import pandas as pd

    from jurybox.review.decisions import verdicts_review_set
    from jurybox.stats.table import agreement_table

    df = pd.DataFrame({"text": ["a", "b"], "label": ["A", "B"], "verdict": ["B", None],
                       "verdict_status": ["ok", "unparsed"], "verdict_raw": ["B, clearly", "hmm?"]})
    rs = verdicts_review_set(agreement_table(df, "label"), source="v")
    assert [it["fields"]["the judge's answer"] for it in rs.items] == ["B, clearly", "hmm?"]
    assert "verdict_raw" not in rs.items[0]["fields"]


def test_review_without_human_labels_and_routed_rows(tmp_path):
    import pandas as pd

    from jurybox.review.decisions import verdicts_review_set

    df = pd.DataFrame({"text": [f"t{i}" for i in range(5)], "verdict": ["A", "B", None, "A", "B"],
                       "verdict_probs": [{"A": 0.9, "B": 0.1}, {"A": 0.45, "B": 0.55}, None, {"A": 0.52, "B": 0.48},
                                         {"A": 0.05, "B": 0.95}],
                       "verdict_status": ["ok", "ok", "unparsed", "ok", "ok"]})
    rs = verdicts_review_set(df, source="v")
    # no human labels: the unparsed answer, then the unsure verdicts; the label under review is the judge's
    assert [it["row"] for it in rs.items] == [3, 4, 2] and rs.kind == "verdicts-unlabelled"
    assert [it["given"] for it in rs.items] == [None, "A", "B"] and rs.labels == ["A", "B"]
    routed = verdicts_review_set(df, source="v", rows=[5, 1])
    assert [it["row"] for it in routed.items] == [5, 1] and routed.items[0]["why"] == "routed for review"
    from jurybox.errors import InputError

    with pytest.raises(InputError, match="row 9 does not exist"):
        verdicts_review_set(df, source="v", rows=[9])
    # the command line: --rows picks them; a decision lands
    v = tmp_path / "v.jsonl"
    from jurybox.items import write_table

    write_table(df, v)
    r = tmp_path / "routed.csv"
    r.write_text("row\n5\n1\n")
    proc = subprocess.Popen([sys.executable, "-m", "jurybox.cli", "review", str(v), "--rows", str(r), "--store",
                             str(tmp_path / "s.sqlite")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        url = proc.stdout.readline().split("open ", 1)[1].strip()
        assert "reviewing 2 items" in first
        token = url.split("token=")[1]
        assert post(url, "/api/decide", {"item": "5", "decision": "keep"}, token=token)[0] == 200
        assert post(url, "/api/decide", {"item": "2", "decision": "keep"}, token=token)[0] == 400  # not routed
    finally:
        proc.terminate()
        proc.wait(10)
