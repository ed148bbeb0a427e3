"""The protocol base: render prompts from templates, read answers, combine variants.

A protocol turns one item (a dict of protocol fields) into one or more requests, each under a
*variant* name (the presentation order for pairwise, for example), reads each backend result into
a per-task :class:`~jurybox.types.Verdict`, and combines an item's per-variant verdicts into one.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import jinja2

from jurybox.errors import InputError, JuryboxError
from jurybox.types import BackendResult, Generation, Message, OptionScores, Prompt, Request, Verdict

PROMPTS = Path(str(resources.files("jurybox").joinpath("prompts")))


@lru_cache(maxsize=64)
def _load_template(protocol: str, template: str) -> tuple[str, jinja2.Template]:
    if template.endswith(".j2") or "/" in template or "\\" in template:
        path = Path(template).expanduser()
    else:
        path = PROMPTS / protocol / f"{template}.j2"
    if not path.is_file():
        available = ", ".join(sorted(p.stem for p in (PROMPTS / protocol).glob("*.j2")))
        raise JuryboxError(f"prompt template '{template}' not found for protocol {protocol} (available: {available})")
    text = path.read_text(encoding="utf-8")
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined, autoescape=False)
    try:
        return text, env.from_string(text)
    except jinja2.TemplateSyntaxError as exc:
        raise JuryboxError(f"prompt template {path}, line {exc.lineno}: {exc.message}") from exc


def template_variants(protocol: str) -> list[str]:
    """Names of the templates that ship for a protocol (meaning-preserving variants)."""
    return sorted(p.stem for p in (PROMPTS / protocol).glob("*.j2"))


_STRIP = re.compile(r"^[\s\"'`(\[*]+|[\s\"'`)\].,:;!*]+$")


def match_option(text: str, options: Sequence[str]) -> str | None:
    """Read a generated answer as one of ``options``; None when it matches none or several."""
    t = _STRIP.sub("", text.strip()).lower()
    exact = [o for o in options if t == o.lower()]
    if exact:
        return exact[0]
    first = re.split(r"[\s,.:;!)\]]+", t, maxsplit=1)[0] if t else ""
    hits = [o for o in options if first == o.lower()]
    return hits[0] if len(hits) == 1 else None


class JudgeProtocol(ABC):
    """Base class. Subclasses set ``name``, ``required``, ``optional`` and implement the rest."""

    name: ClassVar[str]
    required: ClassVar[tuple[str, ...]]
    optional: ClassVar[tuple[str, ...]] = ()
    prefill: ClassVar[str] = "Answer:"

    def __init__(self, *, criteria: str | None = None, template: str = "default") -> None:
        self.criteria = criteria
        self.template = template
        self.template_text, self._template = _load_template(self.name, template)

    # -- what the judge can answer
    @abstractmethod
    def labels(self) -> tuple[str, ...]:
        """The item-level label set (the values ``Verdict.label`` can take)."""

    def params(self) -> dict[str, Any]:
        """Everything about the protocol that can change an answer (goes into task keys)."""
        return {"protocol": self.name, "criteria": self.criteria, "template": self.template_text}

    # -- prompts
    def render(self, **context: Any) -> str:
        try:
            return self._template.render(criteria=self.criteria, **context).strip()
        except jinja2.UndefinedError as exc:
            raise JuryboxError(f"prompt template '{self.template}' for {self.name}: {exc.message}") from exc

    def prompt(self, text: str) -> Prompt:
        return Prompt(messages=(Message("user", text),), prefill=self.prefill)

    @abstractmethod
    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        """(variant, request) pairs for one item."""

    # -- reading answers
    @abstractmethod
    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        """Read one backend result into a per-task verdict."""

    def combine(self, item: Mapping[str, Any], verdicts: Mapping[str, Verdict]) -> Verdict:
        """Combine an item's per-variant verdicts (default: the single variant's verdict)."""
        (v,) = verdicts.values()
        return v

    def normalise_label(self, value: Any, *, file: str | None, row: int, field: str) -> str:
        """Map a human label to the protocol's label set, or raise an InputError naming it."""
        text = str(value).strip()
        for label in self.labels():
            if text.lower() == label.lower():
                return label
        raise InputError(
            f"label {text!r} is not in the label set ({', '.join(self.labels())})", file=file, row=row, field=field
        )

    # -- helpers for option-based protocols
    def option_verdict(
        self,
        result: BackendResult,
        options: Sequence[str],
        to_label: Mapping[str, str] | None = None,
    ) -> Verdict:
        """Turn option scores (or generated text) into a verdict over labels."""
        to_label = to_label or {o: o for o in options}
        if isinstance(result, OptionScores) and result.logprobs:
            probs = {to_label[o]: math.exp(lp) for o, lp in result.logprobs.items()}
            label = max(probs, key=lambda k: probs[k])
            return Verdict(
                label=label,
                probs=probs,
                raw=result.text,
                extra={"method": result.method, "option_mass": result.mass,
                       "logprobs": {to_label[o]: lp for o, lp in result.logprobs.items()}},
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
            )
        text = result.text
        method = result.method if isinstance(result, OptionScores) else "generate"
        hit = match_option(text, options)
        if hit is None:
            return Verdict(label=None, status="unparsed", raw=text, extra={"method": method},
                           prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)
        return Verdict(label=to_label[hit], probs=None, raw=text, extra={"method": method},
                       prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)


def generation_text(result: BackendResult) -> str:
    return result.text if isinstance(result, Generation | OptionScores) else str(result)
