"""How well a label assignment matches reference classes (pure functions of two label arrays).

* purity = (1/n) * sum over predicted clusters of the size of its largest reference class (1 is
  perfect; it rises trivially with the number of clusters, so read it with the two below);
* adjusted Rand index (Hubert & Arabie 1985): pair-counting agreement corrected for chance (0 for
  a random assignment, 1 for identical partitions), scikit-learn's ``adjusted_rand_score``;
* normalised mutual information with the arithmetic mean of the entropies, scikit-learn's
  ``normalized_mutual_info_score``.

Items whose predicted label is missing (None: an unread answer) are left out and counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jurybox.errors import JuryboxError
from jurybox.types import Record

__all__ = ["ClusterAgreement", "cluster_agreement", "purity"]


def purity(predicted: Sequence[Any], reference: Sequence[Any]) -> float:
    by: dict[Any, Counter[Any]] = {}
    for p, r in zip(predicted, reference):
        by.setdefault(p, Counter())[r] += 1
    n = len(predicted)
    return sum(c.most_common(1)[0][1] for c in by.values()) / n if n else float("nan")


@dataclass(frozen=True)
class ClusterAgreement(Record):
    n: int
    n_missing: int
    n_clusters: int
    n_classes: int
    ari: float
    nmi: float
    purity: float


def cluster_agreement(predicted: Sequence[Any], reference: Sequence[Any]) -> ClusterAgreement:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    if len(predicted) != len(reference):
        raise JuryboxError(f"{len(predicted)} predicted labels but {len(reference)} reference labels")
    pairs = [(p, r) for p, r in zip(predicted, reference) if p is not None and r is not None]
    if not pairs:
        raise JuryboxError("no item has both a predicted and a reference label")
    p, r = [str(a) for a, _ in pairs], [str(b) for _, b in pairs]
    return ClusterAgreement(len(pairs), len(predicted) - len(pairs), len(set(p)), len(set(r)),
                            float(adjusted_rand_score(r, p)), float(normalized_mutual_info_score(r, p)), purity(p, r))
