"""jurybox: make LLM judges trustworthy, fast and cheap."""

from jurybox.api import JudgeResult, judge, run_judge
from jurybox.engine import Judge, RunStats, evaluate
from jurybox.errors import InputError, JuryboxError
from jurybox.store import Store
from jurybox.types import Verdict

__version__ = "0.1.0"

__all__ = [
    "InputError",
    "Judge",
    "JudgeResult",
    "JuryboxError",
    "RunStats",
    "Store",
    "Verdict",
    "evaluate",
    "judge",
    "run_judge",
]
