"""End to end on the real embedded models (no stand-in): the audit on tiny data, the CLI, and its errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from jurybox.audit import run_audit
from jurybox.store import Store

ITEMS = [
    {"instruction": "What is 2 + 2?", "response_a": "4", "response_b": "2 + 2 is 5, a well-known fact.", "gold": "A"},
    {"instruction": "Name a colour.", "response_a": "Dog.", "response_b": "Blue.", "gold": "B"},
    {"instruction": "Say hello in French.", "response_a": "Bonjour.", "response_b": "Goodbye.", "gold": "A"},
]


def cli(args, cwd):
    return subprocess.run([sys.executable, "-m", "jurybox.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=1200)


@pytest.mark.e2e
def test_position_and_length_audit_on_qwen(qwen, tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        rep = run_audit(ITEMS, qwen, store, probes=["position", "length"], human="gold", n_resamples=200)
        pos, ln = rep.results["position"], rep.results["length"]
        assert rep.model_calls == 2 * len(ITEMS)
        assert 0.0 <= pos.flip_rate.estimate <= 1.0
        assert pos.flip_rate.low <= pos.flip_rate.estimate <= pos.flip_rate.high
        assert 0.0 <= pos.first_position_win_rate.estimate <= 1.0
        assert pos.n_items == 3 and ln.n_items == 3
        again = run_audit(ITEMS, qwen, store, probes=["position", "length"], human="gold", n_resamples=200)
        assert again.model_calls == 0
        assert again.to_dict()["results"] == rep.to_dict()["results"]


@pytest.mark.e2e
def test_cli_audit_writes_json(need_gemma, tmp_path):
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps({"prompt": it["instruction"], "a": it["response_a"], "b": it["response_b"],
                                        "human": it["gold"]}) + "\n" for it in ITEMS))
    out = tmp_path / "audit.json"
    args = ["audit", str(data), "--probes", "position,length", "--model", "gemma-3-270m", "--field",
            "instruction=prompt", "--field", "response_a=a", "--field", "response_b=b", "--human", "human",
            "--store", str(tmp_path / "s.sqlite"), "--json", str(out), "--quiet", "--resamples", "100"]
    p = cli(args, tmp_path)
    assert p.returncode == 0, p.stderr
    d = json.loads(out.read_text())
    assert d["n_items"] == 3 and set(d["results"]) == {"position", "length"}
    assert "flip_rate" in p.stdout
    again = cli(args, tmp_path)
    assert "0 model calls" in again.stdout


def test_cli_user_errors_are_one_line(tmp_path):
    data = tmp_path / "pairs.jsonl"
    data.write_text(json.dumps({"instruction": "i", "response_a": "a", "response_b": "b"}) + "\n")
    for args, msg in ((["--probes", "vibes"], "unknown probe"),
                      (["--protocol", "score", "--probes", "self_preference"], "not available for the score"),
                      (["--human", "nope"], "--human column 'nope' not found")):
        p = cli(["audit", str(data), *args], tmp_path)
        assert p.returncode == 2, p.stderr
        lines = [x for x in p.stderr.splitlines() if x.strip()]
        assert len(lines) == 1 and msg in lines[0] and "Traceback" not in p.stderr, p.stderr
