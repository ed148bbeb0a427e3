"""Bad input gives one line naming the file, row or option, exit status 2, and no traceback."""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest

from jurybox.api import run_judge
from jurybox.backends.scripted import ScriptedBackend
from jurybox.errors import InputError, JuryboxError, PromptTooLong, StoreError
from jurybox.items import read_table
from jurybox.store import Store
from jurybox.types import GenerateRequest, Generation, OptionScores, OptionsRequest

from .conftest import assert_one_line_error, run_cli


@pytest.fixture
def data(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text("".join(json.dumps({"response": f"r{i}", "text": f"t{i}"}) + "\n" for i in range(3)))
    return p


# -- 3. usage errors through the real console script
@pytest.mark.parametrize("args, words", [
    (["judge", "{data}", "--lables", "a,b"], ["--lables"]),
    (["judge"], ["Missing argument", "DATASET"]),
    (["judge", "{data}", "--protocol", "pairwise", "--tie-threshold", "abc"], ["--tie-threshold", "invalid value"]),
])
def test_usage_errors_are_one_line_exit_2(tmp_path, data, args, words):
    proc = run_cli(*[a.format(data=data) for a in args], cwd=tmp_path)
    line = assert_one_line_error(proc)
    for w in words:
        assert w.lower() in line.lower(), line


def test_errors_cmd_does_not_import_click():
    import ast
    import pathlib

    import jurybox

    root = pathlib.Path(jurybox.__file__).parent
    for f in root.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "click" or n.startswith("click.") for n in names), f


# -- 4. a partly corrupt store
def _fill_store(path, n=400):
    backend = ScriptedBackend()
    df = pd.DataFrame({"response": [f"response number {i} " + "x" * 200 for i in range(n)]})
    run_judge(df, "score", model=backend, store=path)
    return df


def _damage(path):
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        n = conn.execute("PRAGMA page_count").fetchone()[0]
    raw = bytearray(path.read_bytes())
    for p in range(n // 3, n - 1):  # garble the middle pages, keep the header and schema page
        raw[p * page + 8: p * page + 200] = b"\xa5" * 192
    path.write_bytes(bytes(raw))


def test_partly_corrupt_store_is_one_line_naming_the_file(tmp_path):
    store = tmp_path / "s.sqlite"
    df = _fill_store(store)
    _damage(store)
    with pytest.raises(StoreError) as e:
        with Store(store) as st:
            st.get_many([f"{i:064x}" for i in range(10)])
    msg = str(e.value)
    assert str(store) in msg and "move it aside" in msg
    data = tmp_path / "d.csv"
    df.to_csv(data, index=False)
    proc = run_cli("judge", data, "--store", store, "--model", "openai:m@http://127.0.0.1:9/v1", "--quiet",
                   cwd=tmp_path)
    line = assert_one_line_error(proc)
    assert str(store) in line and "damaged" in line


def test_store_of_random_bytes_still_one_line(tmp_path):
    store = tmp_path / "s.sqlite"
    store.write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(StoreError, match="cannot open the verdict store"):
        Store(store)


def test_store_read_errors_become_store_errors(tmp_path):
    store = tmp_path / "s.sqlite"
    st = Store(store)
    st.conn.execute("DROP TABLE verdicts")  # any SQLite error on a read, not only a damaged file
    with pytest.raises(StoreError, match=str(store)):
        st.get_many(["k"])
    with pytest.raises(StoreError, match=str(store)):
        st.count()
    st.close()


# -- 5. duplicate columns
def test_duplicate_csv_columns_are_refused(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("id,text,text,label\n1,a,b,positive\n")
    with pytest.raises(InputError, match=r"d.csv, field 'text': column 'text' appears more than once"):
        read_table(p)
    proc = run_cli("judge", p, "--protocol", "classify", "--labels", "positive,negative", "--quiet", cwd=tmp_path)
    assert "'text'" in assert_one_line_error(proc)


def test_duplicate_jsonl_keys_and_dataframe_columns_are_refused(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"text": "a", "label": "x"}\n{"text": "a", "text": "b"}\n')
    with pytest.raises(InputError, match=r"line 2: duplicate key 'text'"):
        read_table(p)
    df = pd.DataFrame([["a", "b"]], columns=["text", "text"])
    with pytest.raises(InputError, match="column 'text' appears more than once"):
        run_judge(df, "classify", labels=["x", "y"], model=ScriptedBackend())


# -- 6. messages that name the right thing
class _ShortContext(ScriptedBackend):
    """A scripted backend with a 50-word context window."""

    def _fits(self, text: str) -> None:
        if len(text.split()) > 50:
            raise PromptTooLong(len(text.split()), 50, 1)

    def option_logprobs(self, request: OptionsRequest) -> OptionScores:
        self._fits("\n".join(m.content for m in request.prompt.messages))
        return super().option_logprobs(request)

    def generate(self, request: GenerateRequest) -> Generation:
        self._fits("\n".join(m.content for m in request.prompt.messages))
        return super().generate(request)


def test_prompt_too_long_names_file_row_and_field(tmp_path):
    p = tmp_path / "d.csv"
    pd.DataFrame({"review": ["short", "long " * 300, "short"]}).to_csv(p, index=False)
    with pytest.raises(InputError) as e:
        run_judge(p, "classify", labels=["positive", "negative"], fields=["text=review"], model=_ShortContext())
    msg = str(e.value)
    assert msg.startswith(f"{p}, row 2, field 'review': the prompt is"), msg
    assert "context window" in msg


def test_latin1_csv_names_file_line_and_encoding(tmp_path):
    p = tmp_path / "d.csv"
    p.write_bytes("text\nfine\ncaf\xe9 cr\xe8me\n".encode("latin-1"))
    with pytest.raises(InputError) as e:
        read_table(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}: line 3, column 4: byte 0xe9 is not valid UTF-8"), msg
    assert "--encoding" in msg
    assert read_table(p, encoding="latin-1")["text"].tolist() == ["fine", "café crème"]
    proc = run_cli("judge", p, "--protocol", "classify", "--labels", "a,b", "--quiet", cwd=tmp_path)
    assert "line 3" in assert_one_line_error(proc)
    proc = run_cli("judge", p, "--encoding", "klingon", "--quiet", cwd=tmp_path)
    assert "unknown encoding" in assert_one_line_error(proc)


@pytest.mark.parametrize("args, expect", [
    (["--protocol", "bogus", "--labels", "x,y"], "unknown protocol 'bogus'"),
    (["--protocol", "classify", "--labels", "x,y", "--scale", "5-1"], "--scale does not apply to --protocol classify"),
    (["--protocol", "score", "--labels", "x,y"], "--labels does not apply to --protocol score"),
    (["--protocol", "score", "--orders", "AB"], "--orders does not apply to --protocol score"),
    (["--protocol", "classify", "--labels", "x,y", "--tie-threshold", "0.5"], "--tie-threshold does not apply"),
    (["--protocol", "pairwise", "--describe", "A=first"], "--describe does not apply to --protocol pairwise"),
    (["--protocol", "score", "--scale", "5-1"], "--scale expects LO-HI with LO below HI"),
    (["--protocol", "classify"], "--protocol classify needs --labels"),
])
def test_protocol_options_are_checked_alike(tmp_path, data, args, expect):
    proc = run_cli("judge", data, *args, "--quiet", "--model", "openai:m@http://127.0.0.1:9/v1", cwd=tmp_path)
    assert expect in assert_one_line_error(proc)


def test_protocol_options_in_process():
    from jurybox.commands._options import judge_spec

    p = judge_spec("pairwise", orders="AB", template="default").protocol_params()
    assert p == {"template": "default", "orders": "AB"}
    with pytest.raises(JuryboxError, match="--scale does not apply"):
        judge_spec("classify", labels="a,b", scale="5-1", template="default")


def _latin1_labelled(tmp_path):
    p = tmp_path / "l.csv"
    p.write_bytes("text,label\ncaf\xe9 cr\xe8me,positive\nna\xefve,negative\nfine,positive\n".encode("latin-1"))
    return p


def test_errors_find_and_apply_read_a_latin1_csv_with_encoding(tmp_path, fake_server):
    p, out = _latin1_labelled(tmp_path), tmp_path / "flagged.jsonl"
    args = ("errors", p, "--label-field", "label", "--model", fake_server.model(), "--out", out,
            "--store", tmp_path / "s.sqlite", "--quiet")
    line = assert_one_line_error(run_cli(*args, cwd=tmp_path))
    assert "line 2" in line and "--encoding" in line and fake_server.calls == 0
    proc = run_cli(*args, "--encoding", "latin-1", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rows"] == 3
    assert read_table(out)["text"].tolist() == ["naïve"]  # the flagged row, decoded
    proc = run_cli("errors", "apply", out, "--dataset", p, "--label-field", "label", "--out",
                   tmp_path / "clean.csv", "--encoding", "latin-1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_audit_and_jury_read_a_latin1_file_with_encoding(tmp_path, fake_server):
    p = tmp_path / "pairs.csv"
    p.write_bytes("instruction,response_a,response_b\ncaf\xe9,a,b\nna\xefve,c,d\n".encode("latin-1"))
    proc = run_cli("audit", p, "--model", fake_server.model(), "--probes", "position", "--resamples", "20",
                   "--store", tmp_path / "s.sqlite", "--quiet", "--encoding", "latin-1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    cfg = tmp_path / "jury.yaml"
    base = f"data: {p}\nstore: {tmp_path / 's.sqlite'}\nprotocol: pairwise\njudges: [{{model: '{fake_server.model()}'}}]\n"
    cfg.write_text(base)
    assert "--encoding" in assert_one_line_error(run_cli("jury", cfg, "--quiet", cwd=tmp_path))
    cfg.write_text(base + "encoding: latin-1\n")
    proc = run_cli("jury", cfg, "--quiet", "--out", tmp_path / "j.jsonl", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_only_a_damaged_file_is_called_damaged(tmp_path):
    import sqlite3

    from jurybox.store import Store

    with Store(tmp_path / "s.sqlite") as st:
        said = "the file is damaged"
        assert said in str(st._error("read", sqlite3.DatabaseError("database disk image is malformed")))
        assert said in str(st._error("open", sqlite3.DatabaseError("file is not a database")))
        closed = str(st._error("read", sqlite3.ProgrammingError("Cannot operate on a closed database.")))
        assert said not in closed and "closed database" in closed and str(tmp_path) in closed
