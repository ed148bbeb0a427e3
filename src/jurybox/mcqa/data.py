"""Reading multiple-choice files: a question column, the choices, an answer key, a subject.

Choices are either one list column (JSONL/Parquet lists, or JSON list text in a CSV) or numbered
columns ``choice0..choiceN`` (as in MMLU's CSV copies); the answer is a 0-based index or a letter
(optional: without answers the run only pre-labels, the CMExam workflow). The subject is a column
when named, else the file name without ``_test``/``_dev``/``_val``/``_validation``
(``marketing_test.csv`` -> ``marketing``), so several per-subject files can be read at once.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from jurybox.errors import InputError
from jurybox.items import _missing, load_table
from jurybox.mcqa.protocol import LETTERS

__all__ = ["McqaData", "few_shot", "read_mcqa", "subject_of"]

_NUMBERED = re.compile(r"^choice(\d+)$")
_SPLIT = re.compile(r"[_-](test|dev|val|validation|train)$")


@dataclass
class McqaData:
    """Questions read for a run: one item per row (``question``, ``choices``, ``subject``), the
    answer index per row (None when the row has none), and where each row came from."""

    items: list[dict[str, Any]]
    answers: list[int | None]
    sources: list[str | None]
    rows: list[int]
    table: pd.DataFrame

    @property
    def subjects(self) -> list[str]:
        return [str(it.get("subject") or "") for it in self.items]


def subject_of(path: str | os.PathLike[str]) -> str:
    """The subject a per-subject file is named after (``marketing_test.csv`` -> ``marketing``)."""
    return _SPLIT.sub("", Path(path).stem)


def _choices_of(rec: dict[str, Any], choices: str | Sequence[str] | None, columns: list[str], source: str | None,
                row: int) -> list[str]:
    if isinstance(choices, str) or (choices is None and "choices" in columns):
        col = choices if isinstance(choices, str) else "choices"
        if col not in columns:
            raise InputError(f"choices column '{col}' not found; columns present: {', '.join(columns)}",
                             file=source, field=col, option="choices")
        v = rec[col]
        if hasattr(v, "tolist"):
            v = v.tolist()
        if isinstance(v, str):
            try:
                v = json.loads(v)
            except json.JSONDecodeError:
                raise InputError("choices must be a list (a JSON list such as [\"a\", \"b\"] in a text column)",
                                 file=source, row=row, field=col) from None
        if not isinstance(v, list):
            raise InputError(f"choices must be a list, got {type(v).__name__}", file=source, row=row, field=col)
        out = v
        names = [col] * len(out)
    else:
        if choices is None:
            numbered = sorted((int(m.group(1)), c) for c in columns if (m := _NUMBERED.match(c)))
            names = [c for _, c in numbered]
            if not names:
                raise InputError("no choices: give a list column 'choices' or columns choice0, choice1, ... "
                                 f"(columns present: {', '.join(columns)})", file=source, option="choices")
        else:
            names = list(choices)
            missing = [c for c in names if c not in columns]
            if missing:
                raise InputError(f"choice column '{missing[0]}' not found; columns present: {', '.join(columns)}",
                                 file=source, field=missing[0], option="choices")
        out = [rec[c] for c in names]
        # trailing empty numbered columns: a question with fewer options than the widest one
        while out and _missing(out[-1]):
            out.pop()
    texts = []
    for name, c in zip(names, out, strict=False):
        if _missing(c):
            raise InputError("empty choice", file=source, row=row, field=name)
        texts.append(str(c))
    if not 2 <= len(texts) <= len(LETTERS):
        raise InputError(f"a question needs 2 to {len(LETTERS)} choices, got {len(texts)}", file=source, row=row,
                         field=names[0] if names else "choices")
    return texts


def _answer_of(v: Any, n: int, source: str | None, row: int, field: str) -> int | None:
    if _missing(v):
        return None
    text = str(v).strip()
    if len(text) == 1 and text.upper() in LETTERS:
        idx = LETTERS.index(text.upper())
    else:
        try:
            f = float(text)
        except ValueError:
            raise InputError(f"answer {text!r} is neither an option letter nor a 0-based option index",
                             file=source, row=row, field=field) from None
        if f != int(f):
            raise InputError(f"answer {text!r} is not a whole option index", file=source, row=row, field=field)
        idx = int(f)
    if not 0 <= idx < n:
        raise InputError(f"answer {text!r} is outside the {n} choices (0-based index or letter A-{LETTERS[n - 1]})",
                         file=source, row=row, field=field)
    return idx


def read_mcqa(
    data: pd.DataFrame | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    question: str = "question",
    choices: str | Sequence[str] | None = None,
    answer: str | None = "answer",
    subject: str | None = None,
    require_answer: bool = False,
    encoding: str | None = None,
) -> McqaData:
    """Read one or more multiple-choice files (or a DataFrame); see the module docstring.

    ``answer`` names the answer-key column; when the column is absent the questions have no key
    (unless ``require_answer``); a present but empty value is None for that row."""
    sources: Sequence[Any] = [data] if isinstance(data, pd.DataFrame | str | os.PathLike) else list(data)
    if not sources:
        raise InputError("no data files given")
    items: list[dict[str, Any]] = []
    answers: list[int | None] = []
    srcs: list[str | None] = []
    rows: list[int] = []
    tables = []
    for src in sources:
        df, source = load_table(src, encoding)
        tables.append(df)
        columns = [str(c) for c in df.columns]
        if question not in columns:
            raise InputError(f"missing question column '{question}'; columns present: {', '.join(columns)}",
                             file=source, field=question, option="question_field")
        if subject is not None and subject not in columns:
            raise InputError(f"subject column '{subject}' not found; columns present: {', '.join(columns)}",
                             file=source, field=subject, option="subject_field")
        has_answer = answer is not None and answer in columns
        if require_answer and not has_answer:
            raise InputError(f"missing answer column '{answer}'; columns present: {', '.join(columns)}",
                             file=source, field=answer, option="answer_field")
        default_subject = subject_of(source) if source else ""
        for i, rec in enumerate(df.to_dict(orient="records"), start=1):
            q = rec[question]
            if _missing(q):
                raise InputError("empty question", file=source, row=i, field=question)
            opts = _choices_of(rec, choices, columns, source, i)
            key = _answer_of(rec[answer], len(opts), source, i, str(answer)) if has_answer else None
            if require_answer and key is None:
                raise InputError("empty answer", file=source, row=i, field=answer)
            subj = rec[subject] if subject is not None else default_subject
            items.append({"question": str(q), "choices": opts, "subject": "" if _missing(subj) else str(subj)})
            answers.append(key)
            srcs.append(source)
            rows.append(i)
    table = pd.concat(tables, ignore_index=True) if len(tables) > 1 else tables[0]
    return McqaData(items, answers, srcs, rows, table)


def few_shot(data: McqaData, dev: McqaData, shots: int) -> None:
    """Give every question the first ``shots`` dev questions of its subject as examples (the
    harness's ``first_n`` sampler), in place. A subject with too few dev questions is an error."""
    if shots <= 0:
        return
    by_subject: dict[str, list[dict[str, Any]]] = {}
    for it, key in zip(dev.items, dev.answers, strict=True):
        if key is None:
            continue
        by_subject.setdefault(str(it.get("subject") or ""), []).append(
            {"question": it["question"], "choices": it["choices"], "answer": key})
    for it, src in zip(data.items, data.sources, strict=True):
        subj = str(it.get("subject") or "")
        pool = by_subject.get(subj, [])
        if len(pool) < shots:
            have = ", ".join(f"{k or '(none)'}: {len(v)}" for k, v in by_subject.items())
            raise InputError(f"{shots}-shot needs {shots} answered dev questions of subject '{subj or '(none)'}', "
                             f"the dev data has {len(pool)} (dev questions per subject: {have})", file=src,
                             option="dev")
        it["examples"] = pool[:shots]
