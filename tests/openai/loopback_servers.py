"""Loopback servers owned by the tests: a fault-injecting proxy and a fixed-latency chat server.

Both run an aiohttp application on 127.0.0.1 (an OS-chosen port) in a thread of their own and
stop when the test is done. Nothing leaves the machine.
"""

from __future__ import annotations

import abc
import asyncio
import hashlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

ITEM = re.compile(r"ITEM-(\d+)")

FAULTS = ("429", "500", "timeout", "truncated", "drop")


class _Loopback(abc.ABC):
    """Run an aiohttp app on 127.0.0.1 in a background thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.port = 0
        self._runner: web.AppRunner | None = None

    @abc.abstractmethod
    def app(self) -> web.Application:
        """The aiohttp application this server runs (each loopback server defines its own)."""

    def start(self) -> _Loopback:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=30)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        async def _stop() -> None:
            await self.on_stop()
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(_stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)

    async def on_stop(self) -> None:  # noqa: B027  an optional hook: most servers have nothing to release
        return None


Plan = Callable[[int, dict[str, Any]], "str | None"]


class FaultProxy(_Loopback):
    """Forwards ``/v1/*`` to ``upstream``; ``plan(n, body)`` picks a fault for the n-th request.

    Faults: "429" (with ``Retry-After: retry_after``), "500", "timeout" (answers after ``hang_s``),
    "truncated" (the upstream answer cut in half), "drop" (the connection closed with no answer).
    Modes: ``strip_logprobs`` removes logprobs from answers (a server without them);
    ``rewrite`` replaces the answer text. ``log`` records (time, item, fault) for every request.
    The upstream's answers are cached by request body for the session (the server is deterministic
    at temperature 0): a test warms the cache with a clean pass, so that its faulty pass sees the
    same answers with no model latency and the proxy's timeouts stay far from real call times on a
    busy machine.
    """

    def __init__(self, upstream: str, plan: Plan | None = None, *, retry_after: str = "1",
                 hang_s: float = 3.0) -> None:
        super().__init__()
        self.upstream = upstream.rstrip("/")
        self.plan: Plan = plan or (lambda n, body: None)
        self.retry_after = retry_after
        self.hang_s = hang_s
        self.strip_logprobs = False
        self.rewrite: str | None = None
        self.log: list[tuple[float, int | None, str | None]] = []
        self.bodies: list[dict[str, Any]] = []
        self.cache: dict[bytes, bytes] = {}
        self._n = 0
        self._session: ClientSession | None = None

    def reset(self, plan: Plan | None = None) -> None:
        self.plan = plan or (lambda n, body: None)
        self.strip_logprobs = False
        self.rewrite = None
        self.log.clear()
        self.bodies.clear()
        self._n = 0

    async def _forward(self, request: web.Request, raw: bytes) -> tuple[int, bytes]:
        if raw in self.cache:
            return 200, self.cache[raw]
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=300))
        async with self._session.request(request.method, self.upstream + "/" + request.match_info["tail"],
                                         data=raw, headers={"Content-Type": "application/json"}) as up:
            status, payload = up.status, await up.read()
        if status == 200:
            self.cache[raw] = payload
        return status, payload

    def faults(self) -> Counter[str]:
        return Counter(f for _, _, f in self.log if f is not None)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/v1/{tail:.*}", self.handle)
        return app

    async def on_stop(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = json.loads(raw) if raw else {}
        n = self._n
        self._n += 1
        m = ITEM.search(json.dumps(body.get("messages", "")))
        item = int(m.group(1)) if m else None
        fault = self.plan(n, body)
        self.log.append((time.monotonic(), item, fault))
        self.bodies.append(body)
        if fault == "429":
            return web.json_response({"error": {"message": "rate limited"}}, status=429,
                                     headers={"Retry-After": self.retry_after})
        if fault == "401":
            return web.json_response({"error": {"message": "invalid api key"}}, status=401)
        if fault == "500":
            return web.json_response({"error": {"message": "internal error"}}, status=500)
        if fault == "timeout":
            await asyncio.sleep(self.hang_s)
            return web.json_response({"error": {"message": "too late"}}, status=504)
        if fault == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=200)
        status, payload = await self._forward(request, raw)
        if status == 200 and (self.strip_logprobs or self.rewrite is not None):
            data = json.loads(payload)
            for c in data.get("choices", []):
                if self.strip_logprobs:
                    c["logprobs"] = None
                if self.rewrite is not None:
                    c["message"]["content"] = self.rewrite
            payload = json.dumps(data).encode()
        if fault == "truncated":
            payload = payload[: len(payload) // 2]
        return web.Response(body=payload, status=status, content_type="application/json")


class LatencyServer(_Loopback):
    """A chat-completions server that answers after ``latency`` seconds.

    Each answer's top logprobs favour one of "1".."5" chosen by a hash of the prompt, so the same
    prompt always gets the same answer. ``requests`` counts the requests received.
    """

    def __init__(self, latency: float = 0.05) -> None:
        super().__init__()
        self.latency = latency
        self.requests = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.handle)
        return app

    @staticmethod
    def answer_for(content: str) -> str:
        return str(int(hashlib.sha256(content.encode()).hexdigest(), 16) % 5 + 1)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests += 1
        await asyncio.sleep(self.latency)
        best = self.answer_for(body["messages"][-1]["content"])
        top = [{"token": best, "logprob": -0.05}] + [
            {"token": s, "logprob": -4.0} for s in "12345" if s != best]
        return web.json_response({
            "id": "x", "object": "chat.completion", "model": body.get("model", ""),
            "choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": best},
                         "logprobs": {"content": [{"token": best, "logprob": -0.05, "top_logprobs": top}]}}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 1, "total_tokens": 51},
        })


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_llama_server(model: str = "gemma-3-270m", n_ctx: int = 2048, timeout: float = 180.0):
    """Start ``python -m jurybox.serve`` on loopback with a small model; (process, base URL).

    ``jurybox.serve`` is llama-cpp-python's server with jurybox's AMX-safe model loading.

    Skips the calling test when llama-cpp-python's server extra or the model package is missing.
    """
    import importlib.util
    import os
    import subprocess
    import sys
    import tempfile
    import urllib.request

    import pytest

    def missing(reason: str) -> None:  # CI installs the dev extras: an absence there is a failure
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set)", pytrace=False)
        pytest.skip(reason)

    for mod in ("llama_cpp", "uvicorn", "sse_starlette", "starlette_context"):
        if importlib.util.find_spec(mod) is None:
            missing(f"llama-cpp-python[server] is not installed ({mod} missing)")
    from jurybox.errors import ModelError
    from jurybox.models import resolve

    try:
        path = resolve(model).path
    except ModelError as exc:
        missing(f"model {model} is not available: {exc}")
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jurybox.serve", "--model", str(path), "--model_alias", model,
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", "2",
         "--verbose", "False"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama.cpp server exited with {proc.returncode}: "
                               f"{Path(log.name).read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/models", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"llama.cpp server did not start within {timeout:.0f} s; log: {log.name}")
