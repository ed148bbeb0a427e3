"""Backends by name: build one from a model spec and options, sharing loaded models within a process.

A model spec is ``NAME:REST`` (or just ``NAME``) for a registered backend
(``openai:MODEL@BASE_URL``, ``scripted:IDENTITY``, ``embedded:NAME_OR_PATH``); anything else (``qwen2.5-coder-1.5b``,
``./judge.gguf``) is an embedded model name or GGUF path. Each backend is registered with
:func:`register_backend` under its name as a ``"module:Class"`` target, imported only when that
backend is used (the embedded one needs llama.cpp, the openai one aiohttp).

Options are the backend's keyword arguments (``get_backend("openai:m@URL", concurrency=8,
rpm=600)``); an unknown one is a :class:`BackendOptionError` listing the valid ones.
:func:`parse_backend_options` turns ``KEY=VALUE`` strings (``--backend-option``) or a config
mapping into typed options, following the annotations of the backend's signature.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jurybox._options_text import NotFromText, value_from_text
from jurybox._pairs import key_value_pairs
from jurybox.backends.base import Backend
from jurybox.errors import JuryboxError


class BackendOptionError(JuryboxError, ValueError):
    """A backend option that the backend does not take, or a value that does not fit its type (also
    a ``ValueError``). ``option`` is the parameter the options came in (``backend_options``, which
    the command line names ``--backend-option``); ``key`` is the backend option's own name when the
    problem is about one (``concurrency``)."""

    def __init__(self, message: str, *, option: str | None = "backend_options", key: str | None = None) -> None:
        super().__init__(message)
        self.option = option
        self.key = key


@dataclass(frozen=True)
class BackendEntry:
    """A registered backend: ``target`` ("module:Class") builds it from the arguments ``from_spec``
    reads out of the spec's text after ``NAME:`` (named in ``spec_params``, so they are not
    options) plus the options. ``shared`` backends (loaded models) are built once per process for
    each spec and options."""

    name: str
    target: str
    from_spec: Callable[[str], dict[str, Any]]
    spec_params: tuple[str, ...] = ()
    shared: bool = False

    def load(self) -> Callable[..., Backend]:
        module, _, attr = self.target.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            raise JuryboxError(f"the {self.name} backend is not available in this installation ({exc})") from exc
        return factory  # type: ignore[no-any-return]

    def parameters(self) -> dict[str, inspect.Parameter]:
        """The options: keyword arguments of the target other than those the spec sets, with their
        annotations evaluated (left as strings when they cannot be)."""
        factory = self.load()
        try:
            params = inspect.signature(factory, eval_str=True).parameters
        except Exception:  # an annotation that does not evaluate here
            params = inspect.signature(factory).parameters
        return {k: p for k, p in params.items()
                if k not in self.spec_params and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


BACKENDS: dict[str, BackendEntry] = {}
DEFAULT_BACKEND = "embedded"
_LOADED: dict[tuple[Any, ...], Backend] = {}


def register_backend(name: str, target: str, *, from_spec: Callable[[str], dict[str, Any]],
                     spec_params: Iterable[str] = (), shared: bool = False) -> None:
    """Register a backend: ``NAME:REST`` specs then build ``target`` (``"module:Class"``, imported
    when first used) with ``from_spec(REST)`` and the options."""
    BACKENDS[name] = BackendEntry(name, target, from_spec, tuple(spec_params), shared)


def _openai_spec(rest: str) -> dict[str, Any]:
    model, _, url = rest.partition("@")
    return {"model": model, "base_url": url or None}


register_backend("embedded", "jurybox.backends.embedded:EmbeddedBackend",
                 from_spec=lambda rest: {"model": rest or None}, spec_params=("model",), shared=True)
register_backend("openai", "jurybox.backends.openai:OpenAIBackend", from_spec=_openai_spec,
                 spec_params=("model", "base_url"))
register_backend("transformers", "jurybox.internals.backend:TransformersBackend",
                 from_spec=lambda rest: {"model": rest or None}, spec_params=("model",), shared=True)
register_backend("scripted", "jurybox.backends.scripted:ScriptedBackend",
                 from_spec=lambda rest: {"identity": rest} if rest else {}, spec_params=("identity",))
# Composite judges (their modules run judges through the engine; imported only when named).
register_backend("cascade", "jurybox.cascade.judge:CascadeJudge",
                 from_spec=lambda rest: {"file": rest} if rest.endswith(".json") else {"cheap": rest or None},
                 spec_params=("cheap", "file"))
register_backend("stack", "jurybox.stacking.judge:StackedJudge", from_spec=lambda rest: {"file": rest},
                 spec_params=("file",))


def resolve_spec(model: str | os.PathLike[str] | None) -> tuple[BackendEntry, dict[str, Any]]:
    """The registered backend a model spec names, and the arguments the spec gives it."""
    if model is None:
        return BACKENDS[DEFAULT_BACKEND], {"model": None}
    if isinstance(model, os.PathLike):
        return BACKENDS[DEFAULT_BACKEND], {"model": os.fspath(model)}
    name, _, rest = model.partition(":")
    if name in BACKENDS:  # "openai:m@URL", "scripted", "embedded:./judge.gguf"
        entry = BACKENDS[name]
        return entry, entry.from_spec(rest)
    return BACKENDS[DEFAULT_BACKEND], {"model": model}


def _check_names(entry: BackendEntry, names: Iterable[str]) -> dict[str, inspect.Parameter]:
    params = entry.parameters()
    for key in names:
        if key not in params:
            raise BackendOptionError(f"unknown option '{key}' for the {entry.name} backend "
                                     f"(valid: {', '.join(params) or 'none'})", key=key)
    return params


def get_backend(model: str | os.PathLike[str] | Backend | None = None, **options: Any) -> Backend:
    """A backend for ``model`` with ``options`` (the backend's keyword arguments).

    * a Backend instance is returned as is (options cannot be given with it);
    * ``"NAME:REST"`` for a registered backend name builds that backend (``openai:MODEL@BASE_URL``
      selects an OpenAI-compatible server, ``scripted`` a backend with default answers);
    * anything else is an embedded model name or GGUF path (loaded once per process and options).
    """
    if model is not None and not isinstance(model, str | os.PathLike):
        if options:
            raise BackendOptionError("backend options cannot be given with a backend instance")
        return model
    entry, args = resolve_spec(model)
    _check_names(entry, options)
    if not entry.shared:
        return entry.load()(**args, **options)
    key = (entry.name, tuple(sorted(args.items())), tuple(sorted(options.items())))
    if key not in _LOADED:
        _LOADED[key] = entry.load()(**args, **options)
    return _LOADED[key]


def _convert(entry: BackendEntry, key: str, hint: Any, text: str) -> Any:
    """``text`` as a value of type ``hint`` (the annotation of the option ``key``)."""
    def bad(what: str) -> BackendOptionError:
        return BackendOptionError(f"option '{key}' of the {entry.name} backend must be {what}, got {text!r}",
                                  key=key)

    try:
        return value_from_text(hint, text, bad, lenient=False)
    except NotFromText:
        raise BackendOptionError(f"option '{key}' of the {entry.name} backend cannot be set from text "
                                 "(set it in Python with get_backend)", key=key) from None


def parse_backend_options(model: str | os.PathLike[str] | None,
                          options: Iterable[str] | Mapping[str, Any]) -> dict[str, Any]:
    """Typed options for the backend of ``model`` from ``KEY=VALUE`` strings (``--backend-option``)
    or a mapping (a jury config's ``backend_options``).

    Each value is read as its option's annotated type: ``int``, ``float``, ``bool`` (true/false,
    yes/no, on/off, 1/0), a ``Literal`` choice, ``str``, JSON for dicts and lists, ``none`` for an
    optional value. Mapping values that are not strings are kept as they are (YAML has typed them).
    Keys may use dashes for underscores; a later repeat of a key wins.
    """
    entry, _ = resolve_spec(model)
    pairs = key_value_pairs(options, lambda item: BackendOptionError(
        f"a backend option must look like KEY=VALUE, got {item!r}"))
    pairs = [(k.strip().replace("-", "_"), v) for k, v in pairs]
    params = _check_names(entry, [k for k, _ in pairs])
    out: dict[str, Any] = {}
    for key, value in pairs:
        hint = params[key].annotation
        if hint is inspect.Parameter.empty or isinstance(hint, str):
            hint = str
        out[key] = _convert(entry, key, hint, value) if isinstance(value, str) else value
    return out


def unload_all() -> None:
    for b in _LOADED.values():
        b.close()
    _LOADED.clear()
