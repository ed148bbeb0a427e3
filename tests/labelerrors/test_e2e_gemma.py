"""End-to-end on the real embedded model: gemma-3-270m finds labels flipped at a known 10% rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jurybox.labelerrors import find_errors, inject_noise, noise_recovery

pytestmark = pytest.mark.e2e

LABELS = ["positive", "negative"]
TEXTS = [
    ("I loved every minute of this film, the acting was superb.", "positive"),
    ("Terrible service and cold food. Never going back.", "negative"),
    ("Absolutely fantastic phone, the battery lasts for days.", "positive"),
    ("The book was boring and far too long.", "negative"),
    ("What a delightful little cafe, friendly staff and great coffee.", "positive"),
    ("It broke after two days. Complete waste of money.", "negative"),
    ("A wonderful, heartwarming story. Highly recommended!", "positive"),
    ("The worst hotel I have ever stayed in: dirty and noisy.", "negative"),
    ("Great value, fast delivery, works perfectly.", "positive"),
    ("Awful sound quality and the app keeps crashing.", "negative"),
    ("This restaurant is a gem. Every dish was delicious.", "positive"),
    ("Disappointing sequel with a lazy plot.", "negative"),
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
    {"text": "Brilliant performance, I was moved to tears.", "label": "positive"},
    {"text": "The product arrived damaged and support ignored me.", "label": "negative"},
    {"text": "Lovely staff and a beautiful room.", "label": "positive"},
    {"text": "Dull, predictable and badly acted.", "label": "negative"},
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
