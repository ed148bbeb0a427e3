"""Few-shot judging from the user's own labels: the examples file, the selection of k examples
per prompt (similar per item by MiniLM embeddings with label balance, or a fixed balanced or
random set) and the prompt they are rendered into through the protocol's template.

:mod:`~jurybox.fewshot.selection` is pure; :mod:`~jurybox.fewshot.protocol` is the protocol
wrapper; :mod:`~jurybox.fewshot.examples` reads the examples file. See docs/quality.md.
"""

from jurybox.fewshot.examples import Examples, load_examples
from jurybox.fewshot.protocol import FewShotProtocol
from jurybox.fewshot.selection import SELECTIONS, select_balanced, select_random, select_similar

__all__ = ["SELECTIONS", "Examples", "FewShotProtocol", "load_examples", "select_balanced", "select_random",
           "select_similar"]
