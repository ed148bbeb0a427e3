"""Options shared by the commands that judge a dataset (judge, batch write/import, audit, errors),
declared once so the commands stay in step, and the :class:`~jurybox.spec.JudgeSpec` they build.

Protocol-specific flags (``--labels``, ``--scale``...) are protocol parameters under a CLI name;
their values are read by the protocol itself (:meth:`JudgeProtocol.parse_options`), like
``--param KEY=VALUE``. A flag the chosen protocol does not take is refused naming the protocols
that take it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from jurybox._pairs import key_value_pairs
from jurybox.errors import JuryboxError

Dataset = Annotated[Path, typer.Argument(help="JSONL, CSV or Parquet file, one item per row")]
Protocol = Annotated[str, typer.Option(help="score | pairwise | classify | correctness | certainty | "
                                            "checklist | checklist_writer | listwise | answer | relevance | prp | setwise | "
                                            "listwise-passages")]
Criteria = Annotated[str | None, typer.Option(help="What the judge should look for")]
Labels = Annotated[str | None, typer.Option(help="classify: comma-separated label set")]
Describe = Annotated[list[str] | None, typer.Option(help="classify: LABEL=DESCRIPTION (repeatable)")]
Scale = Annotated[str | None, typer.Option(help="score: integer scale LO-HI (default 1-5)")]
Orders = Annotated[str | None, typer.Option(help="pairwise: both | AB | BA (default both)")]
Combine = Annotated[str | None, typer.Option(help="pairwise: margin (log-odds) | vote (PRP rule); default margin")]
TieThreshold = Annotated[float | None, typer.Option(help="pairwise: |mean log-odds margin| below this is a "
                                                         "tie (default 0)")]
Template = Annotated[str, typer.Option(help="prompt template name or path to a .j2 file")]
Model = Annotated[str | None, typer.Option(help="embedded model name, GGUF path, or openai:MODEL@URL")]
BackendOption = Annotated[list[str] | None, typer.Option(
    "--backend-option", help="backend option KEY=VALUE, typed by the backend, e.g. concurrency=8, rpm=600, "
                             "n_ctx=4096 (repeatable)")]
Field = Annotated[list[str] | None, typer.Option(help="PROTOCOL_FIELD=COLUMN (repeatable)")]
Param = Annotated[list[str] | None, typer.Option(help="other protocol parameter KEY=VALUE, VALUE as JSON or text, "
                                                      "e.g. order=BA, max_questions=5 (repeatable)")]
Store = Annotated[Path | None, typer.Option(help="verdict store (default .jurybox/verdicts.sqlite)")]
Encoding = Annotated[str | None, typer.Option(help="text encoding of a CSV/TSV/JSONL DATASET (default UTF-8, with "
                                                   "or without a byte-order mark), e.g. latin-1")]

Examples = Annotated[Path | None, typer.Option(help="few-shot: labelled examples (JSONL/CSV/Parquet with the "
                                                   "protocol's fields and a 'label' column)")]
Shots = Annotated[int | None, typer.Option(help="few-shot: examples per prompt (default 4)")]
Select = Annotated[str | None, typer.Option(help="few-shot: similar (per item, MiniLM embeddings, label-balanced) | "
                                                 "balanced | random (fixed for every item); default similar")]
ExamplesField = Annotated[list[str] | None, typer.Option(
    help="few-shot: FIELD=COLUMN of the examples file (label=COLUMN names its label column; repeatable)")]
ContextualCalibration = Annotated[bool, typer.Option(
    "--contextual-calibration", help="divide out the option distribution on content-free inputs (N/A, '', [MASK])")]
Calibration = Annotated[Path | None, typer.Option(help="per-label bias file fitted by jurybox calibrate")]

#: CLI flag -> the protocol parameter it sets
PROTOCOL_FLAGS = {"--criteria": "criteria", "--labels": "labels", "--describe": "descriptions", "--scale": "scale",
                  "--orders": "orders", "--combine": "combine", "--tie-threshold": "tie_threshold"}


def judge_spec(protocol: str, *, template: str = "default", model: str | None = None,
               backend_option: list[str] | None = None, param: list[str] | None = None,
               **flags: Any) -> Any:
    """The :class:`~jurybox.spec.JudgeSpec` of a command's options. ``flags`` are the protocol
    flags by parameter-style name (``labels=``, ``describe=``, ``tie_threshold=``...) and the
    few-shot and calibration options (:func:`quality_options`); a flag the protocol does not take,
    or a required one missing, is a one-line error naming the flag."""
    quality = quality_options(**{k: flags.pop(k) for k in QUALITY_OPTIONS if k in flags})
    return _judge_spec(protocol, template=template, model=model, backend_option=backend_option, param=param,
                       **flags).replace(**quality)


#: the few-shot and calibration options of the judging commands (JudgeSpec fields)
QUALITY_OPTIONS = ("examples", "shots", "select", "examples_field", "contextual_calibration", "calibration")


def quality_options(*, examples: Path | None = None, shots: int | None = None, select: str | None = None,
                    examples_field: list[str] | None = None, contextual_calibration: bool = False,
                    calibration: Path | None = None) -> dict[str, Any]:
    """The :class:`~jurybox.spec.JudgeSpec` fields of the few-shot and calibration flags; a
    few-shot flag without ``--examples`` is a one-line error."""
    out: dict[str, Any] = {}
    if examples is None:
        given = [f for f, v in (("--shots", shots), ("--select", select), ("--examples-field", examples_field))
                 if v not in (None, [])]
        if given:
            raise JuryboxError(f"{given[0]} needs --examples FILE (the labelled examples)")
    else:
        fmap = dict(key_value_pairs(examples_field or [], lambda item: JuryboxError(
            f"--examples-field expects FIELD=COLUMN, got {item!r}")))
        label = fmap.pop("label", "label")
        out.update(examples=examples, examples_fields=fmap, examples_label=label)
        if shots is not None:
            out["shots"] = shots
        if select is not None:
            out["select"] = select
    if contextual_calibration:
        out["contextual"] = True
    if calibration is not None:
        out["calibration"] = calibration
    return out


def _judge_spec(protocol: str, *, template: str = "default", model: str | None = None,
                backend_option: list[str] | None = None, param: list[str] | None = None,
                **flags: Any) -> Any:
    from jurybox.protocols import registry
    from jurybox.spec import JudgeSpec

    cls = registry.protocol_class(protocol)
    accepted = cls.parameters()
    given: dict[str, Any] = {}
    for flag, name in PROTOCOL_FLAGS.items():
        value = flags.get(flag.removeprefix("--").replace("-", "_"))
        if value is None or value == []:
            continue
        if name not in accepted:
            takers = sorted(n for n, c in registry.PROTOCOLS.items() if name in c.parameters())
            raise JuryboxError(f"{flag} does not apply to --protocol {protocol}"
                               + (f" (it applies to {', '.join(takers)})" if takers else ""))
        given[name] = value
    pairs: dict[str, Any] = dict(key_value_pairs(param or [], lambda item: JuryboxError(
        f"--param expects KEY=VALUE (VALUE as JSON or plain text), got {item!r}")))
    params = {**pairs, **given}  # a flag wins over --param for the same parameter
    for name, parameter in accepted.items():
        if parameter.default is parameter.empty and name not in params:
            hint = next((f for f, n in PROTOCOL_FLAGS.items() if n == name), None)
            if hint == "--labels":
                raise JuryboxError(f"--protocol {protocol} needs --labels, for example --labels positive,negative")
            raise JuryboxError(f"--protocol {protocol} needs {hint or f'--param {name}=VALUE'}")
    return JudgeSpec.parse(protocol, params=params, template=template, model=model,
                           backend_options=backend_option or ())


#: the options that describe the judge, in --help order: (name, annotation, default)
SPEC_OPTIONS: tuple[tuple[str, Any, Any], ...] = (
    ("protocol", Protocol, "score"), ("criteria", Criteria, None), ("labels", Labels, None),
    ("describe", Describe, None), ("scale", Scale, None), ("orders", Orders, None), ("combine", Combine, None),
    ("tie_threshold", TieThreshold, None), ("template", Template, "default"), ("model", Model, None),
    ("backend_option", BackendOption, None), ("param", Param, None),
    ("examples", Examples, None), ("shots", Shots, None), ("select", Select, None),
    ("examples_field", ExamplesField, None), ("contextual_calibration", ContextualCalibration, False),
    ("calibration", Calibration, None),
)


def spec_options(build: Callable[..., Any] = judge_spec) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator for a command whose function takes a ``spec`` parameter: the command gets the
    :data:`SPEC_OPTIONS` in its place, and the function the :class:`~jurybox.spec.JudgeSpec`
    ``build(**those options)`` makes of them (:func:`judge_spec` unless a command checks more)."""
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(fn, eval_str=True)
        own = list(sig.parameters.values())
        at = next(i for i, p in enumerate(own) if p.name == "spec")
        shared = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=ann, default=default)
                  for name, ann, default in SPEC_OPTIONS]
        params = own[:at] + shared + own[at + 1:]

        @functools.wraps(fn)
        def command(**kwargs: Any) -> Any:
            options = {name: kwargs.pop(name) for name, _, _ in SPEC_OPTIONS}
            return fn(spec=build(**options), **kwargs)

        command.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params} | {"return": sig.return_annotation}
        return command
    return decorate


def default_out(dataset: Path, out: Path | None, suffix: str) -> Path:
    """``out``, or DATASET's name with ``suffix``; refused when it is the input file."""
    if out is None:
        out = dataset.with_name(dataset.stem + suffix)
    if out.resolve() == dataset.resolve():
        raise JuryboxError(f"--out {out} would overwrite the input file")
    return out
