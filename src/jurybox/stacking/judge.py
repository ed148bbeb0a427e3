"""A saved stack and the judge that applies it.

The stack file (JSON, written with :func:`jurybox.atomic.atomic_write`) holds what the fit needs to
be reused: the protocol, every member judge's spec (protocol, template, parameters, model spec,
backend options, name) with a hash of the member protocol's parameters (template text, criteria,
labels: what goes into its task keys), the feature layout and the regression
(:class:`~jurybox.stacking.model.StackModel`), plus the cross-validated estimates it was saved
with. Loading checks all of it and names the file and field of anything wrong.

``--model stack:FIT.json`` (:class:`StackedJudge`, a composite backend) makes the stack a judge
for ``judge``, ``jury`` and ``audit``: the engine hands it whole items
(:func:`jurybox.engine.evaluate`), it asks every member judge through the engine and the store
(the same task keys as any other run of those judges, so verdicts already stored cost nothing),
builds the features and returns the regression's verdict. An item on which every member answer is
missing still gets the regression's prediction from the imputed features and the missing
indicators; the verdict's ``extra["stack"]["missing"]`` lists the member variants that were
missing. For pairwise, the per-order variants ``AB`` and ``BA`` are the stack on the item as shown
and on the item with the responses swapped (built from the members' opposite orders, no model
call), so the audit's position probe measures the stack's own position consistency.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from jurybox.atomic import atomic_write
from jurybox.backends.base import Backend, backend_label
from jurybox.engine import Executor, Judge, RunStats
from jurybox.errors import BackendConfigError, JuryboxError
from jurybox.fitfile import read_fit_file
from jurybox.stacking.model import Layout, StackModel, feature_matrix, feature_names, json_ready
from jurybox.store import Store
from jurybox.types import Verdict, canonical_json

__all__ = ["Member", "StackFile", "StackedJudge", "member_of", "read_stack", "write_stack"]

FORMAT = "jurybox-stack"
VERSION = 1


@dataclass(frozen=True)
class Member:
    """One member judge as the stack file records it."""

    name: str
    protocol: str
    template: str = "default"
    params: Mapping[str, Any] = field(default_factory=dict)
    model: str | None = None
    backend_options: Mapping[str, Any] = field(default_factory=dict)
    protocol_hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "protocol": self.protocol, "template": self.template, "params": dict(self.params),
                "model": self.model, "backend_options": dict(self.backend_options),
                "protocol_hash": self.protocol_hash}

    def spec(self) -> Any:
        from jurybox.spec import JudgeSpec

        return JudgeSpec(self.protocol, dict(self.params), self.template, self.model, dict(self.backend_options),
                         self.name)


def protocol_hash(judge: Judge) -> str:
    """sha256 of the member protocol's parameters (what its task keys hold besides the model)."""
    return hashlib.sha256(canonical_json(judge.protocol.params()).encode("utf-8")).hexdigest()


def member_of(judge: Judge, spec: Any | None = None) -> Member:
    """The :class:`Member` record of an engine judge (and the spec it was built from, when known)."""
    if spec is not None and isinstance(spec.protocol, str):
        model = spec.model if spec.model is None or isinstance(spec.model, str) else (
            os.fspath(spec.model) if isinstance(spec.model, os.PathLike) else backend_label(spec.model))
        return Member(judge.name, spec.protocol, spec.template, dict(spec.params), model,
                      dict(spec.backend_options), protocol_hash(judge))
    return Member(judge.name, judge.protocol.name, judge.protocol.template, {}, backend_label(judge.backend), {},
                  protocol_hash(judge))


@dataclass(frozen=True)
class StackFile:
    protocol: str
    members: tuple[Member, ...]
    layout: Layout
    model: StackModel
    info: Mapping[str, Any] = field(default_factory=dict)
    path: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "protocol": self.protocol,
                "members": [m.to_dict() for m in self.members],
                "layout": [[m, v, list(labels)] for m, v, labels in self.layout],
                "model": self.model.to_dict(), "info": dict(self.info)}

    def check_judges(self, judges: Sequence[Judge]) -> None:
        """Raise a one-line error unless ``judges`` are the stack's members (names and prompts)."""
        names = [j.name for j in judges]
        expected = [m.name for m in self.members]
        where = self.path or "the stack"
        if sorted(names) != sorted(expected):
            raise JuryboxError(f"{where}: fitted for judges {expected}, but the jury has {names}")
        by_name = {j.name: j for j in judges}
        for m in self.members:
            if protocol_hash(by_name[m.name]) != m.protocol_hash:
                raise JuryboxError(f"{where}: judge {m.name} asks a different prompt or parameters than the one the "
                                   "stack was fitted with (template text, criteria or labels changed)")


def write_stack(stack: StackFile, path: str | os.PathLike[str]) -> Path:
    with atomic_write(path) as f:
        f.write(json.dumps(json_ready(stack.to_dict()), indent=1, allow_nan=False) + "\n")
    return Path(path)


def read_stack(path: str | os.PathLike[str]) -> StackFile:
    """Read and check a stack file (one-line errors naming the file and field)."""
    p = Path(path)
    d = read_fit_file(p, kind="stack", format=FORMAT, version=VERSION,
                      hint="fit one with a jury config's aggregation: stacked")
    try:
        members = tuple(Member(str(m["name"]), str(m["protocol"]), str(m.get("template", "default")),
                               dict(m.get("params") or {}), m.get("model"), dict(m.get("backend_options") or {}),
                               str(m["protocol_hash"])) for m in d["members"])
        layout: Layout = [(str(a), str(b), tuple(str(x) for x in c)) for a, b, c in d["layout"]]
        protocol = str(d["protocol"])
    except (KeyError, TypeError, ValueError) as exc:
        raise JuryboxError(f"{p}: field {exc} is missing or malformed in the stack file") from None
    model = StackModel.from_dict(d.get("model") or {}, source=str(p))
    if tuple(feature_names(layout)) != model.features:
        raise JuryboxError(f"{p}: the model's features do not match the layout of its members")
    unknown = sorted({m for m, _, _ in layout} - {m.name for m in members})
    if unknown:
        raise JuryboxError(f"{p}: layout names judge(s) {unknown} that are not among the members")
    return StackFile(protocol, members, layout, model, dict(d.get("info") or {}), str(p))


def _swap_ab(variants: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A pairwise member's per-order verdicts for the item with its responses swapped: order AB of
    the swapped item is order BA of the item, with labels A and B exchanged."""
    swap = {"A": "B", "B": "A"}
    out = []
    for vs in variants:
        new: dict[str, Any] = {}
        for var, other in (("AB", "BA"), ("BA", "AB")):
            v = vs.get(other)
            if v is None:
                continue
            lps = v.extra.get("logprobs") if v.status == "ok" else None
            extra = {**v.extra, "logprobs": {swap.get(k, k): x for k, x in lps.items()}} if lps else v.extra
            new[var] = replace(v, extra=extra)
        out.append(new)
    return out


def _score(labels: Sequence[str], probs: Mapping[str, float]) -> float | None:
    try:
        grades = [float(c) for c in labels]
    except ValueError:
        return probs.get("A") if set(labels) <= {"A", "B", "tie"} else None
    return float(sum(g * probs[c] for g, c in zip(grades, labels, strict=True)))


def apply_stack(stack: StackFile, members: Sequence[str], variants: Sequence[Sequence[Mapping[str, Any]]],
                ) -> list[Verdict]:
    """The stack's verdict for each item from its members' per-variant verdicts (pure)."""
    x, miss = feature_matrix(stack.layout, members, variants)
    proba = stack.model.predict_proba(x)
    classes = stack.model.classes
    out = []
    for i in range(x.shape[0]):
        probs = {c: float(p) for c, p in zip(classes, proba[i], strict=True)}
        label = classes[int(proba[i].argmax())]
        missing = [f"{m}|{v}" for b, (m, v, _) in enumerate(stack.layout) if miss[i, b]]
        out.append(Verdict(label=label, probs=probs, score=_score(classes, probs),
                           extra={"method": "stack", "stack": {"missing": missing,
                                                               "n_missing": len(missing),
                                                               "n_blocks": len(stack.layout)}}))
    return out


class StackedJudge:
    """The composite backend of ``stack:FIT.json`` (module docstring). ``backends`` maps a member's
    model spec to a backend already built (a model given as an object when the stack was fitted)."""

    name = "stack"

    def __init__(self, file: str, *, backends: Mapping[str, Backend] | None = None) -> None:
        if not file:
            raise JuryboxError("a stacked judge needs its stack file: stack:FIT.json")
        self.stack = read_stack(file)
        self._backends = dict(backends or {})
        self._digest = hashlib.sha256(Path(file).read_bytes()).hexdigest()

    @property
    def label(self) -> str:
        return f"stack:{Path(self.stack.path).name}"

    def fingerprint(self) -> str:
        return f"stack:{self._digest}"

    def _refuse(self, *_: Any) -> Any:
        raise BackendConfigError(f"{self.label} judges whole items through its member judges; this command asks "
                                 "the model for single prompts, which a stacked judge cannot answer")

    option_logprobs = generate = continuation_logprobs = _refuse

    def close(self) -> None:
        pass

    def member_judges(self) -> list[Judge]:
        judges = []
        built: dict[tuple[Any, ...], Backend] = {}
        for m in self.stack.members:
            spec = m.spec()
            key = (m.model, tuple(sorted(m.backend_options.items())))
            if key not in built:
                given = self._backends.get(str(m.model)) if m.model is not None else None
                built[key] = given or spec.make_backend()
            judges.append(Judge(spec.make_protocol(), built[key], m.name))
        self.stack.check_judges(judges)
        return judges

    def evaluate_items(self, judge: Judge, items: Sequence[Mapping[str, Any]], store: Store, *,
                       progress: bool = False, description: str | None = None,
                       executor: Executor | None = None) -> tuple[list[Verdict], list[dict[str, Verdict]], RunStats]:
        from jurybox.jury.runner import run_jury

        proto = judge.protocol
        where = self.stack.path
        if proto.name != self.stack.protocol:
            raise JuryboxError(f"{where}: the stack was fitted for protocol {self.stack.protocol}, not {proto.name}")
        if proto.template != "default":
            raise JuryboxError(f"{where}: a stacked judge asks its members' own templates; a template "
                               f"({proto.template}) does not apply to it")
        run = run_jury(self.member_judges(), items, store, progress=progress, executor=executor)
        names = list(run.judges)
        combined = apply_stack(self.stack, names, run.variants)
        if self.stack.protocol != "pairwise":
            return combined, [{"stack": v} for v in combined], run.stats
        swapped = apply_stack(self.stack, names, [_swap_ab(vs) for vs in run.variants])
        back = {"A": "B", "B": "A"}
        variants = []
        for v, s in zip(combined, swapped, strict=True):
            ab = replace(v, extra={**v.extra, "first_position_won": v.label == "A"})
            label = back.get(s.label or "", s.label)
            probs = {back.get(k, k): p for k, p in (s.probs or {}).items()}
            ba = replace(s, label=label, probs=probs, score=probs.get("A"),
                         extra={**s.extra, "first_position_won": label == "B"})
            variants.append({"AB": ab, "BA": ba})
        return combined, variants, run.stats

