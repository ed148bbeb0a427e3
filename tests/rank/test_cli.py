"""`jurybox rank` and `jurybox qrels` on the scripted backend: outputs, reruns, bad input (exit 2, nothing written)."""

from __future__ import annotations

import json

import pytest

from jurybox.cli import main
from jurybox.ir import read_qrels, read_run


def run_cli(args, capsys):
    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def candidates(tmp_path):
    p = tmp_path / "cands.jsonl"
    rows = [{"query_id": f"q{i}", "query": f"query {i}",
             "candidates": [{"doc_id": f"d{j}", "text": f"passage {i} {j}"} for j in range(5)]} for i in range(2)]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def test_rank_writes_a_run_and_a_report_and_a_rerun_makes_no_calls(candidates, tmp_path, capsys):
    out = tmp_path / "run.trec"
    args = ["rank", str(candidates), "--method", "pointwise", "--model", "scripted:cli", "--out", str(out),
            "--quiet", "--json"]
    code, stdout, _ = run_cli(args, capsys)
    assert code == 0
    first = json.loads(stdout)
    assert first["model_calls"] == 10
    run = read_run(out)
    assert len(run) == 10 and set(run.query_id) == {"q0", "q1"}
    report = json.loads((tmp_path / "run.json").read_text())
    assert [q["model_calls"] for q in report["per_query"]] == [5, 5]
    code, stdout, _ = run_cli(args, capsys)
    assert code == 0 and json.loads(stdout)["model_calls"] == 0


def test_rank_prints_the_cost_estimate_before_the_run(candidates, tmp_path, capsys):
    code, stdout, err = run_cli(["rank", str(candidates), "--method", "prp-allpair", "--model", "scripted:cli",
                                 "--out", str(tmp_path / "r.trec"), "--quiet"], capsys)
    assert code == 0
    assert "estimate: prp-allpair on 2 queries: about 40 model calls" in err
    assert "40 model calls" in stdout and "position consistency" in stdout


@pytest.mark.parametrize(("extra", "message"), [
    (["--depth", "9"], "depth 9 is larger than query q0's list of 5 candidates"),
    (["--method", "nope"], "unknown --method 'nope'"),
    (["--param", "combine=sideways"], "combine must be 'margin' or 'vote'"),
])
def test_rank_bad_options_exit_2_with_one_line_and_write_nothing(candidates, tmp_path, capsys, extra, message):
    out = tmp_path / "never.trec"
    code, _, err = run_cli(["rank", str(candidates), "--method", "prp-heapsort", "--model", "scripted:cli",
                            "--out", str(out), "--quiet", *extra], capsys)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_rank_a_run_naming_a_missing_document_exits_2(tmp_path, capsys):
    run = tmp_path / "bm25.trec"
    run.write_text("1 Q0 a 1 2.0 bm25\n1 Q0 zz 2 1.0 bm25\n")
    (tmp_path / "p.tsv").write_text("a\ttext a\n")
    (tmp_path / "q.tsv").write_text("1\tquery\n")
    code, _, err = run_cli(["rank", str(run), "--passages", str(tmp_path / "p.tsv"), "--queries",
                            str(tmp_path / "q.tsv"), "--model", "scripted:cli", "--quiet"], capsys)
    assert code == 2 and "bm25.trec, row 2, field 'docid': document zz is not in the passages file" in err
    assert not list(tmp_path.glob("*.prp-heapsort.*"))


@pytest.fixture
def pool(tmp_path):
    p = tmp_path / "pool.jsonl"
    rows = [{"query_id": "1", "query": "q one", "doc_id": f"d{j}", "passage": f"text {j}", "human_relevance": j % 4}
            for j in range(6)]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def test_qrels_writes_trec_qrels_and_reports_agreement(pool, tmp_path, capsys):
    out = tmp_path / "llm.qrels"
    code, stdout, _ = run_cli(["qrels", str(pool), "--out", str(out), "--model", "scripted:cli", "--human",
                               "human_relevance", "--quiet"], capsys)
    assert code == 0
    q = read_qrels(out, grades=range(4))
    assert len(q) == 6 and set(q.relevance) <= {0, 1, 2, 3}
    assert "6 pairs graded" in stdout and "agreement with 'human_relevance' on 6 pairs: kappa" in stdout


def test_qrels_fill_holes_judges_only_the_unjudged_pairs(pool, tmp_path, capsys):
    human = tmp_path / "human.qrels"
    human.write_text("1 0 d0 2\n1 0 d1 0\n")
    run = tmp_path / "run.trec"
    run.write_text("".join(f"1 Q0 d{j} {j + 1} {10 - j} sys\n" for j in range(5)))
    out = tmp_path / "aug.qrels"
    code, stdout, _ = run_cli(["qrels", str(pool), "--fill-holes", str(run), "--qrels", str(human), "--out", str(out),
                               "--model", "scripted:cli", "--quiet", "--json"], capsys)
    assert code == 0
    s = json.loads(stdout)
    assert s["holes"] == 3 and s["judging_model_calls"] == 3 and s["augmented_qrels"] == 5
    assert s["ndcg@10_human"] == pytest.approx(1.0)
    assert len(read_qrels(out)) == 5


def test_qrels_human_grade_outside_0_3_exits_2_and_writes_nothing(pool, tmp_path, capsys):
    human = tmp_path / "human.qrels"
    human.write_text("1 0 d0 2\n1 0 d1 7\n")
    run = tmp_path / "run.trec"
    run.write_text("1 Q0 d0 1 2 sys\n1 Q0 d3 2 1 sys\n")
    out = tmp_path / "aug.qrels"
    code, _, err = run_cli(["qrels", str(pool), "--fill-holes", str(run), "--qrels", str(human), "--out", str(out),
                            "--model", "scripted:cli", "--quiet"], capsys)
    assert code == 2 and "human.qrels, row 2, field 'relevance': relevance grade 7 is outside the scale" in err
    assert not out.exists()


def test_qrels_pool_with_a_duplicate_pair_exits_2(tmp_path, capsys):
    p = tmp_path / "pool.csv"
    p.write_text("query_id,query,doc_id,passage\n1,q,a,x\n1,q,a,y\n")
    code, _, err = run_cli(["qrels", str(p), "--out", str(tmp_path / "o.qrels"), "--model", "scripted:cli",
                            "--quiet"], capsys)
    assert code == 2 and "query 1 document a appears twice (rows 1 and 2)" in err


def test_fill_holes_scores_only_the_queries_the_run_answers(tmp_path):
    import pandas as pd

    from jurybox.backends.scripted import ScriptedBackend
    from jurybox.ir import fill_holes

    pool = pd.DataFrame({"query_id": ["1", "1", "2"], "query": ["a", "a", "b"], "doc_id": ["x", "y", "z"],
                         "passage": ["t1", "t2", "t3"]})
    human = pd.DataFrame({"query_id": ["1", "2"], "doc_id": ["x", "z"], "relevance": [3, 3]})
    run = pd.DataFrame({"query_id": ["1", "1"], "doc_id": ["x", "y"], "rank": [1, 2], "score": [2.0, 1.0]})
    res = fill_holes(run, human, pool, model=ScriptedBackend(identity="holes"), store=tmp_path / "s.sqlite")
    assert len(res.holes) == 1 and res.ndcg_human == pytest.approx(1.0)  # query 2 is not the run's: not a 0
    assert list(res.per_query.index) == ["1"]


def test_judge_with_the_relevance_protocol_gives_the_expected_grade(pool, tmp_path, capsys):
    out = tmp_path / "graded.jsonl"
    code, _, _ = run_cli(["judge", str(pool), "--protocol", "relevance", "--model", "scripted:cli", "--human",
                          "human_relevance", "--out", str(out), "--quiet"], capsys)
    assert code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 6 and all(r["verdict_score"] == pytest.approx(1.5) for r in rows)  # uniform answers
