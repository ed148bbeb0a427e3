"""TnT-LLM phase 1: a taxonomy (label names with descriptions) generated from unlabelled texts.

:func:`~jurybox.taxonomy.generate.generate_taxonomy` runs the loop (summaries, a proposal from the
first minibatch, an update per later minibatch, a final review), every generation through the
engine and the store; :func:`~jurybox.taxonomy.generate.write_taxonomy` writes the editable YAML
with its revision history; :mod:`~jurybox.taxonomy.metrics` compares a labelling with reference
classes (ARI, NMI, purity). Labelling with the taxonomy: the ``multilabel`` and ``classify_codes``
protocols (:mod:`jurybox.protocols.multilabel`).
"""

from __future__ import annotations

__all__: list[str] = []
