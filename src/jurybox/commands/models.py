"""`jurybox models`: list, assemble and verify the embedded models."""

from __future__ import annotations

from typing import Annotated

import typer

from jurybox.errors import JuryboxError

models_app = typer.Typer(help="The embedded models: list, assemble, verify.", no_args_is_help=True)


@models_app.command("list")
def list_models() -> None:
    """List the embedded models and whether each is assembled in the cache."""
    from jurybox.models import REGISTRY, cache_dir

    for spec in REGISTRY.values():
        path = cache_dir() / "models" / spec.filename
        state = "assembled" if path.exists() else "not assembled"
        print(f"{spec.name:22s} {state:14s} {spec.description}  [{spec.packages}]")
    print(f"cache: {cache_dir() / 'models'}")


def _names(name: str | None) -> list[str]:
    from jurybox.models import REGISTRY

    if name is None:
        return list(REGISTRY)
    if name not in REGISTRY:
        raise JuryboxError(f"unknown model '{name}' (known: {', '.join(REGISTRY)})")
    return [name]


@models_app.command("assemble")
def assemble_models(name: Annotated[str | None, typer.Argument(help="model name (default: all)")] = None) -> None:
    """Assemble a model from its packages into the cache and verify its sha256."""
    from jurybox.models import resolve

    for n in _names(name):
        r = resolve(n)
        print(f"{n}: {r.path} (sha256 {r.sha256[:12]}...)")


@models_app.command("verify")
def verify_models(name: Annotated[str | None, typer.Argument(help="model name (default: all)")] = None) -> None:
    """Re-hash assembled models; exit 1 if any does not match its published sha256."""
    from jurybox.models import verify

    bad = False
    for n in _names(name):
        ok, msg = verify(n)
        print(msg)
        bad |= not ok
    if bad:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
