"""`jurybox distill`, `jurybox predict` and `jurybox taxonomy` from the command line, and the budgeted
teacher loop through the engine and the store."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from jurybox.backends.scripted import ScriptedBackend
from jurybox.cli import main
from jurybox.distill.api import distill_with_budget
from jurybox.spec import JudgeSpec

sys.path.insert(0, str(Path(__file__).parent))
from test_student import TEXTS, frame  # noqa: E402


def run(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def ok(argv, capsys):
    main(argv)
    return capsys.readouterr()


def test_distill_then_predict(tmp_path, capsys):
    data = tmp_path / "labelled.jsonl"
    frame().to_json(data, orient="records", lines=True)
    out = ok(["distill", str(data), "--out", str(tmp_path / "m"), "--embedder", "tfidf"], capsys).out
    assert "trained on 18 of 18 rows" in out and "3 labels" in out
    new = tmp_path / "new.csv"
    pd.DataFrame({"id": [1, 2], "text": ["my pin is blocked", "card never came"]}).to_csv(new, index=False)
    ok(["predict", str(tmp_path / "m"), str(new), "--out", str(tmp_path / "p.jsonl")], capsys)
    rows = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert [r["prediction"] for r in rows] == ["pin", "card"] and rows[0]["id"] == "1"  # CSV values are read as text
    assert abs(sum(rows[0]["prediction_probs"].values()) - 1) < 1e-9


def test_bad_input_is_one_line_exit_2(tmp_path, capsys):
    data = tmp_path / "one.csv"
    frame().assign(verdict="card").to_csv(data, index=False)
    code, _, err = run(["distill", str(data), "--out", str(tmp_path / "m"), "--embedder", "tfidf"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "field 'verdict'" in err and "same label" in err
    code, _, err = run(["distill", str(data), "--out", str(tmp_path / "m2"), "--embedder", "bert"], capsys)
    assert code == 2 and "embedder must be one of minilm, tfidf" in err and "--embedder" in err
    code, _, err = run(["distill", str(data), "--out", str(tmp_path / "m3"), "--budget", "500", "--labels", "a,b",
                        "--model", "scripted", "--embedder", "tfidf"], capsys)
    assert code == 2 and "--budget 500 is larger than the data (18 rows)" in err and err.count("\n") == 1
    code, _, err = run(["distill", str(data), "--out", str(tmp_path / "m4"), "--budget", "5"], capsys)
    assert code == 2 and "--labels a,b,c or --taxonomy FILE" in err
    empty = tmp_path / "empty.yaml"
    empty.write_text("labels: []\n")
    code, _, err = run(["distill", str(data), "--out", str(tmp_path / "m5"), "--budget", "5", "--taxonomy", str(empty),
                        "--model", "scripted", "--embedder", "tfidf"], capsys)
    assert code == 2 and "the taxonomy has no labels" in err and err.count("\n") == 1
    code, _, err = run(["predict", str(tmp_path), str(data)], capsys)
    assert code == 2 and "not a jurybox model folder" in err


def teacher_backend():
    """A scripted classify_codes teacher: the code of the topic word in the text, confidence 0.9."""
    def pick(text, options):
        body = text.split("Text:")[-1]
        topic = next((k for k in TEXTS if k in body), None)
        code = next((line.split(":")[0] for line in text.splitlines() if topic and line.endswith(": " + topic)), None)
        if code is None:
            return {o: 1 / len(options) for o in options}
        return {o: (0.9 if o == code else 0.1 / (len(options) - 1)) for o in options}
    return ScriptedBackend(options=pick)


@pytest.mark.parametrize("strategy", ["random", "llkd", "locle"])
def test_budgeted_labelling_through_the_store(tmp_path, strategy):
    df = frame()
    backend = teacher_backend()
    spec = JudgeSpec("classify_codes", {"labels": ["card", "refund", "pin"]}, model=backend)
    store = tmp_path / "s.sqlite"
    student, res, lab = distill_with_budget(df, spec, out=tmp_path / "m", budget=9, strategy=strategy,
                                            embedder="tfidf", rounds=2, store=store)
    assert lab.model_calls == 9 == backend.calls and len(lab.selection.asked) == 9
    assert list(lab.table["verdict"]) == [df.verdict[i] for i in lab.selection.asked]
    assert student.labels == ("card", "refund", "pin")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["source"]["strategy"] == strategy and meta["source"]["teacher_calls"] == 9
    backend2 = teacher_backend()
    spec2 = spec.replace(model=backend2)
    _, _, again = distill_with_budget(df, spec2, out=tmp_path / "m2", budget=9, strategy=strategy, embedder="tfidf",
                                      rounds=2, store=store)
    assert backend2.calls == 0 and again.from_store == 9 and again.selection.asked == lab.selection.asked


def scripted_taxonomy_backend():
    sys.path.insert(0, str(Path(__file__).parents[1] / "taxonomy"))
    from scripted import writer

    return ScriptedBackend(generate=writer)


def test_taxonomy_command_needs_writable_out_and_a_text_column(tmp_path, capsys):
    data = tmp_path / "d.csv"
    pd.DataFrame({"query": ["a card", "a refund"]}).to_csv(data, index=False)
    code, _, err = run(["taxonomy", str(data), "--use-case", "x", "--model", "scripted", "--out",
                        str(tmp_path / "t.yaml")], capsys)
    assert code == 2 and "text column 'text' not found" in err
    code, _, err = run(["taxonomy", str(data), "--use-case", "x", "--field", "query=text", "--model", "scripted"],
                       capsys)
    assert code == 2 and "unknown field" in err
    code, _, err = run(["taxonomy", str(data), "--use-case", "x", "--field", "text=query", "--model", "scripted",
                        "--out", str(tmp_path)], capsys)
    assert code == 2 and "is a directory" in err


def test_taxonomy_command_writes_yaml(tmp_path, capsys, monkeypatch):
    from jurybox.backends import registry

    backend = scripted_taxonomy_backend()
    real = registry.get_backend
    monkeypatch.setattr(registry, "get_backend", lambda spec=None, **kw: backend if spec == "scripted" else real(spec, **kw))
    sys.path.insert(0, str(Path(__file__).parents[1] / "taxonomy"))
    from scripted import TEXTS as T

    data = tmp_path / "d.csv"
    pd.DataFrame({"query": T}).to_csv(data, index=False)
    out = ok(["taxonomy", str(data), "--use-case", "route banking questions", "--field", "text=query", "--sample", "12",
              "--batch", "4", "--max-labels", "5", "--model", "scripted", "--out", str(tmp_path / "t.yaml"), "--quiet"],
             capsys).out
    assert re.search(r"5 labels after 5 steps; 16 model calls, 0 from the store", out)
    doc = yaml.safe_load((tmp_path / "t.yaml").read_text())
    assert len(doc["labels"]) == 5 and doc["source"]["text_field"] == "query"
    out = ok(["taxonomy", str(data), "--use-case", "route banking questions", "--field", "text=query", "--sample", "12",
              "--batch", "4", "--max-labels", "5", "--model", "scripted", "--out", str(tmp_path / "t.yaml"), "--quiet"],
             capsys).out
    assert "0 model calls, 16 from the store" in out


def test_distill_prints_the_threshold_chosen_on_the_human_slice(tmp_path, capsys):
    import numpy as np

    df = frame()
    conf = np.where(np.arange(len(df)) % 3 == 0, 0.3, 0.95)
    df["verdict_probs"] = [{v: float(c)} for v, c in zip(df.verdict, conf)]
    human = df.verdict.copy()
    human[conf < 0.5] = "pin"
    df["human"] = human.where(np.arange(len(df)) < 12)
    data = tmp_path / "l.jsonl"
    df.to_json(data, orient="records", lines=True)
    out = ok(["distill", str(data), "--out", str(tmp_path / "m"), "--embedder", "tfidf", "--confidence-field",
              "verdict_probs", "--human", "human", "--target-accuracy", "0.9"], capsys).out
    assert "confidence >= 0.950 keeps" in out and "reaches the target 0.90" in out
    assert f"trained on {int((conf >= 0.95).sum())} of 18 rows" in out
    code, _, err = run(["distill", str(data), "--out", str(tmp_path / "m2"), "--labels", "a,b"], capsys)
    assert code == 2 and "--labels is for the teacher of --budget" in err
    code, _, err = run(["distill", str(data), "--out", str(tmp_path / "m3"), "--human", "human"], capsys)
    assert code == 2 and "give confidence_field too" in err
