"""Run the bias probes against a judge: every probe is a set of task variants on the engine and store.

``run_audit`` builds, for the probes asked, the judges whose answers the statistics need (the
judge as configured, asked in both orders; the same judge with the rubric reversed; one judge per
template variant; the judge repeated at temperature > 0), runs them through
:func:`jurybox.engine.evaluate` (the store answers every task it has, so a rerun makes no model
calls), and computes each probe's statistics with 95% bootstrap intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jurybox.audit._common import Row, to_jsonable
from jurybox.audit.consistency import Repeated, internal_consistency, repeat_matrix, wording_sensitivity
from jurybox.audit.length import length_bias, score_length_bias, text_lengths
from jurybox.audit.position import position_bias, rubric_order_shift
from jurybox.audit.selfpref import self_preference
from jurybox.audit.slices import leniency_by_slice, preference_score
from jurybox.backends.base import Backend
from jurybox.engine import Judge, RunStats, evaluate
from jurybox.errors import JuryboxError
from jurybox.protocols.base import JudgeProtocol, template_variants
from jurybox.protocols.registry import make_protocol
from jurybox.stats import DEFAULT_RESAMPLES
from jurybox.store import Store
from jurybox.types import Verdict

PROBES = ("position", "length", "wording", "consistency", "self_preference", "leniency", "injection")
SCORE_PROBES = ("position", "length", "wording", "consistency", "leniency", "injection")


@dataclass(frozen=True)
class AuditReport:
    """Every probe's result, the run statistics (model calls, cache hits) and notes."""

    judge_name: str
    protocol: str
    n_items: int
    results: dict[str, Any]
    runs: dict[str, dict[str, Any]]
    notes: tuple[str, ...] = ()
    verdicts: dict[str, list[Verdict]] = field(default_factory=dict, compare=False, repr=False)
    failures: tuple[dict[str, Any], ...] = field(default=(), compare=False, repr=False)
    """The failed tasks of every run (key, row, judge, error): no verdict, retried by the next audit."""

    def rows(self) -> list[Row]:
        out: list[Row] = []
        for res in self.results.values():
            out.extend(res.rows())
        return out

    @property
    def model_calls(self) -> int:
        return sum(int(r.get("model_calls", 0)) for r in self.runs.values())

    @property
    def n_tasks(self) -> int:
        return sum(int(r.get("tasks", 0)) for r in self.runs.values())

    @property
    def n_failed(self) -> int:
        """Tasks whose model call failed, over every run (the probes' statistics leave them out)."""
        return sum(int(r.get("failed", 0)) for r in self.runs.values())

    def to_dict(self) -> dict[str, Any]:
        return {"judge_name": self.judge_name, "protocol": self.protocol, "n_items": self.n_items,
                "results": {k: v.to_dict() for k, v in self.results.items()},
                "runs": to_jsonable(self.runs), "notes": list(self.notes)}

    def table(self, title: str | None = None) -> Any:
        """A rich Table of every statistic with its 95% interval."""
        from rich.markup import escape
        from rich.table import Table

        t = Table(title=title or f"Bias audit of {self.judge_name} ({self.n_items} items)")
        for col in ("probe", "statistic", "estimate", "95% interval", "n", "note"):
            t.add_column(col, justify="right" if col in ("estimate", "95% interval", "n") else "left")
        for r in self.rows():
            t.add_row(*(escape(c) for c in r.text()))
        return t


def _label(v: Verdict) -> str | None:
    return v.label if v.status == "ok" else None


def _human(items: Sequence[Mapping[str, Any]], human: str | None) -> list[Any] | None:
    if human is None:
        return None
    return [it.get(human) for it in items]


def check_probes(protocol: str, probes: Sequence[str]) -> None:
    """Raise a JuryboxError naming any probe that does not exist or does not apply to ``protocol``."""
    unknown = [p for p in probes if p not in PROBES]
    if unknown:
        raise JuryboxError(f"unknown probe(s) {unknown}; available: {', '.join(PROBES)}")
    allowed = PROBES if protocol == "pairwise" else SCORE_PROBES if protocol == "score" else ()
    bad = [p for p in probes if p not in allowed]
    if bad:
        raise JuryboxError(f"probe(s) {bad} are not available for the {protocol} protocol "
                           f"(available: {', '.join(allowed) or 'none'})")


def run_audit(
    items: Sequence[Mapping[str, Any]],
    backend: Backend,
    store: Store,
    *,
    protocol: str = "pairwise",
    probes: Sequence[str] = ("position", "length"),
    human: str | None = None,
    templates: Sequence[str] | None = None,
    repeats: int = 5,
    temperature: float = 1.0,
    family: str | None = None,
    slice_field: str | None = None,
    length_unit: str = "chars",
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int | None = 0,
    progress: bool = False,
    name: str = "",
    adapt: Callable[[JudgeProtocol], JudgeProtocol] | None = None,
    **protocol_params: Any,
) -> AuditReport:
    """Audit a judge (``protocol`` with ``protocol_params`` asked of ``backend``) on ``items``.

    ``adapt`` wraps each protocol the probes ask with (a JudgeSpec's few-shot examples and
    calibration: :meth:`jurybox.spec.JudgeSpec.adapt`); the consistency probe's repeats are not
    wrapped, and per-order numbers (position) are read from the stored, uncalibrated orders.

    ``items`` are dicts holding the protocol's fields; ``human`` names the item key with the human
    label ("A"/"B" for pairwise, a score for score), ``family`` the judge's model family for the
    self-preference probe (items then need ``model_a`` and ``model_b``), ``slice_field`` the key
    of the slice for leniency. Pairwise judges are always asked in both orders here.
    """
    check_probes(protocol, probes)
    if not items:
        raise JuryboxError("the audit needs at least one item")
    params = dict(protocol_params)
    if protocol == "pairwise":
        params["orders"] = "both"
    runs: dict[str, dict[str, Any]] = {}
    failures: list[dict[str, Any]] = []
    cache: dict[tuple[Any, ...], tuple[list[Verdict], list[dict[str, Verdict]]]] = {}
    kw: dict[str, Any] = {"n_resamples": n_resamples, "seed": seed}
    base = make_protocol(protocol, **params)
    judge_name = name or Judge(base, backend).name
    notes: list[str] = []

    def run(tag: str, **overrides: Any) -> tuple[list[Verdict], list[dict[str, Verdict]]]:
        key = tuple(sorted(overrides.items()))
        if key not in cache:
            proto = make_protocol(protocol, **{**params, **overrides})
            if adapt is not None:
                proto = adapt(proto)
            combined, variants, stats = evaluate(Judge(proto, backend, judge_name), items, store,
                                                 progress=progress, description=f"audit {tag}")
            _record(runs, failures, tag, stats)
            cache[key] = (combined, variants)
        return cache[key]

    hum = _human(items, human)
    results: dict[str, Any] = {}
    for probe in probes:
        if probe == "position" and protocol == "pairwise":
            _, variants = run("position")
            results["position"] = position_bias(
                [_label(v["AB"]) for v in variants], [_label(v["BA"]) for v in variants],
                [v["AB"].extra.get("first_position_won") for v in variants],
                [v["BA"].extra.get("first_position_won") for v in variants],
                [v["AB"].extra.get("margin") for v in variants], [v["BA"].extra.get("margin") for v in variants],
                **kw)
        elif probe == "position":
            fwd, _ = run("rubric", reverse_rubric=False)
            rev, _ = run("rubric-reversed", reverse_rubric=True)
            results["position"] = rubric_order_shift([v.score for v in fwd], [v.score for v in rev], **kw)
        elif probe == "length" and protocol == "score":
            fwd, _ = run("rubric", reverse_rubric=False)
            hs = None if hum is None else [np.nan if x is None else float(x) for x in hum]
            results["length"] = score_length_bias(
                [np.nan if v.score is None else v.score for v in fwd],
                text_lengths([it["response"] for it in items], length_unit), hs, length_unit=length_unit, **kw)
        elif probe == "length":
            combined, _ = run("position")
            la = text_lengths([it["response_a"] for it in items], length_unit)
            lb = text_lengths([it["response_b"] for it in items], length_unit)
            results["length"] = length_bias(human=hum, judge=[_label(v) for v in combined], len_a=la, len_b=lb,
                                            length_unit=length_unit, **kw)
            if hum is None:
                notes.append("length: no human labels, so the length effect is not controlled for them")
        elif probe == "wording":
            names = list(templates) if templates else template_variants(protocol)
            labels = {t: [_label(v) for v in run(f"template {t}", template=t)[0]] for t in names}
            results["wording"] = wording_sensitivity(labels, hum, **kw)
        elif probe == "consistency":
            proto = Repeated(make_protocol(protocol, **params), k=repeats, temperature=temperature)
            _, variants, stats = evaluate(Judge(proto, backend, judge_name), items, store, progress=progress,
                                          description="audit repeats")
            _record(runs, failures, "repeats", stats)
            results["consistency"] = internal_consistency(repeat_matrix(variants, repeats),
                                                          temperature=temperature, **kw)
        elif probe == "self_preference":
            if family is None:
                raise JuryboxError("the self_preference probe needs the judge's model family (--family)")
            missing = [f for f in ("model_a", "model_b") if f not in items[0]]
            if missing:
                raise JuryboxError(f"the self_preference probe needs item fields model_a and model_b "
                                   f"(which model wrote each response); missing {missing}")
            combined, _ = run("position")
            results["self_preference"] = self_preference(
                human=hum, judge=[_label(v) for v in combined], model_a=[it["model_a"] for it in items],
                model_b=[it["model_b"] for it in items], family=family, **kw)
        elif probe == "leniency":
            if hum is None or slice_field is None:
                raise JuryboxError("the leniency probe needs human labels (--human) and a slice field (--slice)")
            combined, _ = run("position" if protocol == "pairwise" else "rubric", **(
                {} if protocol == "pairwise" else {"reverse_rubric": False}))
            if protocol == "pairwise":
                j, h = preference_score([_label(v) for v in combined]), preference_score(hum)
            else:
                j = np.array([np.nan if v.score is None else v.score for v in combined], dtype=float)
                h = np.array([np.nan if x is None else float(x) for x in hum], dtype=float)
            results["leniency"] = leniency_by_slice(human=h, judge=j, slices=[it.get(slice_field) for it in items],
                                                      **kw)
        elif probe == "injection":
            from jurybox.audit.injection import injection_audit

            side = None
            if protocol == "pairwise":  # attack the response the human (else the judge) did not prefer
                combined, _ = run("position")
                pref = hum if hum is not None else [_label(v) for v in combined]
                side = ["A" if p == "B" else "B" for p in pref]
            inj_params = {k: v for k, v in params.items() if k != "orders"}
            results["injection"] = injection_audit(items, backend, store, protocol=protocol, target_side=side,
                                                   progress=progress,
                                                   on_run=lambda tag, st: _record(runs, failures, f"injection {tag}", st),
                                                   **inj_params, **kw)
    verdicts = {"/".join(f"{k}={v}" for k, v in key) or "base": c for key, (c, _) in cache.items()}
    return AuditReport(judge_name=judge_name, protocol=protocol, n_items=len(items), results=results, runs=runs,
                       notes=tuple(notes), verdicts=verdicts, failures=tuple(failures))


def _record(runs: dict[str, dict[str, Any]], failures: list[dict[str, Any]], tag: str, stats: RunStats) -> None:
    failures.extend(stats.failures)
    runs[tag] = {"tasks": stats.n_tasks, "cached": stats.n_cached, "model_calls": stats.model_calls,
                 "failed": stats.n_failed, "wall_s": round(stats.wall_s, 2)}
