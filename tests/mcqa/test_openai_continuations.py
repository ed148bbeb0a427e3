"""Continuation scoring on an OpenAI-compatible server: /v1/completions with echo and logprobs,
against a loopback server that answers in llama-cpp-python's format (whitespace tokens)."""

from __future__ import annotations

import asyncio
import threading

import pandas as pd
import pytest
from aiohttp import web

from jurybox.backends.openai import OpenAIBackend, read_echoed_logprobs
from jurybox.errors import BackendCallError, JuryboxError
from jurybox.mcqa import run_mcqa
from jurybox.types import ContinuationRequest, Message, Prompt


def echo_answer(prompt: str, *, with_logprobs: bool = True) -> dict:
    """Tokens are the prompt's words (each with its leading space); log p(word) = -len(word)."""
    tokens, offsets, pos = [], [], 0
    for i, word in enumerate(prompt.split(" ")):
        tok = word if i == 0 else " " + word
        tokens.append(tok)
        offsets.append(pos)
        pos += len(tok)
    values = [None] + [-float(len(t.strip())) for t in tokens[1:]]
    tokens.append(" END")  # the one generated token
    offsets.append(pos)
    values.append(-0.1)
    lp = {"tokens": tokens, "token_logprobs": values, "text_offset": offsets,
          "top_logprobs": [None] + [{t: v} for t, v in zip(tokens[1:], values[1:], strict=True)]}
    choice = {"text": prompt + " END", "index": 0, "logprobs": lp if with_logprobs else None}
    return {"choices": [choice], "usage": {"prompt_tokens": len(tokens) - 1, "completion_tokens": 1}}


class Server:
    def __init__(self, with_logprobs: bool = True) -> None:
        self.with_logprobs = with_logprobs
        self.bodies: list[dict] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.bodies.append(body)
        return web.json_response(echo_answer(body["prompt"], with_logprobs=self.with_logprobs))

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/completions", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    def __enter__(self) -> Server:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def test_read_echoed_logprobs_takes_the_tokens_after_the_context():
    data = echo_answer("Question: x? Answer: Paris is nice")
    ll, n, greedy, _ = read_echoed_logprobs(data, len("Question: x? Answer:"))
    assert (ll, n, greedy) == (-(5 + 2 + 4), 3, True)
    with pytest.raises(BackendCallError, match="no echoed prompt logprobs"):
        read_echoed_logprobs(echo_answer("a b", with_logprobs=False), 1)


def test_backend_scores_continuations_over_http():
    with Server() as srv:
        be = OpenAIBackend("m", f"http://127.0.0.1:{srv.port}/v1", concurrency=4, max_retries=0)
        try:
            req = ContinuationRequest(Prompt((Message("user", "Q: capital?"),), prefill="Answer:"),
                                      (" Paris", " the city of Lyon"))
            r = be.continuation_logprobs(req)
        finally:
            be.close()
    assert r.loglikelihoods == [-5.0, -(3 + 4 + 2 + 4)] and r.token_counts == [1, 4]
    assert r.method == "echo-logprobs"
    sent = sorted(b["prompt"] for b in srv.bodies)
    assert sent == ["Q: capital?\nAnswer: Paris", "Q: capital?\nAnswer: the city of Lyon"]
    assert all(b["echo"] is True and b["logprobs"] == 1 and b["max_tokens"] == 1 for b in srv.bodies)
    with pytest.raises(JuryboxError, match="no chat-completions body"):
        be.request_body(req)


def test_mcqa_likelihood_through_a_server(tmp_path):
    df = pd.DataFrame({"question": ["Pick one"], "choices": [["aa", "b"]], "answer": [1]})
    with Server() as srv:
        r = run_mcqa(df, scoring="likelihood", model=f"openai:m@http://127.0.0.1:{srv.port}/v1",
                     backend_options={"max_retries": 0}, store=tmp_path / "s.sqlite")
    # log p(" aa") = -2, log p(" b") = -1: acc picks b; per character both are -1: acc_norm takes the first
    assert r.accuracy["acc"].correct == 1 and r.accuracy["acc_norm"].correct == 0
    assert r.table["token_counts"][0] == [1, 1]


def test_server_without_logprobs_fails_the_task_not_the_run(tmp_path):
    df = pd.DataFrame({"question": ["Pick one"], "choices": [["aa", "b"]], "answer": [1]})
    with Server(with_logprobs=False) as srv:
        r = run_mcqa(df, scoring="likelihood", model=f"openai:m@http://127.0.0.1:{srv.port}/v1",
                     backend_options={"max_retries": 0}, store=tmp_path / "s.sqlite")
    assert r.failed == 1 and "no echoed prompt logprobs" in r.failures[0]["error"]
    assert r.accuracy["acc"].correct == 0 and r.accuracy["acc"].n == 1
