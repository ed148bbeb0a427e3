"""From LLM labels to a cheap classifier (TnT-LLM phase 2, LLKD, Locle-style selection).

* :mod:`~jurybox.distill.embeddings`: all-MiniLM-L6-v2 (int8 ONNX, no PyTorch) or TF-IDF;
* :mod:`~jurybox.distill.student`: logistic regression on the embeddings, saved with its label set,
  embedder fingerprint and training-data hash; predictions reproduce from the saved files;
* :mod:`~jurybox.distill.selection`: which items the teacher labels under a budget (random,
  LLKD, Locle-style k-center + entropy);
* :mod:`~jurybox.distill.threshold`: a confidence threshold for LLM labels from a
  coverage-accuracy curve on a human-labelled slice;
* :mod:`~jurybox.distill.api`: ``distill``, ``predict``, ``label_with_budget`` over datasets.
"""

from __future__ import annotations

__all__: list[str] = []
