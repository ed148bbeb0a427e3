"""Cross-check: the audit's position statistics from LLMBar's published GPT-4 and ChatGPT verdicts
(result.json, both presentation orders) equal the published positional agreement (statistics.json
``equal``, the numbers of Zeng et al., ICLR 2024) for every Adversarial and Processed set."""

from __future__ import annotations

import json
import re

import pytest

from jurybox.audit import flip_rate, position_bias, positional_agreement
from jurybox.benchdata.llmbar import LLMBAR_SETS, load_llmbar_evaluator

CASES = [(ev, s) for ev in ("GPT-4", "ChatGPT") for s in LLMBAR_SETS]


@pytest.mark.parametrize(("evaluator", "set_name"), CASES)
def test_positional_agreement_matches_published_equal(shared_data, evaluator, set_name):
    root = shared_data / "llmbar"
    df = load_llmbar_evaluator(root, set_name, evaluator)
    stats = json.loads((root / LLMBAR_SETS[set_name] / "evaluators" / evaluator / "Vanilla_NoRules"
                        / "statistics.json").read_text())
    m = re.match(r"\s*(\d+)\s*/\s*(\d+)\s*=\s*([\d.]+)%", stats["equal"])
    assert m, stats["equal"]
    agree, total, pct = int(m.group(1)), int(m.group(2)), float(m.group(3))
    assert len(df) == total
    ours = positional_agreement(df.winner_unswapped, df.winner_swapped, unparsed="category")
    assert ours * total == pytest.approx(agree, abs=1e-9)
    assert 100 * ours == pytest.approx(pct, abs=1e-9)
    # the audit's interval result reports the same point estimate (flip rate = 1 - equal)
    first_ab = [w == "A" if w else None for w in df.winner_unswapped]  # unswapped: output_1 shown first
    first_ba = [w == "B" if w else None for w in df.winner_swapped]
    res = position_bias(df.winner_unswapped, df.winner_swapped, first_ab, first_ba, n_resamples=200)
    unread = df.winner_unswapped.isna() | df.winner_swapped.isna()
    if not unread.any():
        assert res.flip_rate.estimate == pytest.approx(1 - pct / 100, abs=1e-12)
        assert res.flip_rate.low <= res.flip_rate.estimate <= res.flip_rate.high
    else:  # jurybox drops unread verdicts by default; LLMBar counts them as a label
        assert res.flip_rate.estimate == pytest.approx(flip_rate(df.winner_unswapped[~unread],
                                                                 df.winner_swapped[~unread]))


def test_published_examples(shared_data):
    """Numbers quoted in the data README: GPT-4 Neighbor 89.6, ChatGPT Neighbor 73.1, GPT-4 MT-Bench 87.0."""
    root = shared_data / "llmbar"
    for ev, s, pub in (("GPT-4", "Neighbor", 0.896), ("ChatGPT", "Neighbor", 0.731), ("GPT-4", "MT-Bench", 0.870)):
        df = load_llmbar_evaluator(root, s, ev)
        assert positional_agreement(df.winner_unswapped, df.winner_swapped, unparsed="category") == pytest.approx(
            pub, abs=5e-4)
