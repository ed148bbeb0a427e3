"""The multiple-choice runner on the real embedded judge (qwen2.5-coder-1.5b): a few MMLU questions."""

from __future__ import annotations

import pytest

from jurybox.mcqa import read_mcqa, run_mcqa
from jurybox.mcqa.protocol import MultipleChoice

pytestmark = pytest.mark.e2e


def test_continuation_logprobs_warm_equal_cold_and_match_option_scoring(qwen, shared_data):
    ds = read_mcqa(shared_data / "mmlu" / "marketing_test.csv")
    ((_, req),) = MultipleChoice(scoring="likelihood").requests(ds.items[0])
    warm = qwen.continuation_logprobs(req)
    again = qwen.continuation_logprobs(req)  # the prompt comes from the KV cache
    qwen.llm.n_tokens = 0  # forget the cache: evaluate from scratch
    cold = qwen.continuation_logprobs(req)
    assert warm.loglikelihoods == again.loglikelihoods
    assert warm.loglikelihoods == pytest.approx(cold.loglikelihoods, abs=1e-6)
    assert all(n >= 1 for n in warm.token_counts) and all(v < 0 for v in warm.loglikelihoods)
    # the first continuation token's log-probability is the next-token distribution's
    ctx, conts = qwen.continuation_tokens(req.prompt, req.continuations)
    assert ctx == qwen.tokens(req.prompt)
    assert len(conts[0]) == warm.token_counts[0]


def test_mmlu_letter_and_likelihood_rerun_free(qwen, shared_data, tmp_path):
    mmlu = shared_data / "mmlu"
    files = [mmlu / "marketing_test.csv", mmlu / "computer_security_test.csv"]
    dev = [mmlu / "marketing_dev.csv", mmlu / "computer_security_dev.csv"]
    store = tmp_path / "s.sqlite"
    letter = run_mcqa(files, dev=dev, shots=2, scoring="letter", model=qwen, store=store, limit=3)
    assert letter.n_questions == 6 and letter.model_calls == 6 and letter.failed == 0
    assert set(letter.accuracy["acc"].groups) == {"marketing", "computer_security"}
    assert all(abs(sum(p.values()) - 1) < 1e-6 for p in letter.table["verdict_probs"])
    lik = run_mcqa(files, scoring="likelihood", model=qwen, store=store, limit=3)
    assert lik.model_calls == 6 and all(len(x) == 4 for x in lik.table["loglikelihoods"])
    again = run_mcqa(files, scoring="likelihood", model=qwen, store=store, limit=3)
    assert again.model_calls == 0
    assert again.accuracy["acc_norm"].overall.estimate == lik.accuracy["acc_norm"].overall.estimate
