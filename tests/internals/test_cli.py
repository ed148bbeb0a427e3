"""`jurybox internals qk|clue|spa`: bad input is one line and exit 2 (before any model loads); spa end to end
on the scripted-free tiny path is covered by test_backend.py."""

from __future__ import annotations

import pytest

from jurybox.cli import main


def test_spa_names_a_missing_column(tmp_path, capsys):
    data = tmp_path / "pairs.jsonl"
    data.write_text('{"instruction": "x", "response_a": "y"}\n')
    with pytest.raises(SystemExit) as e:
        main(["internals", "spa", str(data), "--policy", "qwen2.5-coder-1.5b"])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and "column 'response_b' not found" in err and len(err.splitlines()) == 1


def test_qk_refuses_questions_without_an_answer_key(tmp_path, capsys):
    data = tmp_path / "exam.csv"
    data.write_text("question,choice0,choice1,answer\nq1,a,b,0\nq2,a,b,\n")
    with pytest.raises(SystemExit) as e:
        main(["internals", "qk", str(data)])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and "row 2, field 'answer'" in err and len(err.splitlines()) == 1


def test_qk_rejects_a_bad_dtype(tmp_path, capsys):
    data = tmp_path / "exam.csv"
    data.write_text("question,choice0,choice1,answer\nq1,a,b,0\n")
    with pytest.raises(SystemExit) as e:
        main(["internals", "qk", str(data), "--dtype", "int8"])
    assert e.value.code == 2 and "--dtype must be bfloat16 or float32" in capsys.readouterr().err


def test_help_lists_the_three_commands(capsys):
    try:
        main(["internals", "--help"])
    except SystemExit as e:
        assert e.code in (0, None)
    out = capsys.readouterr().out
    assert all(c in out for c in ("qk", "clue", "spa")) and "jurybox[internals]" in out
