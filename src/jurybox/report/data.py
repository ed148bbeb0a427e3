"""What a report shows, as one JSON-ready dict: computed from a verdict table (and, when given, the
store that holds its verdicts, an audit JSON and a flagged label-error file) with :mod:`jurybox.stats`.

Every section is present only when its data exists: agreement, confusion and calibration need human
labels; calibration needs the judge's option probabilities; per-order verdicts and rendered prompts
need the store and the judge's protocol (its requests are rendered again and looked up by their
text, so no model is loaded); audit and jury sections need an audit file or a jury table.
Secrets never reach the page: every error text, run description and judge name goes through
:func:`jurybox.errors.redact`.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from jurybox.errors import redact
from jurybox.items import JUDGE_COLUMNS
from jurybox.stats.table import HUMAN, AgreementTable, agreement, verdict_columns
from jurybox.store import Store

__all__ = ["DISAGREEMENTS_SHOWN", "REF", "prompt_text", "report_data"]

DISAGREEMENTS_SHOWN = 25  # the most confident judge-human disagreements listed


def _plain(v: Any) -> Any:
    """A JSON value: numpy scalars unwrapped, NaN/inf as None, integral floats as ints."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        if not math.isfinite(v):
            return None
        return v
    if v is pd.NA or v is pd.NaT:
        return None
    return v


def _cell(v: Any) -> Any:
    """A table cell for the page: text, number, bool or None (dicts and lists as JSON text)."""
    v = _plain(v)
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, ensure_ascii=False, default=str)
    if isinstance(v, np.ndarray):
        return json.dumps(v.tolist(), ensure_ascii=False, default=str)
    return str(v)


def _label(v: Any) -> str | None:
    """Labels as text (1, 1.0 and "1" are one label)."""
    v = _plain(v)
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _interval(iv: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(iv.get(k)) for k in ("estimate", "low", "high", "confidence", "n_units")}


def _probs(v: Any) -> dict[str, float] | None:
    if isinstance(v, str) and v.startswith("{"):
        try:
            v = json.loads(v)
        except ValueError:
            return None
    if isinstance(v, Mapping):
        out = {}
        for k, p in v.items():
            try:
                f = float(p)
            except (TypeError, ValueError):
                continue
            if math.isfinite(f):
                out[str(k)] = f
        return out or None
    return None


def prompt_text(request_json: str) -> str:
    """A stored request's prompt as readable text: each message as ``[role]`` then its content."""
    try:
        req = json.loads(request_json)
    except ValueError:
        return request_json
    prompt = req.get("prompt", req) if isinstance(req, Mapping) else req
    msgs = prompt.get("messages") if isinstance(prompt, Mapping) else None
    parts: list[str] = []
    if isinstance(msgs, list):
        for m in msgs:
            if isinstance(m, Mapping):
                parts.append(f"[{m.get('role', '?')}]\n{m.get('content', '')}")
    if isinstance(prompt, Mapping) and prompt.get("prefill"):
        parts.append(f"[assistant, prefilled]\n{prompt['prefill']}")
    if isinstance(prompt, Mapping) and not parts and prompt.get("text"):
        parts.append(str(prompt["text"]))
    if isinstance(req, Mapping) and req.get("options"):
        parts.append("[options] " + " | ".join(map(str, req["options"])))
    return "\n\n".join(parts) if parts else request_json


class _Strings:
    """Interned lines: rendered prompts share their template lines, so each distinct line is kept once
    and a prompt is a list of line numbers (about 3x smaller for 10,000 two-order prompts)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._ids: dict[str, int] = {}

    def add(self, text: str) -> list[int]:
        out = []
        for line in text.split("\n"):
            i = self._ids.get(line)
            if i is None:
                i = self._ids[line] = len(self.lines)
                self.lines.append(line)
            out.append(i)
        return out


def _run_section(df: pd.DataFrame, cols: Mapping[str, str | None], store: Store | None, run_ids: Sequence[str],
                 prices: Mapping[str, Any] | None) -> dict[str, Any]:
    n = len(df)
    status = df[cols["status"]].fillna("missing").astype(str) if cols["status"] else pd.Series(["ok"] * n)
    counts = {str(k): int(v) for k, v in status.value_counts().items()}
    unparsed = counts.get("unparsed", 0)
    out: dict[str, Any] = {"items": n, "status": counts, "unparsed": unparsed,
                           "unparsed_rate": unparsed / n if n else None, "errors": counts.get("error", 0)}
    if n:
        from jurybox.stats import wilson_interval

        iv = wilson_interval(unparsed, n)
        out["unparsed_interval"] = [_plain(iv.low), _plain(iv.high)]  # 95% Wilson score interval
    if store is None or not run_ids:
        return out
    from jurybox.cost import run_costs, total_cost

    runs = store.run_rows(run_ids)
    out["runs"] = [{"run_id": r["run_id"], "description": redact(r["description"] or ""),
                    "tasks": r["n_tasks"], "cached": r["n_cached"], "done": r["n_done"], "failed": r["n_failed"],
                    "wall_s": (r["finished_at"] - r["started_at"]) if r["finished_at"] else None,
                    "started_at": r["started_at"]} for r in runs]
    for k in ("tasks", "cached", "done", "failed"):
        out[k] = int(sum(int(r[k] or 0) for r in out["runs"]))
    out["model_calls"] = out["done"] + out["failed"]
    walls = [r["wall_s"] for r in out["runs"] if r["wall_s"] is not None]
    out["wall_s"] = float(sum(walls)) if walls else None
    costs = [c for rid in run_ids for c in run_costs(store, prices or {}, run_id=rid)]
    out["judges"] = sorted({redact(c.judge_name) for c in costs})
    out["protocols"] = sorted({redact(r["description"] or "").split(" (")[0] for r in runs if r["description"]})
    out["prompt_tokens"] = int(sum(c.prompt_tokens for c in costs))
    out["completion_tokens"] = int(sum(c.completion_tokens for c in costs))
    out["cost"] = total_cost(costs)
    fails = [f for rid in run_ids for f in store.failures(rid)]
    out["failures"] = [{"judge": redact(f["judge"]), "error": redact(f["error"])} for f in fails[:50]]
    return out


def _calibration(conf: np.ndarray, correct: np.ndarray, *, n_resamples: int, seed: int) -> dict[str, Any] | None:
    from jurybox.stats import bootstrap_ci, expected_calibration_error, reliability_diagram

    keep = ~np.isnan(conf) & ~np.isnan(correct)
    if keep.sum() < 2:
        return None
    c, y = conf[keep], correct[keep]
    rd = reliability_diagram(c, y)
    iv = bootstrap_ci(expected_calibration_error, c, y, n_resamples=n_resamples, seed=seed)
    return {"bins": [_plain(e) for e in rd.bin_edges], "count": list(rd.count),
            "confidence": [_plain(v) for v in rd.mean_confidence], "accuracy": [_plain(v) for v in rd.accuracy],
            "ece": _interval(iv.to_dict()), "n": int(keep.sum())}


def _jury(df: pd.DataFrame) -> dict[str, Any] | None:
    """Per-judge agreement (Cohen's kappa and percent agreement between every two judges) and the
    Dawid-Skene accuracies, from the ``verdict[NAME]`` columns of a table written by ``jurybox jury``."""
    from jurybox.stats import cohen_kappa, percent_agreement

    judge_cols = [c for c in map(str, df.columns) if c.startswith("verdict[") and c.endswith("]")]
    if len(judge_cols) < 2:
        return None
    names = [redact(c[len("verdict["):-1]) for c in judge_cols]
    labels = [np.array([_label(v) for v in df[c].tolist()], dtype=object) for c in judge_cols]
    k = len(judge_cols)
    kappa = [[None] * k for _ in range(k)]
    agree = [[None] * k for _ in range(k)]
    for a in range(k):
        for b in range(k):
            keep = np.array([x is not None and y is not None for x, y in zip(labels[a], labels[b])])
            if keep.sum() >= 2:
                kappa[a][b] = _plain(cohen_kappa(labels[a][keep], labels[b][keep]))
                agree[a][b] = _plain(percent_agreement(labels[a][keep], labels[b][keep]))
    out: dict[str, Any] = {"judges": names, "kappa": kappa, "agreement": agree}
    try:
        from jurybox.jury.dawid_skene import dawid_skene

        ds = dawid_skene(np.vstack(labels))
        out["dawid_skene_accuracy"] = [_plain(a) for a in ds.accuracy.tolist()]
    except ValueError as exc:  # fewer than two labels: no model to fit, said on the page
        out["dawid_skene_note"] = str(exc)
    if "jury_verdict" in df.columns:
        out["jury_column"] = "jury_verdict"
    return out


def _audit(audit: Mapping[str, Any]) -> dict[str, Any]:
    """Every statistic with an interval in a ``jurybox audit --json`` file, one row each."""
    rows = []
    for probe, res in (audit.get("results") or {}).items():
        if not isinstance(res, Mapping):
            continue
        for stat, v in res.items():
            if isinstance(v, Mapping) and {"estimate", "low", "high"} <= set(v):
                rows.append({"probe": str(probe), "statistic": str(stat), **_interval(v)})
    return {"judge": redact(str(audit.get("judge_name", ""))), "n_items": audit.get("n_items"), "rows": rows,
            "notes": [redact(str(n)) for n in audit.get("notes", [])]}


def _errors(flagged: pd.DataFrame) -> dict[str, Any]:
    cols = [c for c in ("row", "given_label", "suggested_label", "confidence", "flagged_by", "review")
            if c in flagged.columns]
    return {"columns": cols, "rows": [[_cell(v) for v in r] for r in flagged[cols].itertuples(index=False)]}


REF = "\u0001"  # a prompt's copy of an item's field is written REF + column + REF; the page puts the text back
_MIN_REF = 16  # shorter values are left in the prompt


def _with_refs(text: str, row: Mapping[str, Any]) -> str:
    """``text`` with each copy of one of the row's longer field values replaced by a reference to
    its column, longest first (a rendered prompt repeats the item's text; the page has it already)."""
    if REF in text:
        return text
    values = sorted(((str(v), c) for c, v in row.items() if isinstance(v, str) and len(v) >= _MIN_REF and REF not in v
                     and REF not in c), key=lambda vc: -len(vc[0]))
    for v, c in values:
        if v in text:
            text = text.replace(v, f"{REF}{c}{REF}")
    return text


def _reviews(store: Store, at: AgreementTable | None, df: pd.DataFrame, flagged: pd.DataFrame | None,
             source: str) -> list[dict[str, Any]]:
    """The human decisions made with ``jurybox review`` on this verdict table (with or without its
    human labels) or flagged file: counts of the decisions in force, rows appended, reviewers, and
    the reviewers' agreement with the judge on the decided items."""
    from jurybox.review.decisions import (
        current_decisions,
        errors_review_set,
        reviewer_agreement,
        verdicts_review_set,
    )

    sets: list[tuple[str, Any, Any]] = []
    if at is not None:
        sets.append(("verdicts", verdicts_review_set(at, source=source), at))
    sets.append(("verdicts", verdicts_review_set(df, source=source), df))
    if flagged is not None:
        sets.append(("label errors", errors_review_set(flagged, source=source), None))
    out = []
    for what, rs, table in sets:
        rows = store.reviews(rs.id)
        if not rows:
            continue
        now = current_decisions(rows)
        if table is not None:  # every decided row, whatever chose it for review (a --rows file, a threshold)
            decided = sorted(int(k) for k in now if k.isdigit() and 1 <= int(k) <= len(df))
            rs = verdicts_review_set(table, source=source, rows=decided)
        now = {k: v for k, v in now.items() if k in rs.keys()}
        counts = {d: sum(1 for v in now.values() if v["decision"] == d) for d in ("keep", "relabel", "drop")}
        out.append({"of": what + ("" if rs.kind != "verdicts-unlabelled" else " (no human labels)"),
                    "decided": len(now), "counts": counts, "rows": len(rows),
                    "undos": sum(1 for r in rows if r["decision"] == "undo"),
                    "reviewers": sorted({str(r["reviewer"]) for r in rows}),
                    "agreement": reviewer_agreement(rs, now)})
    return out


def _store_details(store: Store, protocol: Any, items: Sequence[Mapping[str, Any]], run_id: str | None,
                   strings: _Strings, rows: Sequence[Mapping[str, Any]], judge: str | None = None,
                   ) -> tuple[list[Any], list[str], dict[str, Any]]:
    """Per item, its variants' stored verdicts and rendered prompts: {variant: [label, status, probs,
    raw, prompt line ids, error]} (None where the store has none); the runs those verdicts came
    from; and which judge they are from. The same prompt asked of several models has a verdict of
    each: one judge is used for the whole report, ``judge`` or else the one with the most of the
    items' prompts (of equals, the one asked last; the newest verdict of a prompt asked again). ``rows`` are the items'
    table cells by column, for :func:`_with_refs`."""
    stored: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for r in store.requests(run_id):  # ordered by time: the newest verdict of a request wins
        stored.setdefault((r["request"], r["variant"]), {})[r["judge"]] = r
    asked = [[(variant, req) for variant, req in protocol.requests(item)] for item in items]
    coverage: dict[str, int] = {}
    newest: dict[str, float] = {}
    for reqs in asked:
        for variant, req in reqs:
            for name, r in stored.get((req.json, variant), {}).items():
                coverage[name] = coverage.get(name, 0) + 1
                newest[name] = max(newest.get(name, 0.0), float(r["created_at"]))
    # most prompts covered; of equals, the judge asked last
    chosen = judge if judge is not None else (max(coverage, key=lambda k: (coverage[k], newest[k])) if coverage
                                              else None)
    if judge is not None and judge not in coverage:
        from jurybox.errors import JuryboxError

        raise JuryboxError(f"judge {judge!r} has no verdict for these items' prompts in {store.path}"
                           + (f" (judges found: {', '.join(sorted(coverage))})" if coverage else ""), option="judge")
    per_item: list[Any] = []
    runs: dict[str, None] = {}
    for reqs, row in zip(asked, rows, strict=True):
        got: dict[str, Any] = {}
        for variant, req in reqs:
            hit = stored.get((req.json, variant), {}).get(chosen) if chosen is not None else None
            if hit is None:
                continue
            runs[hit["run_id"]] = None
            try:
                v = json.loads(hit["verdict"])
            except ValueError:
                v = {}
            got[variant] = [_label(v.get("label")), v.get("status"), _probs(v.get("probs")),
                            redact(str(v.get("raw") or "")), strings.add(_with_refs(prompt_text(hit["request"]), row)),
                            redact(str(v.get("error") or "")) or None]
        per_item.append(got or None)
    info = {"judge": redact(chosen) if chosen else None,
            "other_judges": sorted(redact(k) for k in coverage if k != chosen)}
    return per_item, list(runs), info


def report_data(
    table: AgreementTable | pd.DataFrame,
    *,
    title: str = "jurybox report",
    source: str | None = None,
    store: Store | None = None,
    run_id: str | None = None,
    protocol: Any = None,
    items: Sequence[Mapping[str, Any]] | None = None,
    audit: Mapping[str, Any] | None = None,
    flagged: pd.DataFrame | None = None,
    prices: Mapping[str, Any] | None = None,
    level: str = "nominal",
    n_resamples: int = 1000,
    seed: int = 0,
    judge: str | None = None,
    verdict_field: str | None = None,
) -> dict[str, Any]:
    """The report's data. ``table`` is a verdict table with human labels joined
    (:func:`jurybox.stats.table.agreement_table`) or a bare verdict DataFrame (no agreement sections).
    With ``store`` and ``protocol`` (and the protocol's ``items`` of each row) each item's per-order
    verdicts and prompts are looked up; ``run_id`` limits that to one run and ``judge`` (a judge name
    as the store has it) to one judge."""
    if isinstance(table, AgreementTable):
        at: AgreementTable | None = table
        df = table.table
        vcol, scol = table.verdict_field, table.status_field
    else:
        at, df = None, table
        vcol, scol = verdict_columns(df.columns, verdict_field)
    prefix = vcol[: -len("verdict")] if vcol.endswith("verdict") else ""
    cols: dict[str, str | None] = {"verdict": vcol, "status": scol}
    for name in JUDGE_COLUMNS[1:]:
        c = prefix + name
        cols[name.removeprefix("verdict_")] = c if c in df.columns else None
    n = len(df)
    verdict = [_label(v) for v in df[vcol].tolist()] if vcol in df.columns else [None] * n
    status = [str(s) if s is not None else None for s in
              (df[scol].where(df[scol].notna(), None).tolist() if scol else ["ok"] * n)]
    probs = [_probs(p) for p in df[cols["probs"]].tolist()] if cols["probs"] else [None] * n
    conf = np.array([p.get(v, np.nan) if p and v is not None else np.nan for p, v in zip(probs, verdict)], dtype=float)
    if vcol == "jury_verdict" and "jury_confidence" in df.columns:  # the jury's support for its verdict
        conf = pd.to_numeric(df["jury_confidence"], errors="coerce").to_numpy(dtype=float)
    human = [_label(h) for h in df[HUMAN].tolist()] if at is not None else None
    judged = [v if s == "ok" else None for v, s in zip(verdict, status)]

    data: dict[str, Any] = {"title": title, "source": source, "generated_at": time.time()}
    strings = _Strings()
    orders: list[Any] | None = None
    run_ids: list[str] = [run_id] if run_id else []
    judge_cols = {c for c in cols.values() if c} | {HUMAN}
    user_cols = [str(c) for c in df.columns if c not in judge_cols and not str(c).startswith("verdict[")]
    fields = {c: [_cell(v) for v in df[c].tolist()] for c in user_cols}
    if store is not None and protocol is not None and items is not None:
        rows = [{c: fields[c][i] for c in user_cols} for i in range(n)]
        orders, found_runs, info = _store_details(store, protocol, items, run_id, strings, rows, judge)
        run_ids = run_ids or found_runs
        data["details_found"] = sum(o is not None for o in orders)
        data["details_judge"] = info
    data["run"] = _run_section(df, cols, store, run_ids, prices)

    disagree: list[bool | None] = [None] * n
    if at is not None and human is not None:
        reports = agreement(at, level=level, n_resamples=n_resamples, seed=seed)
        rep = next(iter(reports.values())).to_dict()
        data["agreement"] = {"source": at.source, "level": rep["level"], "n_items": rep["n_items"],
                             "n_used": rep["n_used"], "n_missing_judge": rep["n_missing_judge"],
                             "n_missing_human": rep["n_missing_human"],
                             "statistics": {k: _interval(v) for k, v in rep["statistics"].items()}}
        disagree = [None if h is None or j is None else h != j for h, j in zip(human, judged)]
        pairs = [(h, j) for h, j in zip(human, judged) if h is not None and j is not None]
        if pairs:
            from jurybox.stats import confusion_matrix

            labels = list(dict.fromkeys(sorted({x for p in pairs for x in p}, key=_sort_key)))
            cm = confusion_matrix([p[0] for p in pairs], [p[1] for p in pairs], labels=labels)
            data["confusion"] = {"labels": list(cm.labels), "matrix": cm.matrix.tolist(),
                                 "precision": [_plain(v) for v in cm.precision],
                                 "recall": [_plain(v) for v in cm.recall]}
        correct = np.array([np.nan if d is None else float(not d) for d in disagree])
        cal = _calibration(conf, correct, n_resamples=n_resamples, seed=seed)
        if cal is not None:
            data["calibration"] = cal
        wrong = [i for i, d in enumerate(disagree) if d]
        wrong.sort(key=lambda i: -(conf[i] if not np.isnan(conf[i]) else -1.0))
        data["disagreements"] = [{"i": i, "human": human[i], "judge": judged[i], "confidence": _plain(conf[i])}
                                 for i in wrong[:DISAGREEMENTS_SHOWN]]
    jury = _jury(df)
    if jury is not None:
        data["jury"] = jury
    if audit is not None:
        data["audit"] = _audit(audit)
    if flagged is not None:
        data["errors"] = _errors(flagged)
    if store is not None:
        reviews = _reviews(store, at, df, flagged, source or "")
        if reviews:
            data["reviews"] = reviews

    raw = df[cols["raw"]].tolist() if cols["raw"] else [None] * n
    err = df[cols["error"]].tolist() if cols["error"] else [None] * n
    data["items"] = {
        "n": n,
        "human": human,
        "verdict": verdict,
        "status": status,
        "confidence": [_plain(c) for c in conf],
        "disagree": disagree,
        "probs": probs,
        "raw": [None if r is None or _plain(r) is None else redact(str(r)) for r in raw],
        "error": [None if e is None or _plain(e) is None else redact(str(e)) for e in err],
        "fields": fields,
        "orders": orders,
    }
    data["strings"] = strings.lines
    return data


def _sort_key(v: str) -> tuple[int, Any]:
    try:
        return (0, float(v))
    except ValueError:
        return (1, v)
