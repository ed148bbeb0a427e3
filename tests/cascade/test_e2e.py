"""The cascade and the stacked jury on the real embedded models (a few short LLMBar items each)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from jurybox.api import run_judge
from jurybox.benchdata.llmbar import load_llmbar
from jurybox.cascade import CascadeJudge, confidence
from jurybox.spec import JudgeSpec
from jurybox.stacking import StackedJudge, fit_stacked_jury
from jurybox.store import Store

pytestmark = pytest.mark.e2e


def short_llmbar(root: Path, n: int) -> pd.DataFrame:
    df = load_llmbar(root / "llmbar", per_set=20, seed=0)
    df = df.assign(L=df.instruction.str.len() + df.response_a.str.len() + df.response_b.str.len()).sort_values("L")
    return df.head(n)[["instruction", "response_a", "response_b", "gold"]].reset_index(drop=True)


def test_gemma_then_qwen_cascade_escalates_the_unsure_items(gemma, qwen, shared_data, tmp_path):
    df = short_llmbar(shared_data, 6)
    bks = {"gemma-3-270m": gemma, "qwen2.5-coder-1.5b": qwen}
    with Store(tmp_path / "s.sqlite") as st:
        cheap = run_judge(df, JudgeSpec("pairwise", model=gemma), store=st)
        conf = [confidence(v) for v in cheap.verdicts]
        threshold = sorted(conf)[3]  # the three least confident items go to the 1.5B judge
        judge = CascadeJudge("gemma-3-270m", large="qwen2.5-coder-1.5b", threshold=threshold, backends=bks)
        res = run_judge(df, JudgeSpec("pairwise", model=judge), store=st, human="gold")
        stages = [v.extra["cascade"]["stage"] for v in res.verdicts]
        assert stages == ["large" if c < threshold else "cheap" for c in conf]
        assert res.stats.model_calls == 2 * stages.count("large")  # the cheap stage was stored already
        large = run_judge(df, JudgeSpec("pairwise", model=qwen), store=st)
        for s, v, big, small in zip(stages, res.verdicts, large.verdicts, cheap.verdicts, strict=True):
            assert v.label == (big.label if s == "large" else small.label)
        again = run_judge(df, JudgeSpec("pairwise", model=judge), store=st)
        assert again.stats.model_calls == 0


def test_stacked_gemma_templates_fit_save_and_reuse(gemma, shared_data, tmp_path):
    df = short_llmbar(shared_data, 10)
    judges = [{"model": "gemma-3-270m", "templates": ["default", "concise"], "name": "gemma"}]
    with Store(tmp_path / "s.sqlite") as st:
        res = fit_stacked_jury(df, judges, protocol="pairwise", human="gold", store=st, folds=2, repeats=2,
                               out=tmp_path / "fit.json", backends={"gemma-3-270m": gemma})
        assert res.stats.model_calls == 2 * 2 * 10
        assert len(res.stack.model.features) == 2 * 2 * 3  # 2 judges x 2 orders x (A, B, missing)
        assert 0.0 <= res.cv.accuracy <= 1.0 and len(res.cv.oof[0]) == 10
        spec = JudgeSpec("pairwise", model=StackedJudge(str(tmp_path / "fit.json"),
                                                        backends={"gemma-3-270m": gemma}))
        again = run_judge(df, spec, store=st)
        assert again.stats.model_calls == 0 and all(v.label in ("A", "B") for v in again.verdicts)
