import json

import pandas as pd
import pytest

from jurybox.errors import InputError, JuryboxError
from jurybox.items import extract_items, output_names, parse_field_map, read_table, write_table


def test_read_formats_roundtrip(tmp_path):
    df = pd.DataFrame({"q": ["a", "b"], "n": [1, 2]})
    for ext in ("jsonl", "csv", "parquet"):
        p = tmp_path / f"d.{ext}"
        write_table(df, p)
        back = read_table(p)
        assert list(back["q"]) == ["a", "b"]


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(InputError, match="nope.jsonl: file not found"):
        read_table(tmp_path / "nope.jsonl")
    (tmp_path / "e.jsonl").write_text("")
    with pytest.raises(InputError, match="e.jsonl: file is empty"):
        read_table(tmp_path / "e.jsonl")
    (tmp_path / "h.csv").write_text("a,b\n")
    with pytest.raises(InputError, match="no rows"):
        read_table(tmp_path / "h.csv")


def test_malformed_json_line_is_named(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"a": 1}\n\n{"a": 2,}\n')
    with pytest.raises(InputError, match=r"bad.jsonl: line 3: malformed JSON"):
        read_table(p)
    p.write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(InputError, match="line 2: expected a JSON object"):
        read_table(p)


def test_field_mapping_and_missing_field_lists_columns():
    df = pd.DataFrame({"prompt": ["p"], "output_1": ["x"], "output_2": ["y"]})
    fm = parse_field_map(["instruction=prompt", "response_a=output_1", "response_b=output_2"])
    items = extract_items(df, ("instruction", "response_a", "response_b"), (), fm, source="d.csv")
    assert items == [{"instruction": "p", "response_a": "x", "response_b": "y"}]
    with pytest.raises(InputError) as e:
        extract_items(df, ("instruction", "response_a", "response_b"), (), {}, source="d.csv")
    msg = str(e.value)
    assert "d.csv" in msg and "'instruction'" in msg and "prompt, output_1, output_2" in msg
    with pytest.raises(JuryboxError, match="PROTOCOL_FIELD=COLUMN"):
        parse_field_map(["response_a"])
    with pytest.raises(JuryboxError, match="unknown protocol field"):
        extract_items(df, ("instruction",), (), {"answer": "prompt"})


def test_empty_required_value_names_row_and_field():
    df = pd.DataFrame({"text": ["ok", None, "x"]})
    with pytest.raises(InputError, match=r"d.jsonl, row 2, field 'text'"):
        extract_items(df, ("text",), (), {}, source="d.jsonl")


def test_output_names_never_collide():
    assert output_names(["text", "label"])["verdict"] == "verdict"
    names = output_names(["text", "verdict"])
    assert names["verdict"] == "jurybox_verdict" and names["verdict_probs"] == "jurybox_verdict_probs"
    names = output_names(["verdict_status", "jurybox_verdict"])
    assert not {"verdict_status", "jurybox_verdict"} & set(names.values())


def test_write_is_atomic_on_failure(tmp_path):
    class Boom:
        def __repr__(self):
            raise RuntimeError("boom")
    p = tmp_path / "out.jsonl"
    p.write_text("previous\n")
    df = pd.DataFrame({"a": [object()]})
    with pytest.raises(TypeError):
        write_table(df, p)
    assert p.read_text() == "previous\n"
    assert [x.name for x in tmp_path.iterdir()] == ["out.jsonl"]


def test_csv_output_serialises_dicts(tmp_path):
    df = pd.DataFrame({"a": [1], "verdict_probs": [{"x": 0.25}]})
    write_table(df, tmp_path / "o.csv")
    back = pd.read_csv(tmp_path / "o.csv")
    assert json.loads(back["verdict_probs"][0]) == {"x": 0.25}


def test_output_file_gets_the_usual_permissions(tmp_path):
    import os
    import stat
    umask = os.umask(0o022)
    try:
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "o.jsonl")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "o.jsonl").stat().st_mode) == 0o644
