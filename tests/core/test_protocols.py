import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jurybox.errors import InputError, JuryboxError
from jurybox.protocols import Classify, Correctness, Pairwise, Score, make_protocol, match_option
from jurybox.types import Generation, OptionScores


def scores(probs):
    lp = {k: math.log(v) for k, v in probs.items()}
    return OptionScores(lp, lp, 1.0, "test", max(probs, key=probs.get))


def test_pairwise_renders_both_orders_with_shared_prefix_and_prefill():
    p = Pairwise(criteria="accuracy")
    reqs = p.requests({"instruction": "Say hi", "response_a": "RESP-A", "response_b": "RESP-B"})
    assert [v for v, _ in reqs] == ["AB", "BA"]
    ab, ba = (r.prompt.messages[0].content for _, r in reqs)
    assert ab.index("RESP-A") < ab.index("RESP-B")
    assert ba.index("RESP-B") < ba.index("RESP-A")
    # instructions come first and are identical; the item follows
    shared = ab[: ab.index("Say hi")]
    assert ba.startswith(shared) and "accuracy" in shared
    assert all(r.prompt.prefill == "Output (" and r.options == ("a", "b") for _, r in reqs)


def test_pairwise_margin_combination_cancels_constant_position_bias():
    p = Pairwise()
    # the judge prefers position (a) strongly in both orders, but slightly less when B is first
    ab = p.interpret("AB", scores({"a": 0.9, "b": 0.1}))   # A shown first
    ba = p.interpret("BA", scores({"a": 0.95, "b": 0.05}))  # B shown first
    assert ab.label == "A" and ba.label == "B"
    assert ab.extra["first_position_won"] and ba.extra["first_position_won"]
    v = p.combine({}, {"AB": ab, "BA": ba})
    expected = (math.log(0.9 / 0.1) + math.log(0.05 / 0.95)) / 2
    assert v.extra["margin"] == pytest.approx(expected)
    assert v.label == "B"  # B's advantage survives once the position bias cancels
    assert v.probs["A"] == pytest.approx(1 / (1 + math.exp(-expected)))
    assert set(v.extra["orders"]) == {"AB", "BA"}
    vote = Pairwise(combine="vote").combine({}, {"AB": ab, "BA": ba})
    assert vote.label == "tie"  # the PRP rule: disagreement is a tie


def test_pairwise_tie_threshold():
    p = Pairwise(tie_threshold=0.5)
    ab = p.interpret("AB", scores({"a": 0.6, "b": 0.4}))
    ba = p.interpret("BA", scores({"a": 0.55, "b": 0.45}))
    assert p.combine({}, {"AB": ab, "BA": ba}).label == "tie"
    p2 = Pairwise(tie_threshold=0.0)
    assert p2.combine({}, {"AB": ab, "BA": ba}).label == "A"


def test_pairwise_unparsed_order_makes_the_item_unparsed():
    p = Pairwise()
    ab = p.interpret("AB", Generation("I think both are fine"))
    assert ab.status == "unparsed" and ab.label is None
    ba = p.interpret("BA", scores({"a": 0.7, "b": 0.3}))
    v = p.combine({}, {"AB": ab, "BA": ba})
    assert v.status == "unparsed" and v.label is None


def test_score_expected_value_and_rubric_order():
    s = Score(criteria="helpfulness")
    (_, req), = s.requests({"response": "hello"})
    assert req.options == ("1", "2", "3", "4", "5") and req.prompt.prefill == "Score:"
    text = req.prompt.messages[0].content
    assert text.index("1:") < text.index("5:")
    rev = Score(reverse_rubric=True).requests({"response": "hello"})[0][1].prompt.messages[0].content
    assert rev.index("5:") < rev.index("1:")
    v = s.interpret("", scores({"1": 0.1, "2": 0.1, "3": 0.2, "4": 0.3, "5": 0.3}))
    assert v.label in ("4", "5") and v.score == pytest.approx(0.1 + 0.2 + 0.6 + 1.2 + 1.5)


def test_score_scale_validation():
    with pytest.raises(ValueError):
        Score(scale=(5, 1))
    with pytest.raises(InputError, match="row 3.*field 'human'"):
        Score().normalise_label("7", file="x.csv", row=3, field="human")
    assert Score().normalise_label(4.0, file=None, row=1, field="h") == "4"


def test_classify_labels_descriptions_and_examples():
    c = Classify(labels=["positive", "negative"], descriptions={"positive": "likes it"},
                 examples=[{"text": "great", "label": "positive"}])
    text = c.requests({"text": "awful food"})[0][1].prompt.messages[0].content
    assert "likes it" in text and text.rstrip().endswith("Text: awful food")
    assert text.index("Text: great") < text.index("Text: awful food")
    with pytest.raises(ValueError):
        Classify(labels=["x"])
    with pytest.raises(ValueError):
        Classify(labels=["a", "b"], examples=[{"text": "t", "label": "c"}])
    with pytest.raises(InputError, match="not in the label set"):
        c.normalise_label("neutral", file="d.jsonl", row=2, field="label")


def test_correctness_references_and_labels():
    c = Correctness()
    with_ref = c.requests({"question": "Q?", "answer": "A", "reference": ["R1", "R2"]})[0][1]
    text = with_ref.prompt.messages[0].content
    assert "Reference answer: R1" in text and "Reference answer: R2" in text
    no_ref = c.requests({"question": "Q?", "answer": "A", "reference": None})[0][1].prompt.messages[0].content
    assert "Reference answer" not in no_ref
    v = c.interpret("", scores({"yes": 0.8, "no": 0.2}))
    assert v.label == "correct" and v.score == pytest.approx(0.8)
    assert c.normalise_label(True, file=None, row=1, field="l") == "correct"
    assert c.normalise_label("0", file=None, row=1, field="l") == "incorrect"


def test_unparseable_generation_is_recorded_never_defaulted():
    c = Classify(labels=["positive", "negative"])
    v = c.interpret("", Generation("Hmm, hard to say."))
    assert v.status == "unparsed" and v.label is None and v.raw == "Hmm, hard to say."
    ok = c.interpret("", Generation(" Negative."))
    assert ok.status == "ok" and ok.label == "negative"


@given(st.sampled_from(["a", "b"]), st.sampled_from(["", " ", "(", "\"", "**"]), st.sampled_from(["", ")", ".", ")\n"]))
def test_match_option_reads_decorated_answers(opt, pre, post):
    assert match_option(pre + opt + post, ("a", "b")) == opt


@given(st.text())
def test_match_option_never_crashes_and_returns_an_option_or_none(text):
    assert match_option(text, ("yes", "no")) in (None, "yes", "no")


def test_unknown_protocol_and_template():
    with pytest.raises(JuryboxError, match="unknown protocol"):
        make_protocol("rank")
    with pytest.raises(JuryboxError, match="template 'nope' not found"):
        make_protocol("pairwise", template="nope")
