"""Published numbers reproduced exactly to 4 decimals from ../shared/data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jurybox.ir import qrels_agreement, read_qrels
from jurybox.stats import cohen_kappa, krippendorff_alpha, percent_agreement


def _submissions(shared: Path) -> list[Path]:
    files = sorted((shared / "llmjudge" / "llm_submissions").glob("*.txt"))
    assert len(files) == 33
    return files


@pytest.fixture(scope="module")
def llmjudge(shared_data: Path) -> dict[str, object]:
    d = shared_data / "llmjudge"
    human = read_qrels(d / "human_qrels_test.txt")
    t3 = pd.read_csv(d / "published_table3_kappa_alpha_tau_rho.csv").set_index("submission_id")
    t4 = pd.read_csv(d / "published_table4_kappa_binarized.csv").set_index("submission_id")
    results = {p.stem: qrels_agreement(human, read_qrels(p)) for p in _submissions(shared_data)}
    return {"human": human, "t3": t3, "t4": t4, "results": results}


def test_llmjudge_table3_kappa_and_ordinal_alpha(llmjudge: dict) -> None:
    t3, results = llmjudge["t3"], llmjudge["results"]
    checked = 0
    for name, res in results.items():
        assert res.n_common == 4423 and res.n_human_only == 0
        assert round(res.cohen_kappa, 4) == pytest.approx(t3.loc[name, "cohen_kappa_4pt"], abs=1e-9), name
        assert round(res.krippendorff_alpha_ordinal, 4) == pytest.approx(
            t3.loc[name, "krippendorff_alpha_ordinal"], abs=1e-9
        ), name
        checked += 2
    assert checked == 66


def test_llmjudge_table4_binarised_kappa(llmjudge: dict) -> None:
    t4, results = llmjudge["t4"], llmjudge["results"]
    columns = {"0|123": "kappa_0_vs_123", "01|23": "kappa_01_vs_23", "012|3": "kappa_012_vs_3"}
    checked = 0
    for name, res in results.items():
        for cut, col in columns.items():
            assert round(res.binarised_kappa[cut], 4) == pytest.approx(t4.loc[name, col], abs=1e-9), (
                name,
                cut,
            )
            checked += 1
    assert checked == 99


def test_llmjudge_alpha_is_ordinal_not_interval_or_nominal(llmjudge: dict, shared_data: Path) -> None:
    # README: Olz-exp ordinal 0.4701 (published), interval 0.4784, nominal 0.2473.
    sub = read_qrels(shared_data / "llmjudge" / "llm_submissions" / "Olz-exp.txt")
    both = llmjudge["human"].merge(sub, on=["query_id", "doc_id"])
    r = np.column_stack([both.relevance_x, both.relevance_y.clip(0, 3)]).astype(float)
    assert round(krippendorff_alpha(r, level="ordinal", values=[0, 1, 2, 3]), 4) == 0.4701
    assert round(krippendorff_alpha(r, level="interval"), 4) == 0.4784
    assert round(krippendorff_alpha(r, level="nominal"), 4) == 0.2473
    assert (
        round(cohen_kappa(both.relevance_x, both.relevance_y.clip(0, 3)), 4)
        == llmjudge["t3"].loc["Olz-exp", "cohen_kappa_4pt"]
    )


def _pct(text: str) -> float:
    return float(text.split("=")[-1].strip().rstrip("%"))


def _llmbar_pairs(shared: Path) -> list[Path]:
    return sorted((shared / "llmbar").glob("**/evaluators/*/Vanilla_NoRules/result.json"))


def test_llmbar_accuracy_and_positional_agreement(shared_data: Path) -> None:
    pairs = _llmbar_pairs(shared_data)
    assert len(pairs) == 28
    for result_file in pairs:
        items = json.loads(result_file.read_text())
        published = json.loads((result_file.parent / "statistics.json").read_text())
        gold = [str(it["label"]) for it in items]
        # an unparsed verdict (winner None) is a wrong answer, as in LLMBar's evaluate.py
        unswapped = [str(it["results"][-1]["swap = False"]["winner"]) for it in items]
        swapped = [str(it["results"][-1]["swap = True"]["winner"]) for it in items]
        acc_false = percent_agreement(gold, unswapped, labels=["1", "2", "None"])
        acc_true = percent_agreement(gold, swapped, labels=["1", "2", "None"])
        positional = percent_agreement(unswapped, swapped)
        where = str(result_file.relative_to(shared_data))
        assert round(100 * acc_false, 4) == round(_pct(published["correct_False"]), 4), where
        assert round(100 * acc_true, 4) == round(_pct(published["correct_True"]), 4), where
        assert round(100 * (acc_false + acc_true) / 2, 4) == round(_pct(published["correct_average"]), 4), (
            where
        )
        assert round(100 * positional, 4) == round(_pct(published["equal"]), 4), where
