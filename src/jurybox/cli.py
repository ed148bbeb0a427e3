"""The ``jurybox`` command line: a thin Typer layer over the Python API.

Commands live in :mod:`jurybox.commands`; every module there exposes ``register(app)`` and is
discovered here, so each capability owns its own command module.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from jurybox.errors import JuryboxError

app = typer.Typer(
    name="jurybox",
    help="Make LLM judges trustworthy, fast and cheap.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    import jurybox.commands as commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"jurybox.commands.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_commands()


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and exit status 2 (gates: 1)."""
    try:
        app(args=argv, standalone_mode=False)
    except JuryboxError as exc:
        print(f"jurybox: error: {exc}" if exc.exit_code == 2 else f"jurybox: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("jurybox: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # click usage errors carry their own exit code
        import click

        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        if isinstance(exc, click.ClickException):
            print(f"jurybox: error: {exc.format_message()}", file=sys.stderr)
            sys.exit(2)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        raise


if __name__ == "__main__":
    main()
