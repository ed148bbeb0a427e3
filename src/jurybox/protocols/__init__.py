"""Protocols: what a judge asks and how its answer becomes a Verdict."""

from jurybox.protocols.base import JudgeProtocol, match_option, template_variants
from jurybox.protocols.pairwise import Pairwise
from jurybox.protocols.registry import PROTOCOLS, make_protocol, register_protocol
from jurybox.protocols.simple import Classify, Correctness, Score

# Protocols in their own modules register themselves on import.
from jurybox.protocols import certainty, checklist, listwise, prp, reference, relevance, setwise  # noqa: E402,F401  isort: skip

__all__ = [
    "PROTOCOLS",
    "Classify",
    "Correctness",
    "JudgeProtocol",
    "Pairwise",
    "Score",
    "make_protocol",
    "match_option",
    "register_protocol",
    "template_variants",
]
