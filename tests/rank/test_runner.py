"""Reranking through the engine and store with scripted backends whose true order is known."""

from __future__ import annotations

import json
import math
import random
import re

import pytest

from jurybox.backends.scripted import ScriptedBackend
from jurybox.errors import OptionError
from jurybox.rank import rank
from jurybox.store import Store

LEVEL = re.compile(r"level (\d+)")


def query(n: int, seed: int = 0, qid: str = "q1") -> dict:
    """A query whose candidates carry their true relevance in the text, in a shuffled input order."""
    levels = list(range(n))
    random.Random(seed).shuffle(levels)
    return {"query_id": qid, "query": f"what is test {qid}",
            "candidates": [{"doc_id": f"d{lv}", "text": f"a passage of relevance level {lv}"} for lv in levels]}


def true_order(q: dict) -> list[str]:
    return sorted((c["doc_id"] for c in q["candidates"]), key=lambda d: -int(d[1:]))


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def scripted(bias: float = 0.0, position_bias: list[float] | None = None, listwise: str | None = None,
             fail_after: int | None = None) -> ScriptedBackend:
    """PRP: p(first) = sigmoid(level_A - level_B + bias); setwise: softmax(level + position_bias);
    relevance: a distribution centred on level / 4 (the expected grade grows with the level); listwise: the true order as JSON (or ``listwise``)."""
    state = {"calls": 0}

    def options(text: str, opts: tuple[str, ...]) -> dict[str, float]:
        state["calls"] += 1
        if fail_after is not None and state["calls"] > fail_after:
            raise RuntimeError("killed")
        levels = [int(x) for x in LEVEL.findall(text)]
        if opts == ("A", "B"):
            p = sigmoid(levels[0] - levels[1] + bias)
            return {"A": p, "B": 1 - p}
        if opts == ("0", "1", "2", "3"):
            centre = levels[0] / 4
            w = {o: math.exp(-2 * (int(o) - centre) ** 2) for o in opts}
            return {o: v / sum(w.values()) for o, v in w.items()}
        pb = position_bias or [0.0] * len(opts)
        w = {o: math.exp(lv + pb[k]) for k, (o, lv) in enumerate(zip(opts, levels, strict=True))}
        return {o: v / sum(w.values()) for o, v in w.items()}

    def generate(text: str) -> str:
        if listwise is not None:
            return listwise
        levels = [int(x) for x in LEVEL.findall(text.split("Search Query:")[0])]
        ranking = sorted(range(1, len(levels) + 1), key=lambda i: -levels[i - 1])
        return json.dumps({"ranking": ranking})

    # each behaviour its own model identity: a store shared by two behaviours keeps their answers apart
    identity = f"rank-test:{bias}:{position_bias}:{listwise}"
    return ScriptedBackend(options, generate, identity=identity)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "rank.sqlite") as s:
        yield s


@pytest.mark.parametrize(("method", "kw", "calls"), [
    ("prp-allpair", {}, lambda n: n * (n - 1)),
    ("pointwise", {}, lambda n: n),
    ("listwise", {"window": 20}, lambda n: 1),
])
def test_methods_recover_the_true_order_with_the_formula_call_count(store, method, kw, calls):
    n = 9
    q = query(n, seed=4)
    res = rank([q], method, model=scripted(), store=store, **kw)
    assert list(res.run.doc_id) == true_order(q)
    assert res.stats.model_calls == calls(n)
    assert res.estimate.calls == calls(n)
    assert res.queries[0].model_calls == calls(n)


@pytest.mark.parametrize(("method", "kw"), [("prp-heapsort", {}), ("prp-sliding", {}), ("setwise", {}),
                                            ("setwise", {"set_size": 3, "permutations": "cyclic"})])
def test_top_k_methods_get_the_top_k_exactly(store, method, kw):
    q = query(15, seed=2)
    res = rank([q], method, model=scripted(), store=store, top_k=4, combine="margin" if method.startswith("prp")
               else None, **kw) if method.startswith("prp") else rank([q], method, model=scripted(), store=store,
                                                                       top_k=4, **kw)
    assert list(res.run.doc_id)[:4] == true_order(q)[:4]
    assert sorted(res.run.doc_id) == sorted(c["doc_id"] for c in q["candidates"])
    assert list(res.run["rank"]) == list(range(1, 16))


def test_prp_both_orders_cost_two_calls_per_distinct_pair_and_sliding_matches_its_formula(store):
    n, k = 10, 3
    q = query(n, seed=1)
    res = rank([q], "prp-sliding", model=scripted(), store=store, top_k=k)
    comparisons = sum(n - 1 - p for p in range(k))
    assert res.queries[0].questions <= comparisons
    assert res.stats.model_calls == 2 * res.queries[0].questions
    assert list(res.run.doc_id)[:k] == true_order(q)[:k]


def test_a_rerun_makes_no_model_calls_and_gives_the_same_run(store):
    q = query(12, seed=5)
    first = rank([q], "prp-heapsort", model=scripted(), store=store, top_k=5)
    again = rank([q], "prp-heapsort", model=scripted(), store=store, top_k=5)
    assert first.stats.model_calls > 0
    assert again.stats.model_calls == 0
    assert again.stats.n_cached == first.stats.n_tasks
    assert again.run.equals(first.run)


def test_a_killed_run_resumes_with_only_the_missing_calls(tmp_path):
    q = query(12, seed=6)
    with Store(tmp_path / "full.sqlite") as s:
        full = rank([q], "prp-heapsort", model=scripted(), store=s, top_k=5)
    with Store(tmp_path / "killed.sqlite") as s:
        with pytest.raises(RuntimeError, match="killed"):
            rank([q], "prp-heapsort", model=scripted(fail_after=17), store=s, top_k=5)
        resumed = rank([q], "prp-heapsort", model=scripted(), store=s, top_k=5)
    assert resumed.stats.n_cached == 17
    assert resumed.stats.model_calls == full.stats.model_calls - 17
    assert resumed.run.equals(full.run)


def test_a_constant_position_bias_is_cancelled_by_both_orders(store):
    q = query(10, seed=7)
    truth = true_order(q)
    # bias 4.5: larger than every level difference below 5, so one order alone picks the first passage
    one = rank([q], "prp-allpair", model=scripted(bias=4.5), store=store, orders="AB")
    margin = rank([q], "prp-allpair", model=scripted(bias=4.5), store=store, combine="margin")
    vote_small = rank([q], "prp-allpair", model=scripted(bias=0.5), store=store, combine="vote")
    assert list(one.run.doc_id) != truth
    assert list(margin.run.doc_id) == truth
    assert list(vote_small.run.doc_id) == truth  # a bias that flips no answer changes nothing
    assert vote_small.position_consistency == 1.0
    # with the large bias the vote rule gives ties (never a wrong winner) and reports low consistency
    vote_big = rank([q], "prp-allpair", model=scripted(bias=4.5), store=store, combine="vote")
    assert vote_big.position_consistency < 0.5
    # the one-order run asked the AB halves; both-order runs add only the BA halves, and a change of
    # combination rule reuses every stored task
    assert margin.stats.model_calls == 45 and vote_big.stats.model_calls == 0


def test_setwise_cyclic_permutations_cancel_any_position_bias(store):
    q = query(13, seed=8)
    bias = [6.0, -1.0, 3.0, 0.5]  # far larger than the level differences between neighbours
    none = rank([q], "setwise", model=scripted(position_bias=bias), store=store, top_k=5, permutations="none")
    cyc = rank([q], "setwise", model=scripted(position_bias=bias), store=store, top_k=5, permutations="cyclic")
    assert list(none.run.doc_id)[:5] != true_order(q)[:5]
    assert list(cyc.run.doc_id)[:5] == true_order(q)[:5]
    assert none.position_consistency is None and cyc.position_consistency is not None


def test_setwise_reverse_cancels_a_linear_position_bias(store):
    q = query(13, seed=9)
    bias = [3.0 * k for k in range(4)]  # grows with the position: the reversed order mirrors it
    res = rank([q], "setwise", model=scripted(position_bias=bias), store=store, top_k=5)
    assert list(res.run.doc_id)[:5] == true_order(q)[:5]


@pytest.mark.parametrize("answer", ['{"ranking": [1, 1, 2]}', '{"ranking": [2, 1]}', "3 > 1 > 2", "I think [2]",
                                    '{"ranking": [1, 2, 3, 4, 4]}'])
def test_an_unreadable_or_incomplete_permutation_keeps_the_window_in_input_order(store, answer):
    q = query(5, seed=3)
    res = rank([q], "listwise", model=scripted(listwise=answer), store=store, window=5)
    assert list(res.run.doc_id) == [c["doc_id"] for c in q["candidates"]]
    assert res.queries[0].n_unparsed == 1


def test_listwise_arrow_answers_and_both_orders(store):
    q = query(4, seed=3)
    levels = [int(c["doc_id"][1:]) for c in q["candidates"]]
    arrows = " > ".join(f"[{i}]" for i in sorted(range(1, 5), key=lambda i: -levels[i - 1]))
    res = rank([q], "listwise", model=scripted(listwise=arrows), store=store, window=4)
    assert list(res.run.doc_id) == true_order(q)
    both = rank([q], "listwise", model=scripted(), store=store, window=4, orders="both")
    assert list(both.run.doc_id) == true_order(q)
    assert both.stats.model_calls == 2 and both.position_consistency == 1.0


def test_listwise_identity_answers_are_counted_as_unchanged_windows(store):
    q = query(6, seed=2)
    res = rank([q], "listwise", model=scripted(listwise='{"ranking": [1, 2, 3, 4, 5, 6]}'), store=store, window=6)
    assert res.queries[0].n_unchanged == 1 and res.queries[0].n_unparsed == 0
    rev = rank([q], "listwise", model=scripted(listwise='{"ranking": [6, 5, 4, 3, 2, 1]}'), store=store, window=6)
    assert rev.queries[0].n_reversed == 1 and list(rev.run.doc_id) == [c["doc_id"] for c in q["candidates"]][::-1]


def test_depth_reranks_only_the_head_and_keeps_the_tail(store):
    q = query(12, seed=11)
    res = rank([q], "pointwise", model=scripted(), store=store, depth=6)
    head = q["candidates"][:6]
    assert list(res.run.doc_id)[:6] == sorted((c["doc_id"] for c in head), key=lambda d: -int(d[1:]))
    assert list(res.run.doc_id)[6:] == [c["doc_id"] for c in q["candidates"][6:]]
    assert res.stats.model_calls == 6


def test_bad_options_are_one_line_errors(store):
    q = query(5)
    with pytest.raises(OptionError, match="depth 9 is larger than query q1's list of 5 candidates"):
        rank([q], "pointwise", model=scripted(), store=store, depth=9)
    with pytest.raises(OptionError, match="unknown ranking method 'bogus'"):
        rank([q], "bogus", model=scripted(), store=store)
    with pytest.raises(OptionError, match="set_size"):
        rank([q], "setwise", model=scripted(), store=store, set_size=1)
    with pytest.raises(OptionError, match="stride"):
        rank([q], "listwise", model=scripted(), store=store, window=4, stride=5)


def test_several_queries_get_their_own_statistics(store):
    qs = [query(6, seed=1, qid="a"), query(8, seed=2, qid="b")]
    res = rank(qs, "pointwise", model=scripted(), store=store)
    assert [s.query_id for s in res.queries] == ["a", "b"]
    assert [s.model_calls for s in res.queries] == [6, 8]
    assert set(res.run.query_id) == {"a", "b"}
    d = res.to_dict()
    assert d["per_query"][1]["n_candidates"] == 8 and d["model_calls"] == 14


def test_a_concurrent_backend_runs_each_batch_concurrently_with_the_same_result(tmp_path):
    q = query(10, seed=12)
    with Store(tmp_path / "a.sqlite") as s:
        serial = rank([q], "prp-allpair", model=scripted(bias=1.0), store=s)
    concurrent = scripted(bias=1.0)
    concurrent.concurrency = 4
    with Store(tmp_path / "b.sqlite") as s:
        streamed = rank([q], "prp-allpair", model=concurrent, store=s)
        again = rank([q], "prp-heapsort", model=concurrent, store=s, top_k=3)
    assert streamed.run.equals(serial.run)
    assert streamed.stats.model_calls == serial.stats.model_calls == 90
    assert again.stats.model_calls == 0  # every heapsort pair is one of the all-pairs tasks


def test_the_estimate_is_exact_where_the_questions_do_not_depend_on_the_answers(store):
    q = query(11, seed=13)
    for method, kw in (("listwise", {"window": 6, "stride": 3, "passes": 2}), ("pointwise", {}),
                       ("prp-sliding", {"top_k": 4}), ("setwise", {"permutations": "cyclic"})):
        res = rank([q], method, model=scripted(bias=0.3), store=store, **kw)
        if method in ("listwise", "pointwise"):
            assert res.estimate.calls == res.stats.model_calls, method
        else:  # which questions repeat depends on the answers: an estimate of the same order
            assert 0.5 * res.stats.model_calls <= res.estimate.calls <= 2 * res.stats.model_calls, method
    sliding = rank([q], "prp-sliding", model=scripted(bias=0.3), store=store, top_k=4)
    assert sliding.stats.model_calls == 0 and sliding.queries[0].tasks <= 2 * sum(11 - 1 - p for p in range(4))
