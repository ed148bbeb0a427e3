"""The protocol base: render prompts from templates, read answers, combine variants.

A protocol turns one item (a dict of protocol fields) into one or more requests, each under a
*variant* name (the presentation order for pairwise, for example), reads each backend result into
a per-task :class:`~jurybox.types.Verdict`, and combines an item's per-variant verdicts into one.
"""

from __future__ import annotations

import inspect
import math
import re
import traceback
import typing
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from jurybox._options_text import value_from_text
from jurybox._pairs import key_value_pairs
from jurybox.errors import InputError, JuryboxError, OptionError
from jurybox.types import BackendResult, Message, OptionScores, Prompt, Request, Verdict

__all__ = ["PROMPTS", "JudgeProtocol", "compile_template", "match_option", "mean_over_orders", "render_template",
           "template_variants"]

PROMPTS = Path(str(resources.files("jurybox").joinpath("prompts")))


def _environment() -> ImmutableSandboxedEnvironment:
    # Templates are shared (jury configs, prompt libraries): they render in Jinja's sandbox, as
    # the models' chat templates do, so a template can read its variables but not reach Python
    # internals (``__class__``, ``__globals__``, ``os``...) or change the objects it is given.
    return ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
                                         autoescape=False)


_ENV = _environment()


def compile_template(text: str, source: str = "<string>") -> jinja2.Template:
    """Compile prompt-template text in the sandbox; ``source`` (a path) names it in errors."""
    try:
        code = _ENV.compile(text, name=source, filename=source)
    except jinja2.TemplateSyntaxError as exc:
        raise JuryboxError(f"prompt template {source}, line {exc.lineno}: {exc.message}") from exc
    return _ENV.template_class.from_code(_ENV, code, _ENV.make_globals(None))


def _template_line(exc: BaseException, source: str) -> int | None:
    """The template line where rendering failed, from the frames Jinja rewrites to the template."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == source:
            line = frame.lineno
    return line


def render_template(template: jinja2.Template, **context: Any) -> str:
    """Render a compiled template; any failure inside the template (an unsafe attribute, an
    undefined variable, a type error) is one line naming the template file and line."""
    source = template.filename or "<string>"
    try:
        return template.render(**context)
    except Exception as exc:
        line = _template_line(exc, source)
        if line is None and not isinstance(exc, jinja2.TemplateError):
            raise  # not the template's doing: a bug, keep the traceback
        where = f"prompt template {source}" + (f", line {line}" if line is not None else "")
        if isinstance(exc, SecurityError):
            msg = f"not allowed in a prompt template ({exc})"
        elif isinstance(exc, jinja2.TemplateError):
            msg = exc.message or type(exc).__name__
        else:
            msg = f"{type(exc).__name__}: {exc}"
        raise JuryboxError(f"{where}: {msg}".replace("\n", " ")) from None


@lru_cache(maxsize=64)
def _load_template(protocol: str, template: str) -> tuple[str, jinja2.Template]:
    if template.endswith(".j2") or "/" in template or "\\" in template:
        path = Path(template).expanduser()
    else:
        path = PROMPTS / protocol / f"{template}.j2"
    if not path.is_file():
        available = ", ".join(sorted(p.stem for p in (PROMPTS / protocol).glob("*.j2")))
        raise JuryboxError(f"prompt template '{template}' not found for protocol {protocol} (available: {available})")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise JuryboxError(f"prompt template {path}: cannot read it ({exc})") from exc
    return text, compile_template(text, str(path))


def template_variants(protocol: str) -> list[str]:
    """Names of the templates that ship for a protocol (meaning-preserving variants)."""
    return sorted(p.stem for p in (PROMPTS / protocol).glob("*.j2"))


def _from_text(protocol: str, key: str, hint: Any, text: str) -> Any:
    """``text`` as a value of the annotation ``hint`` (JSON or text when there is none)."""
    def bad(what: str) -> OptionError:
        return OptionError(f"{key} of protocol {protocol} must be {what}, got {text!r}", option=key)

    return value_from_text(hint, text, bad, lenient=True)


_STRIP = re.compile(r"^[\s\"'`(\[*]+|[\s\"'`)\].,:;!*]+$")


def mean_over_orders(verdicts: Mapping[str, Verdict], keys: Sequence[str] | None = None) -> Verdict:
    """An item asked in several option orders, each verdict already in the item's own labels:
    each label's probability averaged over the orders that were read (an answer without
    probabilities counts as all on its label; ``keys`` fixes the labels, else those seen). An
    unread order is left out; when none was read the item is unread too, with the first error's
    status and text (else the first order's)."""
    read = [v for v in verdicts.values() if v.label is not None]
    if not read:
        errors = [v for v in verdicts.values() if v.status == "error"]
        base = errors[0] if errors else next(iter(verdicts.values()))
        return Verdict(label=None, status=base.status, raw=base.raw, error=base.error,
                       extra={"orders": len(verdicts), "read": 0})
    mean: dict[str, float] = dict.fromkeys(keys, 0.0) if keys is not None else {}
    for v in read:
        for k, p in (v.probs if v.probs else {str(v.label): 1.0}).items():
            mean[k] = mean.get(k, 0.0) + p / len(read)
    label = max(mean, key=lambda k: mean[k])
    return Verdict(label=label, probs=mean, raw=read[0].raw, extra={"orders": len(verdicts), "read": len(read)},
                   prompt_tokens=sum(v.prompt_tokens for v in verdicts.values()),
                   completion_tokens=sum(v.completion_tokens for v in verdicts.values()))


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
    #: fields that shape the question rather than carry content (a shortlist's candidates): a
    #: content-free input keeps them, and few-shot similarity and layout probing leave them as they are
    structure: ClassVar[tuple[str, ...]] = ()
    prefill: ClassVar[str] = "Answer:"

    def __init__(self, *, criteria: str | None = None, template: str = "default") -> None:
        self.criteria = criteria
        self.template = template
        self.template_text, self._template = _load_template(self.name, template)

    # -- parameters from text (``--param KEY=VALUE``, the judge command's options)
    @classmethod
    def parameters(cls) -> dict[str, inspect.Parameter]:
        """The keyword parameters the protocol's constructors take along its class hierarchy (the
        most derived class's declaration of a name wins), annotations evaluated where they can be."""
        out: dict[str, inspect.Parameter] = {}
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None or klass is object:
                continue
            try:
                sig = inspect.signature(init, eval_str=True)
            except Exception:  # an annotation that does not evaluate here: keep it as text
                sig = inspect.signature(init)
            for p in sig.parameters.values():
                if p.name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
                    out.setdefault(p.name, p)
        return out

    @classmethod
    def parse_option(cls, key: str, value: Any) -> Any:
        """The value of parameter ``key`` from ``value``: text is read as the parameter's annotated
        type (str, int, float, bool, ``none`` for an optional one), else as JSON or, failing that,
        kept as text; other values are kept as they are. Protocols override it for parameters
        with their own text form (a score scale ``1-5``, a label list ``a,b``)."""
        if not isinstance(value, str):
            return value
        param = cls.parameters().get(key)
        hint = param.annotation if param is not None else inspect.Parameter.empty
        return _from_text(cls.name, key, hint, value)

    @classmethod
    def parse_options(cls, options: typing.Iterable[str] | Mapping[str, Any]) -> dict[str, Any]:
        """Typed parameters from ``KEY=VALUE`` strings or a mapping (see :meth:`parse_option`);
        a later repeat of a key wins."""
        pairs = key_value_pairs(options, lambda item: OptionError(
            f"a protocol parameter must look like KEY=VALUE (VALUE as JSON or plain text), got {item!r}",
            option="params"))
        return {k: cls.parse_option(k, v) for k, v in pairs}

    # -- what the judge can answer
    @abstractmethod
    def labels(self) -> tuple[str, ...]:
        """The item-level label set (the values ``Verdict.label`` can take)."""

    def params(self) -> dict[str, Any]:
        """Everything about the protocol that can change an answer (goes into task keys)."""
        return {"protocol": self.name, "criteria": self.criteria, "template": self.template_text}

    # -- prompts
    def render(self, **context: Any) -> str:
        return render_template(self._template, criteria=self.criteria, **context).strip()

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
