"""Run an engine's tasks on a Ray cluster with Ray Data.

The driver turns the tasks the store does not have into a dataset of ``(key, request)`` rows;
``map_batches`` sends batches to a pool of worker actors, each holding its own copy of the
backend (the ``openai`` backend pickles its configuration only: no session, no API key, which each
worker reads from its own environment). A worker calls the backend through :func:`jurybox.backends.base.call` (or ``acall``,
``concurrency`` calls at once, for a concurrent :class:`~jurybox.backends.base.AsyncBackend`) and
returns the :class:`~jurybox.backends.base.Outcome` of each row as ``(key, result, latency, error,
fatal)`` columns. The driver reads result batches as they stream in and calls the engine's
``finish`` for each key once, which commits the verdict to the driver's store under the same
task key as an in-process run.

Fault tolerance: Ray Data restarts a killed worker actor and retries its batch (actors are
created with ``max_restarts=-1, max_task_retries=-1``). A retried batch calls the model again for
its tasks, but only one result per key reaches the driver (the driver skips keys it has finished,
and the store's primary key ignores a second write), so nothing is lost or duplicated.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import threading
import time
from collections.abc import Sequence
from typing import Any

from jurybox.backends.base import AsyncBackend, Backend, Outcome, acall, call, concurrency, is_concurrent
from jurybox.engine import Finish, RunStats, too_long_error
from jurybox.errors import JuryboxError
from jurybox.types import Request, Task


class _Worker:
    """A Ray Data actor: calls the backend for a batch of ``(key, request)`` rows."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.loop: asyncio.AbstractEventLoop | None = None

    async def _run_async(self, backend: AsyncBackend, requests: list[Request]) -> list[Outcome]:
        sem = asyncio.Semaphore(concurrency(backend))

        async def one(request: Request) -> Outcome:
            async with sem:
                return await acall(backend, request)

        return list(await asyncio.gather(*(one(r) for r in requests)))

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        keys = [str(k) for k in batch["key"]]
        requests: list[Request] = [pickle.loads(b) for b in batch["request"]]
        backend = self.backend
        if is_concurrent(backend):
            if self.loop is None:
                self.loop = asyncio.new_event_loop()
            outs = self.loop.run_until_complete(self._run_async(backend, requests))
        else:
            outs = [call(backend, r) for r in requests]
        pid = os.getpid()
        return {
            "key": keys,
            "result": [pickle.dumps(o.result) if o.result is not None else b"" for o in outs],
            "latency": [o.latency_s for o in outs],
            "error": [o.error or "" for o in outs],
            "fatal": [o.too_long or "" for o in outs],
            "pid": [pid] * len(keys),
        }


class RayStartError(JuryboxError):
    """Ray did not start (or the cluster could not be reached) within the executor's time limit."""


def _init_once(ray: Any, kwargs: dict[str, Any], timeout: float) -> str | None:
    """Run ``ray.init(**kwargs)`` with a time limit; None when Ray is up, else why not.

    ``ray.init`` has no overall timeout (a local start on a loaded machine, or a cluster that does
    not answer, can wait for minutes), so it runs in a daemon thread that is abandoned on timeout.
    Ray's processes die with the thread that started them (``PR_SET_PDEATHSIG``), so after a
    successful start that thread stays, asleep, until Ray is shut down.
    """
    box: dict[str, BaseException] = {}
    answered = threading.Event()

    def target() -> None:
        try:
            ray.init(**kwargs)
        except BaseException as exc:  # reported to the caller
            box["error"] = exc
            return
        finally:
            answered.set()
        while ray.is_initialized():
            time.sleep(0.5)

    quiet = _NotMainThreadFilter()
    log = logging.getLogger("ray._private.worker")
    log.addFilter(quiet)
    try:
        t = threading.Thread(target=target, name="jurybox-ray-init", daemon=True)
        t.start()
        answered.wait(timeout)
    finally:
        log.removeFilter(quiet)
    if not answered.is_set():
        return f"ray.init gave no answer within {timeout:g} s"
    if "error" in box:
        exc = box["error"]
        text = " ".join(str(exc).split())[:300]
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if not ray.is_initialized():
        return "ray.init returned but Ray is not initialised"
    return None


class _NotMainThreadFilter(logging.Filter):
    """Drops Ray's warning that ``ray.init`` outside the main thread sets no SIGTERM handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("SIGTERM handler is not set")


class RayExecutor:
    """Spread tasks over a Ray cluster: ``workers`` actors, ``batch_size`` tasks per call.

    ``address`` is a Ray cluster address (``ray://HOST:10001`` or ``HOST:6379``, or "auto"); None
    starts a local cluster in this process (``num_cpus`` logical CPUs). ``num_cpus_per_worker`` is
    what each actor reserves (HTTP-bound workers need little). ``forward_env`` names environment
    variables to copy into the workers' runtime environment (for a remote cluster whose workers
    lack the API key; note that Ray then holds the value). ``worker_pids`` collects the processes
    that produced results.

    Starting Ray (or connecting to ``address``) gets ``init_timeout`` seconds; on a timeout or an
    error Ray is shut down and tried once more, then :class:`RayStartError` says what failed.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int = 2,
        batch_size: int | None = None,
        num_cpus_per_worker: float = 0.25,
        num_cpus: int | None = None,
        forward_env: Sequence[str] = (),
        init_timeout: float = 60.0,
    ) -> None:
        if workers < 1:
            raise JuryboxError(f"the ray executor needs at least one worker, got {workers}")
        if init_timeout <= 0:
            raise JuryboxError(f"init_timeout must be > 0 seconds, got {init_timeout}")
        self.init_timeout = float(init_timeout)
        self.address = address
        self.workers = workers
        self.batch_size = batch_size
        self.num_cpus_per_worker = num_cpus_per_worker
        self.num_cpus = num_cpus
        self.forward_env = tuple(forward_env)
        self.worker_pids: set[int] = set()
        self._started = False

    def _init(self) -> Any:
        try:
            import ray
            import ray.data  # noqa: F401
        except ImportError as exc:
            raise JuryboxError("the ray executor needs Ray Data: pip install 'ray[data]'") from exc
        if not ray.is_initialized():
            env = {k: os.environ[k] for k in self.forward_env if k in os.environ}
            kwargs: dict[str, Any] = {"log_to_driver": False, "include_dashboard": False,
                                      "configure_logging": False}
            if env:
                kwargs["runtime_env"] = {"env_vars": env}
            if self.address is None:
                kwargs["num_cpus"] = self.num_cpus or max(2, self.workers)
            else:
                kwargs["address"] = self.address
            self._start(ray, kwargs)
            self._started = True
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        return ray

    def _start(self, ray: Any, kwargs: dict[str, Any]) -> None:
        """``ray.init`` with a time limit, tried twice; a one-line :class:`RayStartError` after that."""
        reasons: list[str] = []
        for _ in range(2):
            reason = _init_once(ray, kwargs, self.init_timeout)
            if reason is None:
                return
            reasons.append(reason)
            with contextlib.suppress(Exception):  # whatever half-started goes before the next attempt
                ray.shutdown()
        what = ("start a local Ray cluster" if self.address is None
                else f"connect to the Ray cluster at {self.address}")
        hint = ("check that the cluster is up (ray status) and reachable from here" if self.address is not None
                else "check free CPUs and memory (another heavy process?)")
        raise RayStartError(f"could not {what} (tried twice, {self.init_timeout:g} s each; last: {reasons[-1]}); "
                            f"{hint}, give it longer with RayExecutor(init_timeout=...), or use --executor local")

    def run(self, todo: Sequence[Task], backend: Backend, finish: Finish, stats: RunStats) -> None:
        ray = self._init()
        try:
            pickle.dumps(backend)
        except Exception as exc:
            raise JuryboxError(f"the {backend.name} backend cannot be sent to Ray workers ({exc}); "
                               "use an openai: backend with --executor ray") from exc
        by_key = {t.key: t for t in todo}
        batch = self.batch_size or max(8, min(256, 4 * concurrency(backend)))
        rows = [{"key": t.key, "request": pickle.dumps(t.request)} for t in by_key.values()]
        n_blocks = max(1, min(len(rows), (len(rows) + batch - 1) // batch))
        ds = ray.data.from_items(rows, override_num_blocks=n_blocks)
        out = ds.map_batches(_Worker, fn_constructor_kwargs={"backend": backend}, batch_size=batch,
                             compute=ray.data.ActorPoolStrategy(size=self.workers), num_cpus=self.num_cpus_per_worker, batch_format="numpy")
        done: set[str] = set()
        for b in out.iter_batches(batch_size=None, batch_format="numpy"):
            for key, blob, latency, error, fatal, pid in zip(b["key"], b["result"], b["latency"], b["error"],
                                                             b["fatal"], b["pid"], strict=True):
                key = str(key)
                if key in done or key not in by_key:
                    continue
                self.worker_pids.add(int(pid))
                task = by_key[key]
                outcome = Outcome(pickle.loads(blob) if blob else None, float(latency), str(error) or None,
                                  str(fatal) or None)
                if outcome.too_long is not None:
                    raise too_long_error(task, outcome)
                done.add(key)
                stats.model_calls += 1
                finish(task, outcome.result, outcome.latency_s, outcome.error)
        missing = [k for k in by_key if k not in done]
        for k in missing:  # should not happen: Ray returns every row or raises
            finish(by_key[k], None, 0.0, "no result came back from the Ray workers")

    def close(self) -> None:
        """Shut Ray down if this executor started it."""
        if self._started:
            import ray

            ray.shutdown()
            self._started = False
