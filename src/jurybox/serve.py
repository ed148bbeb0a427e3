"""``python -m jurybox.serve``: llama-cpp-python's OpenAI-compatible server, safe on AMX machines.

The same command line as ``python -m llama_cpp.server`` (``--model``, ``--host``, ``--port``,
``--n_ctx``...); before the server loads its model, jurybox applies the weight-repacking decision
of :mod:`jurybox.backends.llama_params` (``$JURYBOX_REPACK``), so a server on a CPU whose llama.cpp
build has AMX kernels does not crash on its first request. ``--model`` also accepts a jurybox
model name (``qwen2.5-coder-1.5b``, ``gemma-3-270m``), resolved from the model cache.
Needs the server extra: ``pip install 'llama-cpp-python[server]==0.3.36'``.
"""

from __future__ import annotations

import importlib.util
import sys

from jurybox.errors import JuryboxError

_SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")


def _resolve_model_argument(argv: list[str]) -> list[str]:
    out = list(argv)
    for i, arg in enumerate(out):
        value_at = i + 1 if arg == "--model" else None
        if arg.startswith("--model="):
            name = arg.split("=", 1)[1]
        elif value_at is not None and value_at < len(out):
            name = out[value_at]
        else:
            continue
        from jurybox.models import REGISTRY, resolve

        if name in REGISTRY:
            path = str(resolve(name).path)
            if value_at is None:
                out[i] = f"--model={path}"
            else:
                out[value_at] = path
    return out


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    missing = [m for m in _SERVER_MODULES if importlib.util.find_spec(m) is None]
    try:
        if missing:
            raise JuryboxError(f"the llama.cpp server is not installed ({', '.join(missing)} missing): "
                               "pip install 'llama-cpp-python[server]==0.3.36'")
        args = _resolve_model_argument(args)
        from jurybox.backends.llama_params import install_process_wide

        extra = install_process_wide()
    except JuryboxError as exc:
        print(f"jurybox.serve: error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(f"jurybox.serve: llama.cpp weight repacking {'on' if extra else 'off'}", file=sys.stderr)
    from llama_cpp.server.__main__ import main as server_main

    sys.argv = ["jurybox.serve", *args]
    server_main()


if __name__ == "__main__":
    main()
