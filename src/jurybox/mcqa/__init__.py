"""Multiple-choice exams (MMLU, CMExam-style) on the judge model: letter, likelihood and strict
generation scoring, few-shot from a dev split, option shuffling with position bias per letter,
per-subject accuracy with Wilson intervals, and confidence routing to human review.

Entry point: :func:`run_mcqa`; the protocol is :class:`~jurybox.mcqa.protocol.MultipleChoice`
(``mcqa``); the statistics are pure functions in :mod:`jurybox.mcqa.metrics`."""

from jurybox.mcqa.data import McqaData, few_shot, read_mcqa
from jurybox.mcqa.metrics import (
           NORMALISATIONS,
           accuracy_table,
           harness_predictions,
           letter_bias,
           route_by_confidence,
)
from jurybox.mcqa.protocol import MultipleChoice, parse_answer
from jurybox.mcqa.runner import McqaReport, run_mcqa

__all__ = ["NORMALISATIONS", "McqaData", "McqaReport", "MultipleChoice", "accuracy_table", "few_shot",
           "harness_predictions", "letter_bias", "parse_answer", "read_mcqa", "route_by_confidence", "run_mcqa"]
