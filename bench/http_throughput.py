"""Throughput of the openai backend against a latency-bound OpenAI-compatible server.

A loopback aiohttp server (its own process) answers every chat completion after a fixed 100 ms.
The script measures, in one run, side by side:

* jurybox's engine (store included): 5,000 score tasks at concurrency 64: throughput as a share of
  the bound 64 / 0.1 s = 640 tasks/s, and jurybox's CPU time per task;
* a bare asyncio + aiohttp loop doing the same HTTP calls (no store): the client's ceiling here;
* an established evaluation tool at the same concurrency when it is installed (Inspect AI, run in
  its own virtualenv given by --peer-python); otherwise the reason it was not measured;
* the Ray executor with 1, 2 and 4 workers (each worker at concurrency 64) against the same server.

    python bench/http_throughput.py [--tasks 5000] [--concurrency 64] [--ray-tasks 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LATENCY = 0.1


def serve(port_file: str) -> None:
    """The latency-bound server (run in a child process)."""
    from aiohttp import web

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        await asyncio.sleep(LATENCY)
        top = [{"token": s, "logprob": -0.1 if s == "4" else -3.0} for s in "12345"]
        return web.json_response({
            "id": "b", "object": "chat.completion", "model": body.get("model", ""),
            "choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": "4"},
                         "logprobs": {"content": [{"token": "4", "logprob": -0.1, "top_logprobs": top}]}}],
            "usage": {"prompt_tokens": 120, "completion_tokens": 1, "total_tokens": 121},
        })

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
        await site.start()
        Path(port_file).write_text(str(site._server.sockets[0].getsockname()[1]))  # type: ignore[union-attr]
        await asyncio.sleep(3600)

    asyncio.run(main())


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    port_file = tempfile.mktemp(prefix="jb-bench-port-")
    proc = subprocess.Popen([sys.executable, __file__, "--serve", port_file])
    for _ in range(200):
        if os.path.exists(port_file) and Path(port_file).read_text():
            return proc, f"http://127.0.0.1:{Path(port_file).read_text()}/v1"
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the benchmark server did not start")


def items(n: int, tag: str) -> list[dict[str, str]]:
    return [{"instruction": "Summarise the report.", "response": f"{tag} response {i}: " + "text " * 40}
            for i in range(n)]


def run_jurybox(url: str, n: int, conc: int, executor: object = None, tag: str = "j") -> dict[str, float]:
    import pandas as pd

    from jurybox.api import run_judge
    from jurybox.backends.openai import OpenAIBackend

    b = OpenAIBackend("bench", url, concurrency=conc)
    with tempfile.TemporaryDirectory() as d:
        t, c = time.perf_counter(), time.process_time()
        res = run_judge(pd.DataFrame(items(n, tag)), "score", model=b, store=Path(d) / "s.sqlite",
                        executor=executor)  # type: ignore[arg-type]
        wall, cpu = time.perf_counter() - t, time.process_time() - c
    assert res.stats.n_done == n and res.stats.n_failed == 0, res.stats
    return {"wall_s": wall, "tasks_per_s": n / wall, "cpu_ms_per_task": 1000 * cpu / n}


async def _bare(url: str, n: int, conc: int) -> None:
    import aiohttp

    sem = asyncio.Semaphore(conc)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conc)) as s:
        async def one(i: int) -> None:
            async with sem:
                body = {"model": "bench", "messages": [{"role": "user", "content": f"bare {i}"}], "max_tokens": 1,
                        "logprobs": True, "top_logprobs": 20}
                async with s.post(url + "/chat/completions", json=body) as r:
                    await r.json()

        await asyncio.gather(*(one(i) for i in range(n)))


def run_bare(url: str, n: int, conc: int) -> dict[str, float]:
    t, c = time.perf_counter(), time.process_time()
    asyncio.run(_bare(url, n, conc))
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return {"wall_s": wall, "tasks_per_s": n / wall, "cpu_ms_per_task": 1000 * cpu / n}


INSPECT_TASK = '''
import sys, time
from inspect_ai import Task, eval as inspect_eval
from inspect_ai.dataset import Sample
from inspect_ai.scorer import model_graded_fact
from inspect_ai.solver import generate
n, conc, url = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
samples = [Sample(input=f"Score this response 1-5: peer response {i}", target="4") for i in range(n)]
task = Task(dataset=samples, solver=[generate(max_tokens=1)])
t = time.perf_counter(); c = time.process_time()
inspect_eval(task, model="openai-api/bench/bench", model_base_url=url, max_connections=conc,
             log_level="error", display="none", log_dir="/tmp/jb-inspect-logs")
print(time.perf_counter() - t, time.process_time() - c)
'''


def run_inspect(python: str, url: str, n: int, conc: int) -> dict[str, float] | str:
    if not python or not Path(python).exists():
        return "not measured: no virtualenv with inspect-ai given (--peer-python)"
    env = {**os.environ, "BENCH_API_KEY": "none", "OPENAI_API_KEY": "none"}
    p = subprocess.run([python, "-c", INSPECT_TASK, str(n), str(conc), url], capture_output=True, text=True,
                       env=env, timeout=1800)
    if p.returncode != 0:
        return "failed: " + (p.stderr.strip().splitlines() or ["?"])[-1][:200]
    wall, cpu = (float(x) for x in p.stdout.strip().splitlines()[-1].split())
    return {"wall_s": wall, "tasks_per_s": n / wall, "cpu_ms_per_task": 1000 * cpu / n}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--serve")
    ap.add_argument("--tasks", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--ray-tasks", type=int, default=2000)
    ap.add_argument("--ray-workers", default="1,2,4")
    ap.add_argument("--peer-python", default="/tmp/peervenv/bin/python")
    ap.add_argument("--json", dest="json_out")
    a = ap.parse_args()
    if a.serve:
        serve(a.serve)
        return
    proc, url = start_server()
    bound = a.concurrency / LATENCY
    out: dict[str, object] = {"bound_tasks_per_s": bound, "tasks": a.tasks, "concurrency": a.concurrency}
    try:
        run_jurybox(url, 200, a.concurrency, tag="warm")
        out["jurybox"] = run_jurybox(url, a.tasks, a.concurrency)
        out["bare_aiohttp"] = run_bare(url, a.tasks, a.concurrency)
        out["inspect_ai"] = run_inspect(a.peer_python, url, a.tasks, a.concurrency)
        from jurybox.distributed import RayExecutor

        ray_out = {}
        first = RayExecutor(workers=1, num_cpus=4)
        first._init()  # the cluster's start-up is not part of the measurement
        for w in (int(x) for x in a.ray_workers.split(",")):
            ex = RayExecutor(workers=w, num_cpus=4)
            run_jurybox(url, 64, a.concurrency, executor=ex, tag=f"rwarm{w}")  # actors and imports warm
            ray_out[f"{w}_workers"] = run_jurybox(url, a.ray_tasks, a.concurrency, executor=ex, tag=f"ray{w}")
        first.close()
        out["ray"] = ray_out
    finally:
        proc.kill()
    print(f"server: {LATENCY * 1000:.0f} ms per answer; bound at concurrency {a.concurrency}: {bound:.0f} tasks/s")
    for name in ("jurybox", "bare_aiohttp", "inspect_ai"):
        r = out[name]
        if isinstance(r, dict):
            print(f"{name:14} {a.tasks} tasks  wall {r['wall_s']:7.2f} s  {r['tasks_per_s']:7.1f} tasks/s "
                  f"({r['tasks_per_s'] / bound:6.1%} of bound)  client CPU {r['cpu_ms_per_task']:.2f} ms/task")
        else:
            print(f"{name:14} {r}")
    for name, r in ray_out.items():
        print(f"ray {name:10} {a.ray_tasks} tasks  wall {r['wall_s']:7.2f} s  {r['tasks_per_s']:7.1f} tasks/s "
              f"(driver CPU {r['cpu_ms_per_task']:.2f} ms/task)")
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
