"""`jurybox distill`: train a cheap classifier on LLM labels (or let a selection strategy choose
which rows the LLM labels under a budget, then train on those)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from jurybox.commands import _options as o


def distill_command(
    dataset: o.Dataset,
    out: Annotated[Path, typer.Option(help="model folder to write")],
    text_field: Annotated[str, typer.Option(help="column with the text")] = "text",
    label_field: Annotated[str, typer.Option(help="column with the labels to learn (e.g. jurybox's verdict)")] = "verdict",
    embedder: Annotated[str, typer.Option(help="minilm (all-MiniLM-L6-v2, extra 'distill') | tfidf (no download)")] = "minilm",
    c: Annotated[float, typer.Option("--C", help="inverse regularisation strength of the logistic regression")] = 10.0,
    confidence_field: Annotated[str | None, typer.Option(help="column with the label's confidence (a number, or "
                                                              "verdict_probs)")] = None,
    human: Annotated[str | None, typer.Option(help="column with human labels on some rows: choose the confidence "
                                                   "threshold on them")] = None,
    target_accuracy: Annotated[float, typer.Option(help="with --human: accuracy the kept LLM labels must reach")] = 0.9,
    conservative: Annotated[bool, typer.Option(help="with --human: the Wilson lower bound must reach the target")] = False,
    min_confidence: Annotated[float | None, typer.Option(help="drop labels below this confidence")] = None,
    budget: Annotated[int | None, typer.Option(help="label DATASET with the LLM first: this many teacher calls, "
                                                    "rows chosen by --strategy")] = None,
    strategy: Annotated[str, typer.Option(help="with --budget: random | llkd | locle")] = "locle",
    labels: Annotated[str | None, typer.Option(help="with --budget: the teacher's comma-separated label set")] = None,
    taxonomy: Annotated[Path | None, typer.Option(help="with --budget: the teacher's label set from a taxonomy "
                                                       "file")] = None,
    teacher_protocol: Annotated[str, typer.Option(help="with --budget: classify_codes (one pass for many labels) | "
                                                       "classify")] = "classify_codes",
    rounds: Annotated[int, typer.Option(help="with --budget: selection rounds after the first")] = 5,
    seed: Annotated[int, typer.Option(help="with --budget: seed of the selection")] = 0,
    labels_out: Annotated[Path | None, typer.Option(help="with --budget: write the teacher's labels here "
                                                         "(default OUT/teacher_labels.jsonl)")] = None,
    model: o.Model = None,
    backend_option: o.BackendOption = None,
    store: o.Store = None,
    encoding: o.Encoding = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    json_summary: Annotated[bool, typer.Option("--json", help="print the run summary as JSON")] = False,
) -> None:
    """Train a classifier (embeddings + logistic regression) on DATASET's labels and save it to OUT
    with its label set, embedding model and training-data hash; `jurybox predict` uses it.

    With --budget N the LLM labels N rows first (chosen by --strategy; every call through the
    store), and the classifier learns from those labels."""
    from jurybox.atomic import check_writable
    from jurybox.distill import api
    from jurybox.errors import JuryboxError
    from jurybox.items import check_encoding, check_output, write_table

    check_encoding(encoding)
    if out.exists() and not out.is_dir():
        raise JuryboxError(f"{out}: exists and is not a folder", option="out")
    why = check_writable(out / "model.json")
    if why is not None:
        raise JuryboxError(f"{out}: cannot write the model: {why}", option="out")
    summary: dict[str, Any]
    if budget is None:
        given = [f for f, v in (("--labels", labels), ("--taxonomy", taxonomy)) if v is not None]
        if given:
            raise JuryboxError(f"{given[0]} is for the teacher of --budget; without --budget, distill learns "
                               f"--label-field {label_field}")
        student, res = api.distill_dataset(dataset, text_field=text_field, label_field=label_field, out=out, embedder=embedder,
                                   C=c, confidence_field=confidence_field, human_field=human,
                                   target_accuracy=target_accuracy, conservative=conservative,
                                   min_confidence=min_confidence, encoding=encoding)
        summary = res.to_dict()
    else:
        if teacher_protocol not in ("classify_codes", "classify"):
            raise JuryboxError(f"--teacher-protocol must be classify_codes or classify (one label per row for the "
                               f"student), got {teacher_protocol!r}")
        if (labels is None) == (taxonomy is None):
            raise JuryboxError("--budget needs the teacher's label set: --labels a,b,c or --taxonomy FILE")
        params: dict[str, Any] = {"taxonomy": str(taxonomy)} if taxonomy is not None else {"labels": labels}
        spec = o.judge_spec(teacher_protocol, model=model, backend_option=backend_option,
                            param=[f"{k}={v}" for k, v in params.items()])
        labels_out = labels_out or out / "teacher_labels.jsonl"
        check_output(labels_out)
        student, res, lab = api.distill_with_budget(dataset, spec, out=out, text_field=text_field, budget=budget,
                                                    strategy=strategy, embedder=embedder, rounds=rounds, seed=seed,
                                                    C=c, store=store, encoding=encoding, progress=not quiet)
        assert lab.table is not None
        write_table(lab.table, labels_out)
        summary = {**res.to_dict(), "teacher_calls": lab.model_calls, "from_store": lab.from_store,
                   "rounds": lab.selection.rounds, "labels_out": str(labels_out)}
    if res.n_truncated:
        print(f"jurybox: note: {res.n_truncated} text(s) longer than the embedding model's 256 word pieces were cut "
              "to their first 254 (docs/distill.md)", file=sys.stderr)
    if json_summary:
        print(json.dumps(summary))
        return
    if res.threshold is not None:
        print(res.threshold["line"])
    extra = f"; {summary['teacher_calls']} teacher calls, {summary['from_store']} from the store" if budget else ""
    fit = f"; training accuracy {res.train_accuracy:.3f}" if res.train_accuracy is not None else ""
    print(f"trained on {res.n_trained} of {res.n_rows} rows ({res.n_unlabelled} without a label, "
          f"{res.n_below_threshold} below the confidence threshold or not kept){extra}; {len(res.labels)} labels, "
          f"embedder {res.embedder}{fit}; wrote {out}")


def register(app: typer.Typer) -> None:
    app.command("distill")(distill_command)
