"""LLMBar (Zeng et al., ICLR 2024): pairwise instruction-following items with gold preferences.

Layout (princeton-nlp/LLMBar ``Dataset/``): ``LLMBar/Adversarial/{Neighbor,GPTInst,GPTOut,Manual}``
and ``Processed/{FairEval,LLMEval^2,MT-Bench}``, each with ``dataset.json`` (input, output_1,
output_2, label 1|2) and ``evaluators/<LLM>/<prompt>/result.json`` (the same items plus each
evaluator's winner with and without swapping the outputs).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from jurybox.errors import InputError

LLMBAR_SETS = {
    "Neighbor": "LLMBar/Adversarial/Neighbor",
    "GPTInst": "LLMBar/Adversarial/GPTInst",
    "GPTOut": "LLMBar/Adversarial/GPTOut",
    "Manual": "LLMBar/Adversarial/Manual",
    "FairEval": "Processed/FairEval",
    "LLMEval^2": "Processed/LLMEval^2",
    "MT-Bench": "Processed/MT-Bench",
}
ADVERSARIAL = ("Neighbor", "GPTInst", "GPTOut", "Manual")
PROCESSED = ("FairEval", "LLMEval^2", "MT-Bench")


def _read(path: Path) -> list[dict]:
    if not path.is_file():
        raise InputError("file not found (expected the LLMBar Dataset/ layout)", file=str(path))
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise InputError("expected a JSON list of items", file=str(path))
    return data


def load_llmbar(
    root: str | Path,
    sets: tuple[str, ...] | list[str] | None = None,
    *,
    per_set: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Items as a DataFrame: set, index (position in its dataset.json), instruction, response_a,
    response_b, gold ("A" when output_1 is better, else "B").

    ``per_set`` keeps a random subset of that many items per set (fixed ``seed``), in dataset order.
    """
    root = Path(root)
    frames = []
    for name in sets or tuple(LLMBAR_SETS):
        if name not in LLMBAR_SETS:
            raise InputError(f"unknown LLMBar set {name!r} (known: {', '.join(LLMBAR_SETS)})")
        f = root / LLMBAR_SETS[name] / "dataset.json"
        rows = _read(f)
        idx = np.arange(len(rows))
        if per_set is not None and per_set < len(rows):
            idx = np.sort(np.random.default_rng(seed).choice(len(rows), size=per_set, replace=False))
        recs = []
        for i in idx:
            r = rows[int(i)]
            if r.get("label") not in (1, 2):
                raise InputError(f"label must be 1 or 2, got {r.get('label')!r}", file=str(f), row=int(i) + 1,
                                 field="label")
            recs.append({"set": name, "index": int(i), "instruction": r["input"], "response_a": r["output_1"],
                         "response_b": r["output_2"], "gold": "A" if r["label"] == 1 else "B"})
        frames.append(pd.DataFrame(recs))
    return pd.concat(frames, ignore_index=True)


def load_llmbar_evaluator(root: str | Path, set_name: str, evaluator: str,
                          prompt: str = "Vanilla_NoRules") -> pd.DataFrame:
    """A published evaluator's verdicts: index, gold, winner_unswapped, winner_swapped ("A"/"B").

    In LLMBar's result.json the winner is given in terms of the original outputs ("1" or "2") for
    both presentation orders ("swap = False" shows output_1 first; "swap = True" shows it second).
    """
    f = Path(root) / LLMBAR_SETS[set_name] / "evaluators" / evaluator / prompt / "result.json"
    rows = _read(f)
    recs = []
    for i, r in enumerate(rows):
        res = r["results"][-1]
        w = {k: {"1": "A", "2": "B"}.get(str(res[k]["winner"])) for k in ("swap = False", "swap = True")}
        recs.append({"index": i, "gold": "A" if r["label"] == 1 else "B",
                     "winner_unswapped": w["swap = False"], "winner_swapped": w["swap = True"]})
    return pd.DataFrame(recs)
