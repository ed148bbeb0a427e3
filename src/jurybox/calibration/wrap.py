"""A protocol that wraps another one (few-shot prompts, calibration), and the option -> label map.

:class:`Wrapped` delegates everything to the protocol it wraps (its name, fields, labels, task
parameters, prompts, reading and combining), so a wrapper overrides only what it changes and the
rest of jurybox (human labels, agreement, reports) sees the wrapped protocol's vocabulary.

:func:`option_labels` finds which label each answer option of a request stands for in a variant
(``a`` is response A in order AB and response B in order BA) by asking the protocol itself to
read a one-hot answer for each option, so no protocol needs to export its mapping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jurybox.protocols.base import JudgeProtocol
from jurybox.types import BackendResult, OptionScores, Request, Verdict

__all__ = ["Wrapped", "innermost", "option_labels"]


class Wrapped(JudgeProtocol):
    """Delegates to ``inner``; subclasses override what they change."""

    def __init__(self, inner: JudgeProtocol) -> None:  # no template of its own: the inner one's
        self.inner = inner
        self.name = inner.name  # type: ignore[misc]
        self.required = inner.required  # type: ignore[misc]
        self.optional = inner.optional  # type: ignore[misc]
        self.prefill = inner.prefill  # type: ignore[misc]
        self.criteria = inner.criteria
        self.template = inner.template
        self.template_text = inner.template_text

    def __getattr__(self, name: str) -> Any:  # protocol-specific attributes (orders, scale...)
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def labels(self) -> tuple[str, ...]:
        return self.inner.labels()

    def params(self) -> dict[str, Any]:
        return self.inner.params()

    def render(self, **context: Any) -> str:
        return self.inner.render(**context)

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        return self.inner.requests(item)

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        return self.inner.interpret(variant, result)

    def combine(self, item: Mapping[str, Any], verdicts: Mapping[str, Verdict]) -> Verdict:
        return self.inner.combine(item, verdicts)

    def normalise_label(self, value: Any, *, file: str | None, row: int, field: str) -> str:
        return self.inner.normalise_label(value, file=file, row=row, field=field)


def innermost(protocol: JudgeProtocol) -> JudgeProtocol:
    """The protocol under every wrapper."""
    while isinstance(protocol, Wrapped):
        protocol = protocol.inner
    return protocol


_MAPS: dict[tuple[type, str, tuple[str, ...]], dict[str, str]] = {}


def option_labels(protocol: JudgeProtocol, variant: str, options: Sequence[str]) -> dict[str, str]:
    """option -> label in ``variant``: the label the protocol reads from an answer that puts all
    its probability on that option (options that read as no label are left out)."""
    key = (type(protocol), variant, tuple(options))  # the mapping is the protocol class's rule
    hit = _MAPS.get(key)
    if hit is not None:
        return hit
    out: dict[str, str] = {}
    for o in options:
        lps = {x: (0.0 if x == o else -50.0) for x in options}
        v = protocol.interpret(variant, OptionScores(logprobs=lps, raw_logprobs=lps, mass=1.0))
        if v.label is not None:
            out[o] = v.label
    if len(_MAPS) > 4096:
        _MAPS.clear()
    _MAPS[key] = out
    return out
