"""Labelling with a taxonomy file: multilabel (yes/no per label) and classify_codes (one of many)."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml

import jurybox
from jurybox.backends.scripted import ScriptedBackend
from jurybox.errors import InputError, JuryboxError
from jurybox.protocols.multilabel import SPLIT_CODES, codes_for, read_taxonomy


def write_tax(path, labels):
    path.write_text(yaml.safe_dump({"use_case": "intents", "labels": labels, "history": [{"step": 1}]}))
    return path


def test_read_taxonomy_and_its_errors(tmp_path):
    p = write_tax(tmp_path / "t.yaml", [{"name": "card", "description": "card problems"}, {"name": "refund"}])
    assert read_taxonomy(p) == (["card", "refund"], {"card": "card problems"})
    with pytest.raises(InputError, match=r"t0.yaml, field 'labels': the taxonomy has no labels"):
        read_taxonomy(write_tax(tmp_path / "t0.yaml", []))
    with pytest.raises(InputError, match="appears twice"):
        read_taxonomy(write_tax(tmp_path / "t2.yaml", ["a", "a"]))
    with pytest.raises(InputError, match="taxonomy file not found"):
        read_taxonomy(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("labels: [a, b\n")
    with pytest.raises(InputError, match="cannot read the taxonomy as YAML"):
        read_taxonomy(tmp_path / "bad.yaml")


def applies(text, options):
    """A scripted judge: a label applies when its name occurs in the text."""
    label = re.search(r'Does the label "([^"]+)" apply', text).group(1)
    body = text.split("Text:")[-1].split("Does the label")[0]
    return {"yes": 0.9, "no": 0.1} if label in body else {"yes": 0.2, "no": 0.8}


def test_multilabel_with_a_taxonomy_file(tmp_path):
    tax = write_tax(tmp_path / "t.yaml", [{"name": "card", "description": "cards"}, {"name": "refund"},
                                           {"name": "pin"}])
    df = pd.DataFrame({"text": ["card and refund", "pin only", "nothing here"]})
    backend = ScriptedBackend(options=applies)
    res = jurybox.run_judge(df, "multilabel", model=backend, taxonomy=str(tax), store=tmp_path / "s.sqlite")
    assert list(res.table.verdict) == ["card;refund", "pin", "(none)"]
    assert res.verdicts[0].probs == pytest.approx({"card": 0.9, "refund": 0.9, "pin": 0.2})
    assert res.verdicts[2].extra["labels"] == []
    assert backend.calls == 9  # one yes/no question per label per item
    again = jurybox.run_judge(df, "multilabel", model=backend, taxonomy=str(tax), store=tmp_path / "s.sqlite")
    assert again.stats.model_calls == 0
    # every prompt of an item shares the label list and the text; only the question differs
    first = backend.seen[:3]
    common = min(len(a.split("Does the label")[0]) for a in first)
    assert len({a[:common] for a in first}) == 1


def test_multilabel_unread_answer_is_unparsed_not_no(tmp_path):
    backend = ScriptedBackend(options=lambda text, opts: {"yes": 0.0, "no": 0.0})  # no mass on either option
    df = pd.DataFrame({"text": ["x"]})
    from jurybox.protocols.multilabel import MultiLabel
    from jurybox.types import Generation

    proto = MultiLabel(labels=["a", "b"])
    v = proto.interpret("label:a", Generation("maybe"))
    assert v.status == "unparsed" and v.label is None
    combined = proto.combine({"text": "x"}, {"label:a": v, "label:b": proto.interpret("label:b", Generation("yes"))})
    assert combined.status == "unparsed" and combined.label is None and combined.extra["unparsed_labels"] == ["a"]
    assert backend.calls == 0 and len(df) == 1


def test_multilabel_human_labels_and_empty_taxonomy(tmp_path):
    from jurybox.protocols.multilabel import MultiLabel

    proto = MultiLabel(labels=["a", "b", "c"])
    assert proto.normalise_label("c; A", file=None, row=1, field="h") == "a;c"
    assert proto.normalise_label("", file=None, row=1, field="h") == "(none)"
    with pytest.raises(InputError, match="'z' is not in the label set"):
        proto.normalise_label("z", file="f", row=2, field="h")
    empty = write_tax(tmp_path / "e.yaml", [])
    with pytest.raises(InputError, match="the taxonomy has no labels"):
        jurybox.make_protocol("multilabel", taxonomy=str(empty))
    with pytest.raises(JuryboxError, match="not both"):
        jurybox.make_protocol("multilabel", taxonomy=str(write_tax(tmp_path / "t.yaml", ["a"])), labels=["a"])


def test_codes_are_distinct_and_skip_split_ones():
    codes = codes_for(77)
    assert len(set(codes)) == 77 and not set(codes) & SPLIT_CODES
    assert codes[:3] == ["AA", "AB", "AC"]


def test_classify_codes_reads_codes_and_returns_names(tmp_path):
    labels = [f"intent_{i}" for i in range(30)]

    def pick(text, options):
        want = text.split("Text:")[-1].strip().split()[0]  # the text starts with the intended label
        code = next(line.split(":")[0] for line in text.splitlines() if line.endswith(": " + want))
        return {o: (0.7 if o == code else 0.3 / (len(options) - 1)) for o in options}

    backend = ScriptedBackend(options=pick)
    df = pd.DataFrame({"text": ["intent_3 please", "intent_29 now"]})
    res = jurybox.run_judge(df, "classify_codes", model=backend, labels=labels, store=tmp_path / "s.sqlite")
    assert list(res.table.verdict) == ["intent_3", "intent_29"]
    assert set(res.verdicts[0].probs) == set(labels)
    assert res.verdicts[0].probs["intent_3"] == pytest.approx(0.7)
    with pytest.raises(JuryboxError, match="at least 2 distinct"):
        jurybox.make_protocol("classify_codes", labels=["only"])


def test_classify_shortlist_reads_letters_as_the_items_candidates(tmp_path):
    labels = [f"intent_{i}" for i in range(40)]

    def pick(text, options):  # the answer is the option whose label the text starts with
        want = text.split("Text:")[-1].strip().split()[0]
        letter = next(line.split(".")[0] for line in text.splitlines() if line.endswith(". " + want))
        return {o: (0.8 if o == letter else 0.2 / (len(options) - 1)) for o in options}

    df = pd.DataFrame({"text": ["intent_7 please", "intent_30 now"],
                       "candidates": ["intent_1;intent_7;intent_9", "intent_30;intent_2"]})
    backend = ScriptedBackend(options=pick)
    res = jurybox.run_judge(df, "classify_shortlist", model=backend, labels=labels, store=tmp_path / "s.sqlite")
    assert list(res.table.verdict) == ["intent_7", "intent_30"]
    assert res.verdicts[0].probs == pytest.approx({"intent_1": 0.1, "intent_7": 0.8, "intent_9": 0.1})
    assert res.verdicts[1].probs == pytest.approx({"intent_30": 0.8, "intent_2": 0.2})
    bad = df.assign(candidates=["intent_1;nope", "intent_2;intent_3"])
    with pytest.raises(InputError, match="candidate 'nope' is not in the label set"):
        jurybox.run_judge(bad, "classify_shortlist", model=backend, labels=labels, store=tmp_path / "s.sqlite")


def test_shortlist_in_both_orders_cancels_a_position_preference(tmp_path):
    labels = [f"intent_{i}" for i in range(10)]

    def last_biased(text, options):  # a judge that knows the answer a little and loves the last letter
        want = text.split("Text:")[-1].strip().split()[0]
        letter = next(line.split(".")[0] for line in text.splitlines() if line.endswith(". " + want))
        z = {o: (1.0 if o == letter else 0.0) + (2.0 if o == options[-1] else 0.0) for o in options}
        total = sum(2.718281828 ** x for x in z.values())
        return {o: 2.718281828 ** x / total for o, x in z.items()}

    df = pd.DataFrame({"text": ["intent_1 please", "intent_4 now"],
                       "candidates": ["intent_1;intent_2;intent_3", "intent_4;intent_5;intent_6"]})
    one = jurybox.run_judge(df, "classify_shortlist", model=ScriptedBackend(options=last_biased), labels=labels,
                            store=tmp_path / "s.sqlite")
    assert list(one.table.verdict) == ["intent_3", "intent_6"]  # the last letter wins in one order
    backend = ScriptedBackend(options=last_biased)
    both = jurybox.run_judge(df, "classify_shortlist", model=backend, labels=labels, orders=2,
                             store=tmp_path / "s.sqlite")
    assert both.stats.model_calls == 2  # order 0 comes from the one-order run's store
    assert list(both.table.verdict) == ["intent_1", "intent_4"]  # the bias averages out, the signal stays
    assert any("A. intent_3\nB. intent_2\nC. intent_1" in t for t in backend.seen)  # order 1 is reversed
    v = both.verdicts[0]
    assert v.extra["orders"] == 2 and v.probs is not None and sum(v.probs.values()) == pytest.approx(1.0)
    assert v.extra["per_order"] == {"intent_1;intent_2;intent_3": "intent_3", "intent_3;intent_2;intent_1": "intent_1"}
    with pytest.raises(JuryboxError, match="orders must be at least 1"):
        jurybox.make_protocol("classify_shortlist", labels=labels, orders=0)


def test_shortlist_ranks_labels_by_similarity():
    from jurybox.distill.api import shortlist

    out = shortlist(["refund my purchase", "my card was stolen"], ["card_stolen", "refund_request", "pin_reset"],
                    k=2, embedder="tfidf")
    assert out[0][0] == "refund_request" and out[1][0] == "card_stolen" and len(out[0]) == 2
