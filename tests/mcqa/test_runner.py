"""The multiple-choice runner on the scripted backend: reading files, few-shot, shuffling and
mapping back, likelihood metrics from stored numbers, strict ANSWER parsing, the store, the CLI."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from jurybox.backends.scripted import ScriptedBackend
from jurybox.cli import main
from jurybox.errors import BackendConfigError, InputError, JuryboxError
from jurybox.mcqa import parse_answer, read_mcqa, run_mcqa
from jurybox.mcqa.protocol import MultipleChoice, permutation
from jurybox.store import Store
from jurybox.types import ContinuationRequest

QUESTIONS = pd.DataFrame({
    "question": [f"Question {i}: which is right?" for i in range(12)],
    "choice0": [f"wrong{i}a" if i % 4 else f"right{i}" for i in range(12)],
    "choice1": [f"right{i}" if i % 4 == 1 else f"wrong{i}b" for i in range(12)],
    "choice2": [f"right{i}" if i % 4 == 2 else f"wrong{i}c" for i in range(12)],
    "choice3": [f"right{i}" if i % 4 == 3 else f"wrong{i}d" for i in range(12)],
    "answer": [i % 4 for i in range(12)],
    "topic": ["s1"] * 6 + ["s2"] * 6,
})


def knower(text, options):
    """Picks the letter printed before 'rightN' in the last question of the prompt."""
    last = text.split("Question")[-1]
    m = re.search(r"\n([A-D])\. right", last)
    return {o: (0.97 if m and o == m.group(1) else 0.01) for o in options}


def always_a(text, options):
    return {o: (0.9 if o == "A" else 0.1 / (len(options) - 1)) for o in options}


def test_parse_answer_is_strict():
    assert parse_answer("ANSWER: B", 4) == "B"
    assert parse_answer("Reasoning...\nANSWER: (C)", 4) == "C"
    assert parse_answer("ANSWER: B. because ANSWER: B", 4) == "B"
    assert parse_answer("answer: B", 4) is None  # not the asked form
    assert parse_answer("ANSWER: E", 4) is None  # out of range
    assert parse_answer("ANSWER: B or ANSWER: C", 4) is None  # two letters
    assert parse_answer("The answer is B", 4) is None
    assert parse_answer("ANSWER: Both", 4) is None


def test_read_mcqa_forms(tmp_path):
    p = tmp_path / "law_test.jsonl"
    p.write_text('{"question": "q1", "choices": ["x", "y", "z"], "answer": "c"}\n'
                 '{"question": "q2", "choices": ["x", "y"], "answer": 0}\n')
    ds = read_mcqa(p)
    assert ds.answers == [2, 0] and ds.subjects == ["law", "law"] and ds.items[0]["choices"] == ["x", "y", "z"]
    csv = tmp_path / "exam.csv"
    csv.write_text('question,choices,answer\nq1,"[""a"", ""b""]",B\n')
    assert read_mcqa(csv).answers == [1]
    bad = tmp_path / "bad.csv"
    bad.write_text("question,choice0,choice1,answer\nq1,a,b,1\nq2,a,b,5\n")
    with pytest.raises(InputError) as e:
        read_mcqa(bad)
    assert e.value.row == 2 and e.value.field == "answer" and "outside the 2 choices" in str(e.value)
    nochoices = tmp_path / "n.csv"
    nochoices.write_text("question,answer\nq,1\n")
    with pytest.raises(InputError, match="no choices"):
        read_mcqa(nochoices)


def test_letter_scoring_and_store(tmp_path):
    be = ScriptedBackend(options=knower)
    store = tmp_path / "s.sqlite"
    r = run_mcqa(QUESTIONS, scoring="letter", subject="topic", model=be, store=store)
    assert r.accuracy["acc"].overall.estimate == 1.0
    assert set(r.accuracy["acc"].groups) == {"s1", "s2"} and r.model_calls == 12
    again = run_mcqa(QUESTIONS, scoring="letter", subject="topic", model=be, store=store)
    assert again.model_calls == 0 and again.n_cached == 12
    assert again.accuracy["acc"].overall.estimate == 1.0


def test_shuffle_maps_answers_back_and_measures_position_bias():
    r = run_mcqa(QUESTIONS, scoring="letter", shuffle=4, model=ScriptedBackend(options=knower), store=":memory:")
    assert r.model_calls == 48
    assert r.accuracy["acc_orders_mean"].overall.estimate == 1.0  # the knower is right under every order
    assert r.accuracy["acc_combined"].overall.estimate == 1.0
    b = r.letter_bias
    assert b.n == 48 and all(abs(b.predicted_share[k] - b.gold_share[k]) < 1e-12 for k in b.letters)
    biased = run_mcqa(QUESTIONS, scoring="letter", shuffle=4, model=ScriptedBackend(options=always_a),
                      store=":memory:")
    assert biased.letter_bias.predicted_share["A"] == 1.0
    assert biased.letter_bias.recall["A"].estimate == 1.0 and biased.letter_bias.recall["B"].estimate == 0.0
    # always-A is right exactly when the right option is shown first
    assert biased.accuracy["acc_orders_mean"].overall.estimate == pytest.approx(biased.letter_bias.gold_share["A"])


def test_permutations_are_stable_and_vary():
    item = {"question": "q", "choices": ["a", "b", "c", "d"]}
    assert permutation(item, 0) == (0, 1, 2, 3)
    assert permutation(item, 3) == permutation(dict(item), 3)
    assert len({permutation(item, k) for k in range(1, 8)}) > 1


def test_likelihood_scoring_uses_the_harness_metrics():
    # log-likelihood = -(characters): acc picks the shortest option, acc_norm (per character) ties
    # and takes the first; here make the right option the shortest by far
    def conts(text, continuations):
        return [(-1.0 if "right" in c else -5.0 - len(c), 2) for c in continuations]

    r = run_mcqa(QUESTIONS, scoring="likelihood", model=ScriptedBackend(continuations=conts), store=":memory:")
    assert r.accuracy["acc"].overall.estimate == 1.0
    assert set(r.accuracy) == {"acc", "acc_norm", "acc_bytes", "acc_token_norm"}
    assert "characters" in r.normalisation["acc_norm"]
    assert r.table["loglikelihoods"].iloc[0][0] == -1.0  # the right option of question 0 is its first


def test_likelihood_mutual_info_adds_one_call_per_question():
    r = run_mcqa(QUESTIONS, scoring="likelihood", mutual_info=True, model=ScriptedBackend(), store=":memory:")
    assert r.model_calls == 24 and "acc_mutual_info" in r.accuracy


def test_likelihood_prompt_and_continuations():
    p = MultipleChoice(scoring="likelihood")
    item = {"question": "What is 2+2? ", "choices": ["3", "4"], "subject": "high_school_math",
            "examples": [{"question": "1+1?", "choices": ["2", "5"], "answer": 0}]}
    ((variant, req),) = p.requests(item)
    assert isinstance(req, ContinuationRequest) and req.continuations == (" 3", " 4")
    text = req.prompt.messages[0].content
    assert text.startswith("The following are questions (with answers) about high school math.")
    assert "Question: 1+1?\nAnswer: 2" in text and text.endswith("Question: What is 2+2?")
    assert req.prompt.prefill == "Answer:"


def test_generate_mode_counts_unparsed_never_guesses():
    replies = iter(["ANSWER: A", "I think it is B", "ANSWER: B"] * 4)
    r = run_mcqa(QUESTIONS, scoring="generate", model=ScriptedBackend(generate=lambda t: next(replies)),
                 store=":memory:")
    assert r.unparsed == 4
    st = r.table["verdict_status"].tolist()
    assert st.count("unparsed") == 4
    assert all(pd.isna(p) for p, s in zip(r.table["verdict"], st, strict=True) if s == "unparsed")
    assert r.accuracy["acc"].n == 12  # unparsed are in the denominator, counted wrong


def test_few_shot_from_dev_per_subject(tmp_path):
    for subj in ("alpha", "beta"):
        (tmp_path / f"{subj}_test.csv").write_text(f"question,choice0,choice1,answer\n{subj} q?,x,y,0\n")
        (tmp_path / f"{subj}_dev.csv").write_text(
            "question,choice0,choice1,answer\n" + "".join(f"{subj} dev{i}?,u,v,1\n" for i in range(3)))
    be = ScriptedBackend()
    run_mcqa([tmp_path / "alpha_test.csv", tmp_path / "beta_test.csv"],
             dev=[tmp_path / "alpha_dev.csv", tmp_path / "beta_dev.csv"], shots=2, model=be, store=":memory:")
    first, second = be.seen
    assert "alpha dev0?" in first and "alpha dev1?" in first and "alpha dev2?" not in first and "beta" not in first
    assert "about beta" in second and "beta dev1?" in second
    with pytest.raises(InputError, match="3-shot needs 3"):
        run_mcqa([tmp_path / "alpha_test.csv"], dev=[tmp_path / "beta_dev.csv"], shots=3, model=be, store=":memory:")


def test_routing_to_review():
    r = run_mcqa(QUESTIONS, model=ScriptedBackend(options=always_a), store=":memory:", review_below=0.95)
    assert r.routing.n_routed == 12 and r.table["needs_review"].all()
    r = run_mcqa(QUESTIONS, model=ScriptedBackend(options=always_a), store=":memory:", review_below=0.5)
    assert r.routing.n_auto == 12 and r.routing.auto_accuracy.estimate == 0.25


def test_option_errors():
    with pytest.raises(JuryboxError, match="shuffle applies"):
        run_mcqa(QUESTIONS, scoring="likelihood", shuffle=2, model=ScriptedBackend(), store=":memory:")
    with pytest.raises(JuryboxError, match="scoring must be"):
        run_mcqa(QUESTIONS, scoring="logits", model=ScriptedBackend(), store=":memory:")
    with pytest.raises(JuryboxError, match="needs dev data"):
        run_mcqa(QUESTIONS, shots=5, model=ScriptedBackend(), store=":memory:")


def test_backend_without_continuations_is_refused():
    class NoCont(ScriptedBackend):
        continuation_logprobs = None  # type: ignore[assignment]

    with Store(":memory:") as st, pytest.raises(BackendConfigError, match="cannot score continuations"):
        run_mcqa(QUESTIONS, scoring="likelihood", model=NoCont(), store=st)


def test_cli_json_and_bad_input(tmp_path, capsys):
    data = tmp_path / "exam_test.csv"
    QUESTIONS.to_csv(data, index=False)
    out = tmp_path / "out.jsonl"
    review = tmp_path / "review.csv"
    main(["mcqa", str(data), "--model", "scripted", "--store", str(tmp_path / "s.sqlite"), "--json", "--quiet",
          "--shuffle", "2", "--out", str(out), "--review-below", "0.5", "--review-out", str(review)])
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_questions"] == 12 and summary["accuracy"]["acc"]["n"] == 12
    assert {"low", "high"} <= set(summary["accuracy"]["acc"]["overall"])
    assert summary["model_calls"] == 24 and len(out.read_text().splitlines()) == 12
    assert len(pd.read_csv(review)) == 12  # uniform scripted answers: confidence 0.25 < 0.5
    bad = tmp_path / "bad_test.csv"
    bad.write_text("question,choice0,choice1,answer\nq,a,b,Z\n")
    with pytest.raises(SystemExit) as e:
        main(["mcqa", str(bad), "--model", "scripted", "--store", str(tmp_path / "s.sqlite")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "bad_test.csv" in err and "row 1" in err and "answer" in err


def test_numbered_choices_with_fewer_options_and_named_columns(tmp_path):
    p = tmp_path / "mixed.csv"
    p.write_text("question,choice0,choice1,choice2,answer,opt_x,opt_y\nq1,a,b,c,C,u,v\nq2,a,b,,1,u,v\n")
    ds = read_mcqa(p)
    assert [it["choices"] for it in ds.items] == [["a", "b", "c"], ["a", "b"]] and ds.answers == [2, 1]
    named = read_mcqa(p, choices=["opt_x", "opt_y"], answer=None)
    assert named.items[0]["choices"] == ["u", "v"] and named.answers == [None, None]
    gap = tmp_path / "gap.csv"
    gap.write_text("question,choice0,choice1,choice2,answer\nq1,a,,c,0\n")
    with pytest.raises(InputError, match="empty choice") as e:
        read_mcqa(gap)
    assert e.value.field == "choice1"


def test_without_answer_key_it_only_prelabels():
    df = QUESTIONS.drop(columns=["answer"])
    r = run_mcqa(df, model=ScriptedBackend(options=knower), store=":memory:", review_below=0.9)
    assert r.n_answered == 0 and r.accuracy["acc"].n == 0
    assert r.routing.auto_accuracy is None and r.routing.n_auto == 12  # knower is 97% sure: nothing routed
    assert r.table["verdict"].notna().all()


def test_the_routed_questions_open_in_the_review_page(tmp_path):
    from jurybox.items import read_table, write_table
    from jurybox.review import verdicts_review_set

    r = run_mcqa(QUESTIONS, model=ScriptedBackend(options=always_a), store=":memory:", review_below=0.95)
    out = tmp_path / "exam.verdicts.jsonl"
    write_table(r.table, out)
    table = read_table(out)
    routed = [i + 1 for i, flag in enumerate(table["needs_review"]) if flag]
    rs = verdicts_review_set(table, source=str(out), rows=routed)
    assert len(rs.items) == 12 and rs.items[0]["judge"] == "A"
    assert rs.items[0]["confidence"] == pytest.approx(0.9)
    assert "Question 0" in str(rs.items[0]["fields"]["question"])
