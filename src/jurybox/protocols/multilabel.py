"""Labelling with a taxonomy: all labels that apply (``multilabel``) and one label out of many
(``classify_codes``), both reading the taxonomy file ``jurybox taxonomy`` writes.

* ``multilabel`` (TnT-LLM phase 2, "all applicable labels"): for an item with ``text``, one task
  per label (variant ``label:NAME``) asks whether that label applies, read as the option
  distribution over ``yes``/``no`` (one forward pass each; the label list and the text come first,
  so the item's prefix is evaluated once for all its labels). The item verdict's ``probs`` are
  P(yes) per label; ``extra["labels"]`` the labels with P(yes) >= ``threshold`` (default 0.5) in
  taxonomy order; ``label`` those names joined by ``;`` (``(none)`` when none applies). If any
  label's answer could not be read the item is ``unparsed`` (label None): an unread answer is not
  "does not apply".
* ``classify_codes``: one label out of a large label set (BANKING77's 77 intents, a 25-label
  taxonomy). Multi-token label names cost one decode per distinct token prefix (hundreds per item
  for 77 names); here each label gets a two-letter code (``AA``, ``AB``...) listed in the shared
  prefix as ``AA: card_arrival (description)``, and the answer options are the codes, which
  Qwen2.5's tokenizer keeps as single tokens with distinct first tokens, so one forward pass reads
  all of them. Codes that tokenizer splits into two tokens are skipped (:data:`SPLIT_CODES`). The
  verdict's label and probabilities are the label names.

* ``classify_shortlist``: one label out of a per-item shortlist (the item's ``candidates`` field:
  a list of label names, or one string joined by ``;``), for label sets too large for a small
  model to read at once. The candidates are listed after the text as lettered options
  (``A. card_arrival``...), the answer options are the letters (one forward pass), and the verdict's
  label and probabilities are the candidates' names; the label set (``labels`` or a taxonomy)
  checks the candidates and normalises human labels. A shortlist comes from anything that ranks
  labels for a text, such as :func:`jurybox.distill.api.shortlist` (embedding similarity between
  the text and the label names and descriptions). ``orders=K`` asks the shortlist in K orders
  (order 0 as given, order 1 reversed, the others permutations seeded by the item's content, the
  same on every run) and averages each candidate's probability over the orders that were read: a
  small judge prefers some positions (the last letter, here), and asking both ways cancels that
  at the price of K calls. ``orders`` changes the variants, not the answer to one variant, so
  order 0's verdicts are those of a one-order run.

A taxonomy file is YAML with ``labels: [{name, description}, ...]`` (the rest, such as
``history``, is ignored here); :func:`read_taxonomy` reads it, refusing an empty one in one line.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jurybox.errors import InputError, OptionError
from jurybox.protocols.base import JudgeProtocol, mean_over_orders
from jurybox.protocols.registry import register_protocol
from jurybox.types import BackendResult, OptionsRequest, Request, Verdict, stable_hash

__all__ = ["SPLIT_CODES", "CodedClassify", "MultiLabel", "Shortlist", "codes_for", "read_taxonomy"]

#: two-letter codes that Qwen2.5's tokenizer splits (with or without a leading space); skipped
SPLIT_CODES = frozenset({"AY", "BQ", "BZ", "CJ", "CQ", "CZ", "DQ", "DZ", "EJ", "EK", "EY", "FJ", "FQ", "FV", "FZ",
                         "GJ", "GK", "GQ", "GY", "GZ", "HJ", "HN"})
NONE_LABEL = "(none)"


def codes_for(n: int) -> list[str]:
    """``n`` two-letter codes in order (AA, AB, ...), skipping :data:`SPLIT_CODES`."""
    out = [a + b for a, b in itertools.product(string.ascii_uppercase, repeat=2) if a + b not in SPLIT_CODES]
    if n > len(out):
        raise ValueError(f"at most {len(out)} labels can be coded, got {n}")
    return out[:n]


def read_taxonomy(path: str | Path) -> tuple[list[str], dict[str, str]]:
    """(label names in order, descriptions) from a taxonomy YAML file (module docstring)."""
    import yaml

    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError("taxonomy file not found", file=str(p), option="taxonomy")
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read the taxonomy as YAML ({' '.join(str(exc).split())})", file=str(p)) from exc
    labels = doc.get("labels") if isinstance(doc, dict) else None
    if not labels:
        raise InputError("the taxonomy has no labels (expected 'labels:' with a list of {name, description})",
                         file=str(p), field="labels")
    if not isinstance(labels, list):
        raise InputError("'labels' must be a list of {name, description}", file=str(p), field="labels")
    names: list[str] = []
    desc: dict[str, str] = {}
    for i, entry in enumerate(labels, start=1):
        if isinstance(entry, str):
            name, d = entry.strip(), ""
        elif isinstance(entry, dict) and str(entry.get("name") or "").strip():
            name, d = str(entry["name"]).strip(), str(entry.get("description") or "").strip()
        else:
            raise InputError(f"label {i} has no name", file=str(p), field="labels")
        if name in desc:
            raise InputError(f"label {name!r} appears twice", file=str(p), field="labels")
        names.append(name)
        desc[name] = d
    return names, {k: v for k, v in desc.items() if v}


def _label_set(labels: Sequence[str] | None, descriptions: Mapping[str, str] | None,
               taxonomy: str | None, minimum: int, protocol: str) -> tuple[tuple[str, ...], dict[str, str]]:
    if taxonomy is not None:
        if labels:
            raise ValueError("give labels or a taxonomy file, not both")
        names, desc = read_taxonomy(taxonomy)
        desc.update(descriptions or {})
    else:
        names, desc = [str(x).strip() for x in (labels or [])], dict(descriptions or {})
    if len(names) < minimum or len(set(names)) != len(names) or any(not x for x in names):
        raise ValueError(f"{protocol} needs at least {minimum} distinct, non-empty label(s) (labels or a taxonomy "
                         f"file), got {names}")
    unknown = [k for k in desc if k not in names]
    if unknown:
        raise ValueError(f"descriptions given for unknown labels {unknown}")
    return tuple(names), desc


def _split_labels(value: Any) -> Any:
    if isinstance(value, str) and not value.lstrip().startswith("["):
        return [x.strip() for x in value.split(",") if x.strip()]
    return value


@register_protocol
class MultiLabel(JudgeProtocol):
    name = "multilabel"
    required = ("text",)
    prefill = "Answer:"
    options = ("yes", "no")

    def __init__(self, *, labels: Sequence[str] | None = None, descriptions: Mapping[str, str] | None = None,
                 taxonomy: str | None = None, threshold: float = 0.5, criteria: str | None = None,
                 template: str = "default") -> None:
        super().__init__(criteria=criteria, template=template)
        self._labels, self.descriptions = _label_set(labels, descriptions, taxonomy, 1, self.name)
        if not 0 < threshold < 1:
            raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
        self.threshold = threshold

    @classmethod
    def parse_option(cls, key: str, value: Any) -> Any:
        if key == "labels":
            return _split_labels(value)
        return super().parse_option(key, value)

    def labels(self) -> tuple[str, ...]:
        return self._labels

    def params(self) -> dict[str, Any]:
        # the label set's content, not the file's path: an edited taxonomy gives new keys
        return {**super().params(), "labels": list(self._labels), "descriptions": self.descriptions,
                "threshold": self.threshold}

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        out: list[tuple[str, Request]] = []
        for label in self._labels:
            text = self.render(labels=self._labels, descriptions=self.descriptions, text=item["text"], label=label)
            out.append((f"label:{label}", OptionsRequest(self.prompt(text), self.options)))
        return out

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        v = self.option_verdict(result, self.options)
        if v.probs:
            v.score = v.probs["yes"]
        return v

    def combine(self, item: Mapping[str, Any], verdicts: Mapping[str, Verdict]) -> Verdict:
        p_yes: dict[str, float] = {}
        unread: list[str] = []
        for label in self._labels:
            v = verdicts[f"label:{label}"]
            if v.status != "ok" or v.label is None:
                unread.append(label)
            elif v.score is not None:
                p_yes[label] = float(v.score)
            else:  # a generated yes/no without probabilities
                p_yes[label] = 1.0 if v.label == "yes" else 0.0
        tokens = (sum(v.prompt_tokens for v in verdicts.values()), sum(v.completion_tokens for v in verdicts.values()))
        if unread:
            return Verdict(label=None, status="unparsed", probs=p_yes or None,
                           extra={"unparsed_labels": unread}, prompt_tokens=tokens[0], completion_tokens=tokens[1])
        chosen = [lab for lab in self._labels if p_yes[lab] >= self.threshold]
        return Verdict(label=";".join(chosen) if chosen else NONE_LABEL, probs=p_yes,
                       score=max(p_yes.values()) if p_yes else None,
                       extra={"labels": chosen, "threshold": self.threshold},
                       prompt_tokens=tokens[0], completion_tokens=tokens[1])

    def normalise_label(self, value: Any, *, file: str | None, row: int, field: str) -> str:
        """A human label: ``a;b`` (or a list), ``(none)`` or empty for none; in taxonomy order."""
        parts = value if isinstance(value, list | tuple) else str(value).split(";")
        names = [str(x).strip() for x in parts if str(x).strip() and str(x).strip() != NONE_LABEL]
        lower = {lab.lower(): lab for lab in self._labels}
        bad = [x for x in names if x.lower() not in lower]
        if bad:
            raise InputError(f"label {bad[0]!r} is not in the label set ({', '.join(self._labels)})",
                             file=file, row=row, field=field)
        chosen = {lower[x.lower()] for x in names}
        ordered = [lab for lab in self._labels if lab in chosen]
        return ";".join(ordered) if ordered else NONE_LABEL


@register_protocol
class CodedClassify(JudgeProtocol):
    name = "classify_codes"
    required = ("text",)
    prefill = "Code:"

    def __init__(self, *, labels: Sequence[str] | None = None, descriptions: Mapping[str, str] | None = None,
                 taxonomy: str | None = None, codes: Sequence[str] | None = None, criteria: str | None = None,
                 template: str = "default") -> None:
        super().__init__(criteria=criteria, template=template)
        self._labels, self.descriptions = _label_set(labels, descriptions, taxonomy, 2, self.name)
        self.codes = tuple(codes) if codes is not None else tuple(codes_for(len(self._labels)))
        if len(self.codes) != len(self._labels) or len(set(self.codes)) != len(self.codes):
            raise ValueError(f"codes must be {len(self._labels)} distinct strings, one per label")
        self._to_label = dict(zip(self.codes, self._labels))

    @classmethod
    def parse_option(cls, key: str, value: Any) -> Any:
        if key in ("labels", "codes"):
            return _split_labels(value)
        return super().parse_option(key, value)

    def labels(self) -> tuple[str, ...]:
        return self._labels

    def params(self) -> dict[str, Any]:
        return {**super().params(), "labels": list(self._labels), "descriptions": self.descriptions,
                "codes": list(self.codes)}

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        text = self.render(coded=list(zip(self.codes, self._labels)), descriptions=self.descriptions,
                           text=item["text"])
        return [("", OptionsRequest(self.prompt(text), self.codes))]

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        v = self.option_verdict(result, self.codes, self._to_label)
        if v.label is None and result.text:  # a generated answer may name the label itself
            from jurybox.protocols.base import match_option

            hit = match_option(result.text, self._labels)
            if hit is not None:
                v = Verdict(label=hit, raw=result.text, extra={"method": "generate"},
                            prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)
        return v


LETTERS = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


@register_protocol
class Shortlist(JudgeProtocol):
    name = "classify_shortlist"
    required = ("text", "candidates")
    structure = ("candidates",)
    prefill = "Answer:"

    def __init__(self, *, labels: Sequence[str] | None = None, descriptions: Mapping[str, str] | None = None,
                 taxonomy: str | None = None, criteria: str | None = None, template: str = "default",
                 orders: int = 1) -> None:
        super().__init__(criteria=criteria, template=template)
        self._labels, self.descriptions = _label_set(labels, descriptions, taxonomy, 2, self.name)
        self._known = set(self._labels)
        if int(orders) < 1:
            raise OptionError(f"orders must be at least 1 (1: the shortlist as given), got {orders}", option="orders")
        self.orders = int(orders)

    @classmethod
    def parse_option(cls, key: str, value: Any) -> Any:
        if key == "labels":
            return _split_labels(value)
        return super().parse_option(key, value)

    def labels(self) -> tuple[str, ...]:
        return self._labels

    def params(self) -> dict[str, Any]:
        return {**super().params(), "labels": list(self._labels), "descriptions": self.descriptions}

    def candidates(self, item: Mapping[str, Any]) -> list[str]:
        raw = item["candidates"]
        names = [x.strip() for x in raw.split(";")] if isinstance(raw, str) else [str(x).strip() for x in raw]
        names = [x for x in dict.fromkeys(names) if x]
        unknown = [x for x in names if x not in self._known]
        if unknown:
            raise InputError(f"candidate {unknown[0]!r} is not in the label set", field="candidates")
        if not 2 <= len(names) <= len(LETTERS):
            raise InputError(f"a shortlist needs 2 to {len(LETTERS)} candidates, got {len(names)}", field="candidates")
        return names

    def shown(self, item: Mapping[str, Any], names: Sequence[str], k: int) -> list[str]:
        """The candidates in order ``k``: as given, reversed, then seeded permutations."""
        if k == 0:
            return list(names)
        if k == 1:
            return list(names)[::-1]
        h = stable_hash({"text": str(item["text"]), "candidates": list(names), "k": k})
        rng = np.random.default_rng(int(h[:15], 16))
        return [names[int(i)] for i in rng.permutation(len(names))]

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        names = self.candidates(item)
        letters = LETTERS[:len(names)]
        out: list[tuple[str, Request]] = []
        for k in range(self.orders):
            shown = self.shown(item, names, k)
            variant = ";".join(shown)  # names the candidates in order: the letters mean different labels per item
            if any(v == variant for v, _ in out):
                continue  # two candidates have only two orders
            text = self.render(coded=list(zip(letters, shown)), descriptions=self.descriptions, text=item["text"])
            out.append((variant, OptionsRequest(self.prompt(text), letters)))
        return out

    def combine(self, item: Mapping[str, Any], verdicts: Mapping[str, Verdict]) -> Verdict:
        """One order: its verdict. Several: each candidate's probability averaged over the orders
        that were read (an unparsed or failed order is left out; all of them: the item is too)."""
        if len(verdicts) == 1:
            (v,) = verdicts.values()
            return v
        out = mean_over_orders(verdicts, self.candidates(item))
        out.extra["per_order"] = {k: v.label for k, v in verdicts.items()}
        out.latency_s = sum(v.latency_s for v in verdicts.values())
        return out

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        names = variant.split(";")
        return self.option_verdict(result, LETTERS[:len(names)], dict(zip(LETTERS, names)))
