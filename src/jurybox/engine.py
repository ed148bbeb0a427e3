"""The engine: expand items x judges x variants into tasks, skip stored ones, run the rest.

Every capability goes through :func:`run_tasks`: it looks up each task key in the store, calls the
backend only for the missing ones (in input order, so consecutive prompts share their prefix),
commits each verdict as it completes, and shows progress (items/s, ETA). Every model call goes
through :func:`jurybox.backends.base.call` (or ``acall``), which times it and turns its result or
failure into an :class:`~jurybox.backends.base.Outcome`.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Protocol

from jurybox.backends.base import (
    AsyncBackend,
    Backend,
    Outcome,
    acall,
    backend_label,
    call,
    concurrency,
    is_concurrent,
)
from jurybox.errors import InputError, redact
from jurybox.protocols.base import JudgeProtocol
from jurybox.store import Store
from jurybox.types import BackendResult, Record, Request, Task, Verdict, canonical_json

Interpret = Callable[[Task, BackendResult], Verdict]
Finish = Callable[[Task, "BackendResult | None", float, "str | None"], None]


class Executor(Protocol):
    """Runs tasks somewhere else (for example on a Ray cluster).

    ``run`` must call ``finish(task, result, latency_s, error)`` in the driver process once per task
    (``error`` is a message for a failed call, then ``result`` is None) and add the calls it made to
    ``stats.model_calls``. ``finish`` interprets the result and commits the verdict to the store.
    """

    def run(self, todo: Sequence[Task], backend: Backend, finish: Finish, stats: RunStats) -> None: ...


def task_key(backend_fingerprint: str, protocol_params: Mapping[str, Any] | str, request: Request, variant: str) -> str:
    """Hash of everything that can change an answer.

    The model (file hash or server + model name, context size, template mode), the protocol's
    parameters (template text, rubric, labels...), the full request (rendered messages with the item
    content, prefill, options, decoding settings and schema) and the variant (such as the order).
    """
    params = protocol_params if isinstance(protocol_params, str) else canonical_json(protocol_params)
    # Byte-identical to stable_hash({"v": 1, "model": ..., "protocol": ..., "request": ..., "variant": ...})
    # (canonical JSON sorts keys), assembled from pieces serialised once.
    text = (f'{{"model":{canonical_json(backend_fingerprint)},"protocol":{params},"request":{request.json},'
            f'"v":1,"variant":{canonical_json(variant)}}}')
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class RunStats(Record):
    n_tasks: int = 0
    n_cached: int = 0
    n_done: int = 0
    n_failed: int = 0
    model_calls: int = 0
    wall_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    run_id: str = ""
    failures: list[dict[str, Any]] = field(default_factory=list)

    def merge(self, other: RunStats) -> None:
        for k in ("n_tasks", "n_cached", "n_done", "n_failed", "model_calls", "wall_s", "prompt_tokens",
                  "completion_tokens"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.failures.extend(other.failures)
        self.run_id = other.run_id or self.run_id


class _Progress:
    """A rich progress bar on a terminal; plain periodic lines (every 10% or 30 s) otherwise."""

    def __init__(self, total: int, description: str, enabled: bool, growing: bool = False) -> None:
        self.enabled = enabled and (total > 0 or growing)
        self._p: Any = None
        self._plain = self.enabled and not sys.stderr.isatty()
        self._total, self._done, self._desc = total, 0, description
        self._t0 = self._last = time.perf_counter()
        self._next_pct = 10
        if self.enabled and not self._plain:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            class Rate(TextColumn):
                def __init__(self) -> None:
                    super().__init__("")

                def render(self, task: Any) -> Any:
                    from rich.text import Text
                    speed = task.finished_speed or task.speed
                    return Text(f"{speed:.2f} tasks/s" if speed else "- tasks/s")

            self._p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), Rate(),
                               TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("eta"),
                               TimeRemainingColumn(), console=Console(file=sys.stderr), transient=False)
            self._p.start()
            self._task = self._p.add_task(description, total=total)

    def grow(self, n: int) -> None:
        """More tasks to do (a streamed run learns its total as it goes)."""
        self._total += n
        if self._p is not None and n:
            self._p.update(self._task, total=self._total)

    def advance(self) -> None:
        if self._p is not None:
            self._p.advance(self._task)
        elif self._plain:
            self._done += 1
            now = time.perf_counter()
            pct = 100 * self._done / self._total
            if pct >= self._next_pct or now - self._last >= 30 or self._done == self._total:
                rate = self._done / max(now - self._t0, 1e-9)
                eta = (self._total - self._done) / rate if rate else float("nan")
                print(f"{self._desc}: {self._done}/{self._total} ({pct:.0f}%), {rate:.2f} tasks/s, eta {eta:.0f} s",
                      file=sys.stderr, flush=True)
                self._last = now
                while self._next_pct <= pct:
                    self._next_pct += 10

    def close(self) -> None:
        if self._p is not None:
            self._p.stop()


class _Run:
    """The bookkeeping of one :func:`run_tasks` call: which tasks are new, the verdicts by key, the
    statistics, the progress bar and the store's run record."""

    def __init__(self, store: Store, interpret: Interpret, description: str) -> None:
        self.store = store
        self.interpret = interpret
        self.description = description
        self.stats = RunStats()
        self.results: dict[str, Verdict] = {}
        self.seen: set[str] = set()
        self.bar: _Progress | None = None
        self.t0 = time.perf_counter()

    def new(self, tasks: Iterable[Task]) -> list[Task]:
        """The tasks not seen before in this run and not in the store, in input order (the stored
        ones' verdicts go to ``results``)."""
        todo, done = self.store.pending(t for t in tasks if t.key not in self.seen)
        self.seen.update(t.key for t in todo)
        self.seen.update(done)
        self.results.update(done)
        self.stats.n_tasks += len(todo) + len(done)
        self.stats.n_cached += len(done)
        return todo

    def start(self, progress: bool, total: int, growing: bool = False) -> None:
        self.stats.run_id = self.store.start_run(self.description, self.stats.n_tasks, self.stats.n_cached)
        self.bar = _Progress(total, self.description, progress, growing=growing)

    def end(self) -> tuple[dict[str, Verdict], RunStats]:
        if self.bar is not None:
            self.bar.close()
        st = self.stats
        st.wall_s = time.perf_counter() - self.t0
        self.store.finish_run(st.run_id, st.n_done, st.n_failed, n_tasks=st.n_tasks, n_cached=st.n_cached)
        return self.results, st

    def finish(self, task: Task, result: BackendResult | None, latency: float, error: str | None) -> None:
        """The :data:`Finish` of this run: store the verdict (or the failure) and advance the bar."""
        st = self.stats
        if error is not None:
            error = redact(error)  # once, before the text is stored, counted or returned (a server may echo a key)
            v = Verdict(label=None, status="error", error=error, latency_s=latency)
            self.store.put_failure(task, error, st.run_id)
            st.n_failed += 1
            st.failures.append({"key": task.key, "row": task.row + 1, "judge": task.judge_name, "error": error})
        else:
            assert result is not None
            v = self.interpret(task, result)
            v.latency_s = latency
            st.prompt_tokens += v.prompt_tokens
            st.completion_tokens += v.completion_tokens
            self.store.put(task, v, st.run_id)
            st.n_done += 1
        self.results[task.key] = v
        assert self.bar is not None
        self.bar.advance()

    def record(self, task: Task, outcome: Outcome) -> None:
        """Count a model call and finish its task; a prompt that does not fit stops the run."""
        if outcome.too_long is not None:
            raise too_long_error(task, outcome)
        self.stats.model_calls += 1
        self.finish(task, outcome.result, outcome.latency_s, outcome.error)


def too_long_error(task: Task, outcome: Outcome) -> InputError:
    """The error that stops a run at a prompt longer than the context window, naming its row."""
    return InputError(str(outcome.too_long), row=task.row + 1)


def run_tasks(
    tasks: Iterable[Task],
    backend: Backend,
    store: Store,
    interpret: Interpret,
    *,
    description: str = "judging",
    progress: bool = False,
    executor: Executor | None = None,
) -> tuple[dict[str, Verdict], RunStats]:
    """Run the tasks the store does not have; return every task's verdict by key, and run statistics.

    Tasks whose call failed (:class:`BackendCallError`) get a verdict with status "error" in the
    returned mapping, are recorded in the store's failures table, and are retried by the next run.

    Three ways to run, each over :func:`jurybox.backends.base.call` / ``acall``: an ``executor``
    gets every missing task at once (:func:`_run_with_executor`); a concurrent backend (a server) is
    streamed to (:func:`_run_streaming`: tasks are checked against the store and sent in chunks as
    ``tasks`` yields them, so the first calls go out while later prompts are still being rendered);
    anything else is called task by task in input order (:func:`_run_serial`).
    """
    run = _Run(store, interpret, description)
    if executor is not None:
        return _run_with_executor(run, tasks, backend, executor, progress)
    if is_concurrent(backend):
        return _run_streaming(run, tasks, backend, progress)
    return _run_serial(run, tasks, backend, progress)


def _run_serial(run: _Run, tasks: Iterable[Task], backend: Backend, progress: bool) -> tuple[dict[str, Verdict], RunStats]:
    """One call at a time in input order (consecutive prompts share their prefix in the KV cache);
    each verdict is committed as it completes."""
    todo = run.new(tasks)
    run.start(progress, len(todo))
    try:
        for task in todo:
            run.record(task, call(backend, task.request))
    finally:
        run.end()
    return run.results, run.stats


def _run_with_executor(run: _Run, tasks: Iterable[Task], backend: Backend, executor: Executor,
                      progress: bool) -> tuple[dict[str, Verdict], RunStats]:
    """The missing tasks handed to ``executor`` at once; its verdicts are committed in groups."""
    todo = run.new(tasks)
    run.start(progress, len(todo))
    try:
        if todo:
            with run.store.group_commit():
                executor.run(todo, backend, run.finish, run.stats)
    finally:
        run.end()
    return run.results, run.stats


def _run_streaming(run: _Run, tasks: Iterable[Task], backend: AsyncBackend,
                  progress: bool) -> tuple[dict[str, Verdict], RunStats]:
    """``backend.concurrency`` calls at once while later tasks are still being rendered; many
    verdicts a second, so they are committed in groups (see :mod:`jurybox.store`)."""
    run.start(progress, 0, growing=True)
    try:
        with run.store.group_commit():
            asyncio.run(_stream(run, tasks, backend))
    finally:
        run.end()
    return run.results, run.stats


def _chunks(tasks: Iterable[Task], size: int) -> Iterator[list[Task]]:
    it = iter(tasks)
    while chunk := list(islice(it, size)):
        yield chunk


async def _stream(run: _Run, tasks: Iterable[Task], backend: AsyncBackend) -> None:
    """A producer checks tasks against the store chunk by chunk and queues the missing ones in input
    order; ``backend.concurrency`` workers take them from the queue (bounded: memory stays flat)."""
    n_workers = concurrency(backend)
    queue: asyncio.Queue[Task | None] = asyncio.Queue(maxsize=2 * n_workers)
    too_long: list[InputError] = []
    assert run.bar is not None
    bar = run.bar

    async def produce() -> None:
        for chunk in _chunks(tasks, 64):
            todo = run.new(chunk)
            bar.grow(len(todo))
            for t in todo:
                if too_long:
                    break
                await queue.put(t)
            if too_long:
                break
            await asyncio.sleep(0)  # let the workers send what is queued before rendering more
        for _ in range(n_workers):
            await queue.put(None)

    async def worker() -> None:
        while (task := await queue.get()) is not None:
            if too_long:
                continue  # drain: the run stops at the first prompt that does not fit
            outcome = await acall(backend, task.request)
            if outcome.too_long is not None:
                too_long.append(too_long_error(task, outcome))
                continue
            run.record(task, outcome)

    try:
        await asyncio.gather(produce(), *(worker() for _ in range(n_workers)))
    finally:
        await backend.aclose()
    if too_long:
        raise too_long[0]


@dataclass
class Judge:
    """A judge: a protocol (with its template) asked of a backend. ``name`` labels it in reports."""

    protocol: JudgeProtocol
    backend: Backend
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            self.name = f"{self.protocol.name}:{self.protocol.template}@{backend_label(self.backend)}"


def iter_tasks(judge: Judge, items: Iterable[Mapping[str, Any]], per_item: list[list[Task]]) -> Iterator[Task]:
    """The tasks of a judge over the items, rendered as they are asked for; each item's tasks (in
    variant order) are appended to ``per_item``."""
    fp = judge.backend.fingerprint()
    params = canonical_json(judge.protocol.params())
    for row, item in enumerate(items):
        ts = [Task(key=task_key(fp, params, req, variant), row=row, judge_name=judge.name, variant=variant, request=req)
              for variant, req in judge.protocol.requests(item)]
        per_item.append(ts)
        yield from ts


def build_tasks(judge: Judge, items: Sequence[Mapping[str, Any]]) -> tuple[list[Task], list[list[Task]]]:
    """All tasks for a judge over the items, and each item's tasks (in variant order)."""
    per_item: list[list[Task]] = []
    flat = list(iter_tasks(judge, items, per_item))
    return flat, per_item


def evaluate(
    judge: Judge,
    items: Sequence[Mapping[str, Any]],
    store: Store,
    *,
    progress: bool = False,
    description: str | None = None,
    executor: Executor | None = None,
) -> tuple[list[Verdict], list[dict[str, Verdict]], RunStats]:
    """Judge every item: item-level verdicts, the per-variant verdicts of each item, and run stats.

    A composite backend (a cascade, a stacked jury: it has ``evaluate_items``) gets the whole items
    and runs its own judges through this function, so their calls still go through the store."""
    composite = getattr(judge.backend, "evaluate_items", None)
    if callable(composite):
        return composite(judge, items, store, progress=progress, description=description,  # type: ignore[no-any-return]
                         executor=executor)
    per_item: list[list[Task]] = []
    protocol = judge.protocol

    def interpret(task: Task, result: BackendResult) -> Verdict:
        return protocol.interpret(task.variant, result)

    by_key, stats = run_tasks(iter_tasks(judge, items, per_item), judge.backend, store, interpret, description=description or judge.name,
                              progress=progress, executor=executor)
    combined: list[Verdict] = []
    variants: list[dict[str, Verdict]] = []
    for item, ts in zip(items, per_item):
        vs = {t.variant: by_key[t.key] for t in ts}
        variants.append(vs)
        combined.append(protocol.combine(item, vs))
    return combined, variants, stats


class TaskSession:
    """Tasks created as earlier answers arrive (a sorting algorithm's comparisons), under one run
    record: each :meth:`run` call asks the store first and calls the backend only for the tasks it
    lacks, like :func:`run_tasks`, and the verdicts seen so far stay in ``results``. A task asked
    again in the same session is answered from ``results``. Use as a context manager (the run
    record is closed on exit); ``stats`` adds up every batch."""

    def __init__(self, backend: Backend, store: Store, interpret: Interpret, *, description: str = "ranking",
                 progress: bool = False) -> None:
        self.backend = backend
        self._run = _Run(store, interpret, description)
        self._run.start(progress, 0, growing=True)

    @property
    def stats(self) -> RunStats:
        return self._run.stats

    @property
    def results(self) -> dict[str, Verdict]:
        return self._run.results

    def run(self, tasks: Iterable[Task]) -> dict[str, Verdict]:
        """Answer one batch; every task's verdict by key (this batch's and the earlier ones)."""
        run = self._run
        todo = run.new(tasks)
        assert run.bar is not None
        run.bar.grow(len(todo))
        if not todo:
            return run.results
        if is_concurrent(self.backend):
            with run.store.group_commit():
                asyncio.run(_batch(run, todo, self.backend))
        else:
            for task in todo:
                run.record(task, call(self.backend, task.request))
        return run.results

    def close(self) -> RunStats:
        _, stats = self._run.end()
        return stats

    def __enter__(self) -> TaskSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _batch(run: _Run, todo: Sequence[Task], backend: AsyncBackend) -> None:
    """One batch of a :class:`TaskSession` on a concurrent backend, ``concurrency`` calls at once."""
    limit = asyncio.Semaphore(concurrency(backend))

    async def one(task: Task) -> None:
        async with limit:
            outcome = await acall(backend, task.request)
        run.record(task, outcome)

    try:
        await asyncio.gather(*(one(t) for t in todo))
    finally:
        await backend.aclose()
