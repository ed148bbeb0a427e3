"""IR agreement on synthetic runs and qrels.

The LLMJudge system-ranking tau/rho (paper Table 3) cannot be reproduced: they need the TREC DL
2023 run files, which are not in ../shared/data. The ranking code is tested on synthetic data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jurybox.errors import InputError
from jurybox.ir import (
    per_query_scores,
    qrels_agreement,
    ranking_agreement,
    read_qrels,
    read_run,
    significance_agreement,
    system_ranking_agreement,
    tau_ap,
    write_qrels,
    write_run,
)


def _synthetic(seed: int = 0, n_systems: int = 6, n_queries: int = 15, n_docs: int = 20):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    qrels = pd.DataFrame(
        [(f"q{i}", f"d{j}", int(rng.integers(0, 4))) for i in range(n_queries) for j in range(n_docs)],
        columns=["query_id", "doc_id", "relevance"],
    )
    runs = {}
    for s in range(n_systems):  # system s ranks by relevance with skill s: higher s is better
        noise = rng.random(len(qrels)) * 3
        runs[f"sys{s}"] = qrels.assign(score=qrels.relevance * s + noise)[["query_id", "doc_id", "score"]]
    return qrels, runs


def test_qrels_and_run_roundtrip_and_errors(tmp_path: Path) -> None:
    qrels, runs = _synthetic()
    write_qrels(qrels, tmp_path / "q.txt")
    assert read_qrels(tmp_path / "q.txt").equals(qrels)
    write_run(runs["sys1"], tmp_path / "r.txt", tag="sys1")
    run = read_run(tmp_path / "r.txt")
    assert len(run) == len(qrels) and set(run.tag) == {"sys1"}
    first = run[run.query_id == "q0"]
    assert first.score.is_monotonic_decreasing and list(first["rank"]) == list(range(1, 21))
    (tmp_path / "bad.txt").write_text("q1 0 d1 1\nq1 0 d2 x\n")
    with pytest.raises(InputError, match=r"bad.txt, row 2, field 'relevance'"):
        read_qrels(tmp_path / "bad.txt")
    (tmp_path / "dup.txt").write_text("q1 0 d1 1\nq1 0 d1 2\n")
    with pytest.raises(InputError, match="row 2"):
        read_qrels(tmp_path / "dup.txt")


def test_qrels_agreement_clips_and_counts() -> None:
    human = pd.DataFrame({"query_id": ["q"] * 4, "doc_id": list("abcd"), "relevance": [0, 1, 2, 3]})
    llm = pd.DataFrame({"query_id": ["q"] * 4, "doc_id": list("abce"), "relevance": [0, 1, 5, 3]})
    res = qrels_agreement(human, llm)
    assert (res.n_common, res.n_human_only, res.n_llm_only) == (3, 1, 1)
    # common pairs a, b, c: human 0, 1, 2; LLM 0, 1, 5 -> clipped to 3
    assert res.binarised_kappa["01|23"] == pytest.approx(1.0)
    assert res.binarised_kappa["012|3"] == 0.0  # human never reaches 3: chance-level by definition
    assert set(res.binarised_kappa) == {"0|123", "01|23", "012|3"}
    with pytest.raises(Exception, match="outside 0..3"):
        qrels_agreement(human, llm, clip=False)


def test_tau_ap_examples() -> None:
    ref = {"a": 4, "b": 3, "c": 2, "d": 1}
    assert tau_ap(ref, ref) == 1.0
    assert tau_ap(ref, {k: -v for k, v in ref.items()}) == -1.0
    top_swap = tau_ap(ref, {"a": 3, "b": 4, "c": 2, "d": 1})
    bottom_swap = tau_ap(ref, {"a": 4, "b": 3, "c": 1, "d": 2})
    # one swapped pair: Kendall's tau is 2/3 either way; tau_AP penalises the top swap more
    # top: C = (0, 2, 3) -> 2/3 * (0 + 1 + 1) - 1 = 1/3; bottom: C = (1, 2, 2) -> 2/3 * (1 + 1 + 2/3) - 1 = 7/9
    assert top_swap == pytest.approx(1 / 3) and bottom_swap == pytest.approx(7 / 9)


def test_system_ranking_agreement_on_synthetic_runs() -> None:
    qrels, runs = _synthetic()
    same = system_ranking_agreement(qrels, qrels, runs)
    assert same.n_systems == 6 and same.kendall_tau == 1.0 and same.tau_ap == 1.0 and same.spearman == 1.0
    scores = per_query_scores(qrels, runs).mean(axis=1)
    assert list(scores.sort_values().index) == [f"sys{s}" for s in range(6)]  # skill order recovered
    rng = np.random.default_rng(1)
    random_labels = qrels.assign(relevance=rng.integers(0, 4, len(qrels)))
    noisy = system_ranking_agreement(qrels, random_labels, runs)
    assert noisy.kendall_tau < 0.9
    inverted = qrels.assign(relevance=3 - qrels.relevance)
    assert system_ranking_agreement(qrels, inverted, runs).kendall_tau == -1.0
    assert ranking_agreement({"a": 1.0, "b": 2.0}, {"a": 1.0, "c": 3.0}).n_systems == 1


def test_per_query_scores_fill_unanswered_queries_with_zero() -> None:
    qrels, runs = _synthetic(n_systems=2, n_queries=3)
    partial = runs["sys1"][runs["sys1"].query_id != "q2"]
    table = per_query_scores(qrels, {"partial": partial, "full": runs["sys1"]}, measure="nDCG@10")
    assert table.loc["partial", "q2"] == 0.0 and table.loc["full", "q2"] > 0
    with pytest.raises(Exception, match="unknown IR measure"):
        per_query_scores(qrels, runs, measure="NotAMeasure@3")


def test_significance_agreement_counts() -> None:
    rng = np.random.default_rng(0)
    queries = [f"q{i}" for i in range(40)]
    base = rng.random(40)
    ref = pd.DataFrame(
        [base, base + 0.3 + rng.normal(0, 0.05, 40), base + rng.normal(0, 0.05, 40)],
        index=["A", "B", "C"],
        columns=queries,
    )
    # estimate: B and C look different (false positive for A-C?) -- build C clearly better than A
    est = ref.copy()
    est.loc["C"] = base + 0.3 + rng.normal(0, 0.05, 40)
    res = significance_agreement(ref, est)
    # reference: A<B sig, A~C not sig, B>C sig; estimate: A<B sig, A<C sig, B~C not sig
    assert res.n_pairs == 3 and res.significant_reference == 2 and res.significant_estimate == 2
    assert (res.agree_significant, res.false_positives, res.false_negatives, res.direction_flips) == (
        1,
        1,
        1,
        0,
    )
    assert res.false_positive_rate == 0.5
    flipped = significance_agreement(ref, -ref, test="wilcoxon")
    assert flipped.direction_flips == flipped.significant_reference == 2
