"""``KEY=VALUE`` option text (``--param``, ``--backend-option``) split into pairs, one rule for all."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any


def key_value_pairs(options: Iterable[str] | Mapping[str, Any],
                    bad: Callable[[str], Exception]) -> list[tuple[str, Any]]:
    """``[(key, value), ...]`` in order (a mapping's items as they are; text split at the first
    ``=``, the key stripped); ``bad(item)`` is the error raised for an item with no ``=`` or no key."""
    if isinstance(options, Mapping):
        return [(str(k), v) for k, v in options.items()]
    pairs: list[tuple[str, Any]] = []
    for item in options:
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip():
            raise bad(str(item))
        pairs.append((key.strip(), value))
    return pairs
