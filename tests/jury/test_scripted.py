"""The jury runners and the new protocols on the scripted backend: prompts, parsing, store reuse, CLI errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jurybox.backends.scripted import ScriptedBackend
from jurybox.cli import main
from jurybox.engine import Judge, evaluate
from jurybox.errors import JuryboxError
from jurybox.jury import label_matrix, reference_guided, run_jury, run_tick, variant_label_matrix
from jurybox.jury.api import jury_table
from jurybox.protocols import Pairwise, make_protocol
from jurybox.store import Store


def prefers_good(text: str, options: tuple[str, ...]) -> dict[str, float]:
    a, b = text.rfind("GOOD"), text.rfind("BAD")
    first_good = a < b
    return {"a": 0.8 if first_good else 0.2, "b": 0.2 if first_good else 0.8}


def always_first(text: str, options: tuple[str, ...]) -> dict[str, float]:
    return {"a": 0.9, "b": 0.1}


def items(n: int = 6) -> list[dict[str, str]]:
    return [{"instruction": f"task {i}", "response_a": "GOOD" if i % 2 else "BAD",
             "response_b": "BAD" if i % 2 else "GOOD"} for i in range(n)]


def test_run_jury_labels_per_judge_and_order_and_store_reuse(tmp_path: Path):
    good, biased = ScriptedBackend(prefers_good, identity="good"), ScriptedBackend(always_first, identity="first")
    judges = [Judge(Pairwise(template="default"), good, "good"), Judge(Pairwise(template="concise"), biased, "first")]
    with Store(tmp_path / "s.sqlite") as st:
        run = run_jury(judges, items(), st)
        assert run.stats.model_calls == 24
        again = run_jury(judges, items(), st)
    assert again.stats.model_calls == 0 and again.stats.n_cached == 24
    gold = ["A" if i % 2 else "B" for i in range(6)]
    assert list(label_matrix(run.verdicts)[0]) == gold
    ab, ba = variant_label_matrix(run.variants, "AB"), variant_label_matrix(run.variants, "BA")
    assert list(ab[1]) == ["A"] * 6 and list(ba[1]) == ["B"] * 6  # position bias shows per order
    with pytest.raises(JuryboxError, match="distinct names"):
        run_jury([judges[0], judges[0]], items(), Store(tmp_path / "t.sqlite"))


def test_jury_table_aggregations_and_pre(tmp_path: Path):
    df = pd.DataFrame(items(10))
    df["gold"] = ["A" if i % 2 else "B" for i in range(10)]
    backends = {"good": ScriptedBackend(prefers_good, identity="good"),
                "first": ScriptedBackend(always_first, identity="first")}
    specs = [{"model": "good"}, {"model": "first", "templates": ["default", "concise"]}]
    st = Store(tmp_path / "s.sqlite")
    maj = jury_table(df, specs, aggregation="majority", human="gold", store=st, backends=backends)
    assert maj.judges == ("good:default", "first:default", "first:concise")
    # the biased judges answer "A" with equal margins in both orders: mean margin 0 -> tie
    assert set(maj.table["verdict[first:default]"]) == {"tie"}
    assert maj.agreement[0]["accuracy"] == 1.0
    assert maj.table["jury_verdict"].tolist() == ["tie"] * 10  # two ties outvote one correct judge
    w = jury_table(df, [{"model": "good", "weight": 3}, specs[1]], aggregation="weighted", human="gold",
                   store=st, backends=backends)
    assert w.table["jury_verdict"].tolist() == df["gold"].tolist()
    pre = jury_table(df, specs, aggregation="pre", human="gold", store=st, backends=backends, exam=0.3)
    q = pre.details["qualification"]
    assert q["qualified"] == [True, False, False]
    assert pre.table["jury_verdict"].tolist() == df["gold"].tolist()
    assert pre.agreement[-1]["n_labelled"] == 7  # agreement on the rows outside the exam
    with pytest.raises(JuryboxError, match="no judge passed"):
        jury_table(df, specs[1:], aggregation="pre", human="gold", store=st, backends=backends)
    ds = jury_table(df, specs, aggregation="dawid-skene", store=st, backends=backends)
    assert ds.stats.model_calls == 0 and "dawid_skene_accuracy" in ds.details


def tick_script(text: str) -> str:
    if "evaluation checklists" in text:
        if "broken" in text:
            return '{"questions": []}'
        return json.dumps({"questions": ["Is the response in French?", "Does the response mention Paris?"]})
    return ""


def tick_options(text: str, options: tuple[str, ...]) -> dict[str, float]:
    response = text.split("# Response:")[1].split("# Question about the response above:")[0]
    question = text.split("# Question about the response above:")[1]
    yes = ("French" in question and "bonjour" in response) or ("Paris" in question and "Paris" in response)
    return {"YES": 0.9 if yes else 0.1, "NO": 0.1 if yes else 0.9}


def test_tick_pass_rate_best_of_n_and_unreadable_checklist(tmp_path: Path):
    be = ScriptedBackend(tick_options, tick_script)
    cands = [{"instruction": "Greet me in French from Paris", "response": r}
             for r in ("hello", "bonjour", "bonjour de Paris")] + [{"instruction": "broken", "response": "x"}]
    with Store(tmp_path / "s.sqlite") as st:
        run = run_tick(cands, be, st)
        calls = be.calls
        assert calls == 2 + 3 * 2  # one checklist per distinct instruction, one call per question
        assert run.pass_rate[:3] == pytest.approx([0.1, 0.5, 0.9])  # mean P(YES)
        assert run.hard_pass_rate[:3].tolist() == [0.0, 0.5, 1.0]
        assert np.isnan(run.pass_rate[3]) and run.verdicts[3].status == "unparsed" and run.questions[3] is None
        from jurybox.jury import best_by_pass_rate

        assert best_by_pass_rate(run.pass_rate).best == 2
        run_tick(cands, be, st)
        assert be.calls == calls  # all from the store


def test_listwise_and_certainty_parsing(tmp_path: Path):
    lw = make_protocol("listwise")
    gen = {"ok": '{"ranking": [2, 3, 1]}', "dup": '{"ranking": [1, 1, 3]}', "junk": "I think 2"}
    st = Store(tmp_path / "s.sqlite")
    for key, expect in [("ok", [1, 2, 0]), ("dup", None), ("junk", None)]:
        be = ScriptedBackend(generate=lambda text, k=key: gen[k], identity=key)
        (v,), _, _ = evaluate(Judge(lw, be), [{"instruction": "rank", "responses": ["x", "y", "z"]}], st)
        if expect is None:
            assert v.status == "unparsed" and v.label is None
        else:
            assert v.extra["ranking"] == expect and v.label == "2>3>1"
    for order, text, label, abstained in [("AB", '{"choice": "a", "certainty": 85}', "A", False),
                                          ("BA", '{"choice": "a", "certainty": 85}', "B", False),
                                          ("AB", '{"choice": "abstain", "certainty": 20}', None, True)]:
        proto = make_protocol("certainty", order=order)
        be = ScriptedBackend(generate=lambda t, x=text: x, identity=text + order)
        (v,), _, _ = evaluate(Judge(proto, be), items(1), st)
        assert (v.label, v.status, v.extra["abstained"], v.score) == (label, "ok", abstained, 0.85 if label else 0.2)
    be = ScriptedBackend(generate=lambda t: '{"choice": "a", "certainty": 140}', identity="bad")
    (v,), _, _ = evaluate(Judge(make_protocol("certainty"), be), items(1), st)
    assert v.status == "unparsed" and v.label is None


def test_reference_modes_put_the_self_answer_into_the_grading_prompt(tmp_path: Path):
    def opts(text: str, options: tuple[str, ...]) -> dict[str, float]:
        ref = re.findall(r"Reference answer: (.*)", text)
        cand = re.findall(r"Candidate answer: (.*)", text)[0]
        right = bool(ref) and ref[0].strip() == cand.strip()
        return {"yes": 0.9 if right else 0.1, "no": 0.1 if right else 0.9}

    be = ScriptedBackend(opts, generate=lambda t: "4" if "2+2" in t else "")
    data = [{"question": "2+2?", "answer": "4", "reference": "4"}, {"question": "3+3?", "answer": "6", "reference": "6"}]
    with Store(tmp_path / "s.sqlite") as st:
        res = reference_guided(data, be, st)
    assert [v.label for v in res.verdicts["human"]] == ["correct", "correct"]
    assert [v.label for v in res.verdicts["none"]] == ["incorrect", "incorrect"]
    assert res.self_answers == ["4", None]  # the empty self answer is unparsed, not graded
    assert res.verdicts["self"][0].label == "correct" and res.verdicts["self"][1].status == "unparsed"
    assert any("Reference answer: 4" in s for s in be.seen)
    with pytest.raises(JuryboxError, match="needs a reference"):
        reference_guided([{"question": "q", "answer": "a"}], be, Store(tmp_path / "t.sqlite"), modes=("human",))


@pytest.mark.parametrize(("config", "message"), [
    ("judges: [{model: x}]\n", "missing required setting 'data'"),
    ("data: d.jsonl\njudges: [{model: x}]\nbogus: 1\n", "unknown setting"),
    ("data: d.jsonl\njudges: x\n", "'judges' must be a list"),
    ("data: [unclosed\n", "not valid YAML"),
])
def test_jury_cli_config_errors_exit_2_with_one_line(tmp_path: Path, capsys, config: str, message: str):
    cfg = tmp_path / "jury.yaml"
    cfg.write_text(config)
    with pytest.raises(SystemExit) as exc:
        main(["jury", str(cfg)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_checklist_writer_drops_repeated_questions():
    from jurybox.protocols.checklist import ChecklistWriter
    from jurybox.types import Generation

    text = json.dumps({"questions": ["Does the response rhyme?", "Does the response  rhyme?",
                                     "Does the response have three lines?", "Does the response rhyme?"]})
    v = ChecklistWriter().interpret("", Generation(text))
    assert v.extra["questions"] == ["Does the response rhyme?", "Does the response have three lines?"]
    assert v.label == "2 questions"
