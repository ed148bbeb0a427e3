"""One reading of an option given as text (``--param KEY=VALUE``, ``--backend-option KEY=VALUE``, a jury
config) as a value of the option's annotated type.

``int``, ``float``, ``bool`` (true/yes/on/1 or false/no/off/0), ``str``, ``Literal[...]`` (one of the
choices), ``X | None`` (``none``/``null`` is None unless ``str`` is a member), other unions (the first
member the text fits), ``dict``/``list`` (a JSON object/array). An annotation outside these (or none at
all) is read as JSON, else kept as text when ``lenient``; otherwise it cannot be set from text.
``bad(what)`` builds the caller's one-line error ("... must be WHAT, got 'text'").
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, Union

TRUE = frozenset({"true", "yes", "on", "1"})
FALSE = frozenset({"false", "no", "off", "0"})


class NotFromText(Exception):
    """The annotation has no text form (raised only when not ``lenient``)."""


def value_from_text(hint: Any, text: str, bad: Callable[[str], Exception], *, lenient: bool) -> Any:
    """``text`` as a value of ``hint`` (module docstring); raises ``bad(...)`` when it does not fit."""
    origin = typing.get_origin(hint)
    if origin is Union or origin is types.UnionType:
        members = typing.get_args(hint)
        args = [a for a in members if a is not type(None)]
        if len(args) < len(members) and text.strip().lower() in ("none", "null") and str not in args:
            return None
        if len(args) == 1:
            return value_from_text(args[0], text, bad, lenient=lenient)
        errors: list[Exception] = []
        for a in args:  # the first member the text fits
            try:
                return value_from_text(a, text, bad, lenient=lenient)
            except Exception as exc:  # noqa: BLE001 - every member's error is kept and reported below
                errors.append(exc)
        raise bad(" or ".join(getattr(a, "__name__", str(a)) for a in args)) from errors[-1]
    if origin is Literal:
        choices = typing.get_args(hint)
        for c in choices:
            if text == str(c):
                return c
        raise bad("one of " + ", ".join(map(str, choices)))
    if hint is bool:
        low = text.strip().lower()
        if low in TRUE or low in FALSE:
            return low in TRUE
        raise bad("true or false")
    if hint is int:
        try:
            return int(text)
        except ValueError:
            raise bad("an integer") from None
    if hint is float:
        try:
            return float(text)
        except ValueError:
            raise bad("a number") from None
    if hint is str or hint is Any:
        return text
    if origin in (dict, list) or hint in (dict, list):
        kind = origin or hint
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, kind):
            raise bad(f"a JSON {'object' if kind is dict else 'array'}")
        return value
    if lenient or hint is inspect.Parameter.empty:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    raise NotFromText(str(hint))
