"""``run_mcqa``: a multiple-choice exam through the engine, scored, with intervals.

Every question (and every option order of ``shuffle``) is one engine task in the store, so a
rerun makes no model calls, and switching between ``acc`` and ``acc_norm`` costs none either:
the per-option log-likelihoods are stored and the metrics are computed from them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from jurybox.backends.base import Backend
from jurybox.engine import RunStats, evaluate
from jurybox.errors import JuryboxError
from jurybox.mcqa.data import McqaData, few_shot, read_mcqa
from jurybox.mcqa.metrics import (
    NORMALISATIONS,
    AccuracyTable,
    LetterBias,
    Routing,
    accuracy_table,
    harness_predictions,
    letter_bias,
    route_by_confidence,
)
from jurybox.mcqa.protocol import LETTERS, MultipleChoice, _perm_of
from jurybox.spec import JudgeSpec
from jurybox.store import Store, open_store
from jurybox.types import Record, Verdict

__all__ = ["McqaReport", "run_mcqa"]


@dataclass
class McqaReport(Record):
    """What an exam run measured. ``accuracy`` maps each metric (``acc``; for likelihood scoring
    also ``acc_norm``, ``acc_bytes``, ``acc_token_norm`` and, when asked, ``acc_mutual_info``;
    with ``shuffle`` > 1 also ``acc_orders_mean``, the accuracy averaged over the option orders,
    and ``acc_combined``, the answer with the highest probability averaged over the orders) to an
    :class:`AccuracyTable`; ``normalisation`` names each metric's rule. ``acc`` is always the
    original option order. ``unparsed`` counts questions (of the original order) whose answer
    could not be read; they count as wrong."""

    scoring: str
    model: str
    shots: int
    shuffle: int
    n_questions: int
    n_answered: int
    accuracy: dict[str, AccuracyTable]
    normalisation: dict[str, str]
    unparsed: int
    failed: int
    letter_bias: LetterBias | None
    routing: Routing | None
    model_calls: int
    n_tasks: int
    n_cached: int
    wall_s: float
    prompt_tokens: int
    failures: list[dict[str, Any]] = field(default_factory=list)
    table: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "table"}
        out: dict[str, Any] = {}
        for k, v in d.items():
            if isinstance(v, Record):
                out[k] = v.to_dict()
            elif isinstance(v, dict):
                out[k] = {kk: (vv.to_dict() if isinstance(vv, Record) else vv) for kk, vv in v.items()}
            else:
                out[k] = v
        return out


def _confidence(v: Verdict) -> float | None:
    return max(v.probs.values()) if v.probs else None


def run_mcqa(
    data: pd.DataFrame | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    dev: pd.DataFrame | str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    shots: int = 0,
    scoring: str = "letter",
    shuffle: int = 1,
    mutual_info: bool = False,
    model: str | os.PathLike[str] | Backend | None = None,
    backend_options: Mapping[str, Any] | None = None,
    store: Store | str | os.PathLike[str] | None = None,
    question: str = "question",
    choices: str | Sequence[str] | None = None,
    answer: str | None = "answer",
    subject: str | None = None,
    review_below: float | None = None,
    template: str = "default",
    seed: int = 0,
    encoding: str | None = None,
    progress: bool = False,
    limit: int | None = None,
) -> McqaReport:
    """Answer every question of ``data`` (files or a DataFrame; see :func:`read_mcqa`) with the
    judge model and score it.

    ``scoring``: ``letter`` (next-token distribution over the option letters), ``likelihood``
    (per-option log-likelihoods, reported as acc / acc_norm / acc_bytes / acc_token_norm with the
    normalisation named) or ``generate`` (a strict ``ANSWER: X`` line, for servers without
    logprobs). ``shots`` few-shot examples per subject come from ``dev`` (its first ``shots``
    answered questions of the same subject). ``shuffle=K`` also asks K-1 permuted option orders
    (letter and generate) and reports the position bias per letter. ``review_below`` routes
    questions whose confidence (the top option's probability) is below it to human review (the
    CMExam workflow): the table's ``needs_review`` column and the report's ``routing``. ``limit``
    keeps the first N questions of each subject (for a timed trial run)."""
    if shots < 0:
        raise JuryboxError(f"shots must be 0 or more, got {shots}", option="shots")
    if shots > 0 and dev is None:
        raise JuryboxError(f"{shots}-shot needs dev data to take the examples from", option="dev")
    try:
        proto = MultipleChoice(scoring=scoring, shuffle=shuffle, seed=seed, mutual_info=mutual_info,
                               template=template)
    except ValueError as exc:
        text = str(exc)
        option = next((k for k in ("shuffle", "mutual_info") if text.startswith(k)), "scoring")
        raise JuryboxError(text, option=option) from None
    ds = read_mcqa(data, question=question, choices=choices, answer=answer, subject=subject, encoding=encoding)
    if limit is not None:
        ds = _first_per_subject(ds, limit)
    if shots > 0:
        assert dev is not None
        few_shot(ds, read_mcqa(dev, question=question, choices=choices, answer=answer, subject=subject,
                               require_answer=True, encoding=encoding), shots)
    spec = JudgeSpec(proto, model=model, backend_options=dict(backend_options or {}))
    with open_store(store) as st:
        judge = spec.make_judge()
        verdicts, variants, stats = evaluate(judge, ds.items, st, progress=progress,
                                             description=f"mcqa {scoring} {shots}-shot ({len(ds.items)} questions)")
    return score_run(proto, ds, verdicts, variants, stats, judge.name, shots, review_below)


def _first_per_subject(ds: McqaData, limit: int) -> McqaData:
    seen: dict[str, int] = {}
    keep = []
    for i, s in enumerate(ds.subjects):
        seen[s] = seen.get(s, 0) + 1
        if seen[s] <= limit:
            keep.append(i)
    return McqaData([ds.items[i] for i in keep], [ds.answers[i] for i in keep], [ds.sources[i] for i in keep],
                    [ds.rows[i] for i in keep], ds.table.iloc[keep].reset_index(drop=True))


def score_run(proto: MultipleChoice, ds: McqaData, verdicts: list[Verdict], variants: list[dict[str, Verdict]],
              stats: RunStats, model: str, shots: int, review_below: float | None) -> McqaReport:
    """The report of a run from its verdicts (pure: no model calls)."""
    keyed = [i for i, a in enumerate(ds.answers) if a is not None]
    subjects = [ds.subjects[i] for i in keyed]
    gold = [LETTERS[a] for a in ds.answers if a is not None]
    accuracy: dict[str, AccuracyTable] = {}
    normalisation: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    unparsed = sum(1 for v in verdicts if v.status == "unparsed")
    failed = sum(1 for v in verdicts if v.status == "error")
    bias = None
    if proto.scoring == "likelihood":
        preds: list[dict[str, int] | None] = []
        for it, v in zip(ds.items, verdicts, strict=True):
            if v.status != "ok":
                preds.append(None)
                continue
            preds.append(harness_predictions(v.extra["loglikelihoods"], it["choices"],
                                             token_counts=v.extra["token_counts"],
                                             unconditional=v.extra.get("unconditional")))
        metrics = ["acc", "acc_norm", "acc_bytes", "acc_token_norm"] + (["acc_mutual_info"] if proto.mutual_info
                                                                         else [])
        for m in metrics:
            correct = [preds[i] is not None and preds[i][m] == ds.answers[i] for i in keyed]  # type: ignore[index]
            accuracy[m] = accuracy_table(correct, subjects)
            normalisation[m] = NORMALISATIONS[m]
        for i, v in enumerate(verdicts):
            p = preds[i]
            rows.append({"verdict": v.label, "verdict_norm": LETTERS[p["acc_norm"]] if p else None,
                         "verdict_probs": v.probs, "verdict_status": v.status, "verdict_raw": v.raw,
                         "confidence": _confidence(v),
                         "loglikelihoods": v.extra.get("loglikelihoods"), "token_counts": v.extra.get("token_counts")})
    else:
        correct = [verdicts_original(variants[i]).label == LETTERS[ds.answers[i]] for i in keyed]  # type: ignore[index]
        accuracy["acc"] = accuracy_table(correct, subjects)
        normalisation["acc"] = ("the option letter with the highest next-token probability" if proto.scoring == "letter"
                                else "the letter of a strict 'ANSWER: X' reply (unparsed counts as wrong)")
        if proto.shuffle > 1:
            obs = [(ds.subjects[i], v.label == LETTERS[ds.answers[i]])  # type: ignore[index]
                   for i in keyed for v in variants[i].values()]
            accuracy["acc_orders_mean"] = accuracy_table([c for _, c in obs], [g for g, _ in obs])
            normalisation["acc_orders_mean"] = (f"accuracy over all {proto.shuffle} option orders of every question "
                                                "(the interval treats the orders as independent: too narrow)")
            accuracy["acc_combined"] = accuracy_table([verdicts[i].label == gold[j] for j, i in enumerate(keyed)],
                                                      subjects)
            normalisation["acc_combined"] = "the option with the highest probability averaged over the orders"
        shown_pred: list[str | None] = []
        shown_gold: list[str] = []
        n_max = max(len(it["choices"]) for it in ds.items)
        for i in keyed:
            a = ds.answers[i]
            for variant, v in variants[i].items():
                perm = _perm_of(variant)
                shown_gold.append(LETTERS[perm.index(a)])  # type: ignore[arg-type]
                shown_pred.append(v.extra.get("shown") if v.label is not None else None)
        if keyed:
            bias = letter_bias(shown_pred, shown_gold, LETTERS[:n_max])
        for v, vs in zip(verdicts, variants, strict=True):
            first = verdicts_original(vs)
            rows.append({"verdict": first.label, "verdict_combined": v.label, "verdict_probs": first.probs,
                         "verdict_status": first.status, "verdict_raw": first.raw, "confidence": _confidence(first)})
    routing = None
    if review_below is not None:
        conf = [r["confidence"] for r in rows]
        correct_all = [r["verdict"] == LETTERS[a] if a is not None else False for r, a in zip(rows, ds.answers,
                                                                                                 strict=True)]
        routed, routing = route_by_confidence(conf, review_below, correct_all if len(keyed) == len(rows) else None)
        for r, flag in zip(rows, routed, strict=True):
            r["needs_review"] = flag
    table = pd.DataFrame({"subject": ds.subjects, "question": [it["question"] for it in ds.items],
                          "choices": [it["choices"] for it in ds.items],
                          "answer": [LETTERS[a] if a is not None else None for a in ds.answers],
                          "source": ds.sources, "row": ds.rows})
    table = pd.concat([table, pd.DataFrame(rows)], axis=1)
    table["correct"] = [p == a if a is not None else None for p, a in zip(table["verdict"], table["answer"],
                                                                          strict=True)]
    return McqaReport(
        scoring=proto.scoring, model=model, shots=shots, shuffle=proto.shuffle, n_questions=len(ds.items),
        n_answered=len(keyed), accuracy=accuracy, normalisation=normalisation, unparsed=unparsed, failed=failed,
        letter_bias=bias, routing=routing, model_calls=stats.model_calls, n_tasks=stats.n_tasks,
        n_cached=stats.n_cached, wall_s=stats.wall_s, prompt_tokens=stats.prompt_tokens,
        failures=list(stats.failures), table=table)


def verdicts_original(vs: Mapping[str, Verdict]) -> Verdict:
    """The verdict of the original option order (variant ``p0:...``)."""
    for k, v in vs.items():
        if k.startswith("p0:"):
            return v
    raise JuryboxError("no verdict for the original option order")
