"""Calibrating a judge's option distribution: contextual calibration (content-free inputs) and a
per-label bias fitted by maximum likelihood on a small labelled set.

Pure parts (arrays in, results out): :mod:`~jurybox.calibration.contextual`,
:mod:`~jurybox.calibration.bias`. The protocol wrapper that applies them to stored verdicts:
:mod:`~jurybox.calibration.protocol`; the saved fit: :mod:`~jurybox.calibration.files`; fitting
from a dataset through the engine: :mod:`~jurybox.calibration.api` (``jurybox calibrate``).
See docs/quality.md.
"""

from jurybox.calibration.bias import apply_bias, cross_validate, fit_bias, targets
from jurybox.calibration.contextual import CONTENT_FREE, content_free_distribution, contextual_calibrate
from jurybox.calibration.files import LabelBias, load_label_bias, save_label_bias

__all__ = ["CONTENT_FREE", "LabelBias", "apply_bias", "content_free_distribution", "contextual_calibrate",
           "cross_validate", "fit_bias", "load_label_bias", "save_label_bias", "targets"]
