"""Agreement, correlation, calibration and bootstrap statistics: pure functions of arrays.

Each statistic's docstring gives its formula, level of measurement, treatment of missing data
and ties, and the published number a test checks it against.
"""

from jurybox.stats.alpha import krippendorff_alpha
from jurybox.stats.bootstrap import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    Interval,
    bootstrap_ci,
    bootstrap_distribution,
)
from jurybox.stats.calibration import (
    ReliabilityDiagram,
    brier_score,
    expected_calibration_error,
    reliability_diagram,
    top_label_confidence,
)
from jurybox.stats.confusion import ConfusionMatrix, confusion_matrix
from jurybox.stats.correlation import kendall_tau_b, pearson, spearman
from jurybox.stats.disagreement import Disagreements, find_disagreements
from jurybox.stats.kappa import cohen_kappa, fleiss_kappa, gwet_ac1, percent_agreement, scott_pi
from jurybox.stats.leniency import Leniency, leniency, mean_difference, share_judge_higher
from jurybox.stats.positional import flip_rate, positional_agreement
from jurybox.stats.proportion import wilson_interval
from jurybox.stats.report import AgreementReport, agreement_report

__all__ = [
    "wilson_interval",
    "DEFAULT_CONFIDENCE",
    "DEFAULT_RESAMPLES",
    "AgreementReport",
    "ConfusionMatrix",
    "Disagreements",
    "Interval",
    "Leniency",
    "ReliabilityDiagram",
    "agreement_report",
    "bootstrap_ci",
    "bootstrap_distribution",
    "brier_score",
    "cohen_kappa",
    "confusion_matrix",
    "expected_calibration_error",
    "find_disagreements",
    "fleiss_kappa",
    "flip_rate",
    "gwet_ac1",
    "kendall_tau_b",
    "krippendorff_alpha",
    "leniency",
    "mean_difference",
    "pearson",
    "percent_agreement",
    "positional_agreement",
    "reliability_diagram",
    "scott_pi",
    "share_judge_higher",
    "spearman",
    "top_label_confidence",
]
