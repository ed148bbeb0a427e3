from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jurybox.cli import main
from jurybox.ir import write_qrels, write_run


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def verdicts(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(200):
        label = int(rng.integers(1, 4))
        verdict = str(label if rng.random() < 0.8 else int(rng.integers(1, 4)))
        status = "ok"
        if i % 20 == 0:
            verdict, status = None, "unparsed"
        rows.append(
            {"id": i, "topic": "ab"[i % 2], "label": label, "verdict": verdict, "verdict_status": status}
        )
    path = tmp_path / "v.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    pd.DataFrame(rows)[["id", "label"]].rename(columns={"label": "gold"}).to_csv(
        tmp_path / "h.csv", index=False
    )
    return path


def test_agree_json_counts_unparsed(verdicts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        ["agree", str(verdicts), "--human", "label", "--by", "topic", "--json", "--resamples", "200"], capsys
    )
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"(all)", "a", "b"}
    assert data["(all)"]["n_missing_judge"] == 10 and data["(all)"]["n_used"] == 190
    kappa = data["(all)"]["statistics"]["cohen_kappa"]
    assert kappa["low"] < kappa["estimate"] < kappa["high"]


def test_agree_with_separate_label_file_matches_column(
    verdicts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out1, _ = _run(["agree", str(verdicts), "--human", "label", "--json", "--resamples", "50"], capsys)
    h = str(verdicts.parent / "h.csv")
    _, out2, _ = _run(
        [
            "agree",
            str(verdicts),
            "--human",
            h,
            "--human-field",
            "gold",
            "--key",
            "id",
            "--json",
            "--resamples",
            "50",
        ],
        capsys,
    )
    assert json.loads(out1) == json.loads(out2)
    code, out, _ = _run(["agree", str(verdicts), "--human", "label"], capsys)
    assert code == 0 and "cohen_kappa" in out and "missing verdicts" in out


def test_gate_exit_codes(verdicts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        ["gate", str(verdicts), "--human", "label", "--min-kappa", "0.5", "--resamples", "50"], capsys
    )
    assert code == 0 and "gate passed" in out
    code, _, err = _run(
        [
            "gate",
            str(verdicts),
            "--human",
            "label",
            "--min-kappa",
            "0.5",
            "--min-accuracy",
            "0.99",
            "--resamples",
            "50",
        ],
        capsys,
    )
    assert code == 1 and "accuracy" in err and "cohen_kappa" not in err
    code, _, err = _run(["gate", str(verdicts), "--human", "nope", "--min-kappa", "0.5"], capsys)
    assert code == 2 and "neither a column" in err and "Traceback" not in err


def test_qrels_agree_with_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    qrels = pd.DataFrame(
        [(f"q{i}", f"d{j}", int(rng.integers(0, 4))) for i in range(10) for j in range(15)],
        columns=["query_id", "doc_id", "relevance"],
    )
    write_qrels(qrels, tmp_path / "human.txt")
    write_qrels(
        qrels.assign(relevance=np.clip(qrels.relevance + rng.integers(-1, 2, len(qrels)), 0, 3)),
        tmp_path / "llm.txt",
    )
    (tmp_path / "runs").mkdir()
    for s in range(4):
        write_run(
            qrels.assign(score=qrels.relevance * s + rng.random(len(qrels)) * 3),
            tmp_path / "runs" / f"sys{s}",
        )
    code, out, _ = _run(
        [
            "qrels-agree",
            str(tmp_path / "human.txt"),
            str(tmp_path / "llm.txt"),
            "--runs",
            str(tmp_path / "runs"),
            "--json",
        ],
        capsys,
    )
    assert code == 0
    row = json.loads(out)["llm.txt"]
    assert row["n_common"] == 150 and row["ranking"]["n_systems"] == 4 and row["significance"]["n_pairs"] == 6
    code, out, _ = _run(["qrels-agree", str(tmp_path / "human.txt"), str(tmp_path / "human.txt")], capsys)
    assert code == 0 and "1.000" in out
    code, _, err = _run(["qrels-agree", str(tmp_path / "human.txt"), str(tmp_path / "missing.txt")], capsys)
    assert code == 2 and "missing.txt" in err


def test_agree_reads_jurybox_status_column_when_the_data_had_its_own(tmp_path: Path, capsys) -> None:
    """The user's data already has verdict/verdict_status: jurybox writes jurybox_verdict_status, and
    agree must filter on that one (the user's column says "final" everywhere, never "ok")."""
    import jurybox
    from jurybox.backends.scripted import ScriptedBackend

    def options(text: str, opts: tuple[str, ...]) -> dict[str, float]:
        return {"positive": 0.9, "negative": 0.1} if "good" in text else {"positive": 0.1, "negative": 0.9}

    texts = ["good film", "bad film", "good plot", "bad plot", "lost one", "good end"]
    df = pd.DataFrame({"review": texts, "gold": ["positive", "negative", "positive", "positive", "negative", "positive"],
                       "verdict": "editor", "verdict_status": "final"})
    out = jurybox.judge(df, protocol="classify", labels=["positive", "negative"], fields={"text": "review"},
                        model=ScriptedBackend(options, fail=lambda t: "timed out" if "lost" in t else None), store=str(tmp_path / "s.sqlite"))
    assert {"jurybox_verdict", "jurybox_verdict_status"} <= set(out.columns)
    assert (out["jurybox_verdict_status"] != "ok").sum() == 1
    path = tmp_path / "v.jsonl"
    out.to_json(path, orient="records", lines=True)
    code, stdout, err = _run(["agree", str(path), "--human", "gold", "--json"], capsys)
    assert code == 0, err
    rep = json.loads(stdout)["(all)"]
    assert rep["n_items"] == 6 and rep["n_missing_judge"] == 1  # only the failed row is missing
    assert rep["statistics"]["accuracy"]["estimate"] == pytest.approx(4 / 5)  # "bad plot" is wrong
    code, stdout, _ = _run(["agree", str(path), "--human", "gold", "--json", "--verdict-field", "jurybox_verdict"],
                           capsys)
    assert code == 0 and json.loads(stdout)["(all)"]["n_missing_judge"] == 1
