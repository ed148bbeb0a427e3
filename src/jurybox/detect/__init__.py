"""Who made this judgment? J-Detector (Li et al., arXiv 2509.25154): tell human from LLM scores
using the scores, the candidates' text properties and optional LLM-extracted properties, over
groups of judgments. Pure except :func:`jurybox.detect.api.llm_properties` (engine and store)."""

from jurybox.detect.api import (
    DetectionReport,
    detect_judgments,
    judgments_from_qrels,
    judgments_from_table,
    llm_properties,
    with_properties,
)
from jurybox.detect.detector import (
    Detector,
    Judgments,
    evaluate_detector,
    feature_importance,
    fit_detector,
    make_groups,
    weighted_auroc,
)
from jurybox.detect.features import GroupFeaturizer, text_properties

__all__ = ["DetectionReport", "Detector", "GroupFeaturizer", "Judgments", "detect_judgments", "evaluate_detector",
           "feature_importance", "fit_detector", "judgments_from_qrels", "judgments_from_table", "llm_properties",
           "make_groups", "text_properties", "weighted_auroc", "with_properties"]
