"""Errors a user can act on.

Every error that comes from bad input or a bad environment is a :class:`JuryboxError`: its
message is one sentence naming the file, row and field where that applies, and the CLI prints
it on one line and exits with status 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

__all__ = ["BackendCallError", "BackendConfigError", "GateFailure", "InputError", "JuryboxError", "ModelError",
           "OptionError", "PromptTooLong", "StoreError", "TasksFailed", "redact", "register_secret"]


class JuryboxError(Exception):
    """A problem the user can fix (bad input, missing model, unwritable store...).

    Its message never carries a secret: see :func:`redact`. ``option`` names the parameter the
    problem is about (``encoding``, ``store``, ``scale``...) when there is one: messages speak of
    parameters, and the command line turns the name into its flag (``--encoding``)."""

    exit_code = 2
    option: str | None = None

    def __init__(self, *args: object, option: str | None = None) -> None:
        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))
        if option is not None:
            self.option = option


class InputError(JuryboxError, ValueError):
    """Bad input data: names the file, the 1-based row and the field when known (also a
    ``ValueError``, so ``except ValueError`` in a caller's code catches it)."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
        option: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.field = field
        self.message = message  # without the location prefix
        where = []
        if file is not None:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field '{field}'")
        prefix = ", ".join(where)
        self.where = prefix
        super().__init__(f"{prefix}: {message}" if prefix else message, option=option)


class OptionError(JuryboxError, ValueError):
    """A parameter (a protocol's, a backend's, a run's) with a value that does not fit; names the
    parameter in ``option``."""

    def __init__(self, message: str, *, option: str) -> None:
        super().__init__(message, option=option)


class BackendConfigError(JuryboxError):
    """The server refused the backend's configuration (bad API key, wrong URL or model name)."""


class ModelError(JuryboxError):
    """The model file is missing, corrupt, or cannot be loaded."""


class StoreError(JuryboxError):
    """The verdict store cannot be opened or written."""


class GateFailure(JuryboxError):
    """A quality gate was not met (exit status 1, not 2: this is a result, not an error)."""

    exit_code = 1


class PromptTooLong(JuryboxError, ValueError):
    """A rendered prompt does not fit in the model's context window (never truncated silently)."""

    def __init__(self, n_tokens: int, n_ctx: int, reserve: int) -> None:
        self.n_tokens = n_tokens
        self.n_ctx = n_ctx
        super().__init__(
            f"the prompt is {n_tokens} tokens but the model's context window is {n_ctx} "
            f"({reserve} reserved for the answer); shorten the item or use a model with a longer context"
        )


class BackendCallError(Exception):
    """A model call failed for a reason outside the item (network, server error, timeout).

    The engine records it in the store's ``failures`` table with this message and goes on; the
    task has no verdict, so the next run retries it. Secrets in the message are masked (a server
    may echo the request's ``Authorization`` header in its error body).
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))


class TasksFailed(JuryboxError):
    """A run finished, but some tasks failed (exit status 1: the output is written, the failed
    tasks have no verdict and are retried by the next run)."""

    exit_code = 1

    @classmethod
    def check(cls, n_failed: int, n_tasks: int, failures: Sequence[Mapping[str, object]]) -> TasksFailed | None:
        """The error for a run with ``n_failed`` failed tasks (None when none failed); names the first."""
        if not n_failed:
            return None
        first = redact(str(failures[0]["error"])) if failures else "unknown"
        return cls(f"{n_failed} of {n_tasks} tasks failed (exit status 1) and will be retried on the next run; "
                   f"first: {first}")


# -- secrets: never stored, written or printed -------------------------------------------------

_SECRETS: set[str] = set()
_SECRET_ENV = re.compile(r"(API_?KEY|TOKEN|SECRET|PASSWORD)$", re.IGNORECASE)
_PATTERNS = (
    # "Authorization: Bearer abc", "authorization=abc", '"Authorization": "Bearer abc"'
    (re.compile(r"""(?i)(["']?(?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:(?:bearer|basic|token)\s+)?[^\s"',;}]+"""),
     r"\1***"),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 ***"),
    (re.compile(r"\b(Basic)\s+[A-Za-z0-9+/]{8,}={0,2}"), r"\1 ***"),
    (re.compile(r"(?i)([\"']?(?:x-)?api[-_]?key[\"']?\s*[:=]\s*[\"']?)[^\s\"',;}]+"), r"\1***"),
    (re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_-]{8,}"), r"\1-***"),
    (re.compile(r"(?i)\b(https?://)[^/\s:@]+:[^/\s@]+@"), r"\1***@"),  # credentials in a URL
)


def register_secret(value: str | None) -> None:
    """Remember a secret (such as the API key a backend sends) so :func:`redact` masks it."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """``text`` with secrets masked as ``***``: registered secrets, the values of environment
    variables named like ``*_API_KEY``/``*_TOKEN``/``*_SECRET``, bearer tokens, ``Authorization``
    and ``api-key`` header values, ``sk-...`` keys and passwords in URLs."""
    if not text:
        return text
    secrets = set(_SECRETS)
    for name, value in os.environ.items():
        if len(value) >= 8 and _SECRET_ENV.search(name):
            secrets.add(value)
    for s in sorted(secrets, key=len, reverse=True):  # longest first: a key containing another
        if s in text:
            text = text.replace(s, "***")
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text
