"""`jurybox review`: go through flagged items in a local web page; decisions go to the store.

jurybox review flagged.jsonl                       (a flagged file written by jurybox errors)
jurybox review verdicts.jsonl --human label         (disagreements, unparsed and low-confidence verdicts)
jurybox review verdicts.jsonl                       (no human labels: unparsed and low-confidence verdicts)
jurybox review verdicts.jsonl --rows routed.csv     (the rows a labelling budget sends to humans)
"""

from __future__ import annotations

import asyncio
import getpass
from pathlib import Path
from typing import Annotated

import typer

from jurybox.commands import _options as o


def review_command(
    file: Annotated[Path, typer.Argument(help="flagged file from 'jurybox errors', or a verdict table")],
    human: Annotated[str | None, typer.Option(help="verdict table: the column with human labels")] = None,
    rows: Annotated[Path | None, typer.Option(help="verdict table: review these rows (a file with a 'row' column, "
                                                   "1-based, e.g. the items a labelling budget routes to humans)")] = None,
    labels: o.Labels = None,
    low_confidence: Annotated[float, typer.Option(help="verdict table: also review agreements below this "
                                                        "confidence")] = 0.6,
    store: o.Store = None,
    reviewer: Annotated[str | None, typer.Option(help="name recorded with each decision (default: the user)")] = None,
    host: Annotated[str, typer.Option(help="address to bind (default 127.0.0.1: this machine only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (0: any free port)")] = 0,
    encoding: o.Encoding = None,
) -> None:
    """Serve a review page (keyboard first: k keep, 1-9 relabel, d drop, u undo, n next) until Ctrl-C.
    Each decision is appended to the store's reviews table; 'jurybox errors apply' reads them."""
    from jurybox.errors import JuryboxError
    from jurybox.items import read_table
    from jurybox.review.decisions import errors_review_set, verdicts_review_set
    from jurybox.review.server import ReviewServer, serve
    from jurybox.store import Store

    label_set = [x.strip() for x in labels.split(",") if x.strip()] if labels else None
    table = read_table(file, encoding=encoding)
    flagged_file = {"row", "given_label"} <= set(map(str, table.columns))
    if flagged_file and human is None and rows is None:
        rs = errors_review_set(table, source=str(file), labels=label_set)
    else:
        from jurybox.stats.table import agreement_table

        wanted = None
        if rows is not None:
            from jurybox.errors import InputError

            routed = read_table(rows)
            if "row" not in routed.columns:
                raise InputError("missing column 'row' (the 1-based rows of the verdict table to review)",
                                 file=str(rows), field="row")
            try:
                wanted = [int(float(r)) for r in routed["row"].tolist()]
            except (TypeError, ValueError) as exc:
                raise InputError(f"a row is not a row number: {exc}", file=str(rows), field="row") from exc
        source = agreement_table(table, human) if human is not None else table
        rs = verdicts_review_set(source, source=str(file), low_confidence=low_confidence, labels=label_set,
                                 rows=wanted)
    if len(rs.labels) > 9:
        raise JuryboxError(f"the review page relabels with keys 1-9; this set has {len(rs.labels)} labels "
                           "(give the ones to offer with --labels)")
    name = reviewer or getpass.getuser()
    with Store(store) as st:
        server = ReviewServer(rs, st, reviewer=name)
        done = len(server.state()["decided"])

        def ready(url: str) -> None:
            print(f"reviewing {len(rs.items)} items of {file} ({done} decided so far) as {name}; store {st.path}",
                  flush=True)
            print(f"open {url}", flush=True)
            print("Ctrl-C to stop; decisions are saved as you make them", flush=True)

        try:
            asyncio.run(serve(server, host, port, ready=ready))
        except KeyboardInterrupt:
            print("stopped")


def register(app: typer.Typer) -> None:
    app.command("review")(review_command)
