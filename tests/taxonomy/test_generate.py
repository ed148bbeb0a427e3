"""The TnT-LLM taxonomy loop on a scripted backend: steps, merges, the size limit, history, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from jurybox.backends.scripted import ScriptedBackend
from jurybox.errors import JuryboxError
from jurybox.store import Store
from jurybox.taxonomy.generate import enforce, generate_taxonomy, write_taxonomy
from jurybox.taxonomy.metrics import cluster_agreement, purity

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from scripted import TEXTS, writer  # noqa: E402

ARGS = dict(use_case="route customer banking questions", sample=12, batch=4, max_labels=5, seed=0)


def test_loop_proposes_updates_reviews_and_enforces_the_limit(tmp_path):
    backend = ScriptedBackend(generate=writer)
    res = generate_taxonomy(TEXTS, backend=backend, store=tmp_path / "s.sqlite", **ARGS)
    assert backend.calls == 12 + 3 + 1  # 12 summaries, propose + 2 updates, review
    actions = [h["action"] for h in res.history]
    assert actions == ["summarise", "propose", "update", "update", "review"]
    # the update's "Card Issue" normalises to card_issue and is merged, not kept twice
    upd = res.history[2]
    assert ["card_issue", "Card Issue"] in upd["merged_duplicates"]
    assert upd["labels"][0]["name"] in {"card_issue", "refund_issue", "pin_issue", "transfer_issue", "fee_issue",
                                        "account_issue"}
    assert len(upd["labels"]) <= 5
    names = [e["name"] for e in res.labels]
    assert len(names) == 5 == len(set(names))  # the size limit holds after the review
    assert "fee_issue" not in names
    review = res.history[-1]
    assert review["status"] == "ok" and review["dropped_over_limit"]
    assert review["dropped_over_limit"] and all(n.startswith("extra_") for n in review["dropped_over_limit"])
    assert {"name": "transfer_issue", "merged_from": ["fee_issue"]} in review["merged"]
    # the proposal saw only the first minibatch's topics; updates added the rest
    assert set(res.history[1]["labels"][i]["name"] for i in range(len(res.history[1]["labels"]))) < \
        set(e["name"] for e in res.history[3]["labels"]) | set(e["name"] for e in res.history[1]["labels"])
    out = write_taxonomy(res, tmp_path / "tax.yaml")
    doc = yaml.safe_load(out.read_text())
    assert [e["name"] for e in doc["labels"]] == names
    assert [h["action"] for h in doc["history"]] == actions
    assert doc["source"]["sample"] == 12 and doc["use_case"] == ARGS["use_case"]
    # the file is what the labelling protocols read
    from jurybox.protocols.multilabel import read_taxonomy

    assert read_taxonomy(out)[0] == names


def test_a_rerun_makes_no_calls_and_gives_the_same_taxonomy(tmp_path):
    a = generate_taxonomy(TEXTS, backend=ScriptedBackend(generate=writer), store=tmp_path / "s.sqlite", **ARGS)
    b2 = ScriptedBackend(generate=writer)
    b = generate_taxonomy(TEXTS, backend=b2, store=tmp_path / "s.sqlite", **ARGS)
    assert b2.calls == 0 and b.model_calls == 0 and b.from_store == 16
    assert a.labels == b.labels and a.history == b.history


def test_an_interrupted_run_resumes_with_no_repeated_call(tmp_path):
    store = tmp_path / "s.sqlite"
    calls = {"n": 0}

    def dies(text):
        calls["n"] += 1
        if calls["n"] == 15:  # during the second update
            raise KeyboardInterrupt
        return writer(text)

    first = ScriptedBackend(generate=dies)
    with pytest.raises(KeyboardInterrupt):
        generate_taxonomy(TEXTS, backend=first, store=store, **ARGS)
    done = set(first.seen[:14])
    second = ScriptedBackend(generate=writer)
    res = generate_taxonomy(TEXTS, backend=second, store=store, **ARGS)
    assert second.calls == 2  # the second update and the review
    assert not done & set(second.seen)
    full = generate_taxonomy(TEXTS, backend=ScriptedBackend(generate=writer), store=tmp_path / "fresh.sqlite", **ARGS)
    assert res.labels == full.labels


CHILD = """
import json, sys, time
sys.path.insert(0, {here!r})
from scripted import TEXTS, writer
from jurybox.backends.scripted import ScriptedBackend
from jurybox.taxonomy.generate import generate_taxonomy
n = 0
def slow(text):
    global n
    n += 1
    open({count!r}, "w").write(str(n))
    if n >= 6:
        time.sleep(0.5)
    return writer(text)
generate_taxonomy(TEXTS, backend=ScriptedBackend(generate=slow), store={store!r}, **json.loads({args!r}))
"""


def test_a_killed_process_resumes_with_no_repeated_call(tmp_path):
    count, store = tmp_path / "count", tmp_path / "s.sqlite"
    code = CHILD.format(here=str(HERE), count=str(count), store=str(store), args=json.dumps(ARGS))
    child = subprocess.Popen([sys.executable, "-c", code], env={**os.environ})
    deadline = time.time() + 60
    while time.time() < deadline and not (count.exists() and count.read_text() and int(count.read_text()) >= 8):
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    with Store(store) as st:
        stored = st.count()
    assert 6 <= stored < 16
    again = ScriptedBackend(generate=writer)
    generate_taxonomy(TEXTS, backend=again, store=store, **ARGS)
    assert again.calls == 16 - stored


def test_unreadable_answers_keep_the_previous_label_set(tmp_path):
    def broken_updates(text):
        return "not json" if "Revise the labels" in text else writer(text)

    res = generate_taxonomy(TEXTS, backend=ScriptedBackend(generate=broken_updates), store=tmp_path / "s.sqlite",
                            **ARGS)
    assert [h["status"] for h in res.history[2:4]] == ["unparsed", "unparsed"]
    assert res.n_unparsed == 2
    with pytest.raises(JuryboxError, match="none of the 3 taxonomy proposals could be read"):
        generate_taxonomy(TEXTS, backend=ScriptedBackend(generate=lambda t: "{}" if "Propose" in t else writer(t)),
                          store=tmp_path / "s2.sqlite", **ARGS)


def test_bad_options_and_empty_input(tmp_path):
    b = ScriptedBackend(generate=writer)
    with pytest.raises(JuryboxError, match="no texts"):
        generate_taxonomy([], backend=b, use_case="x")
    with pytest.raises(JuryboxError, match="max_labels must be at least 2"):
        generate_taxonomy(TEXTS, backend=b, use_case="x", max_labels=1)
    with pytest.raises(JuryboxError, match="use_case"):
        generate_taxonomy(TEXTS, backend=b, use_case=" ")
    assert b.calls == 0


def test_enforce_merges_and_limits():
    labels = [{"name": "a_b", "description": ""}, {"name": "A B", "description": "second"},
              {"name": "c", "description": "c"}, {"name": "d", "description": "d"}]
    kept, merges, dropped = enforce(labels, 2)
    assert [e["name"] for e in kept] == ["a_b", "c"] and kept[0]["description"] == "second"
    assert merges == [["a_b", "A B"]] and dropped == ["d"]


def test_cluster_agreement():
    ref = ["x", "x", "y", "y"]
    same = cluster_agreement(["1", "1", "2", "2"], ref)
    assert same.ari == 1.0 and same.nmi == pytest.approx(1.0) and same.purity == 1.0
    one = cluster_agreement(["1", "1", "1", None], ref)
    assert one.n == 3 and one.n_missing == 1 and one.ari == 0.0
    assert purity(["a", "a", "b"], ["x", "y", "y"]) == pytest.approx(2 / 3)
