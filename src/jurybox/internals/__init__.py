"""Judging from the model's insides: a transformers backend over the same GGUF files that exposes
hidden states, attention queries/keys and per-token log-probabilities (``backend``), run through
the engine and store with arrays kept beside the verdicts (``runner``), and the methods built on
them as pure functions of arrays: QK-score heads for multiple choice (``qk``), the CLUE
hidden-state verifier (``clue``), implicit-reward preferences (``reward``); ``exam`` applies the
first two to an MMLU-style exam, ``spa`` the third to pairwise items (LLMBar).

torch and transformers are the optional ``internals`` extra (``pip install 'jurybox[internals]'``);
importing this package does not import them."""

from jurybox.internals.clue import (
           Centroids,
           centroids,
           classify,
           correctness_score,
           distance,
           majority,
           top_maj,
)
from jurybox.internals.qk import (
           HeadSelection,
           head_accuracy,
           head_predictions,
           predict,
           select_heads,
           select_heads_label_free,
)
from jurybox.internals.reward import Preferences, implicit_reward, preferences
from jurybox.internals.runner import Features, run_continuations, run_internals

__all__ = ["Centroids", "Features", "HeadSelection", "Preferences", "centroids", "classify", "correctness_score",
           "distance", "head_accuracy", "head_predictions", "implicit_reward", "majority", "predict",
           "preferences", "run_continuations", "run_internals", "select_heads", "select_heads_label_free",
           "top_maj"]
