"""The LLM ensemble: definitions on constructed probabilities, and runs through the engine (scripted backend)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jurybox.backends.scripted import ScriptedBackend
from jurybox.errors import InputError, JuryboxError
from jurybox.labelerrors import (
    classify_judges,
    combine_signals,
    ensemble_relabel,
    find_errors,
    run_ensemble,
    verdict_probs,
)
from jurybox.labelerrors.combine import Signal
from jurybox.labelerrors.pipeline import FLAG_COLUMNS
from jurybox.store import Store
from jurybox.types import Verdict

NAN = np.nan


def test_mean_probability_label_confidence_and_flags():
    labels = ["pos", "neg", "neu"]
    j1 = [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [NAN, NAN, NAN], [0.3, 0.3, 0.4]]
    j2 = [[0.5, 0.4, 0.1], [0.3, 0.6, 0.1], [NAN, NAN, NAN], [0.6, 0.2, 0.2]]
    res = ensemble_relabel([1, 1, 0, 2], np.array([j1, j2]), labels, judges=["a", "b"])
    np.testing.assert_allclose(res.probs[0], [0.6, 0.3, 0.1])
    assert res.predicted.tolist() == [0, 1, -1, 0]
    np.testing.assert_allclose(res.confidence[[0, 1, 3]], [0.6, 0.7, 0.45])
    assert np.isnan(res.confidence[2]) and res.n_judges.tolist() == [2, 2, 0, 2]
    assert res.flagged.tolist() == [True, False, False, True]  # the unanswered row is never flagged
    assert res.ranking.tolist() == [0, 3]  # by confidence, highest first
    assert res.disagreement_rate == pytest.approx(2 / 3)
    assert res.to_dict()["confidence"][2] is None


def test_one_judge_missing_is_left_out_of_the_mean():
    res = ensemble_relabel([0], np.array([[[0.2, 0.8]], [[NAN, NAN]], [[0.4, 0.6]]]), ["x", "y"])
    np.testing.assert_allclose(res.probs[0], [0.3, 0.7])
    assert res.n_judges.tolist() == [2] and res.flagged.tolist() == [True]


def test_ties_with_the_given_label_are_not_flags():
    res = ensemble_relabel([1], np.array([[[0.5, 0.5]]]), ["x", "y"])
    assert res.flagged.tolist() == [False]


def test_ordinal_labels_flag_only_gaps_above_the_threshold():
    labels = ["1", "2", "3", "4", "5"]
    onehot = np.eye(5)
    probs = np.array([[onehot[1], onehot[2], onehot[4], onehot[0]]])  # ensemble says 2, 3, 5, 1
    given = [0, 0, 2, 4]  # given 1, 1, 3, 5
    res = ensemble_relabel(given, probs, labels, ordinal=True)
    assert res.gap.tolist() == [1, 2, 2, 4]
    assert res.flagged.tolist() == [False, True, True, True]
    assert ensemble_relabel(given, probs, labels, ordinal=True, threshold=2).flagged.tolist() == [
        False,
        False,
        False,
        True,
    ]
    assert ensemble_relabel(given, probs, labels).flagged.tolist() == [True, True, True, True]


def test_verdict_probs_never_invents_a_label():
    labels = ["A", "B"]
    assert np.isnan(verdict_probs(Verdict(label=None, status="unparsed"), labels)).all()
    assert np.isnan(verdict_probs(Verdict(label=None, status="error"), labels)).all()
    assert verdict_probs(Verdict(label="B"), labels).tolist() == [0.0, 1.0]
    assert np.isnan(verdict_probs(Verdict(label="tie"), labels)).all()
    np.testing.assert_allclose(
        verdict_probs(Verdict(label="A", probs={"A": 0.6, "B": 0.2, "tie": 0.2}), labels), [0.75, 0.25]
    )


def test_shape_checks():
    with pytest.raises(JuryboxError, match="judge_probs must be"):
        ensemble_relabel([0], np.zeros((1, 1, 3)), ["x", "y"])
    with pytest.raises(JuryboxError, match="2 given labels"):
        ensemble_relabel([0, 1], np.zeros((1, 1, 2)), ["x", "y"])


def keyword_backend(identity, *, bias=0.0):
    """A scripted judge that reads the last 'Text:' line: 'good' -> pos, 'bad' -> neg."""

    def options(text, opts):
        item = text.rsplit("Text:", 1)[1]
        p = 0.9 if "good" in item else 0.1 if "bad" in item else 0.5
        p = min(max(p + bias, 0.01), 0.99)
        return {"pos": p, "neg": 1 - p}

    return ScriptedBackend(options, identity=identity)


DATA = pd.DataFrame(
    {
        "text": [
            "good film",
            "bad film",
            "good plot",
            "bad plot",
            "so so",
            "good cast",
            "bad cast",
            "good score",
        ],
        "label": ["pos", "neg", "neg", "neg", "pos", "pos", "pos", "pos"],  # rows 3 and 7 are wrong
    }
)


def test_ensemble_runs_through_the_engine_and_the_store(tmp_path):
    a, b = keyword_backend("a"), keyword_backend("b", bias=0.05)
    judges = classify_judges([a, b], ["default", "instruct", "brief"], ["pos", "neg"])
    assert len(judges) == 6 and len({j.name for j in judges}) == 6
    given = np.array([0 if x == "pos" else 1 for x in DATA["label"]])
    items = [{"text": t} for t in DATA["text"]]
    with Store(tmp_path / "s.sqlite") as st:
        res, stats = run_ensemble(judges, items, given, ["pos", "neg"], st)
        assert stats.model_calls == 6 * len(DATA) and a.calls == b.calls == 3 * len(DATA)
        assert res.ranking.tolist() == [2, 6]  # ties at 0.875 keep row order
        assert res.n_judges.tolist() == [6] * len(DATA)
        np.testing.assert_allclose(res.confidence[2], (0.9 + 0.95) / 2)
        # three templates, three different prompts for the same item
        assert len({s for s in a.seen if s.rstrip().endswith("good film\nLabel:")}) == 3
        res2, stats2 = run_ensemble(judges, items, given, ["pos", "neg"], st)
        assert stats2.model_calls == 0 and stats2.n_cached == 6 * len(DATA)
        np.testing.assert_array_equal(res2.probs, res.probs)


def test_find_errors_combines_llm_and_classifier_and_names_the_signals(tmp_path):
    probs = np.full((len(DATA), 2), 0.5)
    probs[:, 0] = [0.9, 0.1, 0.8, 0.2, 0.95, 0.1, 0.9, 0.9]  # the classifier suspects data rows 3 and 6
    probs[:, 1] = 1 - probs[:, 0]
    found = find_errors(
        DATA,
        label_field="label",
        labels=["pos", "neg"],
        models=[keyword_backend("a")],
        pred_probs=probs,
        filter_by="predicted_neq_given",
        store=tmp_path / "s.sqlite",
    )
    by = dict(zip(found.table["row"], found.table["flagged_by"], strict=True))
    assert by == {3: "llm,classifier", 7: "llm", 6: "classifier"}
    assert found.table["rank"].tolist() == [1, 2, 3] and found.table["review"].tolist() == ["", "", ""]
    assert found.table.iloc[0]["row"] == 3  # flagged by both signals: first
    assert found.table.set_index("row").loc[3, "suggested_label"] == "pos"
    assert found.table.set_index("row").loc[6, "suggested_label"] == "neg"
    assert found.summary.n_flagged == 3
    assert tuple(found.table.columns) == FLAG_COLUMNS[:-1] + ("text", "label", "review")


def test_combined_ranking_is_the_mean_normalised_rank():
    s1 = Signal(
        "a",
        np.array([0.1, 0.9, 0.5, 0.2]),
        np.array([True, False, False, True]),
        np.array([1, -1, -1, 1]),
        np.array([0.9, NAN, NAN, 0.8]),
    )
    s2 = Signal(
        "b",
        np.array([0.6, NAN, 0.1, 0.3]),
        np.array([False, False, True, True]),
        np.array([-1, -1, 0, 0]),
        np.array([NAN, NAN, 0.7, 0.6]),
    )
    out = combine_signals([s1, s2])
    # ranks a: [1,4,3,2] -> (r-0.5)/4; b over 3 rows: [3,-,1,2] -> (r-0.5)/3
    expected = [(0.125 + 2.5 / 3) / 2, 0.875, (0.625 + 0.5 / 3) / 2, (0.375 + 1.5 / 3) / 2]
    np.testing.assert_allclose(out.combined, expected)
    assert out.ranking.tolist() == [2, 3, 0]
    assert out.flagged_by == (("a",), (), ("b",), ("a", "b"))
    assert out.suggested.tolist() == [1, -1, 0, 1]  # row 3: a finds it more suspect (0.375 < 0.5)
    with pytest.raises(JuryboxError, match="no label-error signal"):
        combine_signals([])


def test_dataset_errors_name_file_row_and_field(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"text": "good", "label": "pos"}\n{"text": "bad", "label": "nope"}\n')
    with pytest.raises(
        InputError, match=r"d.jsonl, row 2, field 'label': label 'nope' is not in the label set"
    ):
        find_errors(p, label_field="label", labels=["pos", "neg"], models=[keyword_backend("a")])
    p.write_text('{"text": "good", "label": "pos"}\n{"text": "", "label": "neg"}\n')
    with pytest.raises(InputError, match=r"row 2, field 'text': empty text"):
        find_errors(p, label_field="label", models=[keyword_backend("a")])
    with pytest.raises(JuryboxError, match="nothing to find label errors with"):
        find_errors(p, label_field="label")
    with pytest.raises(InputError, match="label column 'y' not found"):
        find_errors(p, label_field="y", models=[keyword_backend("a")])
