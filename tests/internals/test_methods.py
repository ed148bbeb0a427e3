"""QK-score heads, CLUE and implicit rewards on synthetic cases whose answer is known (pure functions)."""

from __future__ import annotations

import numpy as np
import pytest

from jurybox.errors import JuryboxError
from jurybox.internals import clue, qk, reward
from jurybox.internals.exam import ExamFeatures, exam_report, sampled_vote_accuracy, split


def planted_scores(n=60, layers=4, heads=3, options=4, planted=(2, 1), seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, options, n)
    s = rng.normal(size=(n, layers, heads, options))
    s[np.arange(n), planted[0], planted[1], y] += 5.0  # the planted select-and-copy head
    return s, y


def test_planted_head_is_selected_and_answers_everything():
    s, y = planted_scores()
    sel = qk.select_heads(s, y, k=1)
    assert sel.heads == ((2, 1),)
    assert sel.accuracy[0] == 1.0
    assert (qk.predict(s, sel) == y).all()
    acc = qk.head_accuracy(s, y)
    assert acc.shape == (4, 3) and acc[2, 1] == 1.0 and np.delete(acc.ravel(), 2 * 3 + 1).max() < 0.6


def test_planted_head_generalises_from_validation_to_test():
    s, y = planted_scores(n=200, seed=3)
    val, test = split(200, 0.25, seed=1)
    sel = qk.select_heads(s[val], y[val], k=3)
    assert sel.heads[0] == (2, 1)
    assert (qk.predict(s[test], sel) == y[test]).mean() > 0.95  # the planted head dominates the sum


def test_label_free_selection_follows_the_model_answers_not_the_key():
    s, y = planted_scores(n=100, seed=5)
    rng = np.random.default_rng(9)
    other = rng.integers(0, 4, 100)
    s[np.arange(100), 0, 0, other] += 5.0  # a second head copies "the model's answer", not the key
    assert qk.select_heads_label_free(s, other, 1).heads == ((0, 0),)
    assert qk.select_heads(s, y, 1).heads == ((2, 1),)


def test_qk_bad_input_is_one_clear_error():
    with pytest.raises(JuryboxError, match=r"shape \[questions, layers, heads, options\]"):
        qk.head_predictions(np.zeros((3, 4, 5)))
    s, y = planted_scores(n=10)
    with pytest.raises(JuryboxError, match="option indices"):
        qk.select_heads(s, y + 10)
    s[0, 0, 0, 0] = np.nan
    with pytest.raises(JuryboxError, match="missing"):
        qk.select_heads(s, y)


def planted_deltas(n=80, layers=3, width=16, seed=0, noise=0.3):
    rng = np.random.default_rng(seed)
    succ, fail = rng.normal(size=(layers, width)), rng.normal(size=(layers, width))
    correct = rng.random(n) < 0.5
    d = np.where(correct[:, None, None], succ, fail) + noise * rng.normal(size=(n, layers, width))
    return d, correct, succ, fail


def test_clue_recovers_planted_centroids_and_classifies():
    d, c, succ, fail = planted_deltas()
    cents = clue.centroids(d, c)
    assert np.abs(cents.succ - succ).max() < 0.3 and np.abs(cents.fail - fail).max() < 0.3
    d2, c2, _, _ = planted_deltas(seed=0, n=80)
    assert (clue.classify(d2, cents) == c2).all()
    # distance: mean over layers of L2, by hand
    x = np.zeros((2, 3))
    cen = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]])
    assert clue.distance(x, cen) == pytest.approx((5.0 + 1.0) / 2)


def test_top_maj_votes_over_the_candidates_nearest_the_correct_centroid():
    answers = ["B", "B", "B", "A", "A"]
    dist = np.array([5.0, 6.0, 7.0, 1.0, 2.0])
    assert clue.majority(answers) == "B"
    assert clue.top_maj(answers, dist, 2) == "A"
    assert clue.top_maj(answers, dist, 5) == "B"
    assert clue.majority([None, None]) is None
    assert clue.majority(["A", "B"]) == "A"  # a tie goes to the first seen


def test_clue_needs_both_kinds_of_experience():
    d, _, _, _ = planted_deltas(n=5)
    with pytest.raises(JuryboxError, match="both verified-correct and verified-incorrect"):
        clue.centroids(d, np.ones(5, dtype=bool))


def test_implicit_reward_probability_has_the_known_ratio():
    # policy/reference with known log-ratios: y1 has log p - log p_ref = 2, y2 has -1
    pol_a, ref_a = np.array([-10.0]), np.array([-12.0])
    pol_b, ref_b = np.array([-11.0]), np.array([-10.0])
    p = reward.preferences(pol_a, pol_b, ref_a, ref_b, beta=0.5)
    assert p.p_first[0] == pytest.approx(1 / (1 + np.exp(-0.5 * (2 - (-1)))))
    assert p.winner == ("A",) and p.confidence[0] == pytest.approx(p.p_first[0])
    # without the reference it is plain likelihood: y1 wins by 1 nat
    q = reward.preferences(pol_a, pol_b, beta=1.0)
    assert q.p_first[0] == pytest.approx(1 / (1 + np.exp(-1.0)))
    # equal rewards: no winner
    assert reward.preferences([-1.0], [-1.0]).winner == (None,)


def test_implicit_reward_bad_input():
    with pytest.raises(JuryboxError, match="beta must be positive"):
        reward.implicit_reward([1.0], None, beta=0)
    with pytest.raises(JuryboxError, match="both responses, or of neither"):
        reward.preferences([1.0], [1.0], [0.0], None)
    with pytest.raises(JuryboxError, match="missing"):
        reward.preferences([np.nan], [1.0])


def test_sampled_votes_from_a_confident_right_model_are_right():
    probs = np.array([[0.9, 0.05, 0.05], [0.1, 0.1, 0.8]])
    answers = np.array([0, 2])
    dist = np.array([[0.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    v = sampled_vote_accuracy(probs, answers, dist, k=8, top=(1, 3), draws=100)
    assert v["majority"].min() > 0.9 and v["top-maj@1"].min() > 0.99


def test_exam_report_on_planted_heads_and_centroids():
    n, L, H, n_opt, D = 120, 3, 2, 4, 8
    rng = np.random.default_rng(0)
    y = rng.integers(0, n_opt, n)
    s = rng.normal(size=(n, L, H, n_opt))
    s[np.arange(n), 1, 0, y] += 4.0
    letter = np.log(np.full((n, n_opt), 0.1))
    wrong = (y + 1) % n_opt
    letter[np.arange(n), wrong] = np.log(0.7)  # letter scoring always picks a wrong option
    letter -= np.logaddexp.reduce(letter, axis=1, keepdims=True)
    succ, fail = rng.normal(size=(L, D)), rng.normal(size=(L, D))
    deltas = np.where((np.arange(n_opt)[None, :] == y[:, None])[:, :, None, None], succ, fail) + 0.1 * rng.normal(
        size=(n, n_opt, L, D))
    f = ExamFeatures(qk=s, letter_logprobs=letter, deltas=deltas, answers=y, subjects=["x"] * n,
                     prompt_tokens=np.full(n, 50))
    rep = exam_report(f, val_fraction=0.3, heads=(1,), k=4, top=(1,), draws=20)
    assert rep.letter.estimate == 0.0
    assert rep.qk["validation top-1"]["heads"] == [[1, 0]]
    assert rep.qk["validation top-1"]["test"]["estimate"] > 0.95
    assert rep.clue["auroc_candidates"]["clue"]["estimate"] > 0.99
    assert rep.clue["rerank_top1"]["estimate"] > 0.99
