"""Review and apply: the cleaned dataset, the changelog, the summary, and the CLI around them."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from jurybox.errors import InputError
from jurybox.items import read_table, write_table
from jurybox.labelerrors import apply_reviews, read_reviews, reviewed_errors, summarize, wilson_interval
from jurybox.stats import Interval


def sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def flagged_frame(reviews):
    rows = [(3, "neg", "pos", 0.95), (7, "pos", "neg", 0.85), (5, "pos", "neg", 0.6), (1, "pos", "neg", 0.55)]
    return pd.DataFrame(
        [
            {"rank": i + 1, "row": r, "given_label": g, "suggested_label": s, "confidence": c, "review": rv}
            for i, ((r, g, s, c), rv) in enumerate(zip(rows, reviews, strict=True))
        ]
    )


DATA = pd.DataFrame(
    {
        "text": [f"t{i}" for i in range(1, 9)],
        "label": ["pos", "neg", "neg", "neg", "pos", "pos", "pos", "pos"],
    }
)


def test_apply_relabels_drops_keeps_and_logs():
    fl = flagged_frame(["relabel:POS", "drop", "keep", ""])
    reviews = read_reviews(fl, labels=["pos", "neg"])
    assert [(r.row, r.action, r.new_label) for r in reviews] == [
        (3, "relabel", "pos"),
        (7, "drop", None),
        (5, "keep", None),
    ]
    out = apply_reviews(DATA, reviews, "label")
    assert out.cleaned["text"].tolist() == ["t1", "t2", "t3", "t4", "t5", "t6", "t8"]
    assert out.cleaned["label"].tolist() == ["pos", "neg", "pos", "neg", "pos", "pos", "pos"]
    assert DATA["label"].tolist()[2] == "neg"  # the input frame is untouched
    assert out.changelog.to_dict(orient="records") == [
        {"row": 3, "action": "relabel", "old_label": "neg", "new_label": "pos", "confidence": 0.95},
        {"row": 7, "action": "drop", "old_label": "pos", "new_label": None, "confidence": 0.85},
        {"row": 5, "action": "keep", "old_label": "pos", "new_label": "pos", "confidence": 0.6},
    ]
    assert out.counts == {"keep": 1, "relabel": 1, "drop": 1}


def test_integer_labels_stay_integers():
    df = pd.DataFrame({"text": ["a", "b"], "score": [1, 5]})
    fl = pd.DataFrame([{"row": 2, "given_label": "5", "review": "relabel:4"}])
    out = apply_reviews(df, read_reviews(fl, labels=["1", "2", "3", "4", "5"]), "score")
    assert out.cleaned["score"].tolist() == [1, 4] and pd.api.types.is_integer_dtype(out.cleaned["score"])


@pytest.mark.parametrize(
    "review,message",
    [
        ("maybe", "row 1, field 'review': review 'maybe' is not keep, drop or relabel:LABEL"),
        ("relabel:", "is not keep, drop or relabel:LABEL"),
        ("relabel:meh", "row 1, field 'review': relabel target 'meh' is not in the label set"),
    ],
)
def test_bad_reviews_are_named(review, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        read_reviews(flagged_frame([review, "", "", ""]), source="f.jsonl", labels=["pos", "neg"])


def test_reviews_on_a_different_dataset_are_refused():
    fl = flagged_frame(["relabel:pos", "", "", ""])
    other = DATA.assign(label=["pos"] * 8)
    with pytest.raises(InputError, match="row 3, field 'label': the dataset's label at row 3 is 'pos'"):
        apply_reviews(other, read_reviews(fl), "label", dataset="d.jsonl")
    with pytest.raises(InputError, match="reviewed twice"):
        read_reviews(pd.DataFrame({"row": [3, 3], "given_label": ["neg", "neg"], "review": ["keep", "drop"]}))
    with pytest.raises(InputError, match="row 30 does not exist"):
        apply_reviews(
            DATA,
            read_reviews(pd.DataFrame({"row": [30], "given_label": ["neg"], "review": ["keep"]})),
            "label",
        )


def test_summary_with_reviews():
    given = np.array([0, 1, 1, 1, 0, 0, 0, 0])
    fl = flagged_frame(["relabel:pos", "drop", "keep", ""])
    err, conf = reviewed_errors(8, read_reviews(fl))
    flagged = np.zeros(8, dtype=bool)
    flagged[[2, 6, 4, 0]] = True
    s = summarize(given, flagged, ["pos", "neg"], flag_confidence=conf, reviewed_error=err)
    assert (s.n, s.n_flagged, s.n_reviewed, s.n_confirmed) == (8, 4, 3, 2)
    assert s.precision == pytest.approx(2 / 3) and s.flag_rate == 0.5
    assert s.error_rate == pytest.approx(0.5 * 2 / 3)
    w = wilson_interval(2, 3)
    assert (s.error_rate_interval.low, s.error_rate_interval.high) == pytest.approx((0.5 * w.low, 0.5 * w.high))
    assert s.error_rate_interval.estimate == pytest.approx(s.error_rate)
    assert [(c.label, c.n, c.n_flagged, c.n_reviewed, c.n_confirmed) for c in s.per_class] == [
        ("pos", 5, 3, 2, 1),
        ("neg", 3, 1, 1, 1),
    ]
    bins = {(b.low, b.high): (b.n_reviewed, b.n_confirmed) for b in s.by_confidence}
    assert bins[(0.5, 0.6)] == (1, 0) and bins[(0.8, 0.9)] == (1, 1) and bins[(0.9, 1.0)] == (1, 1)
    assert json.dumps(s.to_dict())  # serialisable
    d = s.to_dict()["precision_interval"]
    assert (d["estimate"], d["low"], d["high"]) == (s.precision, s.precision_interval.low, s.precision_interval.high)
    unreviewed = summarize(given, flagged, ["pos", "neg"])
    assert unreviewed.error_rate == 0.5
    assert (unreviewed.error_rate_interval.low, unreviewed.error_rate_interval.high) == \
        (wilson_interval(4, 8).low, wilson_interval(4, 8).high)
    assert np.isnan(unreviewed.precision)


@pytest.mark.parametrize(
    "k,n,expected",
    [
        (81, 263, (0.2553, 0.3662)),
        (15, 148, (0.0624, 0.1605)),
        (0, 20, (0.0, 0.1611)),
        (1, 29, (0.0061, 0.1718)),
    ],
)
def test_wilson_interval_matches_newcombe_1998_table_1(k, n, expected):
    w = wilson_interval(k, n)
    assert (w.low, w.high) == pytest.approx(expected, abs=5e-5)
    assert isinstance(w, Interval) and w.estimate == k / n and w.confidence == 0.95


def cli(args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "jurybox.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def one_line_error(p):
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("jurybox: error: ") and "Traceback" not in p.stderr, (
        p.stderr
    )
    return lines[0]


@pytest.fixture
def noisy_reviews(tmp_path):
    """120 reviews with a clear vocabulary per class and 12 flipped labels."""
    rng = np.random.default_rng(0)
    pos = ["great", "loved", "wonderful", "excellent", "superb", "delightful"]
    neg = ["awful", "hated", "terrible", "boring", "broken", "dreadful"]
    rows = []
    for i in range(120):
        label = "positive" if i % 2 else "negative"
        words = rng.choice(pos if i % 2 else neg, size=3)
        rows.append({"id": i, "review": f"review {i}: " + " ".join(words), "label": label})
    flipped = sorted(rng.choice(120, size=12, replace=False).tolist())
    for i in flipped:
        rows[i]["label"] = "negative" if rows[i]["label"] == "positive" else "positive"
    p = tmp_path / "reviews.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p, flipped


def test_cli_find_with_the_classifier_then_apply(noisy_reviews, tmp_path):
    data, flipped = noisy_reviews
    before = sha(data)
    out = tmp_path / "flagged.jsonl"
    p = cli(
        [
            "errors",
            str(data),
            "--label-field",
            "label",
            "--text-field",
            "review",
            "--no-llm",
            "--classifier",
            "--out",
            str(out),
            "--json",
        ],
        tmp_path,
    )
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    fl = read_table(out)
    found = set((fl["row"] - 1).tolist())
    assert summary["flagged"] == len(fl) and summary["flagged_by"] == {"classifier": len(fl)}
    assert len(found & set(flipped)) >= 10 and len(found - set(flipped)) <= 3, (sorted(found), flipped)
    # the reviewer relabels the first flag to the suggestion, drops the second, keeps the third (as CSV)
    fl["review"] = ""
    fl.loc[0, "review"] = "relabel:" + fl.loc[0, "suggested_label"]
    fl.loc[1, "review"] = "drop"
    fl.loc[2, "review"] = "keep"
    reviewed = tmp_path / "reviewed.csv"
    write_table(fl, reviewed)
    cleaned, log = tmp_path / "cleaned.jsonl", tmp_path / "changes.csv"
    p = cli(
        [
            "errors",
            "apply",
            str(reviewed),
            "--dataset",
            str(data),
            "--label-field",
            "label",
            "--out",
            str(cleaned),
            "--changelog",
            str(log),
        ],
        tmp_path,
    )
    assert p.returncode == 0, p.stderr
    assert "1 relabelled, 1 dropped, 1 kept" in p.stdout
    assert sha(data) == before  # the input is never modified
    c = read_table(cleaned)
    orig = read_table(data)
    assert len(c) == 119
    r0 = int(fl.loc[0, "row"])
    assert c.loc[c["id"] == orig.loc[r0 - 1, "id"], "label"].item() == fl.loc[0, "suggested_label"]
    assert int(orig.loc[int(fl.loc[1, "row"]) - 1, "id"]) not in set(c["id"])
    assert read_table(log)["action"].tolist() == ["relabel", "drop", "keep"]


def test_cli_user_errors_are_one_line(noisy_reviews, tmp_path):
    data, _ = noisy_reviews
    line = one_line_error(
        cli(["errors", str(data), "--label-field", "stars", "--no-llm", "--classifier"], tmp_path)
    )
    assert "label column 'stars' not found" in line
    bad = tmp_path / "p.npy"
    np.save(bad, np.ones((3, 2)) / 2)
    line = one_line_error(cli(["errors", str(data), "--label-field", "label", "--probs", str(bad)], tmp_path))
    assert "expected (120 rows, 2 labels" in line
    fl = tmp_path / "f.jsonl"
    fl.write_text(json.dumps({"row": 1, "given_label": "negative", "review": "fix it"}) + "\n")

    def apply(out):
        args = [
            "errors",
            "apply",
            str(fl),
            "--dataset",
            str(data),
            "--label-field",
            "label",
            "--out",
            str(out),
        ]
        return one_line_error(cli(args, tmp_path))

    line = apply(tmp_path / "c.jsonl")
    assert "f.jsonl, row 1, field 'review'" in line
    line = apply(data)
    assert "would overwrite an input file" in line
