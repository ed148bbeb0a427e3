"""A fake OpenAI-compatible server (pure Python, no model) and helpers to run the real console script.

The server answers ``/v1/chat/completions`` on 127.0.0.1 with fixed top logprobs (score "4",
pairwise "a", ...) or, in ``echo`` mode, fails every call with an error body that repeats the
request's ``Authorization`` header, as some proxies and gateways do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

TOKENS = [("4", -0.2), ("3", -2.0), ("5", -2.5), ("a", -0.3), ("b", -1.5), ("positive", -0.2), ("negative", -1.8),
          ("correct", -0.4), ("incorrect", -1.1), ("1", -4.0), ("2", -3.5)]


class FakeServer:
    def __init__(self, mode: str = "ok", status: int = 500) -> None:
        self.mode = mode
        self.status = status
        self.calls = 0
        self.auth_seen: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                server.calls += 1
                auth = self.headers.get("Authorization", "")
                server.auth_seen.append(auth)
                if server.mode == "echo":
                    data = json.dumps({"error": f"bad gateway; received Authorization: {auth}",
                                       "request_headers": {"Authorization": auth}, "model": body.get("model")})
                    self._send(server.status, data.encode(), {"retry-after-ms": "1"})
                    return
                top = [{"token": t, "logprob": lp} for t, lp in TOKENS]
                answer = {"choices": [{"index": 0, "message": {"role": "assistant", "content": top[0]["token"]},
                                       "finish_reason": "length",
                                       "logprobs": {"content": [{"token": top[0]["token"], "logprob": -0.2,
                                                                 "top_logprobs": top}]}}],
                          "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}}
                self._send(200, json.dumps(answer).encode(), {})

            def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def model(self, name: str = "fake") -> str:
        return f"openai:{name}@{self.url}"

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    with FakeServer() as s:
        yield s


def run_cli(*args: str | os.PathLike[str], cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed ``jurybox`` console script (the one a user runs)."""
    exe = Path(sys.executable).with_name("jurybox")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "jurybox.cli"]
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*cmd, *map(str, args)], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], status: int = 2) -> str:
    """Exit ``status``, one line on stderr starting with ``jurybox:``, no traceback; returns the line."""
    assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("jurybox: "), lines[0]
    return lines[0]
