"""Stance questionnaires (Large Means Left; values and opinions): statements asked in several
paraphrases and languages through the engine, answer distributions from one forward pass each,
agreement with reference profiles by the Wahl-O-Mat rule with bootstrap intervals over statements,
and the stability of the answers across paraphrases and languages.

Entry point: :func:`run_survey`; a small example questionnaire ships with jurybox
(``load_questionnaire("example")``)."""

from jurybox.survey.protocol import Stance
from jurybox.survey.questionnaire import EXAMPLE, Questionnaire, load_questionnaire
from jurybox.survey.runner import SurveyReport, run_survey
from jurybox.survey.scoring import alignment, alignment_ci, expected_alignment, modal_agreement, points

__all__ = ["EXAMPLE", "Questionnaire", "Stance", "SurveyReport", "alignment", "alignment_ci", "expected_alignment",
           "load_questionnaire", "modal_agreement", "points", "run_survey"]
