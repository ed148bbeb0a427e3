"""The cascade as a judge: ``--model cascade:CHEAP`` (with backend options ``large=MODEL``,
``threshold=T``) or ``--model cascade:CASCADE.json`` (a file written by
:func:`jurybox.cascade.api.fit_cascade`).

:class:`CascadeJudge` is a composite backend: the engine hands it whole items
(:func:`jurybox.engine.evaluate`). It asks the cheap judge (the same protocol and template on the
cheap model) for every item through the engine and the store, takes each item's confidence (the
largest probability of its combined verdict: for pairwise, max(p(A), p(B)) after both orders), and
asks the large judge only for the items whose confidence is below the threshold or whose cheap
answer was not read. Both stages use the task keys any single-judge run of those models would, so
verdicts already in the store cost nothing and a rerun makes no model call.

Each item's verdict is the stage's verdict with ``extra["cascade"]``: the stage (``cheap`` or
``large``), the cheap confidence and label, the threshold; its ``latency_s`` is the model time of
both stages on the item (as stored).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from jurybox.atomic import atomic_write
from jurybox.backends.base import Backend, backend_label
from jurybox.engine import Executor, Judge, RunStats, evaluate
from jurybox.errors import BackendConfigError, JuryboxError
from jurybox.fitfile import read_fit_file
from jurybox.stacking.model import json_ready
from jurybox.store import Store
from jurybox.types import Verdict

__all__ = ["CascadeConfig", "CascadeJudge", "confidence", "read_cascade", "write_cascade"]

FORMAT = "jurybox-cascade"
VERSION = 1
DEFAULT_LARGE = "qwen2.5-coder-1.5b"


def confidence(v: Verdict) -> float:
    """An item verdict's confidence: its largest label probability (NaN when the answer was not read
    or has no probabilities)."""
    if v.status != "ok" or v.label is None or not v.probs:
        return float("nan")
    return float(max(v.probs.values()))


@dataclass(frozen=True)
class CascadeConfig:
    """The cheap and large model specs with their backend options, the threshold, and (from a fit)
    the protocol it was chosen for and the numbers it was chosen with."""

    cheap: str
    large: str = DEFAULT_LARGE
    threshold: float = 0.8
    cheap_options: Mapping[str, Any] = field(default_factory=dict)
    large_options: Mapping[str, Any] = field(default_factory=dict)
    protocol: str | None = None
    info: Mapping[str, Any] = field(default_factory=dict)
    path: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "cheap": self.cheap, "large": self.large,
                "threshold": self.threshold, "cheap_options": dict(self.cheap_options),
                "large_options": dict(self.large_options), "protocol": self.protocol, "info": dict(self.info)}


def write_cascade(cfg: CascadeConfig, path: str | os.PathLike[str]) -> Path:
    with atomic_write(path) as f:
        f.write(json.dumps(json_ready(cfg.to_dict()), indent=1, allow_nan=False) + "\n")
    return Path(path)


def _check_threshold(t: Any, where: str) -> float:
    try:
        value = float(t)
    except (TypeError, ValueError):
        raise JuryboxError(f"{where}: threshold must be a number, got {t!r}") from None
    if not 0.0 <= value <= 1.01 or math.isnan(value):
        raise JuryboxError(f"{where}: threshold must be between 0 and 1 (1.01: escalate every item), got {t!r}")
    return value


def read_cascade(path: str | os.PathLike[str]) -> CascadeConfig:
    p = Path(path)
    d = read_fit_file(p, kind="cascade", format=FORMAT, version=VERSION, hint="choose one with jurybox cascade")
    for key in ("cheap", "large"):
        if not isinstance(d.get(key), str) or not d[key]:
            raise JuryboxError(f"{p}: field '{key}' must name a model")
    for key in ("cheap_options", "large_options"):
        if not isinstance(d.get(key) or {}, dict):
            raise JuryboxError(f"{p}: field '{key}' must map backend options to values")
    return CascadeConfig(d["cheap"], d["large"], _check_threshold(d.get("threshold"), f"{p}, field 'threshold'"),
                         dict(d.get("cheap_options") or {}), dict(d.get("large_options") or {}), d.get("protocol"),
                         dict(d.get("info") or {}), str(p))


class CascadeJudge:
    """The composite backend of ``cascade:...`` (module docstring). ``backends`` maps model specs to
    backends already built (tests, or models given as objects)."""

    name = "cascade"

    def __init__(self, cheap: str | None = None, *, file: str | None = None, large: str | None = None,
                 threshold: float | None = None, cheap_options: dict[str, Any] | None = None,
                 large_options: dict[str, Any] | None = None,
                 backends: Mapping[str, Backend] | None = None) -> None:
        if file:
            cfg = read_cascade(file)
            if threshold is not None:
                cfg = replace(cfg, threshold=_check_threshold(threshold, "cascade threshold"))
            if large is not None or cheap_options or large_options:
                raise JuryboxError(f"{file}: the cascade file sets the models and their options; give only "
                                   "threshold beside it")
        else:
            if not cheap:
                raise JuryboxError("a cascade needs its cheap model: cascade:CHEAP (e.g. cascade:gemma-3-270m) or "
                                   "cascade:CASCADE.json")
            cfg = CascadeConfig(cheap, large or DEFAULT_LARGE,
                                _check_threshold(0.8 if threshold is None else threshold, "cascade threshold"),
                                dict(cheap_options or {}), dict(large_options or {}))
        self.config = cfg
        self._backends = dict(backends or {})
        self._built: dict[str, Backend] = {}

    def _backend(self, which: str) -> Backend:
        if which not in self._built:
            from jurybox.backends.registry import get_backend, parse_backend_options

            spec = self.config.cheap if which == "cheap" else self.config.large
            options = self.config.cheap_options if which == "cheap" else self.config.large_options
            given = self._backends.get(spec)
            self._built[which] = given if given is not None else get_backend(
                spec, **parse_backend_options(spec, dict(options)))
        return self._built[which]

    @property
    def cheap(self) -> Backend:
        return self._backend("cheap")

    @property
    def large(self) -> Backend:
        return self._backend("large")

    @property
    def label(self) -> str:
        c = self.config
        return f"cascade({c.cheap}>{c.large}@{c.threshold:g})"

    def fingerprint(self) -> str:
        text = json.dumps({k: v for k, v in self.config.to_dict().items() if k != "info"}, sort_keys=True, default=str)
        return "cascade:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _refuse(self, *_: Any) -> Any:
        raise BackendConfigError(f"{self.label} judges whole items (cheap judge first, then the large one); this "
                                 "command asks the model for single prompts, which a cascade cannot answer")

    option_logprobs = generate = continuation_logprobs = _refuse

    def close(self) -> None:
        pass

    def evaluate_items(self, judge: Judge, items: Sequence[Mapping[str, Any]], store: Store, *,
                       progress: bool = False, description: str | None = None,
                       executor: Executor | None = None) -> tuple[list[Verdict], list[dict[str, Verdict]], RunStats]:
        cfg = self.config
        if cfg.protocol is not None and judge.protocol.name != cfg.protocol:
            raise JuryboxError(f"{cfg.path}: the cascade's threshold was chosen for protocol {cfg.protocol}, not "
                               f"{judge.protocol.name}")
        cheap_j = Judge(judge.protocol, self.cheap)
        stats = RunStats()
        v1, var1, s1 = evaluate(cheap_j, items, store, progress=progress, executor=executor,
                                description=f"cascade, cheap judge {backend_label(self.cheap)}")
        stats.merge(s1)
        conf = [confidence(v) for v in v1]
        esc = [i for i, c in enumerate(conf) if not c >= cfg.threshold]
        v2: list[Verdict] = []
        var2: list[dict[str, Verdict]] = []
        if esc:
            large_j = Judge(judge.protocol, self.large)
            v2, var2, s2 = evaluate(large_j, [items[i] for i in esc], store, progress=progress, executor=executor,
                                    description=f"cascade, large judge {backend_label(self.large)} "
                                                f"({len(esc)} of {len(items)} items)")
            stats.merge(s2)
        verdicts: list[Verdict] = []
        variants: list[dict[str, Verdict]] = []
        at = {i: k for k, i in enumerate(esc)}
        for i, (v, vs) in enumerate(zip(v1, var1, strict=True)):
            info = {"stage": "cheap", "confidence": None if math.isnan(conf[i]) else conf[i],
                    "cheap_label": v.label, "threshold": cfg.threshold, "cheap_latency_s": v.latency_s}
            if i in at:
                big, big_vs = v2[at[i]], var2[at[i]]
                info["stage"] = "large"
                verdicts.append(replace(big, extra={**big.extra, "cascade": info},
                                        latency_s=big.latency_s + v.latency_s))
                variants.append(big_vs)
            else:
                verdicts.append(replace(v, extra={**v.extra, "cascade": info}))
                variants.append(vs)
        return verdicts, variants, stats
