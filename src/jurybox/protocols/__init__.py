"""Protocols: what a judge asks and how its answer becomes a Verdict."""
