"""jurybox: make LLM judges trustworthy, fast and cheap.

The public API: one dataset-level entry point per capability, the judge's settings, the backend
and protocol factories, and the errors. Everything else lives in modules whose names start the
same way (``jurybox.engine``, ``jurybox.stats``...) and is not promised to stay put.

* judging: :func:`judge` (a DataFrame), :func:`run_judge` (:class:`JudgeResult`)
* agreement with human labels: :func:`agreement_table`, :func:`agreement`
* bias audit: :func:`audit_dataset` (:class:`AuditReport`; not ``audit``, the name of the package)
* several judges: :func:`jury_table` (:class:`JuryResult`)
* label errors: :func:`find_errors` (:class:`FoundErrors`)
* reranking: :func:`rank` (:class:`RankResult`: PRP, setwise, listwise, pointwise)
* from LLM labels to a cheap classifier: :func:`generate_taxonomy` (TnT-LLM phase 1),
  :func:`distill_dataset` (not ``distill``, the name of the package) and :func:`predict` (the
  student), :func:`distill_with_budget` (random, LLKD or Locle-style choice of the rows the LLM labels)
* who made these judgments, a human or an LLM: :func:`detect_judgments` (J-Detector)
* a classifier from bag label proportions: :func:`llp_dataset` (belief propagation)
* a judge's settings: :class:`JudgeSpec`; :func:`get_backend`, :func:`parse_backend_options`,
  :func:`make_protocol`, :func:`register_protocol`
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from jurybox.api import JudgeResult, judge, run_judge
from jurybox.backends.registry import BackendOptionError, get_backend, parse_backend_options
from jurybox.engine import Judge, RunStats, evaluate
from jurybox.errors import (
    BackendCallError,
    BackendConfigError,
    GateFailure,
    InputError,
    JuryboxError,
    ModelError,
    OptionError,
    PromptTooLong,
    StoreError,
    TasksFailed,
)
from jurybox.protocols.registry import make_protocol, register_protocol
from jurybox.spec import JudgeSpec
from jurybox.store import Store
from jurybox.types import Verdict

if TYPE_CHECKING:
    from jurybox.audit.dataset import audit_dataset
    from jurybox.audit.runner import AuditReport
    from jurybox.detect.api import detect_judgments
    from jurybox.distill.api import distill_dataset, distill_with_budget, predict
    from jurybox.jury.api import JuryResult, jury_table
    from jurybox.labelerrors.pipeline import FoundErrors, find_errors
    from jurybox.llp.api import llp_dataset
    from jurybox.rank.runner import RankResult, rank
    from jurybox.stats.table import AgreementTable, agreement, agreement_table
    from jurybox.taxonomy.generate import generate_taxonomy

__version__ = "0.1.0"

# Capabilities imported when first used: importing jurybox stays light (no numpy-heavy statistics,
# scikit-learn or the audit's protocols until they are asked for).
_LAZY = {
    "audit_dataset": "jurybox.audit.dataset",
    "AuditReport": "jurybox.audit.runner",
    "jury_table": "jurybox.jury.api",
    "JuryResult": "jurybox.jury.api",
    "find_errors": "jurybox.labelerrors.pipeline",
    "FoundErrors": "jurybox.labelerrors.pipeline",
    "rank": "jurybox.rank.runner",
    "RankResult": "jurybox.rank.runner",
    "agreement": "jurybox.stats.table",
    "agreement_table": "jurybox.stats.table",
    "AgreementTable": "jurybox.stats.table",
    "distill_dataset": "jurybox.distill.api",
    "distill_with_budget": "jurybox.distill.api",
    "predict": "jurybox.distill.api",
    "generate_taxonomy": "jurybox.taxonomy.generate",
    "detect_judgments": "jurybox.detect.api",
    "llp_dataset": "jurybox.llp.api",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'jurybox' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AgreementTable",
    "AuditReport",
    "BackendCallError",
    "BackendConfigError",
    "BackendOptionError",
    "FoundErrors",
    "GateFailure",
    "InputError",
    "Judge",
    "JudgeResult",
    "JudgeSpec",
    "JuryResult",
    "JuryboxError",
    "ModelError",
    "OptionError",
    "PromptTooLong",
    "RankResult",
    "RunStats",
    "Store",
    "StoreError",
    "TasksFailed",
    "Verdict",
    "__version__",
    "agreement",
    "agreement_table",
    "audit_dataset",
    "detect_judgments",
    "distill_dataset",
    "distill_with_budget",
    "evaluate",
    "find_errors",
    "generate_taxonomy",
    "get_backend",
    "judge",
    "jury_table",
    "llp_dataset",
    "make_protocol",
    "parse_backend_options",
    "predict",
    "rank",
    "register_protocol",
    "run_judge",
]
