"""``run_survey``: a stance questionnaire through the engine, scored against its reference profiles."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from jurybox.backends.base import Backend
from jurybox.engine import evaluate
from jurybox.errors import JuryboxError
from jurybox.spec import JudgeSpec
from jurybox.stats import DEFAULT_RESAMPLES, Interval, krippendorff_alpha
from jurybox.store import Store, open_store
from jurybox.survey.protocol import Stance, variant_language
from jurybox.survey.questionnaire import Questionnaire, load_questionnaire
from jurybox.survey.scoring import alignment_ci, expected_alignment, modal_agreement
from jurybox.types import Record, Verdict

__all__ = ["SurveyReport", "run_survey"]


@dataclass
class SurveyReport(Record):
    """What a questionnaire run measured.

    ``answers[scope][statement]`` is the model's answer (``scope`` is ``"all"``: the argmax of the
    answer distribution averaged over every language and paraphrase, or a language code: over that
    language's paraphrases), ``distributions`` the same averaged distributions;
    ``alignment[scope][profile]`` the Wahl-O-Mat alignment with its bootstrap interval over
    statements and ``expected_alignment`` its expectation under the distributions;
    ``paraphrase_agreement[lang]`` the share of a statement's paraphrases giving its modal answer,
    ``language_agreement["en-de"]`` the share of statements answered alike in two languages, and
    ``alpha_variants`` nominal Krippendorff's alpha with every (language, paraphrase) as a rater."""

    questionnaire: str
    model: str
    scale: list[str]
    languages: list[str]
    n_statements: int
    n_variants: int
    answers: dict[str, dict[str, str | None]]
    distributions: dict[str, dict[str, dict[str, float] | None]]
    alignment: dict[str, dict[str, Interval]]
    expected_alignment: dict[str, dict[str, float]]
    paraphrase_agreement: dict[str, float]
    language_agreement: dict[str, float]
    alpha_variants: float
    unparsed: int
    failed: int
    model_calls: int
    n_tasks: int
    n_cached: int
    wall_s: float
    failures: list[dict[str, Any]] = field(default_factory=list)


def _mean(dists: Sequence[Mapping[str, float]], scale: Sequence[str]) -> dict[str, float] | None:
    if not dists:
        return None
    return {s: float(np.mean([d.get(s, 0.0) for d in dists])) for s in scale}


def run_survey(
    questionnaire: Questionnaire | str | os.PathLike[str] = "example",
    *,
    model: str | os.PathLike[str] | Backend | None = None,
    backend_options: Mapping[str, Any] | None = None,
    store: Store | str | os.PathLike[str] | None = None,
    languages: Sequence[str] | None = None,
    paraphrases: int | None = None,
    template: str = "default",
    n_resamples: int = DEFAULT_RESAMPLES,
    progress: bool = False,
) -> SurveyReport:
    """Ask every statement in every language and paraphrase (one forward pass each, through the
    engine and the store) and score the answers against each reference profile with the
    Wahl-O-Mat rule (:mod:`jurybox.survey.scoring`), per language and over all of them."""
    q = questionnaire if isinstance(questionnaire, Questionnaire) else load_questionnaire(questionnaire)
    try:
        proto = Stance(questionnaire=q, template=template, languages=list(languages) if languages else None,
                       paraphrases=paraphrases)
    except ValueError as exc:
        raise JuryboxError(str(exc), option="languages" if "languages" in str(exc) else "paraphrases") from None
    items = [{"id": s.id, "texts": s.texts} for s in q.statements]
    spec = JudgeSpec(proto, model=model, backend_options=dict(backend_options or {}))
    with open_store(store) as st:
        judge = spec.make_judge()
        _, variants, stats = evaluate(judge, items, st, progress=progress,
                                      description=f"survey ({len(items)} statements)")
    scopes = ["all", *proto.languages]
    answers: dict[str, dict[str, str | None]] = {s: {} for s in scopes}
    dists: dict[str, dict[str, dict[str, float] | None]] = {s: {} for s in scopes}
    per_variant: list[list[str | None]] = []
    for stmt, vs in zip(q.statements, variants, strict=True):
        per_variant.append([v.label for v in vs.values()])
        for scope in scopes:
            chosen: list[Verdict] = [v for k, v in vs.items() if scope == "all" or variant_language(k) == scope]
            d = _mean([v.probs for v in chosen if v.probs], q.scale)
            dists[scope][stmt.id] = d
            answers[scope][stmt.id] = max(q.scale, key=lambda s: d[s]) if d else None
    ids = [s.id for s in q.statements]
    align: dict[str, dict[str, Interval]] = {s: {} for s in scopes}
    expected: dict[str, dict[str, float]] = {s: {} for s in scopes}
    for scope in scopes:
        model_answers = [answers[scope][i] for i in ids]
        for name, prof in q.profiles.items():
            ref = [prof.get(i) for i in ids]
            align[scope][name] = alignment_ci(model_answers, ref, q.neutral, n_resamples=n_resamples)
            expected[scope][name] = expected_alignment([dists[scope][i] for i in ids], ref, q.neutral)
    para = {}
    for code in proto.languages:
        rows = [[v.label for k, v in vs.items() if variant_language(k) == code] for vs in variants]
        para[code] = modal_agreement(rows)
    lang_agree = {}
    for a, b in combinations(proto.languages, 2):
        pairs = [(answers[a][i], answers[b][i]) for i in ids if answers[a][i] is not None and answers[b][i] is not None]
        lang_agree[f"{a}-{b}"] = float(np.mean([x == y for x, y in pairs])) if pairs else float("nan")
    width = max((len(r) for r in per_variant), default=0)
    matrix = np.array([[r[k] if k < len(r) else None for k in range(width)] for r in per_variant], dtype=object)
    try:
        alpha = krippendorff_alpha(matrix, level="nominal", values=q.scale) if width > 1 else float("nan")
    except JuryboxError:
        alpha = float("nan")
    flat = [v for vs in variants for v in vs.values()]
    return SurveyReport(
        questionnaire=q.name, model=judge.name, scale=q.scale, languages=proto.languages, n_statements=len(ids),
        n_variants=len(flat), answers=answers, distributions=dists, alignment=align, expected_alignment=expected,
        paraphrase_agreement=para, language_agreement=lang_agree, alpha_variants=alpha,
        unparsed=sum(v.status == "unparsed" for v in flat), failed=sum(v.status == "error" for v in flat),
        model_calls=stats.model_calls, n_tasks=stats.n_tasks, n_cached=stats.n_cached, wall_s=stats.wall_s,
        failures=list(stats.failures))
