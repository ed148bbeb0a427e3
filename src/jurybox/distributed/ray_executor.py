"""Run an engine's tasks on a Ray cluster with Ray Data.

The driver turns the tasks the store does not have into a dataset of ``(key, request)`` rows;
``map_batches`` sends batches to a pool of worker actors, each holding its own copy of the
backend (the ``openai`` backend pickles its configuration only: no session, no API key, which each
worker reads from its own environment). A worker runs its batch concurrently (the backend's
``concurrency`` calls at once when it has ``aexecute``) and returns ``(key, result, latency,
error)`` rows. The driver reads result batches as they stream in and calls the engine's
``finish`` for each key once, which commits the verdict to the driver's store under the same
task key as an in-process run.

Fault tolerance: Ray Data restarts a killed worker actor and retries its batch (actors are
created with ``max_restarts=-1, max_task_retries=-1``). A retried batch calls the model again for
its tasks, but only one result per key reaches the driver (the driver skips keys it has finished,
and the store's primary key ignores a second write), so nothing is lost or duplicated.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import time
from collections.abc import Sequence
from typing import Any

from jurybox.backends.base import Backend, execute
from jurybox.engine import Finish, RunStats
from jurybox.errors import BackendCallError, InputError, JuryboxError, PromptTooLong
from jurybox.types import BackendResult, Request, Task


class _Worker:
    """A Ray Data actor: calls the backend for a batch of ``(key, request)`` rows."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.loop: asyncio.AbstractEventLoop | None = None

    def _one_sync(self, request: Request) -> tuple[BackendResult | None, float, str | None, str | None]:
        s = time.perf_counter()
        try:
            return execute(self.backend, request), time.perf_counter() - s, None, None
        except BackendCallError as exc:
            return None, time.perf_counter() - s, str(exc), None
        except PromptTooLong as exc:
            return None, time.perf_counter() - s, None, str(exc)

    async def _run_async(self, requests: list[Request]) -> list[tuple[BackendResult | None, float, str | None, str | None]]:
        backend: Any = self.backend
        sem = asyncio.Semaphore(int(backend.concurrency))

        async def one(request: Request) -> tuple[BackendResult | None, float, str | None, str | None]:
            async with sem:
                s = time.perf_counter()
                try:
                    return await backend.aexecute(request), time.perf_counter() - s, None, None
                except BackendCallError as exc:
                    return None, time.perf_counter() - s, str(exc), None
                except PromptTooLong as exc:
                    return None, time.perf_counter() - s, None, str(exc)

        return list(await asyncio.gather(*(one(r) for r in requests)))

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        keys = [str(k) for k in batch["key"]]
        requests: list[Request] = [pickle.loads(b) for b in batch["request"]]
        if getattr(self.backend, "aexecute", None) is not None and getattr(self.backend, "concurrency", 1) > 1:
            if self.loop is None:
                self.loop = asyncio.new_event_loop()
            outs = self.loop.run_until_complete(self._run_async(requests))
        else:
            outs = [self._one_sync(r) for r in requests]
        pid = os.getpid()
        return {
            "key": keys,
            "result": [pickle.dumps(r) if r is not None else b"" for r, _, _, _ in outs],
            "latency": [lat for _, lat, _, _ in outs],
            "error": [e or "" for _, _, e, _ in outs],
            "fatal": [f or "" for _, _, _, f in outs],
            "pid": [pid] * len(keys),
        }


class RayExecutor:
    """Spread tasks over a Ray cluster: ``workers`` actors, ``batch_size`` tasks per call.

    ``address`` is a Ray cluster address (``ray://HOST:10001`` or ``HOST:6379``, or "auto"); None
    starts a local cluster in this process (``num_cpus`` logical CPUs). ``num_cpus_per_worker`` is
    what each actor reserves (HTTP-bound workers need little). ``forward_env`` names environment
    variables to copy into the workers' runtime environment (for a remote cluster whose workers
    lack the API key; note that Ray then holds the value). ``worker_pids`` collects the processes
    that produced results.
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
    ) -> None:
        if workers < 1:
            raise JuryboxError(f"the ray executor needs at least one worker, got {workers}")
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
            try:
                if self.address is None:
                    ray.init(num_cpus=self.num_cpus or max(2, self.workers), **kwargs)
                else:
                    ray.init(address=self.address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise JuryboxError(f"cannot connect to the Ray cluster at {self.address}: {exc}") from exc
            self._started = True
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        return ray

    def run(self, todo: Sequence[Task], backend: Backend, finish: Finish, stats: RunStats) -> None:
        ray = self._init()
        try:
            pickle.dumps(backend)
        except Exception as exc:
            raise JuryboxError(f"the {backend.name} backend cannot be sent to Ray workers ({exc}); "
                               "use an openai: backend with --executor ray") from exc
        by_key = {t.key: t for t in todo}
        conc = int(getattr(backend, "concurrency", 1))
        batch = self.batch_size or max(8, min(256, 4 * conc))
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
                if fatal:
                    raise InputError(str(fatal), row=task.row + 1)
                done.add(key)
                stats.model_calls += 1
                if error:
                    finish(task, None, float(latency), str(error))
                else:
                    finish(task, pickle.loads(blob), float(latency), None)
        missing = [k for k in by_key if k not in done]
        for k in missing:  # should not happen: Ray returns every row or raises
            finish(by_key[k], None, 0.0, "no result came back from the Ray workers")

    def close(self) -> None:
        """Shut Ray down if this executor started it."""
        if self._started:
            import ray

            ray.shutdown()
            self._started = False
