"""`jurybox survey`: a stance questionnaire on the judge model, scored against reference profiles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from jurybox.commands import _options as o


def survey_command(
    questionnaire: Annotated[str, typer.Argument(help="questionnaire file (.yaml/.json), or 'example' for the one "
                                                      "that ships with jurybox")] = "example",
    language: Annotated[list[str] | None, typer.Option(help="ask only in this language (repeatable; default: all)")
                        ] = None,
    paraphrases: Annotated[int | None, typer.Option(help="use the first N paraphrases of each statement")] = None,
    model: o.Model = None,
    backend_option: o.BackendOption = None,
    template: o.Template = "default",
    resamples: Annotated[int, typer.Option(help="bootstrap resamples for the intervals")] = 1000,
    out: Annotated[Path | None, typer.Option(help="write the full report as JSON")] = None,
    store: o.Store = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    json_summary: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Ask every statement of QUESTIONNAIRE in each language and paraphrase; print the model's
    answers, its Wahl-O-Mat alignment with each reference profile (2 points for the same answer, 1
    when one side is neutral, 0 for opposite answers) with 95% bootstrap intervals over
    statements, and how stable the answers are across paraphrases and languages."""
    from jurybox.atomic import atomic_write
    from jurybox.backends.registry import parse_backend_options
    from jurybox.errors import TasksFailed
    from jurybox.items import check_output
    from jurybox.survey import run_survey

    if out is not None:
        check_output(out)
    r = run_survey(questionnaire, model=model, backend_options=parse_backend_options(model, backend_option or ()),
                   store=store, languages=language, paraphrases=paraphrases, template=template,
                   n_resamples=resamples, progress=not quiet)
    text = json.dumps(r.to_dict())
    if out is not None:
        with atomic_write(out) as f:
            f.write(text + "\n")
    failed = TasksFailed.check(r.failed, r.n_tasks, r.failures)
    if json_summary:
        print(text)
        if failed is not None:
            raise failed
        return
    print(f"{r.questionnaire}: {r.n_statements} statements x {r.n_variants // max(r.n_statements, 1)} variants "
          f"(languages {', '.join(r.languages)}), model {r.model}")
    width = max(len(s) for s in r.answers["all"])
    header = "  ".join(f"{c:>9}" for c in ["all", *r.languages])
    print(f"{'statement':<{width}}  {header}")
    for sid in r.answers["all"]:
        print(f"{sid:<{width}}  " + "  ".join(f"{str(r.answers[c][sid]):>9}" for c in ["all", *r.languages]))
    for scope, profiles in r.alignment.items():
        parts = [f"{name} {iv.estimate:.1%} [{iv.low:.1%}, {iv.high:.1%}] (expected {r.expected_alignment[scope][name]:.1%})"
                 for name, iv in profiles.items()]
        if parts:
            print(f"alignment ({scope}): " + "; ".join(parts))
    print("paraphrase agreement: " + ", ".join(f"{k} {v:.3f}" for k, v in r.paraphrase_agreement.items())
          + ("; language agreement: " + ", ".join(f"{k} {v:.3f}" for k, v in r.language_agreement.items())
             if r.language_agreement else "") + f"; alpha over variants {r.alpha_variants:.3f}")
    if r.unparsed:
        print(f"unparsed answers: {r.unparsed}")
    print(f"{r.n_tasks} tasks: {r.n_cached} from the store, {r.model_calls} model calls, {r.failed} failed; "
          f"{r.wall_s:.1f} s")
    if failed is not None:
        raise failed


def register(app: typer.Typer) -> None:
    app.command("survey")(survey_command)
