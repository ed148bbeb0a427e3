"""How jurybox loads llama.cpp models safely on every x86-64 CPU.

**AMX.** A llama.cpp CPU backend compiled for a CPU with AMX (Sapphire Rapids and newer; pip builds
llama-cpp-python with ``-march=native``, so a wheel built on such a machine has it) repacks the
weights into an "AMX" buffer and runs its matrix multiplies with AMX tiles. On many virtualised
machines of that class the first evaluation then dies with a segmentation fault in
``llama_decode`` (llama.cpp issue 20824; ollama issues 17205 and 17249). The llama model
parameter ``use_extra_bufts = False`` keeps the weights in plain CPU buffers and avoids it; it
also turns off llama.cpp's other CPU weight repacking (``CPU_REPACK``), whose speed-up jurybox
measured in ``bench/amx_repack.py`` (see ``docs/backends.md``).

jurybox decides from what the *installed* library was compiled with (``llama_print_system_info``
reports ``AMX_INT8 = 1``), not from how it was built on this machine, so the choice holds for a
wheel that pip cached on an earlier machine. ``$JURYBOX_REPACK`` overrides it:

* ``auto`` (default): extra buffer types off when the library has AMX kernels, on otherwise;
* ``on``: always on (llama.cpp's default; may crash on AMX machines in VMs);
* ``off``: always off.

``Llama()`` does not expose ``use_extra_bufts``; :func:`model_params_override` sets it on the
parameters ``Llama`` builds, for the duration of one load (and :func:`install_process_wide` for a
process that only serves one model, such as ``python -m jurybox.serve``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from jurybox.errors import JuryboxError

ENV = "JURYBOX_REPACK"
_CHOICES = ("auto", "on", "off")
_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def system_info() -> str:
    """llama.cpp's compile-time feature list (``CPU : SSE3 = 1 | ... | AMX_INT8 = 1 | ...``)."""
    import llama_cpp

    raw: Any = llama_cpp.llama_print_system_info()
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def library_has_amx(info: str | None = None) -> bool:
    """True when the installed llama.cpp CPU backend carries AMX kernels."""
    text = system_info() if info is None else info
    return "AMX_INT8 = 1" in text


def use_extra_bufts(env: str | None = None, info: str | None = None) -> bool:
    """Whether llama.cpp may repack weights into extra buffer types (AMX, CPU_REPACK)."""
    value = (os.environ.get(ENV, "auto") if env is None else env).strip().lower() or "auto"
    if value not in _CHOICES:
        raise JuryboxError(f"${ENV} must be one of {', '.join(_CHOICES)}, got {value!r}")
    if value == "auto":
        return not library_has_amx(info)
    return value == "on"


def _patched(original: Callable[[], Any], extra_bufts: bool) -> Callable[[], Any]:
    def default_params() -> Any:
        params = original()
        params.use_extra_bufts = extra_bufts
        return params

    # not __wrapped__: llama-cpp-python's ctypes functions already carry one (their Python stub)
    default_params._jurybox_original = original  # type: ignore[attr-defined]
    return default_params


@contextmanager
def model_params_override(extra_bufts: bool | None = None) -> Iterator[bool]:
    """Within the block, ``Llama(...)`` loads with ``use_extra_bufts`` set as decided (yields it)."""
    import llama_cpp.llama_cpp as low

    decided = use_extra_bufts() if extra_bufts is None else extra_bufts
    with _LOCK:
        original = low.llama_model_default_params
        low.llama_model_default_params = _patched(original, decided)
        try:
            yield decided
        finally:
            low.llama_model_default_params = original


def install_process_wide(extra_bufts: bool | None = None) -> bool:
    """Every later model load in this process uses the decided setting (for single-purpose processes)."""
    import llama_cpp.llama_cpp as low

    decided = use_extra_bufts() if extra_bufts is None else extra_bufts
    with _LOCK:
        original = getattr(low.llama_model_default_params, "_jurybox_original", low.llama_model_default_params)
        low.llama_model_default_params = _patched(original, decided)
    return decided
