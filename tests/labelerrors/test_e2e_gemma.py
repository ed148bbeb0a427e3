"""End-to-end on the real embedded model: gemma-3-270m finds labels flipped at a known 10% rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jurybox.labelerrors import find_errors, inject_noise, noise_recovery

pytestmark = pytest.mark.e2e

LABELS = ["positive", "negative"]
TEXTS = [
    ("Every song on this album is a joy, I have it on repeat.", "positive"),
    ("The taxi driver was rude and took the longest route.", "negative"),
    ("Our guide was brilliant, funny and full of stories.", "positive"),
    ("The soup was salty and the bread was stale.", "negative"),
    ("I adore these shoes, comfortable from the very first day.", "positive"),
    ("The charger stopped working within a week.", "negative"),
    ("A charming little museum with friendly volunteers.", "positive"),
    ("The flight was delayed for hours and nobody told us why.", "negative"),
    ("Superb camera, the photos look stunning.", "positive"),
    ("The lecture was tedious and the slides were unreadable.", "negative"),
    ("Fresh flowers and a warm welcome, a perfect stay.", "positive"),
    ("The game is full of bugs and the story makes no sense.", "negative"),
    ("The staff were rude and the room smelled of smoke.", "negative"),
    ("Best purchase I have made all year, I use it every day.", "positive"),
    ("The concert was amazing and the crowd was full of joy.", "positive"),
    ("My order arrived late, broken and missing parts.", "negative"),
    ("Such a beautiful garden, we had a lovely afternoon.", "positive"),
    ("The software is slow, buggy and crashes constantly.", "negative"),
    ("Fantastic teacher, clear explanations and very patient.", "positive"),
    ("A dull, confusing movie that I regret watching.", "negative"),
]
FEW_SHOT = [
    {"text": "What a gorgeous view, the trip was worth every penny.", "label": "positive"},
    {"text": "The blender leaks and the customer service never answered.", "label": "negative"},
    {"text": "Kind nurses and a spotless ward, thank you.", "label": "positive"},
    {"text": "Flat jokes and a plot that goes nowhere.", "label": "negative"},
]


def test_gemma_ensemble_recovers_injected_label_noise(gemma, tmp_path):
    clean = np.array([LABELS.index(lab) for _, lab in TEXTS])
    noisy, flipped = inject_noise(clean, 2, 0.10, seed=0)  # 2 of 20 labels flipped
    assert flipped.tolist() == [12, 16]
    df = pd.DataFrame({"review": [t for t, _ in TEXTS], "stars": [LABELS[k] for k in noisy]})
    kw = dict(
        label_field="stars",
        text_field="review",
        labels=LABELS,
        models=[gemma],
        templates=["default", "instruct"],
        examples=FEW_SHOT,
        store=tmp_path / "s.sqlite",
    )
    found = find_errors(df, **kw)
    ens = found.ensemble
    assert ens is not None and ens.n_judges.tolist() == [2] * 20
    assert (ens.predicted == clean).mean() >= 0.85  # the ensemble reads sentiment; chance is 0.5
    rec = noise_recovery(found.issues.ranking, flipped)
    assert rec.k == 2 and rec.precision >= 0.5, (found.table, rec)  # at k = the number injected
    assert set(found.table["flagged_by"]) == {"llm"}
    assert found.stats.model_calls == 40
    again = find_errors(df, **kw)  # every verdict is in the store: the rerun is free and identical
    assert again.stats.model_calls == 0
    np.testing.assert_array_equal(again.issues.ranking, found.issues.ranking)
