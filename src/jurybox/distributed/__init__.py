"""Running tasks beyond one process: the Ray executor (``--executor ray``)."""

from __future__ import annotations

from jurybox.distributed.ray_executor import RayExecutor, RayStartError

__all__ = ["RayExecutor", "RayStartError", "make_executor"]


def make_executor(name: str, address: str | None = None) -> RayExecutor | None:
    """The executor named on the command line: "local" (None: the engine's own loop) or "ray"."""
    from jurybox.errors import JuryboxError

    if name == "local":
        if address is not None:
            raise JuryboxError("--address applies to --executor ray")
        return None
    if name == "ray":
        return RayExecutor(address)
    raise JuryboxError(f"--executor must be local or ray, got {name!r}")
