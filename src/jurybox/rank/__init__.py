"""Reranking candidates with LLM judges: PRP (all pairs, heapsort, sliding), setwise, listwise, pointwise.

* :mod:`jurybox.rank.algorithms`: the sorting algorithms as pure drivers (questions out, answers in);
* :mod:`jurybox.rank.candidates`: reading candidate lists (TREC run + texts, JSONL, rank_llm JSON);
* :mod:`jurybox.rank.runner`: :func:`rank`, every question as tasks through the engine and store.

``jurybox.rank`` is both this package and the entry point: the package is callable, so
``jurybox.rank(candidates, "prp-heapsort", ...)`` runs :func:`jurybox.rank.runner.rank` whether
or not a submodule was imported first (importing a submodule binds the package to the name).
"""

import sys
import types
from typing import Any

from jurybox.rank.candidates import Candidate, QueryCandidates, read_candidates
from jurybox.rank.runner import (
    METHODS,
    CostEstimate,
    QueryStats,
    RankResult,
    estimate_cost,
    rank,
    rank_queries,
)

__all__ = ["METHODS", "Candidate", "CostEstimate", "QueryCandidates", "QueryStats", "RankResult", "estimate_cost",
           "rank", "rank_queries", "read_candidates"]


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> RankResult:
        return rank(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
