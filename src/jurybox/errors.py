"""Errors a user can act on.

Every error that comes from bad input or a bad environment is a :class:`JuryboxError`: its
message is one sentence naming the file, row and field where that applies, and the CLI prints
it on one line and exits with status 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class JuryboxError(Exception):
    """A problem the user can fix (bad input, missing model, unwritable store...)."""

    exit_code = 2


class InputError(JuryboxError):
    """Bad input data: names the file, the 1-based row and the field when known."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.field = field
        where = []
        if file is not None:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field '{field}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ModelError(JuryboxError):
    """The model file is missing, corrupt, or cannot be loaded."""


class StoreError(JuryboxError):
    """The verdict store cannot be opened or written."""


class GateFailure(JuryboxError):
    """A quality gate was not met (exit status 1, not 2: this is a result, not an error)."""

    exit_code = 1


class PromptTooLong(JuryboxError):
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
    task has no verdict, so the next run retries it.
    """
