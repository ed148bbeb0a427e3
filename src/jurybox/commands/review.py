"""`jurybox review`: go through flagged items in a local web page; decisions go to the store.

jurybox review flagged.jsonl                       (a flagged file written by jurybox errors)
jurybox review verdicts.jsonl --human label         (disagreements, unparsed and low-confidence verdicts)
"""

from __future__ import annotations

import asyncio
import getpass
from pathlib import Path
from typing import Annotated

import typer

from jurybox.commands import _options as o


def review_command(
    file: Annotated[Path, typer.Argument(help="flagged file from 'jurybox errors', or a verdict table with --human")],
    human: Annotated[str | None, typer.Option(help="verdict table: the column with human labels")] = None,
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
    if human is not None:
        from jurybox.stats.table import agreement_table

        rs = verdicts_review_set(agreement_table(read_table(file, encoding=encoding), human), source=str(file),
                                 low_confidence=low_confidence, labels=label_set)
    else:
        rs = errors_review_set(read_table(file, encoding=encoding), source=str(file), labels=label_set)
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
