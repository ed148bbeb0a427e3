"""`jurybox mcqa`: a multiple-choice exam on the judge model, accuracy per subject with intervals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from jurybox.commands import _options as o


def _fmt(iv: Any) -> str:
    return f"{iv.estimate:.3f} [{iv.low:.3f}, {iv.high:.3f}]"


def mcqa_command(
    data: Annotated[list[Path], typer.Argument(help="CSV, JSONL or Parquet file(s): question, choices (a list column "
                                                    "or choice0..choiceN) and answer (0-based index or letter)")],
    dev: Annotated[list[Path] | None, typer.Option(help="dev split file(s) the few-shot examples come from "
                                                        "(first --shots answered questions of each subject)")] = None,
    shots: Annotated[int, typer.Option(help="few-shot examples per question (from --dev)")] = 0,
    scoring: Annotated[str, typer.Option(help="letter (next-token distribution over the option letters) | "
                                              "likelihood (log-likelihood of each option's text: acc, acc_norm...) | "
                                              "generate (a strict 'ANSWER: X' reply, for servers without logprobs)")
                       ] = "letter",
    shuffle: Annotated[int, typer.Option(help="ask K option orders (letter, generate) and report the position bias "
                                              "per letter")] = 1,
    mutual_info: Annotated[bool, typer.Option(help="likelihood: also acc_mutual_info (one more call per question)")
                           ] = False,
    review_below: Annotated[float | None, typer.Option(help="route questions whose confidence (top option's "
                                                            "probability) is below this to human review")] = None,
    review_out: Annotated[Path | None, typer.Option(help="write the routed questions here (.jsonl/.csv)")] = None,
    question_field: Annotated[str, typer.Option(help="question column")] = "question",
    choices_field: Annotated[str | None, typer.Option(help="choices: one list column, or comma-separated columns "
                                                           "(default: 'choices' or choice0, choice1, ...)")] = None,
    answer_field: Annotated[str, typer.Option(help="answer-key column (optional: without it only pre-labels)")
                            ] = "answer",
    subject_field: Annotated[str | None, typer.Option(help="subject column (default: the file name without "
                                                           "_test/_dev)")] = None,
    model: o.Model = None,
    backend_option: o.BackendOption = None,
    template: o.Template = "default",
    limit: Annotated[int | None, typer.Option(help="only the first N questions of each subject")] = None,
    out: Annotated[Path | None, typer.Option(help="write one row per question (prediction, confidence, correct)")
                   ] = None,
    encoding: o.Encoding = None,
    store: o.Store = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    json_summary: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Answer every question of DATA with the judge model; print accuracy overall and per subject
    with 95% Wilson intervals (likelihood scoring: acc, acc_norm and the others, each with its
    normalisation named)."""
    from jurybox.backends.registry import parse_backend_options
    from jurybox.errors import JuryboxError, TasksFailed
    from jurybox.items import check_encoding, check_output, write_table
    from jurybox.mcqa import run_mcqa

    check_encoding(encoding)
    for path in (out, review_out):
        if path is not None:
            check_output(path)
    if review_out is not None and review_below is None:
        raise JuryboxError("--review-out needs --review-below (the confidence threshold)")
    choices: str | list[str] | None = None
    if choices_field:
        parts = [c.strip() for c in choices_field.split(",") if c.strip()]
        choices = parts[0] if len(parts) == 1 else parts
    report = run_mcqa([str(p) for p in data], dev=[str(p) for p in dev] if dev else None, shots=shots,
                      scoring=scoring, shuffle=shuffle, mutual_info=mutual_info, model=model,
                      backend_options=parse_backend_options(model, backend_option or ()), store=store,
                      question=question_field, choices=choices, answer=answer_field, subject=subject_field,
                      review_below=review_below, template=template, encoding=encoding, progress=not quiet,
                      limit=limit)
    if out is not None:
        write_table(report.table, out)
    if review_out is not None:
        write_table(report.table[report.table["needs_review"]].reset_index(drop=True), review_out)
    failed = TasksFailed.check(report.failed, report.n_tasks, report.failures)
    if json_summary:
        print(json.dumps(report.to_dict()))
        if failed is not None:
            raise failed
        return
    print(f"{report.n_questions} questions ({report.n_answered} with an answer key), scoring {report.scoring}, "
          f"{report.shots}-shot, {report.shuffle} option order(s), model {report.model}")
    for metric, table in report.accuracy.items():
        print(f"{metric:<16} {_fmt(table.overall)}  ({table.correct}/{table.n}; normalisation: "
              f"{report.normalisation[metric]})")
        if len(table.groups) > 1:
            for subject, iv in table.groups.items():
                print(f"    {subject:<28} {_fmt(iv)}  (n={table.group_n[subject]})")
    if report.unparsed:
        print(f"unparsed answers: {report.unparsed} (counted as wrong)")
    if report.letter_bias is not None and report.shuffle > 1:
        b = report.letter_bias
        print("position bias per letter (chosen share / right-answer share / accuracy when right answer there):")
        for k in b.letters:
            print(f"    {k}: {b.predicted_share[k]:.3f} / {b.gold_share[k]:.3f} / {_fmt(b.recall[k])}")
    if report.routing is not None:
        r = report.routing
        line = f"review below {r.threshold:g}: {r.n_routed} of {r.n} questions to humans, {r.n_auto} kept"
        if r.auto_accuracy is not None and r.routed_accuracy is not None:
            line += (f"; accuracy of kept labels {_fmt(r.auto_accuracy)}, of routed {_fmt(r.routed_accuracy)}; "
                     f"{r.errors_routed:.3f} of the model's errors routed")
        print(line)
    print(f"{report.n_tasks} tasks: {report.n_cached} from the store, {report.model_calls} model calls, "
          f"{report.failed} failed; {report.wall_s:.1f} s")
    if failed is not None:
        raise failed


def register(app: typer.Typer) -> None:
    app.command("mcqa")(mcqa_command)
