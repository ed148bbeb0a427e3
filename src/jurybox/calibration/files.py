"""The saved per-label bias: a small JSON file written atomically and read back with checks.

Layout (``format: jurybox-label-bias``, ``version: 1``): ``protocol`` (its name), ``labels``
(the label set, in order), ``bias`` (label -> b), ``contextual`` (whether the log-probabilities
it was fitted on were contextually calibrated first: the bias must be applied the same way),
``l2``, ``n`` (labelled rows), ``loglik`` and ``loglik_zero`` (penalised log-likelihood at b and
at 0), ``cv`` (the k-fold estimates of what it buys), ``judge`` (a description of the judge
it was fitted for, shown in errors) and ``space`` (``label``, the default when absent: ``labels``
is the label set; ``option``: ``labels`` are the answer options the bias is on). Reading a file for another protocol or label set is a
one-line error naming the file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jurybox.atomic import atomic_write
from jurybox.errors import InputError
from jurybox.fitfile import read_fit_file

__all__ = ["FORMAT", "LabelBias", "load_label_bias", "save_label_bias"]

FORMAT = "jurybox-label-bias"
VERSION = 1
SPACES = ("label", "option")


@dataclass(frozen=True)
class LabelBias:
    """A fitted per-label bias for one protocol's label set (see :mod:`jurybox.calibration.bias`)."""

    protocol: str
    labels: tuple[str, ...]
    bias: tuple[float, ...]
    contextual: bool = False
    l2: float = 1.0
    n: int = 0
    loglik: float = float("nan")
    loglik_zero: float = float("nan")
    cv: Mapping[str, Any] = field(default_factory=dict)
    judge: str = ""
    source: str = ""  # the file it was read from ("" when built in memory)
    #: "label": one bias per label; "option": one per answer option (``labels`` then holds the
    #: option names, e.g. a shortlist's letters A, B, ..., so the bias is on positions)
    space: str = "label"

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.bias):
            raise ValueError(f"{len(self.labels)} labels but {len(self.bias)} bias values")
        if self.space not in SPACES:
            raise ValueError(f"space must be one of {', '.join(SPACES)}, got {self.space!r}")

    def vector(self, labels: Sequence[str]) -> np.ndarray:
        """b in the order of ``labels`` (which must be this fit's label set)."""
        index = dict(zip(self.labels, self.bias, strict=True))
        return np.array([index[lab] for lab in labels])

    def check(self, protocol: str, labels: Sequence[str], contextual: bool) -> None:
        """Refuse a fit made for another protocol, label set or contextual setting (one line)."""
        where = self.source or None
        if protocol != self.protocol:
            raise InputError(f"the calibration was fitted for protocol {self.protocol}, not {protocol}",
                             file=where, option="calibration")
        if self.space == "label" and set(labels) != set(self.labels):
            raise InputError(f"the calibration's labels ({', '.join(self.labels)}) are not the judge's labels "
                             f"({', '.join(labels)})", file=where, option="calibration")
        if contextual != self.contextual:
            on = "with" if self.contextual else "without"
            raise InputError(f"the calibration was fitted {on} contextual calibration; judge {on} it too",
                             file=where, option="calibration")

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "protocol": self.protocol, "labels": list(self.labels),
                "bias": {lab: float(b) for lab, b in zip(self.labels, self.bias, strict=True)},
                "contextual": self.contextual, "l2": self.l2, "n": self.n, "loglik": self.loglik,
                "loglik_zero": self.loglik_zero, "cv": dict(self.cv), "judge": self.judge, "space": self.space}


def save_label_bias(fit: LabelBias, path: str | os.PathLike[str]) -> Path:
    """Write ``fit`` as JSON (atomically: a temporary file, then a rename)."""
    p = Path(path)
    with atomic_write(p) as f:
        json.dump(fit.to_dict(), f, indent=2, default=float)
        f.write("\n")
    return p


def load_label_bias(path: str | os.PathLike[str]) -> LabelBias:
    """Read a saved fit; a file that is not one is a one-line error naming the file and field."""
    where = str(Path(path))
    data = read_fit_file(path, kind="calibration", format=FORMAT, version=VERSION, option="calibration",
                         hint="fit one with jurybox calibrate")
    labels = data.get("labels")
    bias = data.get("bias")
    if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(x, str) for x in labels):
        raise InputError("'labels' must list at least 2 label (or option) names", file=where, field="labels",
                         option="calibration")
    if not isinstance(bias, dict) or set(bias) != set(labels):
        raise InputError("'bias' must give one number for each label in 'labels'", file=where, field="bias",
                         option="calibration")
    try:
        values = tuple(float(bias[lab]) for lab in labels)
    except (TypeError, ValueError):
        raise InputError("'bias' values must be numbers", file=where, field="bias", option="calibration") from None
    if not all(np.isfinite(values)):
        raise InputError("'bias' values must be finite", file=where, field="bias", option="calibration")
    space = data.get("space", "label")
    if space not in SPACES:
        raise InputError(f"'space' must be one of {', '.join(SPACES)}", file=where, field="space",
                         option="calibration")
    protocol = data.get("protocol")
    if not isinstance(protocol, str):
        raise InputError("'protocol' must name the protocol", file=where, field="protocol", option="calibration")
    return LabelBias(protocol=protocol, labels=tuple(labels), bias=values, contextual=bool(data.get("contextual")),
                     l2=float(data.get("l2", 1.0)), n=int(data.get("n", 0)),
                     loglik=float(data.get("loglik", float("nan"))),
                     loglik_zero=float(data.get("loglik_zero", float("nan"))), cv=dict(data.get("cv") or {}),
                     judge=str(data.get("judge", "")), source=where, space=space)
