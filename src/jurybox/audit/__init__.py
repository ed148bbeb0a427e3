"""Bias audit: how a judge goes wrong, measured with 95% bootstrap intervals.

Probes are task variants on the common engine and store (an audit rerun makes no model calls):
position (order swap, rubric order), length, self-preference, wording (template variants),
internal consistency (repeats at temperature > 0), leniency by slice, and prompt injection with
its mitigations. The statistics are pure functions of arrays; :func:`run_audit` runs the probes.
Importing the package registers its protocols (``fenced-score``, ``fenced-pairwise``).
"""

from jurybox.audit.calibrate import ThresholdCalibration, calibrate_threshold
from jurybox.audit.consistency import (
    ConsistencyResult,
    Repeated,
    WordingResult,
    agreement_probability,
    any_flip_rate,
    flip_rate_across,
    internal_consistency,
    wording_sensitivity,
)
from jurybox.audit.injection import FencedPairwise, FencedScore  # registers fenced-score, fenced-pairwise
from jurybox.audit.length import (
    LengthResult,
    accuracy_gap,
    length_bias,
    length_controlled_margins,
    length_controlled_scores,
    length_controlled_win_rate,
    length_effect,
    prefers_longer_rate,
    text_lengths,
)
from jurybox.audit.position import (
    PositionResult,
    RubricOrderResult,
    first_position_logodds,
    first_position_win_rate,
    flip_rate,
    position_bias,
    positional_agreement,
    rubric_order_shift,
)
from jurybox.audit.runner import PROBES, AuditReport, run_audit
from jurybox.audit.selfpref import SelfPreferenceResult, self_preference
from jurybox.audit.slices import LeniencyResult, leniency_by_slice

__all__ = [
    "PROBES",
    "AuditReport",
    "ConsistencyResult",
    "FencedPairwise",
    "FencedScore",
    "LengthResult",
    "LeniencyResult",
    "PositionResult",
    "Repeated",
    "RubricOrderResult",
    "SelfPreferenceResult",
    "ThresholdCalibration",
    "WordingResult",
    "accuracy_gap",
    "agreement_probability",
    "calibrate_threshold",
    "any_flip_rate",
    "first_position_logodds",
    "first_position_win_rate",
    "flip_rate",
    "flip_rate_across",
    "internal_consistency",
    "leniency_by_slice",
    "length_bias",
    "length_controlled_margins",
    "length_controlled_scores",
    "length_controlled_win_rate",
    "length_effect",
    "position_bias",
    "positional_agreement",
    "prefers_longer_rate",
    "rubric_order_shift",
    "run_audit",
    "self_preference",
    "text_lengths",
    "wording_sensitivity",
]
