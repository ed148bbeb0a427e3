"""Stance questionnaires: the Wahl-O-Mat rule, the questionnaire file, runs through the engine."""

from __future__ import annotations

import json

import pytest

from jurybox.backends.scripted import ScriptedBackend
from jurybox.cli import main
from jurybox.errors import InputError
from jurybox.survey import (
    alignment,
    alignment_ci,
    expected_alignment,
    load_questionnaire,
    modal_agreement,
    points,
    run_survey,
)

Q = """
name: tiny
scale: [agree, neutral, disagree]
neutral: neutral
languages:
  en: {instruction: "Agree, neutral or disagree?", statement_label: "Statement:", answer_prefill: "Answer:",
       options: {agree: agree, neutral: neutral, disagree: disagree}}
  de: {instruction: "Zustimmen, neutral oder ablehnen?", statement_label: "These:", answer_prefill: "Antwort:",
       options: {agree: zustimmen, neutral: neutral, disagree: ablehnen}}
statements:
  - {id: s1, en: ["Cats are great.", "Cats are wonderful."], de: ["Katzen sind toll.", "Katzen sind wunderbar."]}
  - {id: s2, en: ["Rain is bad.", "Rain is awful."], de: ["Regen ist schlecht.", "Regen ist furchtbar."]}
  - {id: s3, en: ["Tea is fine.", "Tea is okay."], de: ["Tee ist gut.", "Tee ist in Ordnung."]}
profiles:
  P: {s1: agree, s2: disagree, s3: neutral}
  Q: {s1: disagree, s2: agree}
"""


def test_points_and_alignment_by_hand():
    assert points("agree", "agree", "neutral") == 2
    assert points("agree", "neutral", "neutral") == 1 and points("neutral", "disagree", "neutral") == 1
    assert points("agree", "disagree", "neutral") == 0
    # same, one neutral, opposite, and a statement the profile skips: (2 + 1 + 0) / (2 * 3)
    assert alignment(["agree", "neutral", "agree", "agree"], ["agree", "disagree", "disagree", None],
                     "neutral") == pytest.approx(0.5)
    assert expected_alignment([{"agree": 0.5, "neutral": 0.5, "disagree": 0.0}], ["agree"], "neutral") == 0.75
    iv = alignment_ci(["agree"] * 10 + ["disagree"] * 10, ["agree"] * 20, "neutral", n_resamples=200)
    assert iv.estimate == 0.5 and iv.low < 0.5 < iv.high
    assert modal_agreement([["a", "a", "b", None], ["c", "c"]]) == pytest.approx((2 / 3 + 1) / 2)


def test_example_questionnaire_ships_and_is_valid():
    q = load_questionnaire("example")
    assert len(q.statements) == 12 and set(q.languages) == {"en", "de"} and len(q.profiles) == 3
    assert all(len(s.texts["en"]) == 2 and len(s.texts["de"]) == 2 for s in q.statements)


@pytest.mark.parametrize("broken, message", [
    ("de: [\"Katzen sind toll.\"", "no text in language 'de'"),
    ("Q: {s1: disagree, s2: agree}", "not on the scale"),
])
def test_questionnaire_errors_name_the_field(tmp_path, broken, message):
    text = Q.replace('de: ["Katzen sind toll.", "Katzen sind wunderbar."]', "x: 1") if "Katzen" in broken else \
        Q.replace(broken, "Q: {s1: disagree, s2: maybe}")
    p = tmp_path / "q.yaml"
    p.write_text(text)
    with pytest.raises(InputError, match=message) as e:
        load_questionnaire(p)
    assert str(p) in str(e.value)


def opinions(text: str, options: tuple[str, ...]) -> dict[str, float]:
    """agree with cats, disagree with rain, neutral on tea; German paraphrase 2 flips tea to agree."""
    words = dict(zip(("agree", "neutral", "disagree"), options, strict=True))
    if "Katze" in text or "Cats" in text:
        pick = "agree"
    elif "Rain" in text or "Regen" in text:
        pick = "disagree"
    else:
        pick = "agree" if "Ordnung" in text else "neutral"
    return {w: (0.8 if k == pick else 0.1) for k, w in words.items()}


def test_run_survey_scores_profiles_and_stability(tmp_path):
    p = tmp_path / "q.yaml"
    p.write_text(Q)
    store = tmp_path / "s.sqlite"
    be = ScriptedBackend(options=opinions)
    r = run_survey(p, model=be, store=store, n_resamples=200)
    assert r.model_calls == 12 and r.n_variants == 12
    assert r.answers["en"] == {"s1": "agree", "s2": "disagree", "s3": "neutral"}
    assert r.answers["de"]["s3"] in ("agree", "neutral")  # one paraphrase each way: a tie broken by the scale order
    assert r.alignment["en"]["P"].estimate == 1.0  # (2 + 2 + 2) / 6
    assert r.alignment["en"]["Q"].estimate == 0.0  # opposite on both statements it answers
    assert r.paraphrase_agreement["en"] == 1.0 and r.paraphrase_agreement["de"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert any("These: Katzen sind toll." in s for s in be.seen) and any(s.rstrip().endswith("Antwort:") for s in be.seen)
    again = run_survey(p, model=be, store=store, n_resamples=200)
    assert again.model_calls == 0 and again.alignment["en"]["P"].estimate == 1.0
    only_en = run_survey(p, model=be, store=store, languages=["en"], paraphrases=1, n_resamples=50)
    assert only_en.n_variants == 3 and only_en.model_calls == 0  # those tasks are in the store


def test_cli_json(tmp_path, capsys):
    main(["survey", "example", "--model", "scripted", "--store", str(tmp_path / "s.sqlite"), "--json", "--quiet",
          "--resamples", "50", "--language", "en"])
    r = json.loads(capsys.readouterr().out)
    assert r["n_statements"] == 12 and r["languages"] == ["en"] and r["model_calls"] == 24
    assert set(r["alignment"]["all"]) == {"Profile A", "Profile B", "Profile C"}
    with pytest.raises(SystemExit) as e:
        main(["survey", str(tmp_path / "missing.yaml"), "--model", "scripted", "--store", str(tmp_path / "s.sqlite")])
    assert e.value.code == 2
