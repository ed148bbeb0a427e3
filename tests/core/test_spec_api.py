"""JudgeSpec, the dataset boundary, the dataset-level entry points and the CLI's flag hints."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

import jurybox
from jurybox.backends.scripted import ScriptedBackend
from jurybox.errors import InputError, JuryboxError, OptionError
from jurybox.items import load_dataset
from jurybox.spec import JudgeSpec
from jurybox.store import Store, open_store

DF = pd.DataFrame({"review": ["good", "bad"], "gold": ["positive", "negative"], "part": ["x", "y"]})


def test_spec_parses_protocol_parameters_and_backend_options_from_text():
    spec = JudgeSpec.parse("classify", params=["labels=a,b", "descriptions=a=first"], model="scripted",
                           backend_options=["concurrency=3"])
    assert dict(spec.params) == {"labels": ["a", "b"], "descriptions": {"a": "first"}}
    assert spec.make_backend().concurrency == 3
    assert JudgeSpec.parse("score", params={"scale": "1-3"}).make_protocol().labels() == ("1", "2", "3")
    with pytest.raises(OptionError, match="scale expects LO-HI") as e:
        JudgeSpec.parse("score", params=["scale=x"])
    assert e.value.option == "scale" and isinstance(e.value, ValueError)
    with pytest.raises(JuryboxError, match="unknown option 'rmp'"):
        JudgeSpec.parse("score", model="openai:m@http://127.0.0.1:9/v1", backend_options=["rmp=1"])


def test_a_spec_judges_like_keywords(tmp_path):
    b = ScriptedBackend()
    kw = jurybox.judge(DF, "classify", labels=["positive", "negative"], fields={"text": "review"}, model=b,
                       store=tmp_path / "s.sqlite")
    spec = JudgeSpec("classify", {"labels": ["positive", "negative"]}, model=b)
    res = jurybox.run_judge(DF, spec, fields={"text": "review"}, store=tmp_path / "s.sqlite")
    assert res.stats.model_calls == 0 and list(res.table["verdict"]) == list(kw["verdict"])
    with pytest.raises(JuryboxError, match="in the JudgeSpec"):
        jurybox.run_judge(DF, spec, model=b)


def test_dataset_boundary_and_borrowed_store(tmp_path):
    proto = jurybox.make_protocol("classify", labels=["positive", "negative"])
    ds = load_dataset(DF, proto, fields=["text=review"], human="gold")
    assert ds.items[0] == {"text": "good"} and ds.human == ["positive", "negative"] and ds.source is None
    with pytest.raises(InputError, match="column 'nope' not found"):
        ds.column("nope")
    with Store(tmp_path / "s.sqlite") as st:
        with open_store(st) as same:
            assert same is st
        assert st.count() == 0  # still open
    with open_store(tmp_path / "t.sqlite") as own:
        pass
    with pytest.raises(JuryboxError, match="cannot read"):  # closed on leaving the block
        own.count()


def test_audit_and_agreement_entry_points(tmp_path):
    df = pd.DataFrame({"instruction": ["i1", "i2", "i3"], "response_a": ["a", "bb", "c"],
                       "response_b": ["xx", "y", "zz"], "gold": ["A", "B", "A"], "part": ["x", "y", "x"]})
    rep = jurybox.audit_dataset(df, "pairwise", model=ScriptedBackend(), probes=["position", "leniency"],
                                human="gold", slice_field="part", n_resamples=50, store=tmp_path / "s.sqlite")
    assert rep.n_items == 3 and set(rep.results) == {"position", "leniency"}
    with pytest.raises(JuryboxError, match="pairwise or score"):
        jurybox.audit_dataset(df, "classify", labels=["a", "b"])
    verdicts = pd.DataFrame({"verdict": ["A", "B", "A"], "verdict_status": ["ok", "ok", "unparsed"],
                             "gold": ["A", "B", "B"]})
    table = jurybox.agreement_table(verdicts, "gold")
    assert table.status_field == "verdict_status" and table.source == "column 'gold'"
    reports = jurybox.agreement(table, n_resamples=20)
    assert reports["(all)"].n_used == 2


def test_cli_names_the_flag_of_a_library_error(tmp_path, monkeypatch, capsys):
    from jurybox.cli import cli_message, main

    assert cli_message(OptionError("scale expects LO-HI", option="scale")) == "--scale expects LO-HI"
    assert cli_message(InputError("bad", option="text_field")) == "bad (--text-field)"
    data = tmp_path / "d.jsonl"
    data.write_text('{"response": "r"}\n')
    monkeypatch.setattr(sys, "argv", ["jurybox"])
    with pytest.raises(SystemExit) as e:
        main(["judge", str(data), "--model", "scripted", "--backend-option", "nope=1", "--quiet"])
    assert e.value.code == 2 and "unknown option 'nope' for the scripted backend" in capsys.readouterr().err


def test_batch_write_takes_param_and_backend_option(tmp_path, capsys):
    from jurybox.cli import main

    data = tmp_path / "d.jsonl"
    data.write_text('{"response": "r1"}\n{"response": "r2"}\n')
    out = tmp_path / "batch.jsonl"
    main(["batch", "write", str(data), "--out", str(out), "--model", "openai:m@http://127.0.0.1:9/v1",
          "--param", "scale=1-3", "--backend-option", "top_logprobs=5"])
    assert len(out.read_text().splitlines()) == 2 and "wrote 2 requests" in capsys.readouterr().out


def test_public_api_is_curated():
    assert "audit_dataset" in jurybox.__all__ and "JudgeSpec" in jurybox.__all__
    for name in jurybox.__all__:
        assert getattr(jurybox, name) is not None
