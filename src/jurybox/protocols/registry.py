"""Protocols by name."""

from __future__ import annotations

from typing import Any

from jurybox.errors import JuryboxError
from jurybox.protocols.base import JudgeProtocol
from jurybox.protocols.pairwise import Pairwise
from jurybox.protocols.simple import Classify, Correctness, Score

PROTOCOLS: dict[str, type[JudgeProtocol]] = {
    "score": Score,
    "pairwise": Pairwise,
    "classify": Classify,
    "correctness": Correctness,
}


_PLUGIN_MODULES = ("jurybox.audit.injection",)


def register_protocol(cls: type[JudgeProtocol]) -> type[JudgeProtocol]:
    """Register a protocol class under its ``name`` (usable as a decorator)."""
    PROTOCOLS[cls.name] = cls
    return cls


def make_protocol(protocol: str | JudgeProtocol, **params: Any) -> JudgeProtocol:
    if isinstance(protocol, JudgeProtocol):
        if params:
            raise JuryboxError("protocol parameters cannot be given with a protocol instance")
        return protocol
    cls = PROTOCOLS.get(protocol)
    if cls is None:
        import importlib

        for module in _PLUGIN_MODULES:  # protocols defined next to the capability that uses them
            importlib.import_module(module)
        cls = PROTOCOLS.get(protocol)
    if cls is None:
        raise JuryboxError(f"unknown protocol '{protocol}' (available: {', '.join(sorted(PROTOCOLS))})")
    try:
        return cls(**params)
    except TypeError as exc:
        raise JuryboxError(f"protocol {protocol}: {exc}") from exc
    except ValueError as exc:
        raise JuryboxError(f"protocol {protocol}: {exc}") from exc
