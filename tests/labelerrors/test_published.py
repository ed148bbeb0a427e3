"""Northcutt et al. (2021) on the published 20news/IMDB probabilities and MTurk verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from jurybox.cli import main
from jurybox.labelerrors import (
    clean_probs,
    cleanlab_label_issues,
    evaluate_ranking,
    find_label_issues,
    label_quality_scores,
    load_mturk,
    rank_by_quality,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cleanlab_label_errors"


@pytest.fixture(autouse=True)
def _published_data(shared_data):
    """Skips (fails in CI) when ../shared/data is absent."""


CASES = {"20news": (93, 82, None), "imdb": (1310, 725, "imdb_test_set_index_to_filename.json")}


def load(name):
    y = np.load(DATA / f"{name}_test_set_original_labels.npy")
    p = np.load(DATA / f"{name}_test_set_pyx.npy")
    idx = CASES[name][2]
    v = load_mturk(DATA / f"{name}_mturk.json", index_to_filename=DATA / idx if idx else None)
    return y, p, v


@pytest.mark.parametrize("name", list(CASES))
def test_margin_ranking_reproduces_the_mturk_candidates_and_precision(name):
    k, validated, _ = CASES[name]
    y, p, v = load(name)
    assert len(v.ids) == k and len(set(v.ids.tolist())) == k
    top = rank_by_quality(y, p, rank_by="normalized_margin", top_k=k)
    assert set(top.tolist()) == set(v.ids.tolist())  # exactly the items the paper sent to MTurk
    ev = evaluate_ranking(top, v)
    assert (ev.k, ev.n_checked, ev.n_errors) == (k, k, validated)  # 82/93 and 725/1310
    assert ev.precision == pytest.approx(validated / k)
    # the flagged-only ranking (predicted label != given) starts with the same rows in the same order
    flagged = find_label_issues(y, p, rank_by="normalized_margin")
    np.testing.assert_array_equal(flagged[:k], top)
    # the k+1-th row is not an MTurk item: the cut is where the paper made it
    assert rank_by_quality(y, p, rank_by="normalized_margin", top_k=k + 1)[-1] not in set(v.ids.tolist())


@pytest.mark.parametrize("name", list(CASES))
def test_scores_order_rows_like_cleanlab(name):
    from cleanlab.rank import get_label_quality_scores

    y, p, _ = load(name)
    q = clean_probs(p)
    for method in ("self_confidence", "normalized_margin"):
        ours = label_quality_scores(y, q, rank_by=method)
        theirs = get_label_quality_scores(y, q, method=method, adjust_pred_probs=False)
        np.testing.assert_allclose(ours, theirs, atol=1e-12)


def test_confident_learning_counts_match_the_published_tutorial():
    # cleanlab/label-errors tutorial: get_noise_indices(prune_method='prune_by_noise_rate') finds 95 and 1,309
    for name, expected in (("20news", 95), ("imdb", 1309)):
        y, p, _ = load(name)
        assert len(cleanlab_label_issues(y, p)) == expected


def test_imdb_probabilities_are_clipped_float_noise():
    _, p, _ = load("imdb")
    assert p.max() > 1.0  # as published (float32 rounding)
    q = clean_probs(p)
    assert q.max() <= 1.0 and np.allclose(q.sum(axis=1), 1.0)


def test_evaluate_command_reports_the_published_precision(capsys):
    for name, args in (("20news", []), ("imdb", ["--index-to-filename", str(DATA / CASES["imdb"][2])])):
        main(
            [
                "errors",
                "evaluate",
                "--mturk",
                str(DATA / f"{name}_mturk.json"),
                "--probs",
                str(DATA / f"{name}_test_set_pyx.npy"),
                "--given",
                str(DATA / f"{name}_test_set_original_labels.npy"),
                "--json",
                *args,
            ]
        )
        out = json.loads(capsys.readouterr().out)
        k, validated, _ = CASES[name]
        assert out["k"] == k and out["n_errors"] == validated and out["n_unchecked"] == 0


def test_evaluate_command_scores_a_flagged_file(tmp_path, capsys):
    y, p, v = load("20news")
    top = rank_by_quality(y, p, rank_by="normalized_margin", top_k=93)
    f = tmp_path / "flagged.jsonl"
    f.write_text("".join(json.dumps({"rank": i + 1, "row": int(r) + 1}) + "\n" for i, r in enumerate(top)))
    main(["errors", "evaluate", "--mturk", str(DATA / "20news_mturk.json"), "--flagged", str(f), "--json"])
    assert json.loads(capsys.readouterr().out)["n_errors"] == 82


def test_amazon_verdicts_count():
    v = load_mturk(DATA / "amazon_mturk.json")
    assert len(v.ids) == 1000 and int(v.is_error.sum()) == 732
