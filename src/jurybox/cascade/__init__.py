"""The cascade: a cheap judge first, the large judge only for the items the cheap one is unsure of
(confidence below a threshold chosen on a labelled slice for a target accuracy). As a judge:
``--model cascade:CHEAP`` or ``--model cascade:CASCADE.json``. See ``docs/quality.md``."""

from jurybox.cascade.api import CascadeFit, cascade_report, fit_cascade
from jurybox.cascade.judge import CascadeConfig, CascadeJudge, confidence, read_cascade, write_cascade
from jurybox.cascade.threshold import ESCALATE_ALL, CascadeCurve, cascade_curve, choose_threshold, escalated

__all__ = ["ESCALATE_ALL", "CascadeConfig", "CascadeCurve", "CascadeFit", "CascadeJudge", "cascade_curve",
           "cascade_report", "choose_threshold", "confidence", "escalated", "fit_cascade", "read_cascade",
           "write_cascade"]
