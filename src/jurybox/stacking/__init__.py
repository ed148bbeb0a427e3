"""The stacked jury: a logistic regression over the option log-probabilities of several judges
(templates, both orders, models), fitted on a small labelled set with repeated k-fold estimates,
saved as JSON and reused as a judge (``stack:FIT.json``). See ``docs/quality.md``."""

from jurybox.stacking.api import StackOutcome, fit_stacked_jury, method_agreement, stack_jury
from jurybox.stacking.judge import Member, StackedJudge, StackFile, apply_stack, read_stack, write_stack
from jurybox.stacking.model import (
    CrossValidation,
    StackModel,
    cross_validate,
    feature_layout,
    feature_matrix,
    feature_names,
    fit_stack,
)

__all__ = ["CrossValidation", "Member", "StackFile", "StackModel", "StackOutcome", "StackedJudge", "apply_stack",
           "cross_validate", "feature_layout", "feature_matrix", "feature_names", "fit_stack", "fit_stacked_jury",
           "method_agreement", "read_stack", "stack_jury", "write_stack"]
