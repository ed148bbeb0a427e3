"""The vectorised ranking against a plain per-row definition, and the boundary checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jurybox.labelerrors.ranking as ranking
from jurybox.errors import JuryboxError
from jurybox.labelerrors import find_label_issues, label_quality_scores, rank_by_quality


def naive(y, p, method):
    out = []
    for i in range(len(y)):
        own = p[i, y[i]]
        if method == "self_confidence":
            out.append(own)
        else:
            other = max(p[i, k] for k in range(p.shape[1]) if k != y[i])
            out.append((own - other + 1) / 2)
    return np.array(out)


@st.composite
def problems(draw):
    n = draw(st.integers(1, 40))
    k = draw(st.integers(2, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    raw = rng.random((n, k))
    if draw(st.booleans()):  # coarse values make ties common
        raw = np.round(raw * 3)
        raw[raw.sum(axis=1) == 0, 0] = 1
    p = raw / raw.sum(axis=1, keepdims=True)
    y = rng.integers(0, k, size=n)
    return y, p


@settings(max_examples=200, deadline=None)
@given(problems(), st.sampled_from(["self_confidence", "normalized_margin"]))
def test_scores_and_flags_match_the_definition(prob, method):
    y, p = prob
    s = label_quality_scores(y, p, rank_by=method)
    np.testing.assert_allclose(s, naive(y, p, method), atol=1e-12)
    expected_flags = [
        i for i in range(len(y)) if p[i, y[i]] < p[i].max()
    ]  # ties with the given label: no flag
    issues = find_label_issues(y, p, rank_by=method)
    assert sorted(issues.tolist()) == expected_flags
    assert find_label_issues(y, p, rank_by=method, return_mask=True).nonzero()[0].tolist() == expected_flags
    # ranked ascending by score, ties by row order
    keys = [(s[i], i) for i in issues]
    assert keys == sorted(keys)
    order = rank_by_quality(y, p, rank_by=method)
    assert [(s[i], i) for i in order] == sorted((s[i], i) for i in range(len(y)))


def test_blocks_give_the_same_answer_as_one_pass(monkeypatch):
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(5), size=1000)
    y = rng.integers(0, 5, size=1000)
    whole = find_label_issues(y, p, rank_by="normalized_margin")
    scores = label_quality_scores(y, p)
    monkeypatch.setattr(ranking, "_CHUNK", 7)
    np.testing.assert_array_equal(find_label_issues(y, p, rank_by="normalized_margin"), whole)
    np.testing.assert_array_equal(label_quality_scores(y, p), scores)


def test_float32_input_and_top_k():
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.45, 0.55]], dtype=np.float32)
    y = np.array([1, 1, 0, 0])
    assert find_label_issues(y, p).tolist() == [0, 3]  # self-confidence 0.1 then 0.45
    assert rank_by_quality(y, p, rank_by="normalized_margin", top_k=3).tolist() == [0, 3, 2]
    assert rank_by_quality(y, p, top_k=0).tolist() == []


@pytest.mark.parametrize(
    "labels,probs,message",
    [
        ([0, 1], np.ones((3, 2)) / 2, "3 rows but there are 2 labels"),
        ([0, 2], np.ones((2, 2)) / 2, "is not a class index in 0..1"),
        ([[0, 1]], np.ones((2, 2)) / 2, "1-D array"),
        (["a", "b"], np.ones((2, 2)) / 2, "integer class indices"),
        ([0, 1], np.ones(2), "(N, K) matrix"),
        ([0, 1], np.ones((2, 1)), "K >= 2"),
    ],
)
def test_bad_input_is_named(labels, probs, message):
    with pytest.raises(JuryboxError, match=message.replace("(", r"\(").replace(")", r"\)")):
        find_label_issues(labels, probs)
    with pytest.raises(JuryboxError):
        label_quality_scores(labels, probs)


def test_unknown_method():
    with pytest.raises(JuryboxError, match="rank_by must be one of"):
        find_label_issues([0, 1], np.eye(2), rank_by="entropy")  # type: ignore[arg-type]
