"""The generations of TnT-LLM phase 1 as protocols: each is a schema-constrained JSON generation
that runs through the engine and the store like any judge (a rerun asks the store, not the model).

* ``taxonomy_summary``: one short summary of a text for the use case (``{"summary": ...}``);
* ``taxonomy_propose``: a first label set from a minibatch of summaries;
* ``taxonomy_update``: the current label set revised on the next minibatch;
* ``taxonomy_review``: the final pass, merging duplicates (``merged_from``) under the size limit.

An answer that is not the expected JSON is an unparsed verdict (``why`` says what was wrong);
the loop in :mod:`jurybox.taxonomy.generate` keeps the previous taxonomy then and records it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from jurybox.protocols._json import GeneratingProtocol, parse_json_object, unparsed
from jurybox.types import BackendResult, Request, Verdict

__all__ = ["NAME_PATTERN", "Propose", "Review", "Summarise", "Update", "clean_labels", "normal_name"]

NAME_PATTERN = "^[a-z][a-z0-9_]{1,48}$"


def normal_name(name: str) -> str:
    """A label name in snake_case: lower case, runs of other characters become one underscore."""
    return re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_")


def clean_labels(raw: Any) -> list[dict[str, Any]] | None:
    """The label list of an answer: names normalised, entries without a name dropped; None when
    the answer has no list of labels."""
    if not isinstance(raw, list):
        return None
    out: list[dict[str, Any]] = []
    for e in raw:
        if not isinstance(e, dict):
            continue
        name = normal_name(e.get("name", ""))
        if not name:
            continue
        entry: dict[str, Any] = {"name": name, "description": " ".join(str(e.get("description") or "").split())}
        if str(e.get("name")) != name:
            entry["as_written"] = str(e.get("name"))
        merged = e.get("merged_from")
        if isinstance(merged, list):
            entry["merged_from"] = [normal_name(m) for m in merged if normal_name(m)]
        out.append(entry)
    return out or None


def _labels_schema(max_items: int, merged: bool = False) -> str:
    item: dict[str, Any] = {"type": "object",
                            "properties": {"name": {"type": "string", "pattern": NAME_PATTERN},
                                           "description": {"type": "string", "maxLength": 160}},
                            "required": ["name", "description"]}
    if merged:
        item["properties"]["merged_from"] = {"type": "array", "items": {"type": "string"}, "maxItems": 8}
        item["required"] = ["name", "description", "merged_from"]
    return json.dumps({"type": "object",
                       "properties": {"labels": {"type": "array", "items": item, "minItems": 1,
                                                 "maxItems": max_items}},
                       "required": ["labels"]}, sort_keys=True)


class _TaxonomyStep(GeneratingProtocol):
    """A step with a use case and a label-count limit."""

    def __init__(self, *, use_case: str, max_labels: int = 25, template: str = "default",
                 max_tokens: int | None = None) -> None:
        super().__init__(template=template, max_tokens=max_tokens)
        if not use_case or not use_case.strip():
            raise ValueError("use_case must say what the labels are for")
        if max_labels < 2:
            raise ValueError(f"max_labels must be at least 2, got {max_labels}")
        self.use_case = use_case.strip()
        self.max_labels = max_labels
        if max_tokens is None:
            self.max_tokens = 40 + 45 * max_labels  # about 45 tokens per label entry

    def params(self) -> dict[str, Any]:
        return {**super().params(), "use_case": self.use_case, "max_labels": self.max_labels,
                "max_tokens": self.max_tokens}

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        obj = parse_json_object(result.text)
        labels = clean_labels(obj.get("labels")) if obj else None
        if labels is None:
            return unparsed(result, "no list of labels with names")
        return Verdict(label=f"{len(labels)} labels", raw=result.text, extra={"labels": labels, "method": "generate"},
                       prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)


class Summarise(_TaxonomyStep):
    name = "taxonomy_summary"
    required = ("text",)

    def __init__(self, *, use_case: str, template: str = "default", max_tokens: int | None = 80) -> None:
        super().__init__(use_case=use_case, template=template, max_tokens=max_tokens)

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        schema = json.dumps({"type": "object", "properties": {"summary": {"type": "string", "maxLength": 240}},
                             "required": ["summary"]}, sort_keys=True)
        return [("", self.generate_request(self.render(use_case=self.use_case, text=item["text"]), schema))]

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        obj = parse_json_object(result.text)
        s = obj.get("summary") if obj else None
        if not isinstance(s, str) or not s.strip():
            return unparsed(result, "no summary")
        s = " ".join(s.split())
        return Verdict(label=s, raw=result.text, extra={"summary": s, "method": "generate"},
                       prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)


class Propose(_TaxonomyStep):
    name = "taxonomy_propose"
    required = ("summaries",)

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        text = self.render(use_case=self.use_case, summaries=list(item["summaries"]), max_labels=self.max_labels)
        return [("", self.generate_request(text, _labels_schema(self.max_labels)))]


class Update(_TaxonomyStep):
    name = "taxonomy_update"
    required = ("labels", "summaries")

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        text = self.render(use_case=self.use_case, labels=list(item["labels"]), summaries=list(item["summaries"]),
                           max_labels=self.max_labels)
        return [("", self.generate_request(text, _labels_schema(self.max_labels)))]


class Review(_TaxonomyStep):
    name = "taxonomy_review"
    required = ("labels",)

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        text = self.render(use_case=self.use_case, labels=list(item["labels"]), max_labels=self.max_labels)
        return [("", self.generate_request(text, _labels_schema(self.max_labels, merged=True)))]
