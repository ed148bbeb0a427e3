"""The OpenAI-compatible backend: any server speaking ``/v1/chat/completions``.

vLLM, the llama.cpp server, Ollama, LM Studio and hosted APIs all speak it. Calls are async
(aiohttp: an asyncio loop over aiohttp keeps up with 64 concurrent 100 ms calls on one core, which
httpx does not); the engine runs them ``concurrency`` at a time; the sync methods run the same
coroutines on a private event-loop thread.

* **Secrets.** The API key is read from the environment variable ``api_key_env`` when a call is
  made. It is never stored on the object that is pickled (Ray), never part of the fingerprint, a
  task key, an error message or a log line.
* **Limits.** ``rpm`` and ``tpm`` are token buckets (one second of burst) shared by the calls of
  this backend object (one process); ``Retry-After`` from a 429 pauses every call of the backend.
* **Retries.** 429, 408, 409, 5xx, timeouts, dropped connections and unreadable JSON are retried up
  to ``max_retries`` times with jittered exponential backoff (``Retry-After``/``retry-after-ms``
  honoured when given); then :class:`~jurybox.errors.BackendCallError` carries the last reason,
  the engine records it in the store's failures table, and the next run retries the task.
  401/403 (bad key) and 404 (wrong URL or model) stop the run with a :class:`BackendConfigError`.
* **Options.** ``option_logprobs`` asks for one token with ``logprobs=true, top_logprobs=20`` and
  sums each option's tokenizer variants ("4" and " 4") among the top tokens, normalised over the
  options (``mass`` is their total probability). The prompt's *prefill* (such as "Score:") goes
  at the end of the last user message by default (``prefill="user"``): the llama.cpp Python server
  and OpenAI render a final assistant message as a closed turn, so sending it as a partial
  assistant message only works on servers that continue it (the llama.cpp C++ server, vLLM with
  ``extra_body={"continue_final_message": True, "add_generation_prompt": False}``): choose
  ``prefill="assistant"`` there. When a server returns no logprobs the backend falls back to
  constrained generation (``fallback="json"``: a JSON schema with an enum of the options;
  ``"grammar"``: a llama.cpp GBNF grammar; ``"text"``: plain) and parses the answer; the result's
  ``method`` is then ``"generate-parse"``, and an answer that cannot be read has empty ``logprobs``
  and its raw ``text`` (the protocol records the verdict as unparsed).
* **Continuations.** ``continuation_logprobs`` (likelihood scoring of multiple-choice options)
  posts to ``/v1/completions`` with ``echo=true, logprobs=1, max_tokens=1`` (as the harness's
  ``openai-completions`` model does): the prompt is the messages as plain text (contents joined by
  blank lines, then the prefill; the server's chat template is not applied, as a completions
  endpoint applies none), followed by each continuation, one request per continuation; the
  continuation's tokens are the echoed ones whose ``text_offset`` is at or past the end of the
  context, the generated token is left out. llama-cpp-python's server answers such requests when
  the model was loaded with ``logits_all``; a server that does not echo prompt logprobs gives a
  failed call naming the reason.
* **Structured output.** ``generate`` with a schema sends ``response_format`` of type
  ``json_schema``; servers that reject it (the llama.cpp Python server answers a 500 "validation
  error" and wants ``{"type": "json_object", "schema": ...}``) are detected on the first refusal
  and the backend switches for good (or set ``structured="json_object"``).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import os
import random
import threading
import time
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from jurybox.backends.base import internals, normalise
from jurybox.errors import BackendCallError, BackendConfigError, JuryboxError, redact, register_secret
from jurybox.types import (
    BackendResult,
    ContinuationRequest,
    ContinuationScores,
    GenerateRequest,
    Generation,
    InternalsRequest,
    OptionScores,
    OptionsRequest,
    Prompt,
    Request,
    stable_hash,
)

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})
GENERATE_PARSE = "generate-parse"


class _Retryable(Exception):
    """A failed attempt that may succeed if tried again; ``retry_after`` is the server's hint (s)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _BadRequest(Exception):
    """HTTP 400/422: the request itself was refused (not retried)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class TokenBucket:
    """A token bucket refilled at ``per_minute / 60`` per second holding at most one second's worth.

    ``take(n)`` waits until ``n`` units (capped at the capacity, so one big request cannot block
    forever) are available, then removes ``n``: the level may go negative, which delays later calls.
    """

    def __init__(self, per_minute: float) -> None:
        if per_minute <= 0:
            raise JuryboxError(f"rate limits must be positive, got {per_minute}")
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self.t = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.t) * self.rate)
        self.t = now

    async def take(self, n: float = 1.0) -> None:
        need = min(n, self.capacity)
        while True:
            self._refill()
            if self.level >= need:
                self.level -= n
                return
            await asyncio.sleep((need - self.level) / self.rate)

    def adjust(self, n: float) -> None:
        """Charge ``n`` more units (negative gives them back) once the true cost is known."""
        self._refill()
        self.level = min(self.capacity, self.level - n)


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``Retry-After`` as seconds or an HTTP date."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def normalise_base_url(base_url: str | None) -> str:
    """``http://host:port`` -> ``http://host:port/v1``; trailing slashes dropped."""
    url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise JuryboxError(f"the server URL must look like http://HOST:PORT/v1, got {url!r}")
    if parts.path in ("", "/"):
        url += "/v1"
    return url


def option_variants(token: str) -> str:
    """A top-logprob token as the option it spells: leading spaces dropped ("A" and " A" alike)."""
    return token.lstrip(" ")


def scores_from_top_logprobs(top: list[dict[str, Any]], options: tuple[str, ...]) -> tuple[dict[str, float], str]:
    """Sum the probability of each option's tokenizer variants among the top tokens.

    A token equal to an option (after leading spaces) counts for it; a token that is a proper
    prefix of exactly one option (a multi-token option's first token) counts for that option and
    the method becomes ``"logprobs-prefix"``. Options absent from the top tokens get ``-inf``.
    """
    acc: dict[str, list[float]] = {o: [] for o in options}
    prefix_used = False
    for entry in top:
        tok = option_variants(str(entry.get("token", "")))
        lp = entry.get("logprob")
        if not tok or lp is None:
            continue
        if tok in acc:
            acc[tok].append(float(lp))
            continue
        hits = [o for o in options if o.startswith(tok)]
        if len(hits) == 1:
            acc[hits[0]].append(float(lp))
            prefix_used = True
    raw: dict[str, float] = {}
    for o, lps in acc.items():
        if not lps:
            raw[o] = float("-inf")
        else:
            m = max(lps)
            raw[o] = m + math.log(sum(math.exp(v - m) for v in lps))
    return raw, ("logprobs-prefix" if prefix_used else "logprobs")


def read_answer(text: str, options: tuple[str, ...], prefill: str) -> str:
    """The answer in a generated text: the ``answer`` field of a JSON object, else the text itself,
    with a repeated prefill ("Score: 4") removed."""
    t = text.strip()
    if t.startswith("{"):
        try:
            obj = json.loads(t)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict) and "answer" in obj:
            t = str(obj["answer"]).strip()
    p = prefill.strip()
    if p and t.lower().startswith(p.lower()):
        t = t[len(p):].strip()
    return t


class OpenAIBackend:
    """A model behind an OpenAI-compatible ``/v1/chat/completions`` endpoint.

    ``model`` is the server's model name; ``base_url`` such as ``http://127.0.0.1:8080/v1``
    (default ``$OPENAI_BASE_URL``, then OpenAI's); ``api_key_env`` names the environment variable
    holding the key (no key is sent when it is unset). ``concurrency`` calls run at once under the
    engine; ``rpm``/``tpm`` cap requests and tokens per minute; ``timeout`` is per attempt in
    seconds; ``max_retries`` extra attempts follow a retryable failure. See the module docstring for
    ``prefill``, ``logprobs``, ``fallback`` and ``structured``.
    """

    name = "openai"

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 32,
        rpm: float | None = None,
        tpm: float | None = None,
        timeout: float = 60.0,
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        prefill: Literal["user", "assistant"] = "user",
        logprobs: bool | None = None,
        top_logprobs: int = 20,
        fallback: Literal["json", "grammar", "text"] = "json",
        structured: Literal["auto", "json_schema", "json_object"] = "auto",
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        if not model:
            raise JuryboxError("the openai backend needs a model name, for example openai:gpt-4o-mini@https://HOST/v1")
        if concurrency < 1 or max_retries < 0 or timeout <= 0:
            raise JuryboxError("concurrency must be >= 1, max_retries >= 0 and timeout > 0")
        if prefill not in ("user", "assistant"):
            raise JuryboxError(f"prefill must be 'user' or 'assistant', got {prefill!r}")
        if fallback not in ("json", "grammar", "text"):
            raise JuryboxError(f"fallback must be 'json', 'grammar' or 'text', got {fallback!r}")
        if structured not in ("auto", "json_schema", "json_object"):
            raise JuryboxError(f"structured must be 'auto', 'json_schema' or 'json_object', got {structured!r}")
        self.model = model
        self.base_url = normalise_base_url(base_url)
        self.url = self.base_url + "/chat/completions"
        self.api_key_env = api_key_env
        self.concurrency = int(concurrency)
        self.rpm = rpm
        self.tpm = tpm
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.prefill = prefill
        self.logprobs = logprobs  # None: detect from the first answer
        self.top_logprobs = top_logprobs
        self.fallback = fallback
        self.structured = structured
        self.extra_body = dict(extra_body or {})
        self._init_runtime()

    def _init_runtime(self) -> None:
        self._sessions: dict[int, Any] = {}
        self._rpm_bucket = TokenBucket(self.rpm) if self.rpm else None
        self._tpm_bucket = TokenBucket(self.tpm) if self.tpm else None
        self._pause_until = 0.0
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.calls = 0  # HTTP attempts made
        self.retries: dict[str, int] = {}  # reason -> retried attempts

    # -- pickling (Ray): configuration only, never sessions, threads or the key
    _CONFIG = ("model", "base_url", "url", "api_key_env", "concurrency", "rpm", "tpm", "timeout", "max_retries",
               "backoff_base", "backoff_max", "prefill", "logprobs", "top_logprobs", "fallback", "structured",
               "extra_body")

    def __getstate__(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._CONFIG}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    # -- identity
    @property
    def label(self) -> str:
        return f"openai:{self.model}"

    def fingerprint(self) -> str:
        fp = f"openai:{self.base_url}#{self.model}"
        if self.prefill != "user":
            fp += f";prefill={self.prefill}"
        if self.extra_body:
            fp += f";extra={stable_hash(self.extra_body)[:16]}"
        return fp

    def __repr__(self) -> str:
        return f"OpenAIBackend(model={self.model!r}, base_url={self.base_url!r})"

    # -- request bodies
    def messages(self, prompt: Prompt) -> list[dict[str, str]]:
        msgs = [{"role": m.role, "content": m.content} for m in prompt.messages]
        if prompt.prefill:
            if self.prefill == "assistant":
                msgs.append({"role": "assistant", "content": prompt.prefill})
            elif msgs and msgs[-1]["role"] == "user":
                msgs[-1] = {"role": "user", "content": msgs[-1]["content"] + "\n\n" + prompt.prefill}
            else:
                msgs.append({"role": "user", "content": prompt.prefill})
        return msgs

    def _body(self, prompt: Prompt, max_tokens: int, temperature: float = 0.0, seed: int | None = 0) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": self.messages(prompt), "max_tokens": max_tokens,
                                "temperature": temperature}
        if seed is not None:
            body["seed"] = seed
        body.update(self.extra_body)
        return body

    def _response_format(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self.structured == "json_object":
            return {"type": "json_object", "schema": schema}
        return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": True}}

    # -- HTTP
    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            register_secret(key)  # masked in every error text (a server may echo the header back)
            headers["Authorization"] = f"Bearer {key}"
        return headers

    async def _session(self) -> Any:
        import aiohttp

        loop = asyncio.get_running_loop()
        s = self._sessions.get(id(loop))
        if s is None or s.closed:
            connector = aiohttp.TCPConnector(limit=self.concurrency, limit_per_host=self.concurrency,
                                             ttl_dns_cache=300)
            s = aiohttp.ClientSession(connector=connector, json_serialize=json.dumps,
                                      timeout=aiohttp.ClientTimeout(total=self.timeout))
            self._sessions[id(loop)] = s
        return s

    async def _limit(self, body: dict[str, Any]) -> int:
        if "messages" not in body:  # a completions body (continuation scoring)
            body = {**body, "messages": [{"content": str(body.get("prompt", ""))}]}
        pause = self._pause_until - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        if self._rpm_bucket is not None:
            await self._rpm_bucket.take(1)
        estimate = 0
        if self._tpm_bucket is not None:
            estimate = sum(len(m["content"]) for m in body["messages"]) // 4 + int(body.get("max_tokens", 0))
            await self._tpm_bucket.take(estimate)
        return estimate

    async def _attempt(self, body: dict[str, Any], url: str | None = None) -> dict[str, Any]:
        import aiohttp

        session = await self._session()
        self.calls += 1
        url = url or self.url
        try:
            async with session.post(url, json=body, headers=self._headers()) as resp:
                raw = await resp.read()
                status = resp.status
                if status >= 400:
                    # masked before it is cut: a cut could leave part of a key that no longer matches
                    text = redact(raw[:4096].decode("utf-8", "replace"))[:300].strip().replace("\n", " ")
                    if status in (401, 403):
                        raise BackendConfigError(
                            f"{self.base_url} refused the API key (HTTP {status}); set ${self.api_key_env}")
                    if status == 404:
                        raise BackendConfigError(
                            f"{url} answered 404 for model {self.model!r}: check the URL and model name ({text})")
                    if status == 500 and "validation error" in text.lower():
                        raise _BadRequest(status, text)  # llama-cpp-python reports refused fields as 500
                    if status in RETRY_STATUS:
                        reason = f"HTTP {status}" + (f": {text[:120]}" if text else "")
                        raise _Retryable(reason, parse_retry_after(resp.headers) if status in (429, 503) else None)
                    raise _BadRequest(status, text)
        except TimeoutError as exc:
            raise _Retryable(f"timed out after {self.timeout:g} s") from exc
        except aiohttp.ClientPayloadError as exc:
            raise _Retryable(f"truncated response ({type(exc).__name__})") from exc
        except aiohttp.ClientError as exc:
            raise _Retryable(redact(f"connection error ({type(exc).__name__}: {exc})")[:200]) from exc
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _Retryable(f"invalid JSON in the response ({exc.msg if hasattr(exc, 'msg') else exc})") from exc
        if not isinstance(data, dict) or not data.get("choices"):
            raise _Retryable("the response has no choices")
        return data

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after + random.uniform(0, 0.1 * retry_after + 0.01)
        return random.uniform(0.5, 1.0) * min(self.backoff_max, self.backoff_base * 2 ** attempt)

    async def post(self, body: dict[str, Any], url: str | None = None) -> dict[str, Any]:
        """POST a chat completion (or, with ``url``, another endpoint's body) with limits and
        retries; the parsed JSON answer or BackendCallError."""
        attempt = 0
        while True:
            estimate = await self._limit(body)
            try:
                data = await self._attempt(body, url)
            except _Retryable as exc:
                if attempt >= self.max_retries:
                    tries = f"{attempt + 1} attempt" + ("s" if attempt else "")
                    raise BackendCallError(f"{exc.reason} ({tries})") from None
                if exc.retry_after is not None:
                    self._pause_until = max(self._pause_until, time.monotonic() + exc.retry_after)
                self.retries[exc.reason.split(":")[0]] = self.retries.get(exc.reason.split(":")[0], 0) + 1
                await asyncio.sleep(self._backoff(attempt, exc.retry_after))
                attempt += 1
                continue
            if self._tpm_bucket is not None:
                usage = data.get("usage") or {}
                used = int(usage.get("total_tokens") or 0)
                if used:
                    self._tpm_bucket.adjust(used - estimate)
            return data

    # -- request bodies and answers (shared by live calls and batch files)
    def request_body(self, request: Request) -> dict[str, Any]:
        """The chat-completions body for a request: what a live call or a batch-file line sends."""
        if isinstance(request, ContinuationRequest):
            raise JuryboxError("continuation (likelihood) requests go to /v1/completions, one per continuation; "
                               "they have no chat-completions body (and no batch-file line)")
        if isinstance(request, InternalsRequest):
            raise JuryboxError("internals requests (hidden states, attention) need a local model: the transformers "
                               "backend; they have no chat-completions body (and no batch-file line)")
        if isinstance(request, OptionsRequest):
            body = self._body(request.prompt, 1)
            body["logprobs"] = True
            body["top_logprobs"] = self.top_logprobs
            return body
        body = self._body(request.prompt, request.max_tokens, request.temperature, request.seed)
        if request.schema is not None:
            body["response_format"] = self._response_format(json.loads(request.schema))
        return body

    def read_response(self, request: Request, data: dict[str, Any]) -> BackendResult | None:
        """A chat-completions answer as a result; None for an options request answered without logprobs."""
        if isinstance(request, ContinuationRequest):
            raise JuryboxError("continuation (likelihood) requests have no chat-completions answer to read")
        if not isinstance(request, OptionsRequest):
            return _generation(data)
        choice = data["choices"][0]
        usage = data.get("usage") or {}
        pt, ct = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        text = str((choice.get("message") or {}).get("content") or "")
        content = ((choice.get("logprobs") or {}).get("content")) or []
        if not content or not content[0].get("top_logprobs"):
            return None
        raw, method = scores_from_top_logprobs(content[0]["top_logprobs"], tuple(request.options))
        if all(v == float("-inf") for v in raw.values()):
            return OptionScores({}, {}, 0.0, method, text, pt, ct)  # no option among the top tokens
        norm, mass = normalise(raw)
        top = max(norm, key=lambda k: norm[k])
        return OptionScores(norm, raw, mass, method, top, pt, ct)

    # -- the two primitives (async)
    async def aoption_logprobs(self, request: OptionsRequest) -> OptionScores:
        if self.logprobs is not False:
            try:
                data = await self.post(self.request_body(request))
            except _BadRequest as exc:
                if self.logprobs is None and "logprob" in exc.body.lower():
                    self.logprobs = False
                    return await self._options_by_generation(request)
                raise BackendCallError(f"the server refused the request: {exc}") from None
            result = self.read_response(request, data)
            if isinstance(result, OptionScores):
                self.logprobs = True
                return result
            if self.logprobs is True:
                raise BackendCallError("the server returned no logprobs for this request (it did before)")
            self.logprobs = False
        return await self._options_by_generation(request)

    async def _options_by_generation(self, request: OptionsRequest) -> OptionScores:
        options = tuple(request.options)
        longest = max(len(o) for o in options)
        body = self._body(request.prompt, max(8, longest + 4))
        if self.fallback == "json":
            schema = {"type": "object", "properties": {"answer": {"type": "string", "enum": list(options)}},
                      "required": ["answer"], "additionalProperties": False}
            body["max_tokens"] = 16 + 2 * longest
            gen = await self._generate_json(body, schema)
        else:
            if self.fallback == "grammar":
                alts = " | ".join(json.dumps(o) for o in options)
                body["grammar"] = f'root ::= " "? ({alts})'
            gen = await self._complete(body)
        answer = read_answer(gen.text, options, request.prompt.prefill)
        hit = next((o for o in options if o == answer), None)
        if hit is None:
            hit = next((o for o in options if o.lower() == answer.lower()), None)
        if hit is None:
            return OptionScores({}, {}, 0.0, GENERATE_PARSE, gen.text, gen.prompt_tokens, gen.completion_tokens)
        logp = {o: (0.0 if o == hit else float("-inf")) for o in options}
        return OptionScores(logp, dict(logp), 1.0, GENERATE_PARSE, gen.text, gen.prompt_tokens, gen.completion_tokens)

    async def _complete(self, body: dict[str, Any]) -> Generation:
        try:
            data = await self.post(body)
        except _BadRequest as exc:
            raise BackendCallError(f"the server refused the request: {exc}") from None
        return _generation(data)

    async def _generate_json(self, body: dict[str, Any], schema: dict[str, Any]) -> Generation:
        body["response_format"] = self._response_format(schema)
        try:
            data = await self.post(body)
        except _BadRequest as exc:
            # Concurrent first requests may all be refused: each one that asked for json_schema
            # retries with json_object, whichever of them switched the backend first.
            sent = body["response_format"]["type"]
            if sent == "json_schema" and self.structured != "json_schema" and "json_schema" in exc.body:
                self.structured = "json_object"
                body["response_format"] = self._response_format(schema)
                return await self._complete(body)
            raise BackendCallError(f"the server refused the request: {exc}") from None
        if self.structured == "auto":
            self.structured = "json_schema"
        return _generation(data)

    async def agenerate(self, request: GenerateRequest) -> Generation:
        body = self._body(request.prompt, request.max_tokens, request.temperature, request.seed)
        if request.schema is not None:
            return await self._generate_json(body, json.loads(request.schema))
        return await self._complete(body)

    def completion_text(self, prompt: Prompt) -> str:
        """A prompt as the plain text a ``/v1/completions`` request sends (see the module docstring)."""
        body = "\n\n".join(m.content for m in prompt.messages)
        return body + "\n" + prompt.prefill if prompt.prefill else body

    async def acontinuation_logprobs(self, request: ContinuationRequest) -> ContinuationScores:
        text = self.completion_text(request.prompt)
        context = text.rstrip()
        moved = text[len(context):]
        url = self.base_url + "/completions"

        async def one(continuation: str) -> tuple[float, int, bool, int]:
            body: dict[str, Any] = {"model": self.model, "prompt": context + moved + continuation, "max_tokens": 1,
                                    "temperature": 0.0, "echo": True, "logprobs": 1}
            body.update(self.extra_body)
            try:
                data = await self.post(body, url)
            except _BadRequest as exc:
                raise BackendCallError(f"the server refused the completions request: {exc}") from None
            return read_echoed_logprobs(data, len(context))

        scored = await asyncio.gather(*(one(c) for c in request.continuations))
        lls = [s[0] for s in scored]
        best = max(range(len(lls)), key=lambda i: lls[i])
        return ContinuationScores(lls, [s[1] for s in scored], [s[2] for s in scored], "echo-logprobs",
                                  request.continuations[best], prompt_tokens=sum(s[3] for s in scored))

    def continuation_logprobs(self, request: ContinuationRequest) -> ContinuationScores:
        return self._run(self.acontinuation_logprobs(request))

    async def aexecute(self, request: Request) -> BackendResult:
        if isinstance(request, OptionsRequest):
            return await self.aoption_logprobs(request)
        if isinstance(request, ContinuationRequest):
            return await self.acontinuation_logprobs(request)
        if isinstance(request, InternalsRequest):
            return internals(self, request)  # refuses in one line: a server shows no internals
        return await self.agenerate(request)

    async def aclose(self) -> None:
        """Close the HTTP session of the running event loop."""
        loop = asyncio.get_running_loop()
        s = self._sessions.pop(id(loop), None)
        if s is not None:
            await s.close()

    # -- sync wrappers: the same coroutines on a private event-loop thread
    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        with self._lock:
            if self._thread_loop is None:
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=loop.run_forever, name="jurybox-openai", daemon=True)
                self._thread.start()
                self._thread_loop = loop
        return asyncio.run_coroutine_threadsafe(coro, self._thread_loop).result()

    def option_logprobs(self, request: OptionsRequest) -> OptionScores:
        return self._run(self.aoption_logprobs(request))

    def generate(self, request: GenerateRequest) -> Generation:
        return self._run(self.agenerate(request))

    def execute(self, request: Request) -> BackendResult:
        return self._run(self.aexecute(request))

    def close(self) -> None:
        loop = self._thread_loop
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self.aclose(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        loop.close()
        self._thread_loop = None
        self._thread = None


def read_echoed_logprobs(data: dict[str, Any], context_chars: int) -> tuple[float, int, bool, int]:
    """(log-likelihood, tokens, greedy, prompt tokens) of the continuation in an echoed
    ``/v1/completions`` answer: the tokens whose ``text_offset`` is at or past ``context_chars``,
    without the one generated token (the last). A missing or malformed ``logprobs`` block is a
    failed call (BackendCallError), never a guessed number."""
    choice = data["choices"][0]
    lp = choice.get("logprobs") or {}
    tokens, values, offsets = lp.get("tokens"), lp.get("token_logprobs"), lp.get("text_offset")
    if not (isinstance(tokens, list) and isinstance(values, list) and isinstance(offsets, list)) or \
            not (len(tokens) == len(values) == len(offsets)) or len(tokens) < 2:
        raise BackendCallError("the server returned no echoed prompt logprobs (a completions endpoint with echo and "
                               "logprobs is needed, e.g. llama-cpp-python's server with logits_all)")
    top = lp.get("top_logprobs") or [None] * len(tokens)
    idx = [i for i in range(len(tokens) - 1) if int(offsets[i]) >= context_chars]
    if not idx or any(values[i] is None for i in idx):
        raise BackendCallError("the echoed logprobs have no scored token after the prompt")
    ll = float(sum(float(values[i]) for i in idx))
    greedy = True
    for i in idx:
        alts = top[i] if i < len(top) else None
        if isinstance(alts, dict) and alts:
            best = max(alts, key=lambda k: alts[k])
            greedy = greedy and (best == tokens[i] or float(alts[best]) <= float(values[i]))
    usage = data.get("usage") or {}
    return ll, len(idx), greedy, int(usage.get("prompt_tokens") or len(tokens) - 1)


def _generation(data: dict[str, Any]) -> Generation:
    choice = data["choices"][0]
    usage = data.get("usage") or {}
    return Generation(
        text=str((choice.get("message") or {}).get("content") or ""),
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        finish_reason=str(choice.get("finish_reason") or "stop"),
    )
