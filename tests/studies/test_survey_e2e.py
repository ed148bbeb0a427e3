"""The example questionnaire on the real embedded judge (qwen2.5-coder-1.5b)."""

from __future__ import annotations

import pytest

from jurybox.survey import run_survey

pytestmark = pytest.mark.e2e


def test_example_questionnaire_on_qwen(qwen, tmp_path):
    store = tmp_path / "s.sqlite"
    r = run_survey("example", model=qwen, store=store, paraphrases=1, n_resamples=200)
    assert r.n_variants == 24 and r.model_calls == 24 and r.failed == 0 and r.unparsed == 0
    for scope in ("all", "en", "de"):
        assert all(a in r.scale for a in r.answers[scope].values())
        for iv in r.alignment[scope].values():
            assert 0.0 <= iv.low <= iv.estimate <= iv.high <= 1.0
    # one forward pass per variant: every answer distribution sums to 1 over the scale
    for d in r.distributions["de"].values():
        assert d is not None and abs(sum(d.values()) - 1) < 1e-6
    assert 0.0 <= r.language_agreement["en-de"] <= 1.0
    again = run_survey("example", model=qwen, store=store, paraphrases=1, n_resamples=200)
    assert again.model_calls == 0 and again.answers == r.answers
