"""Candidate inputs, TREC run/qrels round trips through ir-measures, and the relevance protocols."""

from __future__ import annotations

import json
import math

import ir_measures
import pandas as pd
import pytest

from jurybox.errors import InputError
from jurybox.ir import read_qrels, read_run, to_qrels, write_qrels, write_run
from jurybox.protocols.registry import make_protocol
from jurybox.rank import read_candidates
from jurybox.types import Generation, OptionScores


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def trec_inputs(tmp_path):
    run = write(tmp_path / "run.trec", "q1 Q0 d2 2 9.0 bm25\nq1 Q0 d1 1 10.0 bm25\nq2 Q0 d3 1 5 bm25\n"
                                       "q2 Q0 d1 2 4 bm25\n")
    passages = write(tmp_path / "collection.tsv", "d1\tfirst passage\nd2\tsecond passage\nd3\tthird\n")
    queries = write(tmp_path / "queries.tsv", "q1\tquery one\nq2\tquery two\n")
    return run, passages, queries


def test_a_trec_run_with_passages_and_queries_in_rank_order(trec_inputs):
    run, passages, queries = trec_inputs
    qs = read_candidates(run, passages=passages, queries=queries)
    assert [q.query_id for q in qs] == ["q1", "q2"]
    assert [c.doc_id for c in qs[0].candidates] == ["d1", "d2"]  # rank 1 first, whatever the line order
    assert qs[0].query == "query one" and qs[0].candidates[0].text == "first passage"


def test_a_document_missing_from_the_passages_file_names_the_run_row(trec_inputs, tmp_path):
    run, passages, queries = trec_inputs
    bad = write(tmp_path / "bad.trec", run.read_text() + "q2 Q0 d9 3 1 bm25\n")
    with pytest.raises(InputError, match=r"bad.trec, row 5, field 'docid': document d9 is not in the passages"):
        read_candidates(bad, passages=passages, queries=queries)


def test_a_duplicate_query_document_row_is_refused(trec_inputs, tmp_path):
    run, passages, queries = trec_inputs
    bad = write(tmp_path / "dup.trec", run.read_text() + "q1 Q0 d1 3 1 bm25\n")
    with pytest.raises(InputError, match=r"row 5.*query q1 document d1 appears twice \(rows 2 and 5\)"):
        read_candidates(bad, passages=passages, queries=queries)
    rows = [{"query_id": "q", "query": "x", "candidates": [{"doc_id": "a", "text": "t"}, {"doc_id": "a", "text": "u"}]}]
    with pytest.raises(InputError, match="lists document a twice"):
        read_candidates(rows)


def test_a_query_with_one_candidate_is_refused(tmp_path):
    p = write(tmp_path / "c.jsonl", json.dumps({"query_id": "7", "query": "x", "candidates": [
        {"doc_id": "a", "text": "t"}]}) + "\n")
    with pytest.raises(InputError, match=r"c.jsonl, row 1: query 7 has 1 candidate\(s\); ranking needs at least 2"):
        read_candidates(p)


def test_a_query_missing_from_the_queries_file(trec_inputs, tmp_path):
    run, passages, _ = trec_inputs
    queries = write(tmp_path / "q.tsv", "q1\tquery one\n")
    with pytest.raises(InputError, match="query q2 is not in the queries file"):
        read_candidates(run, passages=passages, queries=queries)


def test_rank_llm_layout_and_a_table_of_pairs(tmp_path):
    data = [{"query": "flea life", "hits": [{"qid": 264014, "docid": "5", "content": "a", "rank": 1, "score": 3.0},
                                            {"qid": 264014, "docid": "6", "content": "b", "rank": 2, "score": 2.0}]}]
    p = write(tmp_path / "bm25.json", json.dumps(data))
    (q,) = read_candidates(p)
    assert q.query_id == "264014" and [c.doc_id for c in q.candidates] == ["5", "6"] and q.candidates[0].score == 3.0
    df = pd.DataFrame({"query_id": [1, 1, 2, 2], "query": ["a", "a", "b", "b"], "doc_id": ["x", "y", "x", "z"],
                       "text": ["t1", "t2", "t3", "t4"]})
    qs = read_candidates(df)
    assert [len(q.candidates) for q in qs] == [2, 2]
    with pytest.raises(InputError, match="empty text"):
        read_candidates(df.assign(text=["t1", " ", "t3", "t4"]))


def test_the_shared_dl19_candidates_read(shared_data):
    qs = read_candidates(shared_data / "ranking" / "bm25_top100_dl19.json")
    assert len(qs) == 43 and all(len(q.candidates) == 100 for q in qs)


def test_run_and_qrels_writers_round_trip_through_ir_measures(tmp_path):
    run = pd.DataFrame({"query_id": ["q1", "q1", "q2"], "doc_id": ["a", "b", "c"], "score": [2.0, 1.0, 0.5]})
    write_run(run, tmp_path / "r.trec", tag="t")
    got = pd.DataFrame(ir_measures.read_trec_run(str(tmp_path / "r.trec")))
    assert list(got.doc_id) == ["a", "b", "c"] and list(got.score) == [2.0, 1.0, 0.5]
    back = read_run(tmp_path / "r.trec")
    assert list(back["rank"]) == [1, 2, 1] and set(back.tag) == {"t"}
    qrels = to_qrels(["q1", "q1", "q2", "q2"], ["a", "b", "c", "d"], ["3", None, "1", "0"], [2.6, None, 1.49, 0.2])
    assert list(qrels.relevance) == [3, 1, 0]  # expected grade rounded half up; the unread pair left out
    write_qrels(qrels, tmp_path / "q.qrels")
    irq = pd.DataFrame(ir_measures.read_trec_qrels(str(tmp_path / "q.qrels")))
    assert list(irq.relevance) == [3, 1, 0]
    (m,) = [x for x in ir_measures.iter_calc([ir_measures.nDCG @ 10], irq, got) if x.query_id == "q1"]
    assert m.value == pytest.approx(1.0)
    assert list(to_qrels(["q"], ["a"], ["1"], [2.6], grade="argmax").relevance) == [1]


def test_human_qrels_with_a_grade_outside_0_3_name_the_row(tmp_path):
    p = write(tmp_path / "h.qrels", "q1 0 a 1\nq1 0 b 4\n")
    assert len(read_qrels(p)) == 2
    with pytest.raises(InputError, match=r"h.qrels, row 2, field 'relevance': relevance grade 4 is outside"):
        read_qrels(p, grades=range(4))


def test_relevance_protocol_expected_grade_and_labels():
    proto = make_protocol("relevance")
    ((variant, req),) = proto.requests({"query": "q?", "passage": "text"})
    assert req.options == ("0", "1", "2", "3") and "Query: q?" in req.prompt.messages[0].content
    lp = {"0": math.log(0.1), "1": math.log(0.2), "2": math.log(0.3), "3": math.log(0.4)}
    v = proto.interpret(variant, OptionScores(lp, lp, 1.0))
    assert v.label == "3" and v.score == pytest.approx(2.0)
    gen = proto.interpret(variant, Generation("2"))
    assert gen.label == "2" and gen.score == 2.0
    bad = proto.interpret(variant, Generation("very relevant"))
    assert bad.status == "unparsed" and bad.label is None
    with pytest.raises(InputError, match="not one of 0, 1, 2, 3"):
        proto.normalise_label("5", file="f", row=3, field="g")


def test_prp_protocol_orders_and_consistency():
    proto = make_protocol("prp")
    reqs = dict(proto.requests({"query": "q", "passage_a": "AAA", "passage_b": "BBB"}))
    ab, ba = reqs["AB"].prompt.messages[0].content, reqs["BA"].prompt.messages[0].content
    assert ab.index("AAA") < ab.index("BBB") and ba.index("BBB") < ba.index("AAA")
    first = {"A": math.log(0.8), "B": math.log(0.2)}  # always the first position
    vs = {k: proto.interpret(k, OptionScores(first, first, 1.0)) for k in ("AB", "BA")}
    out = proto.combine({}, vs)
    assert out.label == "tie" and out.extra["consistent"] is False
    margin = make_protocol("prp", combine="margin").combine({}, vs)
    assert margin.extra["margin"] == pytest.approx(0.0)


def test_setwise_protocol_permutations():
    proto = make_protocol("setwise", permutations="cyclic")
    reqs = proto.requests({"query": "q", "passages": ["p0", "p1", "p2"]})
    assert [v for v, _ in reqs] == ["0,1,2", "1,2,0", "2,0,1"]
    assert reqs[0][1].options == ("A", "B", "C")
    with pytest.raises(InputError, match="2 to 10 passages"):
        proto.requests({"query": "q", "passages": ["only"]})


def test_jurybox_rank_is_the_entry_point_whatever_was_imported_first():
    import subprocess
    import sys

    code = ("import jurybox.rank.algorithms, jurybox; r = jurybox.rank([{'query_id': 'q', 'query': 'x', "
            "'candidates': [{'doc_id': 'a', 'text': 't'}, {'doc_id': 'b', 'text': 'u'}]}], 'pointwise', "
            "model='scripted', store=':memory:'); print(type(r).__name__, list(r.run.doc_id))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["RankResult", "['a',", "'b']"]
    out = subprocess.run([sys.executable, "-c", code.replace("import jurybox.rank.algorithms, jurybox;",
                                                                  "import jurybox;")],
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["RankResult", "['a',", "'b']"]


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from jurybox.protocols.listwise import parse_permutation  # noqa: E402


@given(st.permutations(list(range(1, 9))), st.booleans())
@settings(max_examples=100, deadline=None)
def test_every_permutation_parses_in_both_forms(perm, arrows):
    text = " > ".join(f"[{i}]" for i in perm) if arrows else json.dumps({"ranking": perm})
    assert parse_permutation(text, 8) == (list(perm), "")


@given(st.lists(st.integers(0, 10), min_size=0, max_size=10))
@settings(max_examples=200, deadline=None)
def test_anything_but_a_permutation_is_refused(seq):
    n = 6
    got, why = parse_permutation(json.dumps({"ranking": seq}), n)
    if sorted(seq) == list(range(1, n + 1)):
        assert got == seq
    else:
        assert got is None and why
