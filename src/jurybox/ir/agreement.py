"""Label agreement of two sets of relevance judgments: graded kappa, ordinal alpha, binarised kappa."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jurybox.errors import JuryboxError
from jurybox.stats import cohen_kappa, krippendorff_alpha


def binarised_kappa(human: Any, llm: Any, cut: float) -> float:
    """Cohen's kappa after binarising both label sets: relevant iff label >= ``cut``.

    Missing: pairs with a missing label on either side are left out. Labels {False, True} are
    both always in the label set, so one-sided degenerate data gives 0 (not NaN) when the other
    side varies. Checked against: LLMJudge paper Table 4 (cuts 1, 2, 3; 99 values).
    """
    h = np.asarray(human, dtype=float)
    m = np.asarray(llm, dtype=float)
    keep = ~(np.isnan(h) | np.isnan(m))
    return cohen_kappa(h[keep] >= cut, m[keep] >= cut, labels=[False, True])


@dataclass(frozen=True)
class QrelsAgreement:
    """Agreement of one LLM label set with the human qrels over their common (query, doc) pairs."""

    n_common: int
    n_human_only: int
    n_llm_only: int
    cohen_kappa: float
    krippendorff_alpha_ordinal: float
    binarised_kappa: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_common": self.n_common,
            "n_human_only": self.n_human_only,
            "n_llm_only": self.n_llm_only,
            "cohen_kappa": self.cohen_kappa,
            "krippendorff_alpha_ordinal": self.krippendorff_alpha_ordinal,
            "binarised_kappa": dict(self.binarised_kappa),
        }


def align_qrels(human: pd.DataFrame, llm: pd.DataFrame) -> pd.DataFrame:
    """Inner join on (query_id, doc_id): columns ``query_id, doc_id, human, llm``."""
    for name, df in (("human", human), ("llm", llm)):
        missing = {"query_id", "doc_id", "relevance"} - set(df.columns)
        if missing:
            raise JuryboxError(
                f"{name} qrels need columns query_id, doc_id, relevance; missing {sorted(missing)}"
            )
    return human.merge(llm, on=["query_id", "doc_id"], suffixes=("_human", "_llm")).rename(
        columns={"relevance_human": "human", "relevance_llm": "llm"}
    )


def cut_name(cut: float, grades: Sequence[int]) -> str:
    """E.g. cut 2 on grades 0..3 -> ``"01|23"`` (the column naming of LLMJudge Table 4)."""
    lo = "".join(str(g) for g in grades if g < cut)
    hi = "".join(str(g) for g in grades if g >= cut)
    return f"{lo}|{hi}"


def qrels_agreement(
    human: pd.DataFrame,
    llm: pd.DataFrame,
    *,
    grades: Sequence[int] = (0, 1, 2, 3),
    cuts: Sequence[float] = (1, 2, 3),
    clip: bool = True,
) -> QrelsAgreement:
    """Unweighted Cohen's kappa, ordinal Krippendorff's alpha and binarised kappas of two qrels.

    Pairs judged in only one set are counted, not used. With ``clip`` (default), LLM labels
    outside ``grades`` are clipped into its range, as the LLMJudge organisers do
    (``min(3, max(0, x))``); otherwise an out-of-range label is an error.
    Checked against: LLMJudge paper Tables 3 and 4 (33 label sets, exact to 4 decimals).
    """
    both = align_qrels(human, llm)
    lo, hi = min(grades), max(grades)
    h = both["human"].to_numpy(dtype=float)
    m = both["llm"].to_numpy(dtype=float)
    if clip:
        m = np.clip(m, lo, hi)
    elif ((m < lo) | (m > hi)).any():
        raise JuryboxError(f"LLM qrels have labels outside {lo}..{hi}; pass clip=True to clip them")
    ordered = list(grades)
    return QrelsAgreement(
        n_common=len(both),
        n_human_only=len(human) - len(both),
        n_llm_only=len(llm) - len(both),
        cohen_kappa=cohen_kappa(h, m),
        krippendorff_alpha_ordinal=krippendorff_alpha(
            np.column_stack([h, m]), level="ordinal", values=ordered
        ),
        binarised_kappa={cut_name(c, ordered): binarised_kappa(h, m, c) for c in cuts},
    )
