"""One call for "how far can I trust this judge?": every applicable statistic with its interval."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from jurybox.errors import JuryboxError
from jurybox.stats._validate import as_1d, check_same_length, encode, missing_mask, resolve_labels
from jurybox.stats.alpha import LEVELS, krippendorff_alpha
from jurybox.stats.bootstrap import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, Interval, bootstrap_ci
from jurybox.stats.correlation import kendall_tau_b, pearson, spearman
from jurybox.stats.kappa import cohen_kappa, gwet_ac1, percent_agreement, scott_pi
from jurybox.stats.leniency import mean_difference, share_judge_higher


@dataclass(frozen=True)
class AgreementReport:
    """Agreement of a judge with human labels; ``statistics`` maps a name to its :class:`Interval`.

    ``n_missing_judge`` counts items whose verdict is missing (unparsed or failed),
    ``n_missing_human`` items without a human label; ``n_used`` items have both.
    """

    n_items: int
    n_used: int
    n_missing_judge: int
    n_missing_human: int
    level: str
    labels: tuple[Any, ...]
    statistics: Mapping[str, Interval]

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_items": self.n_items,
            "n_used": self.n_used,
            "n_missing_judge": self.n_missing_judge,
            "n_missing_human": self.n_missing_human,
            "level": self.level,
            "labels": [_plain(v) for v in self.labels],
            "statistics": {k: v.to_dict() for k, v in self.statistics.items()},
        }


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _alpha_of_pair(level: str) -> Callable[[Any, Any], float]:
    def alpha(h: Any, j: Any) -> float:
        return krippendorff_alpha(np.column_stack([h, j]), level=level)  # type: ignore[arg-type]

    alpha.__jurybox_parts__ = lambda h, j: krippendorff_alpha.__jurybox_parts__(  # type: ignore[attr-defined]
        np.column_stack([h, j]), level=level
    )
    return alpha


def agreement_report(
    human: Any,
    judge: Any,
    *,
    level: str = "nominal",
    labels: Sequence[Any] | None = None,
    groups: Any = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int | None = 0,
) -> AgreementReport:
    """Percent agreement, Cohen's kappa, Scott's pi, Gwet's AC1 and Krippendorff's alpha; at the
    ``"ordinal"`` level also linearly and quadratically weighted kappa, Spearman and Kendall
    tau-b (on label positions); at ``"interval"`` also Pearson and the leniency numbers (on the
    numeric values). Each with a percentile bootstrap interval (clusters when ``groups`` is given).
    """
    if level not in LEVELS[:3]:
        raise JuryboxError(f"level must be nominal, ordinal or interval; got {level!r}")
    h = as_1d(human, "human")
    j = as_1d(judge, "judge")
    check_same_length(h, j, ("human", "judge"))
    mh, mj = missing_mask(h), missing_mask(j)
    keep = ~(mh | mj)
    lab = resolve_labels([h[keep], j[keep]], labels)
    hk, jk = h[keep], j[keep]
    g = None if groups is None else np.asarray(groups, dtype=object)[keep]
    if groups is not None and len(np.asarray(groups, dtype=object)) != len(h):
        raise JuryboxError(f"groups must give one group per item ({len(h)} items)")
    hc = encode(hk, lab, "human").astype(float)
    jc = encode(jk, lab, "judge").astype(float)

    todo: dict[str, tuple[Callable[..., float], tuple[Any, ...], dict[str, Any]]] = {
        "accuracy": (percent_agreement, (hc, jc), {}),
        "cohen_kappa": (cohen_kappa, (hc, jc), {}),
        "scott_pi": (scott_pi, (hc, jc), {}),
        "gwet_ac1": (gwet_ac1, (hc, jc), {"labels": list(range(len(lab)))}),
    }
    if level == "nominal":
        todo["krippendorff_alpha"] = (_alpha_of_pair("nominal"), (hc, jc), {})
    else:
        todo["cohen_kappa_linear"] = (
            cohen_kappa,
            (hc, jc),
            {"weights": "linear", "labels": list(range(len(lab)))},
        )
        todo["cohen_kappa_quadratic"] = (
            cohen_kappa,
            (hc, jc),
            {"weights": "quadratic", "labels": list(range(len(lab)))},
        )
        todo["spearman"] = (spearman, (hc, jc), {})
        todo["kendall_tau_b"] = (kendall_tau_b, (hc, jc), {})
    if level == "ordinal":
        todo["krippendorff_alpha"] = (_alpha_of_pair("ordinal"), (hc, jc), {})
    if level == "interval":
        try:
            hv = np.asarray(hk, dtype=float)
            jv = np.asarray(jk, dtype=float)
        except (TypeError, ValueError):
            raise JuryboxError(
                "level 'interval' needs numeric labels; use --level ordinal or nominal"
            ) from None
        todo["krippendorff_alpha"] = (_alpha_of_pair("interval"), (hv, jv), {})
        todo["pearson"] = (pearson, (hv, jv), {})
        todo["mean_difference"] = (mean_difference, (hv, jv), {})
        todo["share_judge_higher"] = (share_judge_higher, (hv, jv), {})

    stats = {
        name: bootstrap_ci(
            f, *args, groups=g, n_resamples=n_resamples, confidence=confidence, seed=seed, **kwargs
        )
        for name, (f, args, kwargs) in todo.items()
    }
    return AgreementReport(
        n_items=int(h.size),
        n_used=int(keep.sum()),
        n_missing_judge=int(mj.sum()),
        n_missing_human=int(mh.sum()),
        level=level,
        labels=tuple(lab),
        statistics=MappingProxyType(stats),
    )
