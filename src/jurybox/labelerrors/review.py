"""Review and apply: read a reviewed flagged file, write a cleaned dataset and a changelog.

A reviewer fills the ``review`` column of the flagged file (JSONL or CSV) with one of

* ``keep``        the given label is right (not an error)
* ``relabel:X``   the label should be X (X must be in the label set)
* ``drop``        the row should be removed (ambiguous, off-topic, unusable)

or leaves it empty (not reviewed: the row is left as it is). Applying never modifies the input: the
cleaned dataset and the changelog are new files, written atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jurybox.errors import InputError
from jurybox.labelerrors.pipeline import label_text

ACTIONS = ("keep", "relabel", "drop")


@dataclass(frozen=True)
class Review:
    """One reviewed flag: ``row`` is the 1-based data row; ``new_label`` is set for relabel."""

    row: int
    given_label: str
    action: str
    new_label: str | None
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "given_label": self.given_label,
            "action": self.action,
            "new_label": self.new_label,
            "confidence": self.confidence,
        }


def parse_review(value: Any, *, file: str | None, row: int) -> tuple[str, str | None] | None:
    """``keep`` / ``drop`` / ``relabel:X`` -> (action, X); None when empty (not reviewed)."""
    t = label_text(value) if not isinstance(value, str) else value.strip()
    if not t:
        return None
    low = t.lower()
    if low in ("keep", "drop"):
        return low, None
    if low.startswith("relabel:"):
        target = t.split(":", 1)[1].strip()
        if target:
            return "relabel", target
    raise InputError(f"review {t!r} is not keep, drop or relabel:LABEL", file=file, row=row, field="review")


def read_reviews(
    flagged: pd.DataFrame, *, source: str | None = None, labels: Sequence[str] | None = None
) -> list[Review]:
    """The reviewed rows of a flagged table (unreviewed rows are skipped)."""
    for col in ("row", "given_label", "review"):
        if col not in flagged.columns:
            raise InputError(
                f"missing column '{col}'; is this a flagged file written by jurybox errors?",
                file=source,
                field=col,
            )
    out: list[Review] = []
    seen: dict[int, int] = {}
    conf_col = flagged["confidence"].tolist() if "confidence" in flagged.columns else [None] * len(flagged)
    for i, (r, g, v, c) in enumerate(
        zip(
            flagged["row"].tolist(),
            flagged["given_label"].tolist(),
            flagged["review"].tolist(),
            conf_col,
            strict=True,
        ),
        start=1,
    ):
        parsed = parse_review(v, file=source, row=i)
        if parsed is None:
            continue
        try:
            data_row = int(float(r))
        except (TypeError, ValueError) as exc:
            raise InputError(f"row {r!r} is not a row number", file=source, row=i, field="row") from exc
        if data_row in seen:
            raise InputError(
                f"data row {data_row} is reviewed twice (also on line {seen[data_row]})",
                file=source,
                row=i,
                field="row",
            )
        seen[data_row] = i
        action, target = parsed
        if target is not None and labels is not None:
            match = [lab for lab in labels if lab.lower() == target.lower()]
            if not match:
                raise InputError(
                    f"relabel target {target!r} is not in the label set ({', '.join(labels)})",
                    file=source,
                    row=i,
                    field="review",
                )
            target = match[0]
        try:
            conf = float(c) if c is not None and str(c) != "" else float("nan")
        except (TypeError, ValueError):
            conf = float("nan")
        out.append(Review(data_row, label_text(g) or "", action, target, conf))
    return out


@dataclass(frozen=True)
class Applied:
    """The cleaned dataset, the changelog (one row per reviewed flag) and counts by action."""

    cleaned: pd.DataFrame
    changelog: pd.DataFrame
    counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_in": int(len(self.cleaned) + self.counts.get("drop", 0)),
            "rows_out": int(len(self.cleaned)),
            "counts": dict(self.counts),
            "changelog": self.changelog.to_dict(orient="records"),
        }


def _cast_like(target: str, column: pd.Series) -> Any:
    """Keep the label column's type: relabel:3 in an integer column stays an integer."""
    if pd.api.types.is_integer_dtype(column.dtype):
        return int(float(target))
    if pd.api.types.is_float_dtype(column.dtype):
        return float(target)
    return target


def apply_reviews(
    df: pd.DataFrame,
    reviews: Sequence[Review],
    label_field: str,
    *,
    dataset: str | None = None,
    flagged: str | None = None,
) -> Applied:
    """Apply the reviews to a copy of ``df``: relabel, drop, keep. Checks that each reviewed row still has
    the label the flagged file saw (so a flagged file is not applied to a different dataset)."""
    if label_field not in df.columns:
        raise InputError(f"label column '{label_field}' not found", file=dataset, field=label_field)
    out = df.copy()
    n = len(df)
    drop: list[int] = []
    log = []
    counts = {a: 0 for a in ACTIONS}
    for rv in reviews:
        if not 1 <= rv.row <= n:
            raise InputError(
                f"row {rv.row} does not exist in the dataset ({n} rows)", file=flagged, field="row"
            )
        current = label_text(df[label_field].iloc[rv.row - 1])
        if current != rv.given_label:
            raise InputError(
                f"the dataset's label at row {rv.row} is {current!r} but the flagged file saw "
                f"{rv.given_label!r}; was it flagged on a different dataset?",
                file=dataset,
                row=rv.row,
                field=label_field,
            )
        counts[rv.action] += 1
        new: str | None = rv.given_label
        if rv.action == "relabel":
            assert rv.new_label is not None
            try:
                value = _cast_like(rv.new_label, df[label_field])
            except ValueError as exc:
                raise InputError(
                    f"relabel target {rv.new_label!r} does not fit the label column's type",
                    file=flagged,
                    field="review",
                ) from exc
            out.iloc[rv.row - 1, out.columns.get_loc(label_field)] = value
            new = rv.new_label
        elif rv.action == "drop":
            drop.append(rv.row - 1)
            new = None
        log.append(
            {
                "row": rv.row,
                "action": rv.action,
                "old_label": rv.given_label,
                "new_label": new,
                "confidence": None if np.isnan(rv.confidence) else rv.confidence,
            }
        )
    cleaned = out.drop(index=out.index[drop]).reset_index(drop=True) if drop else out
    changelog = pd.DataFrame(log, columns=["row", "action", "old_label", "new_label", "confidence"])
    changelog["new_label"] = pd.Series([e["new_label"] for e in log], dtype=object)  # keep None for drops
    return Applied(cleaned, changelog, counts)


def reviewed_errors(n: int, reviews: Sequence[Review]) -> tuple[np.ndarray, np.ndarray]:
    """Per-row arrays for :func:`summarize`: reviewed_error (1 relabel/drop, 0 keep, NaN not reviewed)
    and the confidence recorded in the flagged file."""
    err = np.full(n, np.nan)
    conf = np.full(n, np.nan)
    for rv in reviews:
        if 1 <= rv.row <= n:
            err[rv.row - 1] = 0.0 if rv.action == "keep" else 1.0
            conf[rv.row - 1] = rv.confidence
    return err, conf


def stored_reviews(
    flagged: pd.DataFrame, rows: Sequence[dict[str, Any]], *, source: str | None = None,
    labels: Sequence[str] | None = None,
) -> list[Review]:
    """The decisions in force for a flagged file's rows among the store's review ``rows`` (those of
    its review set, see :func:`jurybox.review.decisions.errors_review_set`), as :class:`Review` s."""
    from jurybox.review.decisions import current_decisions

    conf = {}
    given = {}
    for r, g, c in zip(flagged["row"].tolist(), flagged["given_label"].tolist(),
                       flagged["confidence"].tolist() if "confidence" in flagged.columns else [None] * len(flagged)):
        key = str(int(float(r)))
        given[key] = label_text(g) or ""
        try:
            conf[key] = float(c) if c is not None and str(c) != "" else float("nan")
        except (TypeError, ValueError):
            conf[key] = float("nan")
    out = []
    decided = current_decisions(rows)
    for key in given:  # in the flagged file's order
        d = decided.get(key)
        if d is None:
            continue
        target = d["new_label"] if d["decision"] == "relabel" else None
        if target is not None and labels is not None:
            match = [lab for lab in labels if lab.lower() == target.lower()]
            if not match:
                raise InputError(f"the review page relabelled row {key} to {target!r}, which is not in the label "
                                 f"set ({', '.join(labels)})", file=source, field="review")
            target = match[0]
        out.append(Review(int(key), given[key], d["decision"], target, conf[key]))
    return out


def merge_reviews(in_file: Sequence[Review], in_store: Sequence[Review], *, source: str | None = None) -> list[Review]:
    """The file's review column and the review page's decisions together (the file's first, then the
    page's others, in the flagged file's order); a row decided differently
    in the two is refused, naming the row (the same decision in both counts once)."""
    by_row = {rv.row: rv for rv in in_file}
    out = list(in_file)
    for rv in in_store:
        other = by_row.get(rv.row)
        if other is None:
            out.append(rv)
        elif (other.action, other.new_label) != (rv.action, rv.new_label):
            theirs = other.action + (f":{other.new_label}" if other.new_label else "")
            page = rv.action + (f":{rv.new_label}" if rv.new_label else "")
            raise InputError(f"data row {rv.row} is reviewed as {theirs!r} in the file but as {page!r} on the review "
                             "page; clear one of them", file=source, field="review")
    return out
