"""Build backends from a model spec string, sharing loaded models within a process."""

from __future__ import annotations

import os
from typing import Any

from jurybox.backends.base import Backend
from jurybox.errors import JuryboxError

_LOADED: dict[tuple[str, tuple[tuple[str, Any], ...]], Backend] = {}


def get_backend(model: str | os.PathLike[str] | Backend | None = None, **options: Any) -> Backend:
    """A backend for ``model``.

    * a Backend instance is returned as is;
    * ``"openai:MODEL@BASE_URL"`` (or the ``openai`` backend's own options) selects an
      OpenAI-compatible server when that backend is installed;
    * anything else is an embedded model name or GGUF path (loaded once per process).
    """
    if model is not None and not isinstance(model, str | os.PathLike):
        return model
    spec = str(model) if model is not None else ""
    if spec.startswith("openai:"):
        try:
            from jurybox.backends.openai import OpenAIBackend  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            raise JuryboxError("the openai backend is not available in this installation") from exc
        rest = spec[len("openai:"):]
        name, _, url = rest.partition("@")
        return OpenAIBackend(model=name, base_url=url or None, **options)  # type: ignore[no-any-return,unused-ignore]
    key = (spec, tuple(sorted(options.items())))
    if key not in _LOADED:
        from jurybox.backends.embedded import EmbeddedBackend

        _LOADED[key] = EmbeddedBackend(model if model is not None else None, **options)
    return _LOADED[key]


def unload_all() -> None:
    for b in _LOADED.values():
        b.close()
    _LOADED.clear()
