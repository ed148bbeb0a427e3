"""Several prompt templates (Flip-Flop consistency, Hejabi et al., arXiv 2510.14242; method card 11).

K meaning-preserving templates ask the same question. Definitions:

* consensus label of item i: the label given by a strict majority of the K templates (count > K/2);
  items without one have no consensus (None). Unreadable answers are not votes but still count in K,
  so a strict majority always means more than half of all templates;
* a template's agreement = share of the items with a consensus where its label equals the consensus;
* unanimity = share of items where all K templates gave the same label;
* for each consensus voter, margin = log p(consensus) - max over other labels of log p (from option
  log-probabilities); items whose voters are unanimous with median margin >= tau are "settled" (the
  paper skips its alignment step for them), the others are where the templates flip-flop.

The paper's fine-tuning step (consensus cross-entropy and teacher-student KL over LoRA) is training,
outside jurybox; this module gives the unsupervised consensus and per-template diagnostics it starts
from. Published check: +11.62% agreement after F2C training (not reproducible without training);
tests check the definitions on constructed label matrices and a real-model run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jurybox.jury._arrays import vote_counts
from jurybox.stats._validate import label_codes, nan_to_none


@dataclass(frozen=True)
class FlipFlop:
    templates: tuple[str, ...]
    labels: tuple[Any, ...]
    consensus: tuple[Any, ...]
    has_consensus: np.ndarray
    agreement: np.ndarray
    unanimity: float
    consensus_rate: float
    median_margin: np.ndarray
    settled: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {"templates": list(self.templates), "labels": list(self.labels), "consensus": list(self.consensus),
                "has_consensus": self.has_consensus.tolist(), "agreement": self.agreement.tolist(),
                "unanimity": self.unanimity, "consensus_rate": self.consensus_rate,
                "median_margin": nan_to_none(self.median_margin),
                "settled": self.settled.tolist()}


def flip_flop(labels: Any, *, templates: Sequence[str] = (), logprobs: Any = None,
              label_set: Sequence[Any] | None = None, tau: float = 1.0) -> FlipFlop:
    """Consensus and per-template agreement for a (templates x items) label matrix (module docstring).

    ``logprobs`` (optional) is (templates x items x labels) option log-probabilities in ``label_set``
    order (NaN where a template gave none); without it margins are NaN and nothing is settled.
    """
    codes, lab = label_codes(labels, label_set)
    kt, n = codes.shape
    counts = vote_counts(codes, len(lab))
    top = counts.argmax(axis=1)
    has = counts.max(axis=1) > kt / 2.0
    consensus = tuple(lab[top[i]] if has[i] else None for i in range(n))
    agree = np.array([float(np.mean(codes[t, has] == top[has])) if has.any() else np.nan for t in range(kt)])
    unanimous = (codes >= 0).all(axis=0) & (codes == codes[0]).all(axis=0)
    margins = np.full(n, np.nan)
    if logprobs is not None:
        lp = np.asarray(logprobs, dtype=float)
        for i in np.nonzero(has)[0]:
            c = top[i]
            voters = np.nonzero(codes[:, i] == c)[0]
            others = np.delete(lp[voters, i, :], c, axis=1)
            m = lp[voters, i, c] - others.max(axis=1)
            m = m[~np.isnan(m)]
            if len(m):
                margins[i] = float(np.median(m))
    settled = unanimous & (margins >= tau)
    names = tuple(templates) or tuple(f"template{t}" for t in range(kt))
    return FlipFlop(names, lab, consensus, has, agree, float(unanimous.mean()) if n else float("nan"),
                    float(has.mean()) if n else float("nan"), margins, settled)
