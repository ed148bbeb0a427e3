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

__all__ = ["app", "cli_message", "flag_of", "main"]

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


def _one_line(text: str) -> str:
    return " ".join(text.split())


# the flag of an API parameter where it is not --NAME-WITH-DASHES
_FLAGS = {"fields": "--field", "descriptions": "--describe", "params": "--param", "backend_options": "--backend-option",
          "slice_field": "--slice"}


def flag_of(option: str) -> str:
    """The command-line flag of an API parameter (``text_field`` -> ``--text-field``)."""
    return _FLAGS.get(option, "--" + option.replace("_", "-"))


def cli_message(exc: JuryboxError) -> str:
    """The error's text as the command line shows it: a library error names the parameter it is
    about (``exc.option``); the command line names the flag instead, or adds it."""
    text = str(exc)
    if not exc.option:
        return text
    flag = flag_of(exc.option)
    if flag in text:
        return text
    if text.startswith((exc.option + " ", exc.option + ":")):
        return flag + text[len(exc.option):]
    message, where = getattr(exc, "message", None), getattr(exc, "where", "")
    if where and isinstance(message, str) and message.startswith((exc.option + " ", exc.option + ":")):
        return f"{where}: {flag}{message[len(exc.option):]}"
    return f"{text} ({flag})"


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and exit status 2 (gates and runs with
    failed tasks: 1).

    Usage errors (an unknown option, a missing argument, a value of the wrong type) are Typer's own
    exceptions (Typer vendors Click; jurybox does not import Click): the same one line, exit 2.
    """
    try:
        rc = app(args=argv, standalone_mode=False)
    except JuryboxError as exc:
        text = _one_line(cli_message(exc))
        print(f"jurybox: error: {text}" if exc.exit_code == 2 else f"jurybox: {text}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("jurybox: interrupted", file=sys.stderr)
        sys.exit(130)
    except typer.Abort:
        print("jurybox: aborted", file=sys.stderr)
        sys.exit(1)
    except typer.TyperException as exc:  # usage errors: bad option, missing argument, bad value
        if type(exc).__name__ == "NoArgsIsHelpError":  # no arguments: the help text is the answer
            text = exc.format_message()  # empty when Typer has printed it already (rich)
            if text.strip():
                print(text, file=sys.stderr)
            sys.exit(2)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        print(f"jurybox: error: {_one_line(exc.format_message())}{hint}", file=sys.stderr)
        sys.exit(2)
    # outside standalone mode Typer returns the code of a typer.Exit (or 130 for Ctrl-C) instead of exiting
    if isinstance(rc, int) and not isinstance(rc, bool) and rc:
        if rc == 130:
            print("jurybox: interrupted", file=sys.stderr)
        sys.exit(rc)


if __name__ == "__main__":
    main()
