"""Print every jurybox command path (one per line: "judge", "models list", ...) for the CI help check."""

from __future__ import annotations

import typer.main

from jurybox.cli import app


def walk(cmd, path):  # type: ignore[no-untyped-def]
    subs = getattr(cmd, "commands", None)
    if path:
        print(" ".join(path))
    for name, sub in sorted((subs or {}).items()):
        if not getattr(sub, "hidden", False):
            walk(sub, [*path, name])


walk(typer.main.get_command(app), [])
