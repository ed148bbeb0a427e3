"""The cost of each run: token counts from the store times an optional price table per model.

A price table is a YAML or JSON mapping from model name to US dollars per million tokens::

    gpt-4o-mini: {input: 0.15, output: 0.60, batch_input: 0.075, batch_output: 0.30}

For each run and judge, cost = prompt_tokens * input / 1e6 + completion_tokens * output / 1e6
(``batch_input``/``batch_output`` when ``batch`` is set and the table gives them). The model of a
judge is ``model`` when given, else the longest table key found in the judge's name, else the only
key of a one-entry table; a judge with no price gets ``cost = None`` (its tokens are still counted).
Verdicts taken from the store by a later run cost nothing again: each verdict belongs to the run
that computed it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jurybox.errors import InputError
from jurybox.store import Store
from jurybox.types import Record

__all__ = ["PRICE_FIELDS", "Price", "RunCost", "load_prices", "parse_prices", "run_costs", "total_cost"]

PRICE_FIELDS = ("input", "output", "batch_input", "batch_output")


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float
    batch_input: float | None = None
    batch_output: float | None = None

    def cost(self, prompt_tokens: int, completion_tokens: int, *, batch: bool = False) -> float:
        pin = self.batch_input if batch and self.batch_input is not None else self.input
        pout = self.batch_output if batch and self.batch_output is not None else self.output
        return (prompt_tokens * pin + completion_tokens * pout) / 1e6


def parse_prices(table: Mapping[str, Any], *, source: str | None = None) -> dict[str, Price]:
    """Validate a price table (model -> {input, output[, batch_input, batch_output]})."""
    if not isinstance(table, Mapping):
        raise InputError("a price table maps model names to {input: ..., output: ...}", file=source)
    out: dict[str, Price] = {}
    for model, entry in table.items():
        if not isinstance(entry, Mapping) or "input" not in entry or "output" not in entry:
            raise InputError("needs input and output prices (US dollars per million tokens)", file=source,
                             field=str(model))
        unknown = set(entry) - set(PRICE_FIELDS)
        if unknown:
            raise InputError(f"unknown price field(s) {sorted(unknown)}; expected {', '.join(PRICE_FIELDS)}",
                             file=source, field=str(model))
        vals: dict[str, float | None] = {}
        for k in PRICE_FIELDS:
            v = entry.get(k)
            if v is None:
                vals[k] = None
                continue
            try:
                f = float(v)
            except (TypeError, ValueError):
                f = -1.0
            if not f >= 0:
                raise InputError(f"price {k} must be a number >= 0, got {v!r}", file=source, field=str(model))
            vals[k] = f
        out[str(model)] = Price(vals["input"] or 0.0, vals["output"] or 0.0, vals["batch_input"], vals["batch_output"])
    return out


def load_prices(path: str | os.PathLike[str]) -> dict[str, Price]:
    """Read a price table from a .yaml/.yml or .json file."""
    p = Path(path)
    if not p.is_file():
        raise InputError("price table not found", file=str(p))
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix.lower() == ".json":
            table = json.loads(text)
        else:
            import yaml

            table = yaml.safe_load(text)
    except Exception as exc:  # yaml and json raise different types; both mean "unreadable"
        raise InputError(f"cannot read the price table: {str(exc).splitlines()[0]}", file=str(p)) from exc
    return parse_prices(table or {}, source=str(p))


@dataclass(frozen=True)
class RunCost(Record):
    """Tokens and cost of the verdicts one run computed for one judge (``cost`` None: no price)."""

    run_id: str
    started_at: float
    description: str
    judge_name: str
    model: str | None
    n_verdicts: int
    prompt_tokens: int
    completion_tokens: int
    cost: float | None


def _match(judge: str, prices: Mapping[str, Price], model: str | None) -> str | None:
    if model is not None:
        return model if model in prices else None
    hits = [k for k in prices if k in judge]
    if hits:
        return max(hits, key=len)
    return next(iter(prices)) if len(prices) == 1 else None


def run_costs(
    store: Store,
    prices: Mapping[str, Price] | None = None,
    *,
    model: str | None = None,
    batch: bool = False,
    run_id: str | None = None,
) -> list[RunCost]:
    """Tokens and cost per (run, judge), oldest run first."""
    prices = prices or {}
    if model is not None and prices and model not in prices:
        raise InputError(f"model {model!r} is not in the price table (it has: {', '.join(prices)})")
    out: list[RunCost] = []
    for row in store.token_usage(run_id):
        judge, pt, ct = row["judge"], int(row["prompt_tokens"]), int(row["completion_tokens"])
        m = _match(judge, prices, model)
        cost = prices[m].cost(pt, ct, batch=batch) if m is not None else None
        out.append(RunCost(row["run_id"], float(row["started_at"]), row["description"], judge, m,
                           int(row["n_verdicts"]), pt, ct, cost))
    return out


def total_cost(costs: list[RunCost]) -> float | None:
    """The sum of the priced runs' costs (None when no run has a price)."""
    priced = [c.cost for c in costs if c.cost is not None]
    return sum(priced) if priced else None
