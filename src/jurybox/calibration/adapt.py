"""A :class:`~jurybox.spec.JudgeSpec`'s few-shot and calibration options applied to its protocol.

The order is fixed: the few-shot examples change the prompt, contextual calibration asks the
content-free version of that prompt (with the item's own examples), and the fitted bias is
applied last, to the contextually calibrated log-probabilities when both are on (a fit records
whether it was made that way and is refused otherwise).
"""

from __future__ import annotations

import os
from typing import Any

from jurybox.calibration.files import LabelBias, load_label_bias
from jurybox.calibration.protocol import CalibratedProtocol
from jurybox.errors import JuryboxError
from jurybox.fewshot.examples import load_examples
from jurybox.fewshot.protocol import FewShotProtocol
from jurybox.protocols.base import JudgeProtocol

__all__ = ["adapt"]


def adapt(protocol: JudgeProtocol, spec: Any) -> JudgeProtocol:
    """``protocol`` wrapped for ``spec.examples``/``shots``/``select``, ``spec.contextual`` and
    ``spec.calibration`` (a fit file path or a :class:`LabelBias`)."""
    out = protocol
    if spec.examples is not None:
        ex = load_examples(spec.examples, protocol, fields=dict(spec.examples_fields) or None,
                           label=spec.examples_label)
        out = FewShotProtocol(protocol, ex.items, ex.labels, k=spec.shots, select=spec.select, source=ex.source)
    bias: LabelBias | None = None
    if spec.calibration is not None:
        if isinstance(spec.calibration, LabelBias):
            bias = spec.calibration
        elif isinstance(spec.calibration, str | os.PathLike):
            bias = load_label_bias(spec.calibration)
        else:
            raise JuryboxError("calibration must be a calibration file (jurybox calibrate) or a LabelBias",
                               option="calibration")
    if spec.contextual or bias is not None:
        out = CalibratedProtocol(out, contextual=spec.contextual, bias=bias)
    return out
