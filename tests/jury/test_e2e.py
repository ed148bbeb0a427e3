"""Each jury method end to end on a real embedded model (tiny data: a few items each)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jurybox.benchdata.llmbar import load_llmbar
from jurybox.engine import Judge, evaluate
from jurybox.jury import (
    coverage_curve,
    flip_flop,
    majority_vote,
    order_metrics,
    reference_guided,
    run_jury,
    run_tick,
    variant_label_matrix,
)
from jurybox.jury.listwise import ranking_distance
from jurybox.protocols import Pairwise, make_protocol
from jurybox.store import Store

pytestmark = pytest.mark.e2e
TEMPLATES = ("default", "concise", "rules")


def short_llmbar(root: Path, n: int) -> list[dict[str, str]]:
    df = load_llmbar(root / "llmbar", per_set=20, seed=0)
    df = df.assign(L=df.instruction.str.len() + df.response_a.str.len() + df.response_b.str.len()).sort_values("L")
    return df.head(n)[["instruction", "response_a", "response_b", "gold"]].to_dict("records")


def test_template_jury_on_gemma_reads_every_order_and_reruns_free(gemma, shared_data, tmp_path):
    items = short_llmbar(shared_data, 3)
    judges = [Judge(Pairwise(template=t), gemma, f"gemma:{t}") for t in TEMPLATES]
    with Store(tmp_path / "s.sqlite") as st:
        run = run_jury(judges, items, st)
        assert run.stats.model_calls == 3 * 3 * 2 and run.stats.n_failed == 0
        assert run_jury(judges, items, st).stats.model_calls == 0
    ab, ba = variant_label_matrix(run.variants, "AB"), variant_label_matrix(run.variants, "BA")
    assert set(ab.ravel()) <= {"A", "B"} and set(ba.ravel()) <= {"A", "B"}  # logprob answers always read
    for j in range(3):
        m = order_metrics(ab[j], ba[j], [it["gold"] for it in items])
        assert m.n_missing == 0 and 0.0 <= m.accuracy <= 1.0
    ff = flip_flop(ab, templates=TEMPLATES)
    vote = majority_vote(ab)
    assert all(c is None or c == v for c, v in zip(ff.consensus, vote.label, strict=True))  # 3 voters: same rule


def test_tick_on_qwen_passes_a_good_haiku_more_often_than_an_off_topic_answer(qwen, tmp_path):
    instruction = "Write a haiku about the sea. Use exactly three lines."
    cands = [{"instruction": instruction, "response": "Waves fold into foam\nsalt wind carries gull voices\nthe tide breathes the shore"},
             {"instruction": instruction, "response": "Paris is the capital of France and has many museums."}]
    with Store(tmp_path / "s.sqlite") as st:
        run = run_tick(cands, qwen, st, max_questions=3)
    assert run.questions[0] and all(q.startswith("Does the response") for q in run.questions[0])
    assert run.verdicts[0].status == "ok" and run.verdicts[1].status == "ok"
    assert run.pass_rate[0] > run.pass_rate[1] + 0.15  # mean P(YES): clearly apart


def test_tick_on_qwen_prefers_the_gold_response_on_short_llmbar_items(qwen, shared_data, tmp_path):
    """The 4 shortest items of the fixed LLMBar Processed subset (natural preference data): the response
    with the higher checklist score is the gold one more often than chance (2 of 4). Measured on more
    items by bench/llmbar_tick.py (docs/jury.md)."""
    from jurybox.benchdata.llmbar import PROCESSED

    df = load_llmbar(shared_data / "llmbar", sets=PROCESSED, per_set=20, seed=0)
    df = df.assign(L=df.instruction.str.len() + df.response_a.str.len() + df.response_b.str.len())
    df = df.sort_values("L", kind="stable").head(4)
    items = [{"instruction": r.instruction, "response": resp} for r in df.itertuples()
             for resp in (r.response_a, r.response_b)]
    with Store(tmp_path / "s.sqlite") as st:
        run = run_tick(items, qwen, st, max_questions=4)
    a, b = run.pass_rate[0::2], run.pass_rate[1::2]
    assert not np.isnan(run.pass_rate).any()
    pred = np.where(a > b, "A", "B")
    assert (a != b).all()  # soft scores separate every pair (hard rates tied on 23 of 28 bench items)
    assert (pred == df["gold"].to_numpy()).sum() >= 3


def test_listwise_certainty_and_reference_on_gemma(gemma, tmp_path):
    st = Store(tmp_path / "s.sqlite")
    lw = [{"instruction": "Name a colour of the sky on a clear day.", "responses": ["Blue.", "Green, like grass.", "Purple."]}]
    (v,), _, _ = evaluate(Judge(make_protocol("listwise"), gemma), lw, st)
    if v.status == "ok":  # the grammar guarantees three numbers in 1..3; a repeat is unparsed, never repaired
        assert sorted(v.extra["ranking"]) == [0, 1, 2]
        assert 0.0 <= ranking_distance([v.extra["ranking"]], [[0, 1, 2]]).mean <= 1.0
    else:
        assert v.status == "unparsed" and v.label is None
    pw = [{"instruction": "What is 2 + 2?", "response_a": "4", "response_b": "5"},
          {"instruction": "Capital of Italy?", "response_a": "Madrid", "response_b": "Rome"}]
    cert, _, _ = evaluate(Judge(make_protocol("certainty"), gemma), pw, st)
    for c in cert:
        assert c.status == "ok" and 0 <= c.extra["certainty"] <= 100 and (c.label in ("A", "B") or c.extra["abstained"])
    curve = coverage_curve([c.label for c in cert], [c.extra["certainty"] for c in cert], ["A", "B"])
    assert curve.n == 2 and np.all(np.diff(curve.coverage) >= 0)
    qa = [{"question": "What is 3 + 4?", "answer": "7", "reference": "7"}]
    res = reference_guided(qa, gemma, st, answer_max_tokens=32)
    assert res.self_answers is not None and res.self_answers[0]
    assert set(res.verdicts) == {"none", "self", "human"}
    assert all(res.verdicts[m][0].label in ("correct", "incorrect") for m in res.verdicts)
    st.close()


def test_jury_cli_on_gemma_writes_table_and_preference_pairs(need_gemma, shared_data, tmp_path):
    items = short_llmbar(shared_data, 3)
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps({"prompt": it["instruction"], "output_1": it["response_a"],
                                        "output_2": it["response_b"], "gold": it["gold"]}) + "\n" for it in items))
    cfg = tmp_path / "jury.yaml"
    cfg.write_text("data: pairs.jsonl\nprotocol: pairwise\nhuman: gold\n"
                   "fields: {instruction: prompt, response_a: output_1, response_b: output_2}\n"
                   "judges:\n  - model: gemma-3-270m\n    templates: [default, concise, rules]\n"
                   "aggregation: majority\nstore: s.sqlite\nout: jury.jsonl\npairs: dpo.jsonl\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    p = subprocess.run([sys.executable, "-m", "jurybox.cli", "jury", str(cfg), "--quiet", "--json"],
                       capture_output=True, text=True, env=env, timeout=900, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    assert summary["model_calls"] == 18 and len(summary["agreement"]) in (3, 4)
    rows = [json.loads(x) for x in (tmp_path / "jury.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all("jury_verdict" in r and "verdict[gemma-3-270m:rules]" in r for r in rows)
    pairs = [json.loads(x) for x in (tmp_path / "dpo.jsonl").read_text().splitlines()]
    assert len(pairs) == summary["pairs"]["written"]
    for pr in pairs:
        assert set(pr) == {"prompt", "chosen", "rejected", "confidence"} and pr["chosen"] != pr["rejected"]
