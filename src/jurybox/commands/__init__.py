"""CLI command modules. Each exposes ``register(app: typer.Typer) -> None``."""
