"""Debate (two advocates over R rounds, then a judge) on the scripted backend."""

from __future__ import annotations

import re

import pytest

from jurybox.backends.scripted import ScriptedBackend
from jurybox.errors import JuryboxError
from jurybox.jury.debate import run_debate
from jurybox.store import Store

ITEMS = [{"instruction": f"Task {i}", "response_a": f"alpha{i}", "response_b": f"beta{i}"} for i in range(3)]


def argue(text: str) -> str:
    mine = re.search(r"# My response:\n(\S+)", text).group(1)
    rnd = text.count("(round ")
    return f"{mine} is better (heard {rnd} earlier turns)"


def judge_reads_debate(text: str, options):
    """Prefers the output whose advocate's last argument names an alpha response."""
    m = re.findall(r"Advocate for Output \((a|b)\), round \d+: alpha", text)
    pick = m[-1] if m else "a"
    return {o: (0.9 if o == pick else 0.1) for o in options}


def test_rounds_calls_and_rerun(tmp_path):
    be = ScriptedBackend(options=judge_reads_debate, generate=argue)
    with Store(tmp_path / "s.sqlite") as st:
        run = run_debate(ITEMS, be, st, rounds=2)
        assert run.calls_per_item == 6 and run.stats.model_calls == 18
        tr = run.transcripts[0]
        assert [(t["for"], t["round"]) for t in tr] == [("A", 1), ("B", 1), ("A", 2), ("B", 2)]
        assert tr[0]["text"] == "alpha0 is better (heard 0 earlier turns)"
        assert tr[2]["text"] == "alpha0 is better (heard 2 earlier turns)"  # round 2 sees round 1
        # the judge follows the advocate for alpha = response A in both orders: A wins, positions agree
        assert all(v.label == "A" for v in run.verdicts)
        assert {k: v.label for k, v in run.variants[0].items()} == {"AB": "A", "BA": "A"}
        again = run_debate(ITEMS, be, st, rounds=2)
        assert again.stats.model_calls == 0 and [v.label for v in again.verdicts] == ["A"] * 3


def test_the_judge_sees_letters_of_the_order():
    be = ScriptedBackend(options=judge_reads_debate, generate=argue)
    with Store(":memory:") as st:
        run_debate(ITEMS[:1], be, st, rounds=1)
    judge_prompts = [s for s in be.seen if "# Debate:" in s]
    ab, ba = judge_prompts
    assert "Output (a):\nalpha0" in ab and "Advocate for Output (a), round 1: alpha0" in ab
    assert "Output (a):\nbeta0" in ba and "Advocate for Output (b), round 1: alpha0" in ba
    advocate_prompts = [s for s in be.seen if "# My response:" in s]
    assert all("Output (" not in s for s in advocate_prompts)  # advocates never see letters


def test_empty_argument_is_recorded_not_replaced():
    be = ScriptedBackend(generate=lambda t: "" if "# My response:\nbeta" in t else "mine is right")
    with Store(":memory:") as st:
        run = run_debate(ITEMS[:1], be, st, rounds=1)
    assert run.turn_status[0] == ["ok", "unparsed"] and len(run.transcripts[0]) == 1
    with Store(":memory:") as st, pytest.raises(JuryboxError):
        run_debate(ITEMS, be, st, rounds=0)
