"""Provider batch files: run large jobs through the OpenAI Batch API at batch prices.

``write_batch_input`` writes one JSONL line per task that the store does not have yet::

    {"custom_id": TASK_KEY, "method": "POST", "url": "/v1/chat/completions", "body": {...}}

The body is exactly what the live ``openai`` backend would send. You upload the file and fetch the
output yourself; ``import_batch_output`` then reads the output (and error) files back into the
store under the same task keys (``custom_id`` is the key), so the verdicts are the ones a live run
would have stored and a later ``jurybox judge`` with the same settings finds them all. Lines that
carry an error, and tasks that have no line in the files, are recorded in the store's failures
table with the reason (and are retried by the next run or batch).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from jurybox.atomic import atomic_write
from jurybox.backends.base import Backend
from jurybox.engine import Finish, Judge, RunStats, build_tasks
from jurybox.errors import InputError, JuryboxError
from jurybox.items import load_dataset
from jurybox.protocols.base import JudgeProtocol
from jurybox.spec import JudgeSpec
from jurybox.store import Store, open_store
from jurybox.types import BackendResult, Task

__all__ = ["BatchOutputExecutor", "BatchWrite", "batch_lines", "read_output_lines", "write_batch_input"]

ENDPOINT = "/v1/chat/completions"
MAX_LINES = 50_000  # the Batch API's limit of requests per input file


def _openai(backend: Backend) -> Any:
    from jurybox.backends.openai import OpenAIBackend

    if not isinstance(backend, OpenAIBackend):
        raise JuryboxError(f"batch files need an openai backend (openai:MODEL@URL), not {backend.name}")
    return backend


def _atomic_write(path: Path, lines: Iterable[str]) -> None:
    with atomic_write(path) as f:
        for line in lines:
            f.write(line + "\n")


def batch_lines(tasks: Sequence[Task], backend: Backend) -> list[str]:
    """One Batch API input line per task (``custom_id`` = task key), in task order."""
    be = _openai(backend)
    return [json.dumps({"custom_id": t.key, "method": "POST", "url": ENDPOINT, "body": be.request_body(t.request)},
                       ensure_ascii=False, separators=(",", ":")) for t in tasks]


@dataclass(frozen=True)
class BatchWrite:
    """What ``write_batch_input`` wrote: the files, the number of requests, and the tasks already stored."""

    files: tuple[Path, ...]
    n_requests: int
    n_cached: int

    def to_dict(self) -> dict[str, Any]:
        return {"files": [str(f) for f in self.files], "n_requests": self.n_requests, "n_cached": self.n_cached}


def _write_requests(todo: Sequence[Task], backend: Backend, out: str | os.PathLike[str], n_cached: int,
                    max_lines: int) -> BatchWrite:
    lines = batch_lines(todo, backend)
    out = Path(out)
    chunks = [lines[i:i + max_lines] for i in range(0, len(lines), max_lines)] or [[]]
    if len(chunks) == 1:
        paths = [out]
    else:
        paths = [out.with_name(f"{out.stem}.part{i + 1}{out.suffix or '.jsonl'}") for i in range(len(chunks))]
    for p, chunk in zip(paths, chunks, strict=True):
        _atomic_write(p, chunk)
    return BatchWrite(tuple(paths), len(lines), n_cached)


def write_batch_input(
    data: pd.DataFrame | str | os.PathLike[str],
    protocol: str | JudgeProtocol | JudgeSpec = "score",
    *,
    model: str | Backend | None = None,
    out: str | os.PathLike[str],
    store: Store | str | os.PathLike[str] | None = None,
    fields: Sequence[str] | Mapping[str, str] | None = None,
    max_lines: int = MAX_LINES,
    encoding: str | None = None,
    **protocol_params: Any,
) -> BatchWrite:
    """Write a Batch API input file for the tasks of judging ``data`` that the store does not have
    (``protocol``, ``model`` and the keyword parameters as for :func:`jurybox.judge`, or a
    :class:`JudgeSpec`)."""
    from jurybox.spec import as_spec

    spec = as_spec(protocol, model, protocol_params)
    if spec.model is None:
        raise JuryboxError("batch files need an openai model (openai:MODEL@URL)", option="model")
    proto = spec.make_protocol()
    ds = load_dataset(data, proto, fields=fields, encoding=encoding)
    backend = spec.make_backend()
    tasks, _ = build_tasks(Judge(proto, backend, spec.name), ds.items)
    with open_store(store) as st:
        todo, done = st.pending(tasks)
    return _write_requests(todo, backend, out, len(done), max_lines)


def read_output_lines(paths: Sequence[str | os.PathLike[str]]) -> dict[str, dict[str, Any]]:
    """The lines of Batch API output/error files by ``custom_id`` (a later success beats an error)."""
    by_id: dict[str, dict[str, Any]] = {}
    for path in paths:
        p = Path(path)
        if not p.is_file():
            raise InputError("batch output file not found", file=str(p))
        with p.open(encoding="utf-8") as f:
            for i, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"not a JSON line ({exc.msg})", file=str(p), row=i) from exc
                cid = obj.get("custom_id") if isinstance(obj, dict) else None
                if not isinstance(cid, str):
                    raise InputError("line has no custom_id", file=str(p), row=i, field="custom_id")
                if cid not in by_id or _line_error(by_id[cid]) is not None:
                    by_id[cid] = obj
    return by_id


def _line_error(obj: Mapping[str, Any]) -> str | None:
    """Why an output line carries no answer, or None when it does."""
    err = obj.get("error")
    if err:
        if isinstance(err, Mapping):
            return f"batch error {err.get('code') or ''}: {err.get('message') or ''}".strip()
        return f"batch error: {err}"
    resp = obj.get("response") or {}
    status = resp.get("status_code")
    body = resp.get("body")
    if status != 200:
        msg = ((body or {}).get("error") or {}).get("message", "") if isinstance(body, Mapping) else ""
        return f"batch request failed with HTTP {status}" + (f": {msg}" if msg else "")
    if not isinstance(body, Mapping) or not body.get("choices"):
        return "batch response has no choices"
    return None


class BatchOutputExecutor:
    """An engine executor that takes each task's answer from Batch API output files instead of calling.

    Use it with ``run_judge(..., model=SAME_MODEL, executor=BatchOutputExecutor([path]))``: tasks
    already in the store are skipped by the engine; each remaining task is finished with its line's
    answer, its line's error, or "no answer in the batch output" when no line has its key.
    """

    def __init__(self, paths: Sequence[str | os.PathLike[str]]) -> None:
        self.lines = read_output_lines(paths)
        self.n_matched = 0

    def run(self, todo: Sequence[Task], backend: Backend, finish: Finish, stats: RunStats) -> None:
        be = _openai(backend)
        for task in todo:
            obj = self.lines.get(task.key)
            if obj is None:
                finish(task, None, 0.0, "no answer in the batch output files")
                continue
            self.n_matched += 1
            err = _line_error(obj)
            if err is not None:
                finish(task, None, 0.0, err)
                continue
            result: BackendResult | None = be.read_response(task.request, obj["response"]["body"])
            if result is None:
                finish(task, None, 0.0, "batch response has no logprobs for an options request")
                continue
            finish(task, result, 0.0, None)

