"""The ``transformers`` backend: the same GGUF files as the embedded backend, dequantised by
transformers and run with torch on the CPU, so a forward pass can show its insides.

llama-cpp-python gives the last layer's embedding at most; this backend answers
:class:`~jurybox.types.InternalsRequest` (hidden states of every layer at marked positions, the
attention query of the prompt's last token against the keys at marked positions for every head,
per-token log-probabilities of a continuation, and the next-token distribution over options, all
from one forward pass) besides the three ordinary primitives (``option_logprobs``,
``continuation_logprobs``, ``generate``), so the mcqa protocol's letter scoring runs on the very
same weights and prompts.

Loading: transformers reads the GGUF file (architectures it maps: qwen2, gemma3, llama, mistral,
qwen3, phi3... see ``transformers.modeling_gguf_pytorch_utils.GGUF_SUPPORTED_ARCHITECTURES``),
dequantises every tensor with the ``gguf`` package (slow: tens of seconds) and casts to ``dtype``.
The result is saved once as safetensors under ``<jurybox cache>/internals/<sha256[:16]>-<dtype>/``
(written to a temporary directory, then renamed), so the next load reads it directly.

Queries and keys: a registered attention function (``jurybox_qk``) wraps torch's SDPA; it sees
each layer's query and key states exactly as the attention uses them (after the projections, the
per-head norms Gemma 3 applies and RoPE) and keeps the last prompt token's query and the keys at
the marked positions, ``<q, k> * scaling`` being the pre-softmax attention logit (the QK-score).

Needs the ``internals`` extra: ``pip install 'jurybox[internals]'`` (torch 2.13.0 CPU,
transformers, gguf); without it the backend refuses in one line naming the extra.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np

from jurybox.backends.base import normalise, option_token_variants
from jurybox.backends.store_only import transformers_fingerprint
from jurybox.errors import BackendConfigError, ModelError, PromptTooLong
from jurybox.types import (
    ContinuationRequest,
    ContinuationScores,
    GenerateRequest,
    Generation,
    Internals,
    InternalsRequest,
    OptionScores,
    OptionsRequest,
    Prompt,
)

__all__ = ["EXTRA_HINT", "TransformersBackend", "require_torch"]

EXTRA_HINT = "pip install 'jurybox[internals]'"
DTYPES = ("bfloat16", "float32")
_CAPTURE_NAME = "jurybox_qk"


def require_torch() -> tuple[Any, Any]:
    """``(torch, transformers)``, or a one-line error naming the ``internals`` extra."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise BackendConfigError(f"model internals need torch and transformers ({exc.name} is missing): "
                                 f"{EXTRA_HINT}") from None
    return torch, transformers


class _Capture:
    """What the wrapped attention keeps during one forward pass: per layer, the query rows at
    ``query_pos`` and the key rows at ``key_pos`` (post-norm, post-RoPE), and the scaling."""

    def __init__(self, query_pos: list[int], key_pos: list[int]) -> None:
        self.query_pos = query_pos
        self.key_pos = key_pos
        self.q: dict[int, Any] = {}
        self.k: dict[int, Any] = {}
        self.scaling: dict[int, float] = {}


_ACTIVE = threading.local()
_REGISTERED = False


def _register_capture() -> None:
    """Register ``jurybox_qk``: SDPA that records queries and keys while a capture is active."""
    global _REGISTERED
    if _REGISTERED:
        return
    from transformers import AttentionInterface
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    def capture_attention(module: Any, query: Any, key: Any, value: Any, attention_mask: Any,
                          dropout: float = 0.0, scaling: float | None = None, **kwargs: Any) -> Any:
        cap: _Capture | None = getattr(_ACTIVE, "capture", None)
        if cap is not None:
            layer = int(module.layer_idx)
            # query [B, H, T, d], key [B, H_kv, T, d]
            cap.q[layer] = query[0, :, cap.query_pos, :].detach().float().clone()
            cap.k[layer] = key[0, :, cap.key_pos, :].detach().float().clone()
            cap.scaling[layer] = float(scaling if scaling is not None else query.shape[-1] ** -0.5)
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)

    AttentionInterface.register(_CAPTURE_NAME, capture_attention)
    AttentionMaskInterface.register(_CAPTURE_NAME, sdpa_mask)
    _REGISTERED = True


def _rss_bytes() -> int:
    """This process's resident set size (Linux /proc; 0 where it cannot be read)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class TransformersBackend:
    """A GGUF model through transformers on the CPU (see the module docstring). One instance holds
    one model; calls are serialised. ``load_s``, ``load_source`` ("gguf" or "safetensors cache")
    and ``rss_after_load`` record how the load went; ``calls`` counts model calls."""

    name = "transformers"
    concurrency = 1

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        dtype: Literal["bfloat16", "float32"] = "bfloat16",
        chat: bool | None = None,
        n_threads: int | None = None,
        n_ctx: int | None = None,
        cache: bool = True,
    ) -> None:
        torch, transformers = require_torch()
        from jurybox.models import ResolvedModel, cache_dir, resolve

        if dtype not in DTYPES:
            raise BackendConfigError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        self.resolved: ResolvedModel | None = resolve(model)
        self._identity = self.resolved.name
        self.dtype: str = dtype
        self.n_ctx = n_ctx or self.resolved.n_ctx
        from jurybox.backends.embedded import default_threads

        self.n_threads = n_threads or default_threads()
        torch.set_num_threads(self.n_threads)
        t0 = time.perf_counter()
        cached = cache_dir() / "internals" / f"{self.resolved.sha256[:16]}-{dtype}"
        torch_dtype = getattr(torch, dtype)
        try:
            if cache and (cached / "config.json").is_file():
                self.load_source = "safetensors cache"
                mdl = transformers.AutoModelForCausalLM.from_pretrained(str(cached), dtype=torch_dtype)
                tok = transformers.AutoTokenizer.from_pretrained(str(cached))
            else:
                self.load_source = "gguf"
                src = self.resolved.path
                mdl = transformers.AutoModelForCausalLM.from_pretrained(str(src.parent), gguf_file=src.name,
                                                                        dtype=torch_dtype)
                tok = transformers.AutoTokenizer.from_pretrained(str(src.parent), gguf_file=src.name)
                if cache:
                    self._save_cache(mdl, tok, cached)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ModelError(f"cannot load model file {self.resolved.path} with transformers: "
                             f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
        self.load_s = time.perf_counter() - t0
        self.cache_path = cached if cache else None
        self._setup(mdl, tok, chat if chat is not None else self.resolved.chat)
        self.rss_after_load = _rss_bytes()

    @classmethod
    def from_model(cls, model: Any, tokenizer: Any, *, identity: str, chat: bool = False,
                   n_ctx: int = 4096) -> TransformersBackend:
        """A backend around a model and tokenizer already in memory (tests build tiny random ones);
        ``identity`` stands for the weights in the fingerprint."""
        require_torch()
        self = cls.__new__(cls)
        self.resolved = None
        self._identity = identity
        self.dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
        self.n_ctx = n_ctx
        self.n_threads = 0
        self.load_s, self.load_source, self.cache_path = 0.0, "memory", None
        self._setup(model, tokenizer, chat)
        self.rss_after_load = _rss_bytes()
        return self

    @staticmethod
    def _save_cache(model: Any, tokenizer: Any, target: Path) -> None:
        """The dequantised weights as safetensors, the config and the tokenizer, in a temporary
        directory renamed to ``target``. transformers' ``save_pretrained`` refuses a model loaded
        from GGUF ("not serializable"), so the weights are written with safetensors directly (tied
        tensors once) and the config without its GGUF quantisation entry."""
        from safetensors.torch import save_model

        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
        try:
            save_model(model, str(tmp / "model.safetensors"), metadata={"format": "pt"})
            cfg = model.config.to_dict()
            cfg.pop("quantization_config", None)
            config = type(model.config).from_dict(cfg)
            config.save_pretrained(str(tmp))
            if getattr(model, "generation_config", None) is not None:
                model.generation_config.save_pretrained(str(tmp))
            tokenizer.save_pretrained(str(tmp))
            if target.exists():
                shutil.rmtree(tmp)
            else:
                os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _setup(self, model: Any, tokenizer: Any, chat: bool) -> None:
        _register_capture()
        model.eval()
        model.set_attn_implementation(_CAPTURE_NAME)
        self.model = model
        self.tokenizer = tokenizer
        if not getattr(tokenizer, "is_fast", False):
            raise ModelError("the transformers backend needs a fast tokenizer (character offsets of tokens)")
        self.chat = bool(chat and getattr(tokenizer, "chat_template", None))
        if chat and not self.chat:
            raise ModelError("this model has no chat template; use chat=False")
        cfg = model.config
        self.n_layers = int(cfg.num_hidden_layers)
        self.n_heads = int(cfg.num_attention_heads)
        self.n_kv_heads = int(getattr(cfg, "num_key_value_heads", None) or self.n_heads)
        self._lock = threading.Lock()
        self._option_cache: dict[str, list[list[int]]] = {}
        self.calls = 0
        self.evaluated_tokens = 0

    # ------------------------------------------------------------------ identity and rendering
    @property
    def label(self) -> str:
        return f"{self.resolved.name if self.resolved else self._identity}@transformers"

    def fingerprint(self) -> str:
        ident = f"gguf:{self.resolved.sha256}" if self.resolved else f"memory:{self._identity}"
        return transformers_fingerprint(ident, self.dtype, self.chat)

    def render(self, prompt: Prompt) -> str:
        """The text the model sees: its chat template (or the messages as plain text), then the
        prefill; the same rule as the embedded backend."""
        if not self.chat:
            body = "\n\n".join(m.content for m in prompt.messages)
            return body + "\n" + prompt.prefill if prompt.prefill else body
        text: str = self.tokenizer.apply_chat_template(
            [{"role": m.role, "content": m.content} for m in prompt.messages], tokenize=False,
            add_generation_prompt=True)
        bos = self.tokenizer.bos_token
        if bos and text.startswith(bos):
            text = text[len(bos):]  # the tokenizer adds BOS itself where the model wants it
        return text + prompt.prefill

    def _encode(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        enc = self.tokenizer(text, add_special_tokens=True, return_offsets_mapping=True)
        return list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]

    def tokens(self, prompt: Prompt) -> list[int]:
        return self._encode(self.render(prompt))[0]

    def count_tokens(self, prompt: Prompt) -> int:
        return len(self.tokens(prompt))

    # ------------------------------------------------------------------ the forward pass
    def _forward(self, ids: list[int], logit_pos: list[int], hidden: bool, capture: _Capture | None,
                 past: Any = None, keep_cache: bool = False) -> tuple[np.ndarray, Any, Any]:
        """Evaluate ``ids`` (after the cached ``past`` tokens, if given): log-softmax rows at
        ``logit_pos`` (indices into ``ids``; float64 numpy), with ``hidden`` the hidden states of
        every layer at every position of ``ids`` (a tuple of [T, D] tensors: the embeddings, then
        each layer's output), and with ``keep_cache`` the key/value cache after ``ids``."""
        import torch

        n_past = 0 if past is None else int(past.get_seq_length())
        if n_past + len(ids) > self.n_ctx:
            raise PromptTooLong(n_past + len(ids), self.n_ctx, 0)
        self.evaluated_tokens += len(ids)
        x = torch.tensor([ids], dtype=torch.long)
        keep = torch.tensor(sorted(set(logit_pos)), dtype=torch.long)
        _ACTIVE.capture = capture
        try:
            with torch.inference_mode():
                out = self.model(input_ids=x, output_hidden_states=hidden, use_cache=keep_cache or past is not None,
                                 cache=past, logits_to_keep=keep)
        finally:
            _ACTIVE.capture = None
        rows = torch.log_softmax(out.logits[0].double(), dim=-1).numpy()
        where = {p: i for i, p in enumerate(keep.tolist())}
        lsm = np.stack([rows[where[p]] for p in logit_pos]) if logit_pos else np.zeros((0, rows.shape[-1]))
        hs = tuple(h[0] for h in out.hidden_states) if hidden else None
        return lsm, hs, (out.cache if keep_cache else None)

    def _context(self, prompt: Prompt, continuations: tuple[str, ...]) -> tuple[str, list[int], list[tuple[int, int]],
                                                                                 list[list[int]]]:
        """The harness's split of a prompt and its continuations: the context is the rendered
        prompt without trailing whitespace (moved into every continuation), a continuation's
        tokens are ``tokenize(context + continuation)`` after the context's own tokens. Returns
        the context text, its tokens and offsets, and each continuation's tokens."""
        text = self.render(prompt)
        context = text.rstrip() if continuations else text
        moved = text[len(context):]
        if not context:
            raise ModelError("an internals or continuation request needs a non-empty prompt")
        ctx, offsets = self._encode(context)
        conts: list[list[int]] = []
        for c in continuations:
            whole, _ = self._encode(context + moved + c)
            if whole[:len(ctx)] != ctx:
                raise ModelError(f"the continuation {c[:40]!r} merges with the prompt's last token when tokenised "
                                 "(begin it with a space or a newline)")
            if len(whole) == len(ctx):
                raise ModelError(f"the continuation {c[:40]!r} tokenises to nothing after the prompt")
            conts.append(whole[len(ctx):])
        return context, ctx, offsets, conts

    def _continue(self, past: Any, last_lsm: np.ndarray, cont: list[int], hidden: bool) -> tuple[np.ndarray, Any, bool]:
        """Per-token log-probabilities of ``cont`` after the cached prompt (``last_lsm`` is the
        distribution after the prompt) and, with ``hidden``, every layer's hidden state at its last
        token ([L+1, D]), and whether greedy decoding gives ``cont``. The prompt's cache is
        copied, so it serves the next continuation."""
        import copy

        import torch

        lps = [float(last_lsm[cont[0]])]
        greedy = int(np.argmax(last_lsm)) == cont[0]
        h_last = None
        if len(cont) > 1 or hidden:
            lsm, hs, _ = self._forward(cont, list(range(len(cont) - 1)), hidden, None, past=copy.deepcopy(past))
            lps += [float(lsm[i, t]) for i, t in enumerate(cont[1:])]
            greedy = greedy and all(int(np.argmax(lsm[i])) == t for i, t in enumerate(cont[1:]))
            if hs is not None:
                h_last = torch.stack([h[-1] for h in hs]).float().numpy()
        return np.asarray(lps), h_last, greedy

    def _one_token_batch(self, past: Any, last_lsm: np.ndarray, tokens: list[int]) -> tuple[list[np.ndarray],
                                                                                              list[np.ndarray]]:
        """Log-probabilities and every layer's hidden state ([L+1, D] each) of one-token
        continuations, in one forward pass of a batch of ``len(tokens)`` over copies of the
        prompt's cache (the weights are read once instead of once per continuation)."""
        import copy

        import torch

        cache = copy.deepcopy(past)
        cache.batch_repeat_interleave(len(tokens))
        self.evaluated_tokens += len(tokens)
        with torch.inference_mode():
            out = self.model(input_ids=torch.tensor([[t] for t in tokens], dtype=torch.long),
                             output_hidden_states=True, use_cache=True, cache=cache, logits_to_keep=1)
        lps = [np.asarray([float(last_lsm[t])]) for t in tokens]
        ends = [torch.stack([h[i, -1] for h in out.hidden_states]).float().numpy() for i in range(len(tokens))]
        return lps, ends

    def _variants(self, option: str) -> list[list[int]]:
        if option not in self._option_cache:
            self._option_cache[option] = option_token_variants(option, lambda t: self.tokenizer(t, add_special_tokens=False)["input_ids"])
        return self._option_cache[option]

    def _option_raw(self, lsm: np.ndarray, options: tuple[str, ...]) -> dict[str, float]:
        """Each option's next-token log-probability, its variants ("A", " A") summed; by the first
        token, which must tell the options apart (one-token option letters and labels)."""
        raw: dict[str, float] = {}
        firsts: dict[int, str] = {}
        for o in options:
            ids = sorted({s[0] for s in self._variants(o)})
            for i in ids:
                if firsts.setdefault(i, o) != o:
                    raise BackendConfigError(f"the transformers backend scores options by their first token, and "
                                             f"{firsts[i]!r} and {o!r} share one")
            raw[o] = float(np.logaddexp.reduce(lsm[ids]))
        return raw

    # ------------------------------------------------------------------ primitives
    def option_logprobs(self, request: OptionsRequest) -> OptionScores:
        with self._lock:
            self.calls += 1
            ids = self.tokens(request.prompt)
            lsm, _, _ = self._forward(ids, [len(ids) - 1], False, None)
            raw = self._option_raw(lsm[0], request.options)
            norm, mass = normalise(raw)
            top = max(norm, key=lambda k: norm[k])
            return OptionScores(logprobs=norm, raw_logprobs=raw, mass=mass, method="logprobs", text=top,
                                prompt_tokens=len(ids))

    def continuation_logprobs(self, request: ContinuationRequest) -> ContinuationScores:
        with self._lock:
            self.calls += 1
            _, ctx, _, conts = self._context(request.prompt, request.continuations)
            lsm, _, past = self._forward(ctx, [len(ctx) - 1], False, None, keep_cache=True)
            lls: list[float] = []
            greedy: list[bool] = []
            for cont in conts:
                lp, _, g = self._continue(past, lsm[0], cont, False)
                lls.append(float(lp.sum()))
                greedy.append(g)
            best = max(range(len(lls)), key=lambda i: lls[i])
            return ContinuationScores(loglikelihoods=lls, token_counts=[len(c) for c in conts], greedy=greedy,
                                      method="loglikelihood", text=request.continuations[best],
                                      prompt_tokens=len(ctx) + sum(len(c) for c in conts))

    def generate(self, request: GenerateRequest) -> Generation:
        import torch

        if request.schema is not None:
            raise BackendConfigError("the transformers backend does not constrain generation by a JSON schema; use "
                                     "the embedded backend for schema answers")
        with self._lock:
            self.calls += 1
            ids = self.tokens(request.prompt)
            if len(ids) + request.max_tokens > self.n_ctx:
                raise PromptTooLong(len(ids), self.n_ctx, request.max_tokens)
            sample = request.temperature > 0
            gen = torch.Generator().manual_seed(int(request.seed or 0))
            kwargs: dict[str, Any] = {"do_sample": sample, "max_new_tokens": request.max_tokens}
            if sample:
                kwargs.update(temperature=request.temperature, top_k=0, top_p=1.0)
            old = torch.random.get_rng_state()
            torch.random.manual_seed(int(gen.initial_seed()))
            try:
                with torch.inference_mode():
                    out = self.model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids),
                                              dtype=torch.long), pad_token_id=self.tokenizer.eos_token_id, **kwargs)
            finally:
                torch.random.set_rng_state(old)
            new = out[0, len(ids):].tolist()
            eos = self._eos_ids()
            finish = "length"
            if new and new[-1] in eos:
                new, finish = new[:-1], "stop"
            text = self.tokenizer.decode(new, skip_special_tokens=True)
            self.evaluated_tokens += len(ids) + len(new)
            return Generation(text=text, prompt_tokens=len(ids), completion_tokens=len(new), finish_reason=finish)

    def _eos_ids(self) -> set[int]:
        ids = set()
        g = getattr(self.model, "generation_config", None)
        e = getattr(g, "eos_token_id", None) if g is not None else None
        for v in (e if isinstance(e, list) else [e]):
            if v is not None:
                ids.add(int(v))
        if self.tokenizer.eos_token_id is not None:
            ids.add(int(self.tokenizer.eos_token_id))
        return ids

    def internals(self, request: InternalsRequest) -> Internals:
        """One forward pass of the rendered prompt, then one of each continuation from the prompt's
        cached keys and values, giving what the request asks for (see
        :class:`~jurybox.types.InternalsRequest`)."""
        import torch

        with self._lock:
            self.calls += 1
            context, ctx, offsets, conts = self._context(request.prompt, request.continuations)
            marks = _mark_positions(context, offsets, request.marks)
            prompt_end = len(ctx) - 1
            positions = [prompt_end, *marks]
            capture = _Capture([prompt_end], marks) if request.qk and marks else None
            lsm, hs, past = self._forward(ctx, [prompt_end], request.hidden, capture, keep_cache=bool(conts))
            arrays: dict[str, np.ndarray] = {}
            if hs is not None:
                at = positions if request.hidden_at_marks else positions[:1]
                arrays["hidden_prompt"] = torch.stack([h[at] for h in hs]).float().numpy()
            if capture is not None:
                arrays["qk"] = _qk_scores(capture, self.n_layers, self.n_heads)
            option_logprobs = self._option_raw(lsm[0], request.options) if request.options else {}
            lps: list[np.ndarray] = []
            ends: list[np.ndarray] = []
            if request.hidden and len(conts) > 1 and all(len(c) == 1 for c in conts):
                # one-token answers (option letters): one batched pass over copies of the prompt's cache
                lps, ends = self._one_token_batch(past, lsm[0], [c[0] for c in conts])
            else:
                for cont in conts:
                    lp, h_last, _ = self._continue(past, lsm[0], cont, request.hidden)
                    lps.append(lp)
                    if h_last is not None:
                        ends.append(h_last)
            if conts:
                arrays["token_logprobs"] = np.concatenate(lps)
            if ends:
                arrays["hidden_end"] = np.stack(ends, axis=1)  # [L+1, C, D]
            return Internals(arrays=arrays, positions=positions, n_prompt_tokens=len(ctx),
                             option_logprobs=option_logprobs, continuation_logprobs=[float(x.sum()) for x in lps],
                             continuation_tokens=[len(c) for c in conts],
                             prompt_tokens=len(ctx) + sum(len(c) for c in conts))

    def close(self) -> None:
        self.model = None
        self.tokenizer = None


def _mark_positions(text: str, offsets: list[tuple[int, int]], marks: tuple[str, ...]) -> list[int]:
    """The token holding the last character of each mark: the first mark is the first occurrence
    of its text in ``text`` (the rendered prompt and continuation), each later one the first
    occurrence after the previous mark."""
    out: list[int] = []
    at = 0
    for m in marks:
        if not m:
            raise ModelError("an empty mark cannot be found in the prompt")
        i = text.find(m, at)
        if i < 0:
            raise ModelError(f"mark {m[:40]!r} is not in the rendered prompt (after the previous mark)")
        last = i + len(m) - 1
        tok = max((j for j, (s, e) in enumerate(offsets) if e > s and s <= last), default=None)
        if tok is None:
            raise ModelError(f"mark {m[:40]!r} has no token")
        out.append(tok)
        at = i + len(m)
    return out


def _qk_scores(capture: _Capture, n_layers: int, n_heads: int) -> np.ndarray:
    """[layers, heads, marks]: ``<q of the last prompt token, k at each mark> * scaling`` per head,
    the key head of a query head under grouped-query attention being ``h // (H / H_kv)``."""
    out = np.full((n_layers, n_heads, len(capture.key_pos)), np.nan, dtype=np.float32)
    for layer in range(n_layers):
        if layer not in capture.q:
            continue
        q = capture.q[layer][:, 0, :]  # [H, d]
        k = capture.k[layer]  # [H_kv, M, d]
        group = q.shape[0] // k.shape[0]
        kk = k.repeat_interleave(group, dim=0)  # [H, M, d]
        out[layer] = ((kk @ q.unsqueeze(-1)).squeeze(-1) * capture.scaling[layer]).numpy()
    return out
