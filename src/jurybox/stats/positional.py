"""Positional agreement of a pairwise judge asked in both presentation orders, and its flip rate.

Labels name the *response* ("A" or "B"), never the position, in both orders, so a judge without
position bias gives the same label in both.

* positional agreement = share of items whose two single-order verdicts name the same response
  (LLMBar's ``equal`` in statistics.json; Zeng et al. ICLR 2024);
* flip rate = 1 - positional agreement (Wei et al. 2024's "position bias" = inconsistency rate).

Missing (an unread verdict, see :mod:`jurybox.stats._validate`), chosen by ``unparsed``:

* ``"drop"`` (the default): an item with a missing verdict in either order is left out;
* ``"category"``: an unread answer is a label of its own, so two unread answers agree. This is how
  LLMBar's evaluate.py computes ``equal`` (tests/audit/test_llmbar_crosscheck.py reproduces it for
  GPT-4 and ChatGPT on all seven Adversarial and Processed sets);
* ``"disagree"``: an item with a missing verdict counts, as not agreeing (every item in the
  denominator; jurybox.jury.order_metrics, which reproduces LLMBar statistics.json from result.json).

NaN when no item is left.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from jurybox.errors import JuryboxError
from jurybox.stats._validate import as_object, missing_mask, same_length

Unparsed = Literal["drop", "category", "disagree"]
UNPARSED_RULES: tuple[str, ...] = ("drop", "category", "disagree")


def _agreeing(label_ab: Any, label_ba: Any, unparsed: Unparsed) -> np.ndarray:
    """Per counted item, whether the two orders agree (a float array of 0/1)."""
    a, b = as_object(label_ab, "label_ab"), as_object(label_ba, "label_ba")
    same_length(("label_ab", a), ("label_ba", b))
    if unparsed not in UNPARSED_RULES:
        raise JuryboxError(f"unparsed must be one of {', '.join(map(repr, UNPARSED_RULES))}, got {unparsed!r}")
    ma, mb = missing_mask(a), missing_mask(b)
    present = ~(ma | mb)
    equal = np.zeros(len(a), dtype=bool)
    equal[present] = a[present] == b[present]
    if unparsed == "category":
        equal |= ma & mb
        return equal.astype(float)
    if unparsed == "drop":
        return equal[present].astype(float)
    return equal.astype(float)


def positional_agreement(label_ab: Any, label_ba: Any, *, unparsed: Unparsed = "drop") -> float:
    """Share of items whose verdict (the winning response) is the same in both orders (module docstring).

    Level: nominal. Checked against: LLMBar statistics.json ``equal``, GPT-4 and ChatGPT, 7 sets.
    """
    v = _agreeing(label_ab, label_ba, unparsed)
    return float(v.mean()) if v.size else float("nan")


def flip_rate(label_ab: Any, label_ba: Any, *, unparsed: Unparsed = "drop") -> float:
    """Share of items whose verdict differs between the two orders: 1 - :func:`positional_agreement`."""
    v = _agreeing(label_ab, label_ba, unparsed)
    return float(1.0 - v.mean()) if v.size else float("nan")
