"""What a reviewer goes through and what they decided (pure functions over tables and review rows).

A *review set* is the list of items one review covers: the rows of a flagged label-error file, or
the items of a verdict table that a human should look at (the judge disagrees with the human
label, or the judge's answer was unparsed or not confident). Its id is a hash of the items' keys
and labels, so the same file reviewed again (or moved) continues the same review, and a different
file never mixes with it.

Decisions are rows of the store's ``reviews`` table, appended and never changed: ``keep``,
``relabel`` (with ``new_label``), ``drop``, or ``undo`` (which takes back the decision named in
its ``replaces``). :func:`current_decisions` replays them in order.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from jurybox.errors import InputError

__all__ = ["DECISIONS", "ReviewSet", "current_decisions", "errors_review_set", "reviewer_agreement",
           "verdicts_review_set"]

DECISIONS = ("keep", "relabel", "drop")


def _text(v: Any) -> str | None:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    t = str(v).strip()
    return t or None


def _cell(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if v is None or v is pd.NA or (isinstance(v, float) and not math.isfinite(v)):
        return None
    if isinstance(v, (bool, int, float, str)):
        return v
    return json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, (dict, list, tuple)) else str(v)


@dataclass
class ReviewSet:
    """The items of one review: ``items`` are dicts with ``key``, ``row`` (1-based), ``given`` (the
    label under review), ``judge`` (the machine's label), ``confidence``, ``why`` and ``fields``
    (the row's other columns, shown as text)."""

    id: str
    kind: str
    source: str
    labels: list[str]
    items: list[dict[str, Any]] = field(default_factory=list)

    def keys(self) -> set[str]:
        return {it["key"] for it in self.items}

    def page_data(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "source": self.source, "labels": self.labels, "items": self.items}


def _set_id(kind: str, keyed: Sequence[tuple[str, str | None]]) -> str:
    h = hashlib.sha256(json.dumps([kind, list(keyed)], ensure_ascii=False).encode("utf-8")).hexdigest()
    return f"{kind}:{h[:16]}"


def errors_review_set(flagged: pd.DataFrame, *, source: str, labels: Sequence[str] | None = None) -> ReviewSet:
    """The rows of a flagged file written by ``jurybox errors``, in its order (most suspect first).
    The item key is the data row number; the id depends only on the rows and their given labels."""
    for col in ("row", "given_label"):
        if col not in flagged.columns:
            raise InputError(f"missing column '{col}'; is this a flagged file written by jurybox errors?",
                             file=source, field=col)
    shown = [c for c in flagged.columns if c not in ("rank", "row", "given_label", "suggested_label", "confidence",
                                                     "flagged_by", "score", "review")]
    items = []
    keyed = []
    for i, rec in enumerate(flagged.to_dict(orient="records"), start=1):
        try:
            row = int(float(rec["row"]))
        except (TypeError, ValueError) as exc:
            raise InputError(f"row {rec['row']!r} is not a row number", file=source, row=i, field="row") from exc
        given = _text(rec["given_label"])
        keyed.append((str(row), given))
        conf = _cell(rec.get("confidence"))
        items.append({"key": str(row), "row": row, "given": given, "judge": _text(rec.get("suggested_label")),
                      "confidence": conf if isinstance(conf, (int, float)) else None,
                      "why": "flagged by " + str(_cell(rec.get("flagged_by")) or "jurybox errors"),
                      "fields": {str(c): _cell(rec[c]) for c in shown}})
    found: list[str] = sorted({str(x) for it in items for x in (it["given"], it["judge"]) if x is not None},
                              key=_sort_key)
    return ReviewSet(_set_id("errors", keyed), "errors", source, list(labels) if labels else found, items)


def verdicts_review_set(table: Any, *, source: str, low_confidence: float = 0.6,
                        labels: Sequence[str] | None = None, rows: Sequence[int] | None = None) -> ReviewSet:
    """The items of a verdict table a human should look at. ``table`` is a
    :class:`jurybox.stats.table.AgreementTable` (human labels joined) or a verdict DataFrame.

    With ``rows`` (1-based row numbers, e.g. the items a labelling budget routes to humans): those
    rows, in that order. Otherwise, with human labels: the judge disagrees with the human label
    (most confident first), then answers that were unparsed or failed, then agreements below
    ``low_confidence``; without: the unparsed or failed answers, then verdicts below
    ``low_confidence`` (least confident first). The label under review is the human label, or
    the judge's when there is none (keep = agree with the judge). Item key: the row number."""
    from jurybox.stats.table import HUMAN, verdict_columns

    if hasattr(table, "table"):
        df, vcol, scol, has_human = table.table, table.verdict_field, table.status_field, True
    else:
        df, has_human = table, False
        vcol, scol = verdict_columns(df.columns, None)
        if vcol not in df.columns:
            raise InputError(f"no '{vcol}' column (is this a file written by 'jurybox judge'?)", file=source)
    pcol = vcol + "_probs" if vcol + "_probs" in df.columns else None
    shown = [c for c in df.columns if c != HUMAN and not str(c).startswith(vcol)]
    records = df.to_dict(orient="records")
    wanted: dict[int, int] | None = None
    if rows is not None:
        wanted = {}
        for pos, r in enumerate(rows):
            if not 1 <= int(r) <= len(records):
                raise InputError(f"row {r} does not exist in the verdict table ({len(records)} rows)", file=source,
                                 field="row")
            wanted.setdefault(int(r), pos)
    found_labels: set[str] = set()
    picked = []
    keyed = []
    for i, rec in enumerate(records, start=1):
        human = _text(rec[HUMAN]) if has_human else None
        status = str(rec[scol]) if scol and rec.get(scol) is not None else "ok"
        judge = _text(rec[vcol]) if status == "ok" else None
        probs = rec.get(pcol) if pcol else None
        if isinstance(probs, str) and probs.startswith("{"):
            try:
                probs = json.loads(probs)
            except ValueError:
                probs = None
        conf = None
        if isinstance(probs, Mapping):
            found_labels.update(str(k) for k in probs)
            p = probs.get(judge) if judge is not None else None
            conf = float(p) if isinstance(p, (int, float)) and math.isfinite(float(p)) else None
        for x in (human, judge):
            if x is not None:
                found_labels.add(x)
        keyed.append((str(i), human if has_human else f"judge:{judge}"))
        given = human if has_human else judge
        unsure = conf is not None and conf < low_confidence
        if wanted is not None:
            if i not in wanted:
                continue
            why, order = "routed for review" + ("" if judge is not None else f" (the judge's answer was {status})"), (
                wanted[i], 0.0)
        elif has_human and human is None:
            continue
        elif judge is None:
            why, order = f"the judge's answer was {status}", (1, 0.0)
        elif has_human and judge != human:
            why, order = "the judge disagrees with the human label", (0, -(conf if conf is not None else 0.0))
        elif unsure:
            what = "agrees but " if has_human else ""
            why, order = f"the judge {what}has confidence {conf:.2f} < {low_confidence}", (2, float(conf or 0.0))
        else:
            continue
        fields = {str(c): _cell(rec[c]) for c in shown}
        for extra, name in (("_raw", "the judge's answer"), ("_error", "the judge's error")):
            if vcol + extra in rec and _cell(rec[vcol + extra]) is not None:
                fields[name] = _cell(rec[vcol + extra])
        picked.append((order, i, {"key": str(i), "row": i, "given": given, "judge": judge, "confidence": conf,
                                  "why": why, "fields": fields}))
    picked.sort(key=lambda r: (r[0], r[1]))
    items = [r[2] for r in picked]
    found: list[str] = sorted(found_labels, key=_sort_key)
    kind = "verdicts" if has_human else "verdicts-unlabelled"
    return ReviewSet(_set_id(kind, keyed), kind, source, list(labels) if labels else found, items)


def _sort_key(v: str) -> tuple[int, Any]:
    try:
        return (0, float(v))
    except ValueError:
        return (1, v)


def current_decisions(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The decision in force per item after replaying ``rows`` (in the order written): each undo
    takes back the decision it names, so the one before it is in force again."""
    stacks: dict[str, list[Mapping[str, Any]]] = {}
    for r in sorted(rows, key=lambda r: r["id"]):
        st = stacks.setdefault(r["item"], [])
        if r["decision"] == "undo":
            if st and st[-1]["id"] == r["replaces"]:
                st.pop()
        else:
            st.append(r)
    return {k: dict(st[-1]) for k, st in stacks.items() if st}


def reviewer_agreement(review_set: ReviewSet, decided: Mapping[str, Mapping[str, Any]], *,
                       n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """The reviewer's labels (keep: the given label; relabel: the new one; drop: left out) against
    the judge's, on the items decided so far: Cohen's kappa and percent agreement with 95%
    bootstrap intervals (None until two items can be compared)."""
    from jurybox.stats import bootstrap_ci, cohen_kappa, percent_agreement

    rev: list[str] = []
    jud: list[str] = []
    for it in review_set.items:
        d = decided.get(it["key"])
        if d is None or d["decision"] == "drop" or it["judge"] is None:
            continue
        label = d["new_label"] if d["decision"] == "relabel" else it["given"]
        if label is None:
            continue
        rev.append(label)
        jud.append(it["judge"])
    out: dict[str, Any] = {"n": len(rev), "kappa": None, "accuracy": None}
    if len(rev) >= 2:
        for name, f in (("kappa", cohen_kappa), ("accuracy", percent_agreement)):
            iv = bootstrap_ci(f, np.array(rev, dtype=object), np.array(jud, dtype=object), n_resamples=n_resamples,
                              seed=seed)
            out[name] = {k: (None if not math.isfinite(v) else v) for k, v in
                         (("estimate", iv.estimate), ("low", iv.low), ("high", iv.high))}
    return out
