"""A backend that answers from the store alone: it carries a real backend's fingerprint (so the
task keys are that backend's) and never loads or calls a model. A report that must not start a
model (``--report-only`` in the benches, a review of stored verdicts) judges through the engine
with it: every stored task comes back from the store, and a task the store lacks stops the run
with one line instead of silently loading a 1 GB model."""

from __future__ import annotations

from typing import Any

from jurybox.errors import JuryboxError

__all__ = ["StoreOnlyBackend", "embedded_fingerprint", "transformers_fingerprint"]


def embedded_fingerprint(sha256: str, n_ctx: int, chat: bool) -> str:
    """The embedded llama.cpp backend's fingerprint (:meth:`EmbeddedBackend.fingerprint`)."""
    return f"gguf:{sha256}:ctx{n_ctx}:{'chat' if chat else 'plain'}"


def transformers_fingerprint(ident: str, dtype: str, chat: bool) -> str:
    """The transformers (internals) backend's fingerprint; ``ident`` is ``gguf:<sha256>`` for a
    registered model."""
    return f"hf:{ident}:{dtype}:{'chat' if chat else 'plain'}"


class StoreOnlyBackend:
    """Refuses every call (:class:`JuryboxError` naming ``label`` and ``hint``); the engine never
    calls it for a task the store holds."""

    name = "store-only"

    def __init__(self, fingerprint: str, label: str, *, chat: bool = True,
                 hint: str = "judge it with the model first") -> None:
        self._fp, self.label, self.chat, self.hint = fingerprint, label, chat, hint

    @classmethod
    def embedded(cls, model: str, n_ctx: int | None = None, *, chat: bool | None = None,
                 hint: str = "judge it with the model first") -> StoreOnlyBackend:
        """The embedded backend's identity for registered ``model`` at ``n_ctx`` (default: the
        model's own), without loading it."""
        from jurybox.models import resolve

        r = resolve(model)
        mode = r.chat if chat is None else chat
        return cls(embedded_fingerprint(r.sha256, n_ctx or r.n_ctx, mode), r.name, chat=mode, hint=hint)

    @classmethod
    def transformers(cls, model: str, dtype: str, *, hint: str = "judge it with the model first") -> StoreOnlyBackend:
        """The transformers backend's identity for registered ``model`` in ``dtype``."""
        from jurybox.models import resolve

        r = resolve(model)
        return cls(transformers_fingerprint(f"gguf:{r.sha256}", dtype, r.chat), r.name, chat=r.chat, hint=hint)

    def fingerprint(self) -> str:
        return self._fp

    def _refuse(self, request: Any) -> Any:
        raise JuryboxError(f"{self.label}: a task is not in the store ({self.hint}); no model is loaded here")

    option_logprobs = generate = continuation_logprobs = internals = _refuse

    def close(self) -> None:
        pass
