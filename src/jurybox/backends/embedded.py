"""The embedded backend: llama.cpp in-process through llama-cpp-python.

Prefix reuse: the KV cache keeps the tokens of the previous call. Each call tokenises its whole
prompt, keeps the longest common token prefix with what is cached, drops the rest from the KV
cache and evaluates only the new suffix. Because every protocol puts its item-independent text
(instructions, rubric, few-shot examples) first, consecutive items re-evaluate only their own
tokens. Tokenising the full prompt (instead of prefix and suffix separately) keeps the tokens
identical to a from-scratch evaluation, so reuse never changes an answer.

``option_logprobs`` reads the next-token distribution after the prompt. Each option's
probability sums its tokenizer variants ("A" and " A"). When every option's first token is
distinct across options, one forward pass decides (the first token determines the option);
otherwise each option's full token sequence is scored (one extra short evaluation per token).

``continuation_logprobs`` (likelihood scoring of multiple-choice options) evaluates the prompt
once (reusing the cached prefix) and then each continuation's tokens after it, going back to the
end of the prompt in the KV cache for the next one; continuation tokens are taken as EleutherAI's
lm-evaluation-harness takes them (``tokenize(context + continuation)`` after the context's own
tokens, trailing whitespace of the context moved into the continuation).
"""

from __future__ import annotations

import math
import os
import threading
from typing import Any

import numpy as np

from jurybox.backends.base import normalise, option_token_variants
from jurybox.backends.llama_params import model_params_override
from jurybox.backends.store_only import embedded_fingerprint
from jurybox.errors import ModelError, PromptTooLong
from jurybox.models import ResolvedModel, resolve
from jurybox.types import (
    ContinuationRequest,
    ContinuationScores,
    GenerateRequest,
    Generation,
    OptionScores,
    OptionsRequest,
    Prompt,
)

ANSWER_RESERVE = 8  # tokens kept free after the prompt for option scoring


_LOG_CALLBACK: Any = None


def _silence_llama_logs() -> None:
    """Route llama.cpp's native log lines away from stderr (set JURYBOX_LLAMA_LOG=1 to keep them)."""
    global _LOG_CALLBACK
    if _LOG_CALLBACK is not None or os.environ.get("JURYBOX_LLAMA_LOG"):
        return
    import ctypes

    import llama_cpp

    @llama_cpp.llama_log_callback  # type: ignore[misc]
    def _discard(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        return None

    _LOG_CALLBACK = _discard  # keep a reference: the C side holds only a pointer
    llama_cpp.llama_log_set(_discard, ctypes.c_void_p(0))


def default_threads() -> int:
    """``$JURYBOX_THREADS`` when set (a positive integer), else one thread per core."""
    raw = os.environ.get("JURYBOX_THREADS", "").strip()
    if raw:
        try:
            n = int(raw)
        except ValueError:
            n = 0
        if n < 1:
            raise ModelError(f"$JURYBOX_THREADS must be a positive integer, got {raw!r}")
        return n
    return os.cpu_count() or 2


class EmbeddedBackend:
    """llama.cpp in-process. One instance owns one model context; calls are serialised."""

    name = "embedded"
    concurrency = 1

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        n_batch: int = 512,
        chat: bool | None = None,
        prefix_reuse: bool = True,
    ) -> None:
        self.resolved: ResolvedModel = resolve(model)
        try:
            from llama_cpp import Llama
        except ImportError as exc:  # pragma: no cover - install problem
            raise ModelError("llama-cpp-python is not installed: pip install 'llama-cpp-python==0.3.36'") from exc
        self.n_ctx = n_ctx or self.resolved.n_ctx
        self.n_threads = n_threads or default_threads()
        _silence_llama_logs()
        try:
            with model_params_override() as self.extra_bufts:
                self.llm = Llama(
                    model_path=str(self.resolved.path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads,  # prompt evaluation; llama.cpp's default is every core
                    n_batch=n_batch,
                    logits_all=False,
                    verbose=False,
                )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load model file {self.resolved.path}: {exc}") from exc
        self.prefix_reuse = prefix_reuse
        self._lock = threading.Lock()
        self._template = self.llm.metadata.get("tokenizer.chat_template")
        self.chat = (self.resolved.chat and self._template is not None) if chat is None else chat
        if self.chat and not self._template:
            raise ModelError(f"model {self.resolved.name} has no chat template; use chat=False")
        self._jinja: Any = None
        self._option_cache: dict[str, list[list[int]]] = {}
        self.calls = 0  # model calls made (for tests and benchmarks)
        self.evaluated_tokens = 0

    # ------------------------------------------------------------------ identity and rendering
    @property
    def label(self) -> str:
        return self.resolved.name

    def fingerprint(self) -> str:
        return embedded_fingerprint(self.resolved.sha256, self.n_ctx, self.chat)

    def render(self, prompt: Prompt) -> str:
        """The exact text the model sees: its chat template (or plain text), then the prefill."""
        if not self.chat:
            body = "\n\n".join(m.content for m in prompt.messages)
            return body + "\n" + prompt.prefill if prompt.prefill else body
        if self._jinja is None:
            from jinja2.sandbox import ImmutableSandboxedEnvironment

            def raise_exception(message: str) -> None:
                raise ModelError(f"chat template error: {message}")

            env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
            env.globals["raise_exception"] = raise_exception
            self._jinja = env.from_string(str(self._template))
        bos = self.llm.detokenize([self.llm.token_bos()], special=True).decode("utf-8", "ignore")
        eos = self.llm.detokenize([self.llm.token_eos()], special=True).decode("utf-8", "ignore")
        text: str = self._jinja.render(
            messages=[{"role": m.role, "content": m.content} for m in prompt.messages],
            add_generation_prompt=True,
            bos_token=bos,
            eos_token=eos,
        )
        if bos and text.startswith(bos) and self.llm._model.add_bos_token():
            text = text[len(bos):]  # the tokenizer adds BOS itself
        return text + prompt.prefill

    def tokens(self, prompt: Prompt) -> list[int]:
        return list(self.llm.tokenize(self.render(prompt).encode("utf-8"), add_bos=True, special=True))

    def count_tokens(self, prompt: Prompt) -> int:
        return len(self.tokens(prompt))

    # ------------------------------------------------------------------ evaluation
    def _eval_prompt(self, tokens: list[int], reserve: int, lead: int | None = None) -> list[np.ndarray]:
        """Evaluate ``tokens`` reusing the cached prefix; the log-softmax at the last position.

        With ``lead`` (a token every multi-token option starts with, such as Qwen's " " before a
        digit) the same decode also evaluates ``tokens + [lead]`` and returns the log-softmax after
        it as a second array: one llama.cpp call instead of two. The numbers equal a from-scratch
        evaluation of ``tokens + [lead]`` (tests/e2e); a separate one-token decode of the lead, as
        jurybox did before, differs by about 0.01 in log-probability (llama.cpp's results depend
        slightly on batching).
        """
        if len(tokens) + reserve > self.n_ctx:
            raise PromptTooLong(len(tokens), self.n_ctx, reserve)
        llm = self.llm
        keep = 0
        if self.prefix_reuse and llm.n_tokens > 0:
            cached = llm.input_ids[: llm.n_tokens]
            n = min(len(cached), len(tokens))
            if n:
                neq = np.nonzero(np.asarray(cached[:n]) != np.asarray(tokens[:n]))[0]
                keep = int(neq[0]) if len(neq) else n
        keep = min(keep, len(tokens) - 1)  # always evaluate at least one token to get fresh logits
        llm.n_tokens = keep
        suffix = tokens[keep:] + ([lead] if lead is not None else [])
        return self._decode(suffix, 2 if lead is not None else 1)

    def _decode(self, tokens: list[int], n_out: int = 1) -> list[np.ndarray]:
        """Append ``tokens`` to the KV cache (as ``Llama.eval`` does) and return the log-softmax at
        each of the last ``n_out`` positions; llama.cpp computes output rows only for those."""
        llm = self.llm
        llm._ctx.kv_cache_seq_rm(-1, llm.n_tokens, -1)
        bounds = list(range(0, len(tokens), llm.n_batch)) + [len(tokens)]
        if len(bounds) > 2 and bounds[-1] - bounds[-2] < n_out:  # the outputs must share the last batch
            bounds[-2] = bounds[-1] - n_out
        for start, end in zip(bounds[:-1], bounds[1:], strict=True):
            chunk = tokens[start:end]
            n_past = llm.n_tokens
            llm._batch.set_batch(batch=chunk, n_past=n_past, logits_all=False)
            if end == len(tokens):
                for j in range(max(0, len(chunk) - n_out), len(chunk)):
                    llm._batch.batch.logits[j] = True
            llm._ctx.decode(llm._batch)
            llm.input_ids[n_past:end - start + n_past] = chunk
            llm.n_tokens += len(chunk)
        self.evaluated_tokens += len(tokens)
        n_vocab = llm.n_vocab()
        out = []
        for j in range(-min(n_out, len(tokens)), 0):
            row = np.ctypeslib.as_array(llm._ctx.get_logits_ith(j), shape=(n_vocab,)).astype(np.float64)
            m = row.max()
            out.append(row - (m + math.log(np.exp(row - m).sum())))
        return out

    def _variants(self, option: str) -> list[list[int]]:
        if option not in self._option_cache:
            self._option_cache[option] = option_token_variants(option, lambda t: self.llm.tokenize(t.encode("utf-8"), add_bos=False, special=False))
        return self._option_cache[option]

    def option_logprobs(self, request: OptionsRequest) -> OptionScores:
        with self._lock:
            self.calls += 1
            tokens = self.tokens(request.prompt)
            variants = {o: self._variants(o) for o in request.options}
            first: dict[int, str] = {}
            single_pass = True
            for o, seqs in variants.items():
                for s in seqs:
                    if first.get(s[0], o) != o:
                        single_pass = False
                    first[s[0]] = o
            max_len = max(len(s) for seqs in variants.values() for s in seqs)
            reserve = ANSWER_RESERVE if single_pass else max(ANSWER_RESERVE, max_len + 1)
            raw: dict[str, float] = {}
            if single_pass:
                (lsm,) = self._eval_prompt(tokens, reserve)
                for o, seqs in variants.items():
                    ids = sorted({s[0] for s in seqs})
                    raw[o] = float(np.logaddexp.reduce(lsm[ids]))
                method = "logprobs"
            else:
                leads = {s[0] for seqs in variants.values() for s in seqs if len(s) > 1}
                lead = leads.pop() if len(leads) == 1 else None
                dists = self._eval_prompt(tokens, reserve, lead)
                known: dict[tuple[int, ...], np.ndarray] = {(): dists[0]}
                if lead is not None:
                    known[(lead,)] = dists[1]
                raw = self._sequence_logprobs(len(tokens), known, variants)
                method = "sequence-logprobs"
            norm, mass = normalise(raw)
            top = max(norm, key=lambda k: norm[k])
            return OptionScores(
                logprobs=norm,
                raw_logprobs=raw,
                mass=mass,
                method=method,
                text=top,
                prompt_tokens=len(tokens),
                completion_tokens=0,
            )

    def _sequence_logprobs(self, base: int, known: dict[tuple[int, ...], np.ndarray],
                           variants: dict[str, list[list[int]]]) -> dict[str, float]:
        """log p(option) = logsumexp over its variants of the sum of its tokens' log-probabilities.

        ``known`` holds the distributions already computed (after the prompt, and after the shared
        lead token when :meth:`_eval_prompt` evaluated it in the same decode); the KV cache holds
        the prompt followed by the longest of those paths. Each other distinct token prefix is
        evaluated once; the KV cache follows the current prefix.
        """
        cache = dict(known)
        kv_path: tuple[int, ...] = max(cache, key=len)

        def after(path: tuple[int, ...]) -> np.ndarray:
            nonlocal kv_path
            if path not in cache:
                c = 0
                while c < len(kv_path) and c < len(path) and kv_path[c] == path[c]:
                    c += 1
                c = min(c, len(path) - 1)  # evaluate at least the last token to get its logits
                self.llm.n_tokens = base + c
                (cache[path],) = self._decode(list(path[c:]))
                kv_path = path
            return cache[path]

        raw: dict[str, float] = {}
        for o, seqs in variants.items():
            lps = []
            for seq in sorted(seqs):
                lps.append(sum(float(after(tuple(seq[:j]))[seq[j]]) for j in range(len(seq))))
            raw[o] = float(np.logaddexp.reduce(lps))
        self.llm.n_tokens = base  # the prompt stays cached for the next call
        return raw

    def continuation_tokens(self, prompt: Prompt, continuations: tuple[str, ...]) -> tuple[list[int], list[list[int]]]:
        """The context's tokens and each continuation's, as the harness's ``_encode_pair`` makes
        them: trailing whitespace of the context moves to the continuation, the continuation's
        tokens are ``tokenize(context + continuation)[len(tokenize(context)):]``."""
        text = self.render(prompt)
        context = text.rstrip()
        moved = text[len(context):]
        if not context:
            raise ModelError("a continuation request needs a non-empty prompt")

        def tok(t: str) -> list[int]:
            return list(self.llm.tokenize(t.encode("utf-8"), add_bos=True, special=True))

        ctx = tok(context)
        conts: list[list[int]] = []
        for c in continuations:
            whole = tok(context + moved + c)
            cont = whole[len(ctx):]
            if not cont:
                raise ModelError(f"the continuation {c!r} tokenises to nothing after the prompt")
            conts.append(cont)
        return ctx, conts

    def continuation_logprobs(self, request: ContinuationRequest) -> ContinuationScores:
        """The summed log-probability of each continuation's tokens after the prompt (see the module
        docstring), its token count and whether it is the greedy continuation."""
        with self._lock:
            self.calls += 1
            ctx, conts = self.continuation_tokens(request.prompt, request.continuations)
            longest = max(len(c) for c in conts)
            if longest > self.llm.n_batch:
                raise ModelError(f"a continuation of {longest} tokens is longer than n_batch ({self.llm.n_batch})")
            self._eval_prompt(ctx, max(ANSWER_RESERVE, longest + 1))
            lls: list[float] = []
            greedy: list[bool] = []
            evaluated = 0
            for cont in conts:
                # the prompt's last token and the continuation in one batch, from the cached prompt
                # before it: the numbers then do not depend on what the KV cache held before the
                # call (llama.cpp's results depend slightly on batch composition)
                self.llm.n_tokens = len(ctx) - 1
                dists = self._decode(ctx[-1:] + cont[:-1], len(cont))
                evaluated += len(cont)
                lls.append(float(sum(d[t] for d, t in zip(dists, cont, strict=True))))
                greedy.append(all(int(np.argmax(d)) == t for d, t in zip(dists, cont, strict=True)))
            self.llm.n_tokens = len(ctx)  # the prompt stays cached for the next call
            best = max(range(len(lls)), key=lambda i: lls[i])
            return ContinuationScores(
                loglikelihoods=lls,
                token_counts=[len(c) for c in conts],
                greedy=greedy,
                method="loglikelihood",
                text=request.continuations[best],
                prompt_tokens=len(ctx) + evaluated,
                completion_tokens=0,
            )

    def generate(self, request: GenerateRequest) -> Generation:
        with self._lock:
            self.calls += 1
            tokens = self.tokens(request.prompt)
            if len(tokens) + request.max_tokens > self.n_ctx:
                raise PromptTooLong(len(tokens), self.n_ctx, request.max_tokens)
            grammar = None
            if request.schema is not None:
                from llama_cpp import LlamaGrammar

                grammar = LlamaGrammar.from_json_schema(request.schema, verbose=False)
            out: Any = self.llm.create_completion(
                prompt=tokens,
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                seed=request.seed,
                grammar=grammar,
            )
            choice = out["choices"][0]
            usage = out.get("usage", {})
            return Generation(
                text=choice["text"],
                prompt_tokens=int(usage.get("prompt_tokens", len(tokens))),
                completion_tokens=int(usage.get("completion_tokens", 0)),
                finish_reason=str(choice.get("finish_reason") or "stop"),
            )

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is not None:
            llm.close()

