"""Stance questionnaires: statements in several languages and paraphrases, an ordered answer scale,
reference profiles.

The file is YAML (or JSON)::

    name: ...
    scale: [agree, neutral, disagree]   # ordered; the first and last are opposites
    neutral: neutral                    # the middle answer (scored 1 against either side)
    languages:
      en: {instruction: ..., statement_label: "Statement:", answer_prefill: "Answer:",
           options: {agree: agree, neutral: neutral, disagree: disagree}}
    statements:
      - id: transit
        en: ["Public transport should be free.", "a paraphrase"]
    profiles:
      Profile A: {transit: agree}

Every statement needs at least one text in every language; ``options`` give the answer words the
model is asked for in that language, one per scale value. ``jurybox survey example`` uses the
questionnaire that ships with jurybox (``jurybox/data/questionnaires/example.yaml``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from jurybox.errors import InputError

__all__ = ["EXAMPLE", "Language", "Questionnaire", "Statement", "load_questionnaire"]

EXAMPLE = Path(str(resources.files("jurybox").joinpath("data", "questionnaires", "example.yaml")))


@dataclass(frozen=True)
class Language:
    code: str
    instruction: str
    statement_label: str
    answer_prefill: str
    options: dict[str, str]  # scale value -> the answer word in this language


@dataclass(frozen=True)
class Statement:
    id: str
    texts: dict[str, list[str]]  # language -> paraphrases


@dataclass(frozen=True)
class Questionnaire:
    name: str
    scale: list[str]
    neutral: str | None
    languages: dict[str, Language]
    statements: list[Statement]
    profiles: dict[str, dict[str, str]] = field(default_factory=dict)
    source: str = ""


def _need(cond: bool, source: str, what: str, field_: str | None = None) -> None:
    if not cond:
        raise InputError(what, file=source, field=field_)


def load_questionnaire(path: str | os.PathLike[str]) -> Questionnaire:
    """Read and check a questionnaire file (``"example"`` is the one that ships with jurybox)."""
    p = EXAMPLE if str(path) == "example" else Path(path)
    source = str(p)
    if not p.is_file():
        raise InputError("questionnaire file not found", file=source)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the questionnaire ({exc})", file=source) from None
    try:
        if p.suffix == ".json":
            raw = json.loads(text)
        else:
            import yaml

            raw = yaml.safe_load(text)
    except Exception as exc:
        raise InputError(f"not valid {'JSON' if p.suffix == '.json' else 'YAML'}: "
                         f"{str(exc).splitlines()[0]}", file=source) from None
    _need(isinstance(raw, dict), source, "a questionnaire is a mapping with scale, languages and statements")
    scale = raw.get("scale")
    _need(isinstance(scale, list) and len(scale) >= 2 and all(isinstance(s, str) for s in scale)
          and len(set(scale)) == len(scale), source, "scale must list at least 2 distinct answers", "scale")
    neutral = raw.get("neutral")
    _need(neutral is None or neutral in scale, source, f"neutral {neutral!r} is not on the scale", "neutral")
    langs_raw = raw.get("languages")
    _need(isinstance(langs_raw, dict) and bool(langs_raw), source, "languages must map language codes to their "
          "instruction, statement_label, answer_prefill and options", "languages")
    languages = {}
    for code, spec in langs_raw.items():
        where = f"languages.{code}"
        _need(isinstance(spec, dict), source, "expected a mapping", where)
        opts = spec.get("options")
        _need(isinstance(opts, dict) and set(opts) == set(scale), source,
              f"options must give one answer word for each of {', '.join(scale)}", f"{where}.options")
        words = [str(opts[s]) for s in scale]
        _need(len(set(words)) == len(words) and all(w.strip() for w in words), source,
              "answer words must be distinct and non-empty", f"{where}.options")
        for key in ("instruction", "statement_label", "answer_prefill"):
            _need(isinstance(spec.get(key), str) and bool(spec[key].strip()), source, f"{key} is missing",
                  f"{where}.{key}")
        languages[str(code)] = Language(str(code), spec["instruction"].strip(), spec["statement_label"].strip(),
                                        spec["answer_prefill"].strip(), {s: str(opts[s]) for s in scale})
    stmts_raw = raw.get("statements")
    _need(isinstance(stmts_raw, list) and bool(stmts_raw), source, "statements must be a non-empty list", "statements")
    statements = []
    seen: set[str] = set()
    for i, st in enumerate(stmts_raw, start=1):
        where = f"statements[{i}]"
        _need(isinstance(st, dict) and isinstance(st.get("id"), str | int), source, "a statement needs an id", where)
        sid = str(st["id"])
        _need(sid not in seen, source, f"statement id {sid!r} is repeated", where)
        seen.add(sid)
        texts = {}
        for code in languages:
            t = st.get(code)
            if isinstance(t, str):
                t = [t]
            _need(isinstance(t, list) and bool(t) and all(isinstance(x, str) and x.strip() for x in t), source,
                  f"statement {sid!r} has no text in language {code!r}", f"{where}.{code}")
            texts[code] = [x.strip() for x in t]
        statements.append(Statement(sid, texts))
    profiles: dict[str, dict[str, str]] = {}
    for name, answers in (raw.get("profiles") or {}).items():
        where = f"profiles.{name}"
        _need(isinstance(answers, dict), source, "a profile maps statement ids to answers", where)
        for sid, a in answers.items():
            _need(str(sid) in seen, source, f"profile {name!r} answers unknown statement {sid!r}", where)
            _need(a in scale, source, f"profile {name!r} answers {a!r} to {sid!r}, not on the scale", where)
        profiles[str(name)] = {str(k): str(v) for k, v in answers.items()}
    return Questionnaire(str(raw.get("name") or p.stem), list(scale), neutral, languages, statements, profiles,
                         source)
