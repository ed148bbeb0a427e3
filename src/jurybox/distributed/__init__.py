"""Running tasks beyond one process: the Ray executor (``--executor ray``)."""

from __future__ import annotations

from jurybox.distributed.ray_executor import RayExecutor

__all__ = ["RayExecutor"]
