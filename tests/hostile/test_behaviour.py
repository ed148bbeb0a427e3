"""What a user would expect: outputs checked before the run, failures in the exit status,
byte-order marks accepted, file modes kept."""

from __future__ import annotations

import json
import os
import stat

import pandas as pd
import pytest

from jurybox.atomic import atomic_write
from jurybox.items import read_table, write_table

from .conftest import FakeServer, assert_one_line_error, run_cli


@pytest.fixture
def data(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text("".join(json.dumps({"response": f"r{i}"}) + "\n" for i in range(4)))
    return p


# -- 7. an unwritable output is found before the first model call
@pytest.mark.parametrize("where", ["under-a-file", "a-directory", "bad-suffix"])
def test_unwritable_out_fails_before_any_model_call(tmp_path, data, fake_server, where):
    (tmp_path / "plain.txt").write_text("x")
    (tmp_path / "adir.jsonl").mkdir()
    out = {"under-a-file": tmp_path / "plain.txt" / "out.jsonl", "a-directory": tmp_path / "adir.jsonl",
           "bad-suffix": tmp_path / "out.xlsx"}[where]
    proc = run_cli("judge", data, "--model", fake_server.model(), "--out", out, "--quiet",
                   "--store", tmp_path / "s.sqlite", cwd=tmp_path)
    line = assert_one_line_error(proc)
    assert str(out) in line
    assert fake_server.calls == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into a read-only directory")
def test_read_only_out_directory_fails_before_any_model_call(tmp_path, data, fake_server):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        proc = run_cli("judge", data, "--model", fake_server.model(), "--out", ro / "o.jsonl", "--quiet",
                       cwd=tmp_path)
    finally:
        ro.chmod(0o700)
    assert "cannot write output" in assert_one_line_error(proc)
    assert fake_server.calls == 0


# -- 8. failed tasks show in the exit status
def test_a_run_with_failed_tasks_exits_1_and_writes_the_output(tmp_path, data):
    out = tmp_path / "o.jsonl"
    with FakeServer(mode="echo", status=503) as server:
        proc = run_cli("judge", data, "--model", server.model(), "--out", out, "--quiet", "--json",
                       "--store", tmp_path / "s.sqlite", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["failed"] == 4
    line = assert_one_line_error(proc, status=1)
    assert "4 of 4 tasks failed" in line and "retried on the next run" in line
    assert [json.loads(x)["verdict_status"] for x in out.read_text().splitlines()] == ["error"] * 4


def test_a_run_without_failures_exits_0(tmp_path, data, fake_server):
    proc = run_cli("judge", data, "--model", fake_server.model(), "--out", tmp_path / "o.jsonl", "--quiet",
                   "--store", tmp_path / "s.sqlite", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "4 model calls, 0 failed" in proc.stdout


# -- 10. byte-order marks
def test_jsonl_and_csv_with_a_byte_order_mark_are_read(tmp_path):
    j = tmp_path / "bom.jsonl"
    j.write_bytes(b"\xef\xbb\xbf" + b'{"response": "a"}\n{"response": "b"}\n')
    c = tmp_path / "bom.csv"
    c.write_bytes(b"\xef\xbb\xbfresponse\na\nb\n")
    for p in (j, c):
        df = read_table(p)
        assert list(df.columns) == ["response"] and df["response"].tolist() == ["a", "b"]
        assert read_table(p, encoding="utf-8")["response"].tolist() == ["a", "b"]


def test_jsonl_with_a_byte_order_mark_through_the_cli(tmp_path, fake_server):
    j = tmp_path / "bom.jsonl"
    j.write_bytes(b"\xef\xbb\xbf" + b'{"response": "a"}\n')
    proc = run_cli("judge", j, "--model", fake_server.model(), "--quiet", "--store", tmp_path / "s.sqlite",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


# -- 11. file modes
def _mode(p):
    return stat.S_IMODE(p.stat().st_mode)


@pytest.mark.parametrize("ext", ["jsonl", "csv", "parquet"])
def test_rewriting_an_output_keeps_its_mode(tmp_path, ext):
    out = tmp_path / f"o.{ext}"
    df = pd.DataFrame({"a": [1, 2]})
    write_table(df, out)
    out.chmod(0o600)
    write_table(df, out)
    assert _mode(out) == 0o600
    out.chmod(0o640)
    write_table(df, out)
    assert _mode(out) == 0o640


def test_new_files_get_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "n.jsonl")
        with atomic_write(tmp_path / "n.txt") as f:
            f.write("x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "n.jsonl") == 0o640
    assert _mode(tmp_path / "n.txt") == 0o640


def test_atomic_write_keeps_the_old_file_on_error_and_follows_links(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as f:
        f.write("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.txt"]  # no temporary file left
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    with atomic_write(link) as f:
        f.write("new")
    assert link.is_symlink() and target.read_text() == "new"


def test_cli_rerun_onto_a_0600_output_keeps_0600(tmp_path, data, fake_server):
    out = tmp_path / "o.jsonl"
    args = ("judge", data, "--model", fake_server.model(), "--out", out, "--quiet", "--store", tmp_path / "s.sqlite")
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    out.chmod(0o600)
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    assert _mode(out) == 0o600


def test_every_atomic_writer_keeps_modes(tmp_path):
    """The writers of qrels, preference pairs, batch files and audit reports share atomic_write."""
    from jurybox.batchfiles import _atomic_write as batch_write
    from jurybox.commands.audit_cmd import _write_json
    from jurybox.ir.trec import _atomic_write as trec_write

    writers = {"batch.jsonl": lambda p: batch_write(p, ["{}"]), "audit.json": lambda p: _write_json(p, {"a": 1}),
               "qrels.txt": lambda p: trec_write(p, "q 0 d 1\n")}
    for name, write in writers.items():
        p = tmp_path / name
        p.write_text("old")
        p.chmod(0o640)
        write(p)
        assert _mode(p) == 0o640 and p.read_text() != "old", name


def test_a_jury_run_with_failed_tasks_exits_1(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"instruction": "i", "response_a": "a", "response_b": f"b{i}"}) + "\n"
                            for i in range(2)))
    with FakeServer(mode="echo", status=503) as server:
        cfg = tmp_path / "jury.yaml"
        cfg.write_text(f"data: {data}\nstore: {tmp_path / 's.sqlite'}\nprotocol: pairwise\n"
                       f"judges: [{{model: '{server.model()}'}}]\n")
        proc = run_cli("jury", cfg, "--quiet", cwd=tmp_path)
    line = assert_one_line_error(proc, status=1)
    assert "tasks failed" in line


def test_an_audit_with_failed_tasks_exits_1_and_writes_the_report(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"instruction": "i", "response_a": "a", "response_b": f"b{i}"}) + "\n"
                            for i in range(3)))
    report = tmp_path / "audit.json"
    with FakeServer(mode="echo", status=503) as server:
        proc = run_cli("audit", data, "--model", server.model(), "--probes", "position", "--resamples", "50",
                       "--json", report, "--store", tmp_path / "s.sqlite", "--quiet", cwd=tmp_path)
    line = assert_one_line_error(proc, status=1)
    assert "6 of 6 tasks failed" in line and "retried on the next run" in line
    assert json.loads(report.read_text())["runs"]["position"]["failed"] == 6


def test_an_audit_without_failures_exits_0(tmp_path, fake_server):
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"instruction": "i", "response_a": "a", "response_b": f"b{i}"}) + "\n"
                            for i in range(3)))
    proc = run_cli("audit", data, "--model", fake_server.model(), "--probes", "position", "--resamples", "50",
                   "--store", tmp_path / "s.sqlite", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def _labelled(tmp_path):
    data = tmp_path / "l.jsonl"
    data.write_text("".join(json.dumps({"text": f"t{i}", "label": "positive" if i % 2 else "negative"}) + "\n"
                            for i in range(4)))
    return data


def test_errors_find_with_failed_tasks_exits_1_and_writes_the_flagged_file(tmp_path):
    data, out = _labelled(tmp_path), tmp_path / "flagged.jsonl"
    with FakeServer(mode="echo", status=503) as server:
        proc = run_cli("errors", data, "--label-field", "label", "--model", server.model(), "--out", out,
                       "--store", tmp_path / "s.sqlite", "--quiet", "--json", cwd=tmp_path)
    line = assert_one_line_error(proc, status=1)
    assert "4 of 4 tasks failed" in line and "retried on the next run" in line
    assert json.loads(proc.stdout)["failed"] == 4
    assert out.exists()


def test_errors_find_without_failures_exits_0(tmp_path, fake_server):
    data = _labelled(tmp_path)
    proc = run_cli("errors", data, "--label-field", "label", "--model", fake_server.model(),
                   "--out", tmp_path / "flagged.jsonl", "--store", tmp_path / "s.sqlite", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
