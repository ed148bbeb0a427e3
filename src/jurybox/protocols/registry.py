"""Protocols by name.

The four core protocols are listed here; the others register themselves with
:func:`register_protocol` when their module is imported (``jurybox.protocols`` imports its own;
other packages are imported on demand, see :data:`PROTOCOL_PACKAGES`)."""

from __future__ import annotations

from typing import Any

from jurybox.errors import JuryboxError
from jurybox.protocols.base import JudgeProtocol
from jurybox.protocols.pairwise import Pairwise
from jurybox.protocols.simple import Classify, Correctness, Score

__all__ = ["ENTRY_POINT_GROUP", "PROTOCOLS", "PROTOCOL_PACKAGES", "available_protocols", "load_protocol_plugins",
           "make_protocol", "protocol_class", "register_protocol"]

PROTOCOLS: dict[str, type[JudgeProtocol]] = {
    "score": Score,
    "pairwise": Pairwise,
    "classify": Classify,
    "correctness": Correctness,
}


PROTOCOL_PACKAGES: list[str] = ["jurybox.audit", "jurybox.protocols.multilabel", "jurybox.protocols.debate",
                                 "jurybox.mcqa.protocol", "jurybox.survey.protocol"]
"""Packages that register protocols when they are imported (``jurybox.audit`` registers
``fenced-score`` and ``fenced-pairwise``; ``jurybox.protocols.multilabel`` registers ``multilabel``,
``classify_codes`` and ``classify_shortlist``; the debate, multiple-choice and stance modules register
theirs), imported the first time a name is not registered.
An installed package can instead declare an entry point in the ``jurybox.protocols`` group; the
module it names is imported then too."""

ENTRY_POINT_GROUP = "jurybox.protocols"


def register_protocol(cls: type[JudgeProtocol]) -> type[JudgeProtocol]:
    """Register a protocol class under its ``name`` (usable as a decorator)."""
    PROTOCOLS[cls.name] = cls
    return cls


def load_protocol_plugins() -> None:
    """Import the packages that register protocols (:data:`PROTOCOL_PACKAGES`, then the
    ``jurybox.protocols`` entry points); importing one again costs nothing."""
    import importlib
    from importlib.metadata import entry_points

    for package in PROTOCOL_PACKAGES:
        importlib.import_module(package)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as exc:
            raise JuryboxError(f"the protocol plugin '{ep.name}' ({ep.value}) cannot be loaded: {exc}") from exc


def available_protocols() -> list[str]:
    """Every protocol name, plugins included."""
    load_protocol_plugins()
    return sorted(PROTOCOLS)


def protocol_class(protocol: str) -> type[JudgeProtocol]:
    """The protocol class registered under ``protocol`` (plugins loaded on a miss), or a one-line
    error listing the protocols there are."""
    cls = PROTOCOLS.get(protocol)
    if cls is None:  # protocols defined next to the capability that uses them
        load_protocol_plugins()
        cls = PROTOCOLS.get(protocol)
    if cls is None:
        raise JuryboxError(f"unknown protocol '{protocol}' (available: {', '.join(sorted(PROTOCOLS))})",
                           option="protocol")
    return cls


def make_protocol(protocol: str | JudgeProtocol, **params: Any) -> JudgeProtocol:
    """A protocol from its name and parameters (a protocol instance is returned as it is)."""
    if isinstance(protocol, JudgeProtocol):
        if params:
            raise JuryboxError("protocol parameters cannot be given with a protocol instance")
        return protocol
    cls = protocol_class(protocol)
    try:
        return cls(**params)
    except JuryboxError:
        raise
    except TypeError as exc:
        raise JuryboxError(f"protocol {protocol}: {exc}") from exc
    except ValueError as exc:
        raise JuryboxError(f"protocol {protocol}: {exc}") from exc
