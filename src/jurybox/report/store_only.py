"""A report of one stored run without its verdict table: one row per task the run computed."""

from __future__ import annotations

import json
import os
from typing import Any

import pandas as pd

from jurybox.errors import JuryboxError, redact
from jurybox.report.data import prompt_text
from jurybox.store import Store, open_store


def run_table(store: Store | str | os.PathLike[str], run_id: str) -> pd.DataFrame:
    """The run's verdicts as a verdict table (``judge``, ``variant``, ``prompt`` and jurybox's
    verdict columns), oldest first; an unknown run id is a one-line error listing the known ones."""
    with open_store(store) as st:
        rows = list(st.requests(run_id))
        if not rows:
            known = [r["run_id"] for r in st.run_rows()][-10:]
            raise JuryboxError(f"run {run_id!r} has no verdicts in {st.path}"
                               + (f" (recent runs: {', '.join(known)})" if known else ""), option="run")
    out: list[dict[str, Any]] = []
    for r in rows:
        try:
            v = json.loads(r["verdict"])
        except ValueError:
            v = {}
        out.append({"judge": redact(r["judge"]), "variant": r["variant"], "prompt": prompt_text(r["request"]),
                    "verdict": v.get("label"), "verdict_probs": v.get("probs"), "verdict_score": v.get("score"),
                    "verdict_status": v.get("status"), "verdict_raw": v.get("raw"), "verdict_error": v.get("error")})
    return pd.DataFrame(out)
