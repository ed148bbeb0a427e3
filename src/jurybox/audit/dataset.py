"""The bias audit of a dataset: read the table, map fields, read the human labels and slices, run
the probes (:func:`jurybox.audit.runner.run_audit`) in a store."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from jurybox.audit.runner import AuditReport, check_probes, run_audit
from jurybox.backends.base import Backend
from jurybox.errors import JuryboxError
from jurybox.items import load_dataset
from jurybox.spec import JudgeSpec, as_spec
from jurybox.store import Store, open_store

__all__ = ["AUDIT_PROTOCOLS", "audit_dataset"]

AUDIT_PROTOCOLS = ("pairwise", "score")
_HUMAN = "__human__"  # item keys the probes read the human label and the slice from
_SLICE = "__slice__"


def audit_dataset(
    data: pd.DataFrame | str | os.PathLike[str],
    judge: str | JudgeSpec = "pairwise",
    *,
    probes: Sequence[str] = ("position", "length"),
    model: str | os.PathLike[str] | Backend | None = None,
    fields: Sequence[str] | Mapping[str, str] | None = None,
    human: str | None = None,
    slice_field: str | None = None,
    templates: Sequence[str] | None = None,
    repeats: int = 5,
    temperature: float = 1.0,
    family: str | None = None,
    length_unit: str = "chars",
    n_resamples: int = 1000,
    seed: int | None = 0,
    store: Store | str | os.PathLike[str] | None = None,
    encoding: str | None = None,
    progress: bool = False,
    **protocol_params: Any,
) -> AuditReport:
    """Audit a judge on a dataset: each probe's effect with its 95% bootstrap interval.

    ``judge`` is a protocol name (``pairwise`` or ``score``; ``model`` and the keyword parameters
    complete it) or a :class:`JudgeSpec`; ``human`` names the column with the human label (A/B,
    or a score), ``slice_field`` the column naming each item's slice (leniency); the
    self-preference probe reads ``model_a``/``model_b`` fields. See :func:`run_audit` for the rest.
    """
    spec = as_spec(judge, model, protocol_params)
    protocol = spec.protocol_name
    if not isinstance(spec.protocol, str) or protocol not in AUDIT_PROTOCOLS:
        raise JuryboxError(f"an audit needs protocol pairwise or score, got {protocol!r}", option="protocol")
    probes = list(probes)
    if not probes:
        raise JuryboxError("no probes given; name at least one, e.g. position,length", option="probes")
    check_probes(protocol, probes)
    proto = spec.make_protocol()
    extra = ("model_a", "model_b") if "self_preference" in probes else ()
    ds = load_dataset(data, proto, fields=fields, human=human, extra_fields=extra, encoding=encoding)
    items = [dict(it) for it in ds.items]
    if slice_field is not None:
        for it, s in zip(items, ds.column(slice_field, option="slice_field"), strict=True):
            it[_SLICE] = s
    if ds.human is not None:
        for it, lab in zip(items, ds.human, strict=True):
            it[_HUMAN] = lab
    with open_store(store) as st:
        backend = spec.make_backend()
        return run_audit(
            items, backend, st, protocol=protocol, probes=probes, human=_HUMAN if human else None,
            templates=list(templates) if templates else None, repeats=repeats, temperature=temperature,
            family=family, slice_field=_SLICE if slice_field is not None else None, length_unit=length_unit,
            n_resamples=n_resamples, seed=seed, progress=progress, name=spec.name, adapt=spec.adapt,
            **spec.protocol_params(),
        )
