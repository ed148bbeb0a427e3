"""``JudgeSpec``: one judge's settings, the same object for judging, juries, audits, label errors
and batch files.

A spec is the protocol (a name, or a protocol instance), its parameters, the prompt template, the
model spec and the backend's options. It is frozen: derive a variant with :meth:`JudgeSpec.replace`.
:meth:`JudgeSpec.parse` builds one from text (``KEY=VALUE`` protocol parameters and backend
options, as the command line and jury configs give them), typed by the protocol's and the
backend's own signatures.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from jurybox.backends.base import Backend
from jurybox.backends.registry import get_backend, parse_backend_options
from jurybox.engine import Judge
from jurybox.errors import JuryboxError
from jurybox.protocols.base import JudgeProtocol
from jurybox.protocols.registry import make_protocol, protocol_class

__all__ = ["JudgeSpec", "as_spec"]

ModelSpec = str | os.PathLike[str] | Backend | None


def _frozen(m: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(m or {}))


@dataclass(frozen=True)
class JudgeSpec:
    """What a judge is: ``protocol`` with ``params`` and ``template``, asked of ``model`` (an
    embedded model name, a GGUF path, ``openai:MODEL@URL``, or a backend) built with
    ``backend_options``. ``name`` labels the judge in reports (default: protocol, template, model)."""

    protocol: str | JudgeProtocol = "score"
    params: Mapping[str, Any] = field(default_factory=dict)
    template: str = "default"
    model: ModelSpec = None
    backend_options: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""
    #: few-shot: a labelled examples file (or DataFrame, or list of dicts), ``shots`` of them per
    #: prompt chosen by ``select`` (similar | balanced | random); see :mod:`jurybox.fewshot`
    examples: Any = None
    shots: int = 4
    select: str = "similar"
    examples_fields: Mapping[str, str] = field(default_factory=dict)
    examples_label: str = "label"
    #: contextual calibration (content-free inputs) and a fitted per-label bias (a file written by
    #: ``jurybox calibrate``, or a LabelBias); see :mod:`jurybox.calibration`
    contextual: bool = False
    calibration: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "examples_fields", _frozen(self.examples_fields))
        params = dict(self.params or {})
        template = params.pop("template", None)
        if template is not None:  # a template among the parameters (a jury config's params)
            if self.template not in ("default", template):
                raise JuryboxError(f"two templates given: {template!r} in the parameters and {self.template!r}")
            object.__setattr__(self, "template", str(template))
        object.__setattr__(self, "params", _frozen(params))
        object.__setattr__(self, "backend_options", _frozen(self.backend_options))
        if isinstance(self.protocol, JudgeProtocol) and (self.params or self.template != "default"):
            raise JuryboxError("protocol parameters cannot be given with a protocol instance")
        if self.backend_options and self.model is not None and not isinstance(self.model, str | os.PathLike):
            raise JuryboxError("backend options cannot be given with a backend instance")

    @classmethod
    def parse(
        cls,
        protocol: str = "score",
        *,
        params: Iterable[str] | Mapping[str, Any] = (),
        template: str = "default",
        model: ModelSpec = None,
        backend_options: Iterable[str] | Mapping[str, Any] = (),
        name: str = "",
    ) -> JudgeSpec:
        """A spec from text: ``params`` and ``backend_options`` as ``KEY=VALUE`` strings (or a
        mapping whose text values are read the same way), typed by the protocol's
        :meth:`~jurybox.protocols.base.JudgeProtocol.parse_options` and the backend's
        :func:`~jurybox.backends.registry.parse_backend_options`."""
        typed = protocol_class(protocol).parse_options(params)
        if model is None or isinstance(model, str | os.PathLike):
            options = parse_backend_options(model, backend_options)
        elif backend_options:
            raise JuryboxError("backend options cannot be given with a backend instance")
        else:
            options = {}
        return cls(protocol, typed, template, model, options, name)

    @property
    def protocol_name(self) -> str:
        return self.protocol if isinstance(self.protocol, str) else self.protocol.name

    def protocol_params(self) -> dict[str, Any]:
        """The keyword arguments of the protocol's constructor: the template and ``params``
        (nothing for a protocol instance)."""
        if isinstance(self.protocol, JudgeProtocol):
            return {}
        return {"template": self.template, **self.params}

    def replace(self, **changes: Any) -> JudgeSpec:
        """A copy with some fields changed (``params`` replaces the parameters as a whole)."""
        return dataclasses.replace(self, **changes)

    def with_params(self, **params: Any) -> JudgeSpec:
        """A copy with some protocol parameters set (``template`` sets the template)."""
        template = params.pop("template", self.template)
        return dataclasses.replace(self, params={**self.params, **params}, template=template)

    def make_protocol(self, **overrides: Any) -> JudgeProtocol:
        """The protocol, with ``overrides`` on top of the spec's parameters (and the spec's
        few-shot examples and calibration, see :meth:`adapt`)."""
        if isinstance(self.protocol, JudgeProtocol):
            return self.adapt(make_protocol(self.protocol, **overrides))
        return self.adapt(make_protocol(self.protocol, **{**self.protocol_params(), **overrides}))

    def adapt(self, protocol: JudgeProtocol) -> JudgeProtocol:
        """``protocol`` with this spec's few-shot examples and calibration wrapped around it
        (:func:`jurybox.calibration.adapt.adapt`); the protocol itself when there are none."""
        if self.examples is None and not self.contextual and self.calibration is None:
            return protocol
        from jurybox.calibration.adapt import adapt

        return adapt(protocol, self)

    def make_backend(self) -> Backend:
        """The backend for ``model`` with ``backend_options`` (loaded models are shared)."""
        return get_backend(self.model, **self.backend_options)

    def make_judge(self, backend: Backend | None = None, **overrides: Any) -> Judge:
        """The engine's :class:`~jurybox.engine.Judge` (``backend``: one already built for ``model``)."""
        return Judge(self.make_protocol(**overrides), backend or self.make_backend(), self.name)


def as_spec(protocol: str | JudgeProtocol | JudgeSpec, model: ModelSpec = None,
            params: Mapping[str, Any] | None = None) -> JudgeSpec:
    """A :class:`JudgeSpec` from an entry point's ``protocol``/``model``/keyword parameters (a spec is
    returned as it is; it cannot be combined with ``model`` or parameters)."""
    if isinstance(protocol, JudgeSpec):
        if model is not None or params:
            raise JuryboxError("give the model and protocol parameters in the JudgeSpec, not beside it")
        return protocol
    return JudgeSpec(protocol, dict(params or {}), model=model)
