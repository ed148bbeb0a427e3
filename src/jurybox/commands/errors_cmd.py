"""`jurybox errors`: find label errors in a dataset, apply a review, evaluate a ranking.

jurybox errors DATASET --label-field label --out flagged.jsonl [--model M ...] [--template T ...]
jurybox errors apply flagged.jsonl --dataset DATASET --label-field label --out cleaned.jsonl --changelog changes.jsonl
jurybox errors evaluate --mturk mturk.json --probs pyx.npy --given labels.npy
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer
from typer.core import TyperGroup

from jurybox.commands import _options as o
from jurybox.errors import InputError, JuryboxError

if TYPE_CHECKING:
    from jurybox.stats import Interval


class _FindByDefault(TyperGroup):
    """``jurybox errors DATASET ...`` means ``jurybox errors find DATASET ...``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # a typer (vendored click) Context
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["find", *args]
        return super().parse_args(ctx, args)


errors_app = typer.Typer(
    cls=_FindByDefault,
    no_args_is_help=True,
    help="Find label errors in a dataset (errors DATASET), apply a review, evaluate.",
)


def _split(values: str | None) -> list[str] | None:
    return [x.strip() for x in values.split(",") if x.strip()] if values else None


def _load_npy(path: Path, what: str) -> np.ndarray:
    if not path.is_file():
        raise InputError("file not found", file=str(path))
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InputError(
            f"cannot read {what} as a .npy array: {str(exc).splitlines()[0]}", file=str(path)
        ) from exc


def _examples(path: Path | None) -> list[dict[str, str]]:
    if path is None:
        return []
    from jurybox.items import read_table
    from jurybox.labelerrors.pipeline import label_text

    df = read_table(path)
    for col in ("text", "label"):
        if col not in df.columns:
            raise InputError(
                f"few-shot examples need columns 'text' and 'label'; '{col}' is missing",
                file=str(path),
                field=col,
            )
    return [
        {"text": str(t), "label": label_text(lab) or ""}
        for t, lab in zip(df["text"], df["label"], strict=True)
    ]


def _fmt_interval(x: float, iv: Interval) -> str:
    return f"{x:.1%} (95% CI {iv.low:.1%}-{iv.high:.1%})"


@errors_app.command("find")
def find_command(
    dataset: Annotated[Path, typer.Argument(help="JSONL, CSV or Parquet file with a label column")],
    label_field: Annotated[str, typer.Option(help="column holding the given labels")],
    out: Annotated[Path | None, typer.Option(help="flagged file to review (.jsonl or .csv)")] = None,
    labels: Annotated[
        str | None, typer.Option(help="comma-separated label set, in order (default: the values found)")
    ] = None,
    text_field: Annotated[
        str, typer.Option(help="column with the text the judges and the classifier read")
    ] = "text",
    model: Annotated[
        list[str] | None, typer.Option(help="judge model (repeatable; default: the embedded model)")
    ] = None,
    backend_option: o.BackendOption = None,
    template: Annotated[
        list[str] | None,
        typer.Option(help="classify prompt template (repeatable; e.g. default, instruct, brief)"),
    ] = None,
    examples: Annotated[
        Path | None, typer.Option(help="few-shot examples file with text and label columns")
    ] = None,
    probs: Annotated[
        Path | None,
        typer.Option(help="out-of-sample predicted probabilities, (N, K) .npy, columns in --labels order"),
    ] = None,
    classifier: Annotated[
        bool, typer.Option(help="train a cross-validated TF-IDF + logistic regression on the text")
    ] = False,
    no_llm: Annotated[
        bool, typer.Option("--no-llm", help="no LLM ensemble (use --probs or --classifier only)")
    ] = False,
    ordinal: Annotated[
        bool, typer.Option(help="labels are ordered (e.g. 1-5): flag only gaps larger than --gap")
    ] = False,
    gap: Annotated[int, typer.Option(help="ordinal labels: flag when |ensemble - given| > gap")] = 1,
    filter_by: Annotated[
        str, typer.Option(help="cleanlab filter for classifier probabilities")
    ] = "prune_by_noise_rate",
    rank_by: Annotated[str, typer.Option(help="self_confidence | normalized_margin")] = "self_confidence",
    encoding: o.Encoding = None,
    store: Annotated[
        Path | None, typer.Option(help="verdict store (default .jurybox/verdicts.sqlite)")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    json_summary: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Rank the rows of DATASET whose label is likely wrong; write them for review.

    Exit status: 0 when every task has a verdict, 1 when the flagged file was written but some
    model tasks failed (they are retried by the next run), 2 for bad input or options."""
    from jurybox.errors import TasksFailed
    from jurybox.items import write_table
    from jurybox.labelerrors.pipeline import find_errors

    if out is None:
        out = dataset.with_name(dataset.stem + ".flagged.jsonl")
    if out.resolve() == dataset.resolve():
        raise JuryboxError(f"--out {out} would overwrite the input file")
    if no_llm and model:
        raise JuryboxError("--no-llm and --model contradict each other")
    models: list[str | None] = [] if no_llm else list(model or [])
    if not models and not no_llm and probs is None and not classifier:
        models = [None]  # the embedded default model
    pred = _load_npy(probs, "predicted probabilities") if probs is not None else None
    options: dict[str, Any] = {}
    if backend_option:
        from jurybox.backends.registry import parse_backend_options

        if not models:
            raise JuryboxError("--backend-option needs a judge model (the LLM ensemble)")
        for m in models:  # typed (and checked) for every model's backend; the same text for each
            options = parse_backend_options(m, backend_option)
    res = find_errors(
        dataset,
        label_field=label_field,
        text_field=text_field,
        labels=_split(labels),
        models=models,
        templates=template or ["default"],
        examples=_examples(examples),
        pred_probs=pred,
        classifier=classifier,
        ordinal=ordinal,
        threshold=gap,
        filter_by=filter_by,
        rank_by=rank_by,  # type: ignore[arg-type]
        store=store,
        progress=not quiet,
        backend_options=options,
        encoding=encoding,
    )
    write_table(res.table, out)
    s = res.summary
    by_signal = {name: int(sum(name in f for f in res.issues.flagged_by)) for name in res.issues.signals}
    summary: dict[str, Any] = {
        "rows": s.n,
        "flagged": s.n_flagged,
        "flagged_by": by_signal,
        "flag_rate": s.flag_rate,
        "flag_rate_interval": s.flag_rate_interval.to_dict(),
        "per_class": [c.to_dict() for c in s.per_class],
        "model_calls": res.stats.model_calls,
        "cached": res.stats.n_cached,
        "failed": res.stats.n_failed,
        "out": str(out),
    }
    if res.ensemble is not None:
        summary["llm_disagreement_rate"] = res.ensemble.disagreement_rate
    st = res.stats
    failed = TasksFailed.check(st.n_failed, st.n_tasks, st.failures)
    if json_summary:
        print(json.dumps(summary))
        if failed is not None:
            raise failed
        return
    signals = ", ".join(f"{k} {v}" for k, v in by_signal.items())
    print(
        f"{s.n} rows, {s.n_flagged} flagged ({signals}); flag rate {_fmt_interval(s.flag_rate, s.flag_rate_interval)}; "
        f"{res.stats.model_calls} model calls, {res.stats.n_cached} from the store; wrote {out}"
    )
    for c in s.per_class:
        print(f"  {c.label}: {c.n_flagged} of {c.n} flagged ({c.flag_rate:.1%})")
    print(
        f"next: fill the 'review' column (keep | relabel:LABEL | drop), then "
        f"jurybox errors apply {out} --dataset {dataset} --label-field {label_field} --out cleaned{dataset.suffix}"
    )
    if failed is not None:
        raise failed


def _page_reviews(fl: Any, store: Path | None, *, source: str, labels: Sequence[str]) -> list[Any]:
    """The decisions made with ``jurybox review`` on this flagged file, from the store (none when the
    default store does not exist; a --store that does not exist is an error)."""
    from jurybox.labelerrors.review import stored_reviews
    from jurybox.review.decisions import errors_review_set
    from jurybox.store import Store, default_store_path

    path = store if store is not None else default_store_path()
    if not path.is_file():
        if store is not None:
            raise InputError("store not found", file=str(store))
        return []
    rs = errors_review_set(fl, source=source)
    with Store(path) as st:
        rows = st.reviews(rs.id)
    return stored_reviews(fl, rows, source=source, labels=labels)


@errors_app.command("apply")
def apply_command(
    flagged: Annotated[Path, typer.Argument(help="the reviewed flagged file (.jsonl or .csv)")],
    dataset: Annotated[Path, typer.Option(help="the dataset the flags were found in (never modified)")],
    label_field: Annotated[str, typer.Option(help="column holding the labels")],
    out: Annotated[Path, typer.Option(help="cleaned dataset to write")],
    changelog: Annotated[
        Path | None, typer.Option(help="changelog to write (default OUT stem + .changelog.jsonl)")
    ] = None,
    labels: Annotated[
        str | None, typer.Option(help="comma-separated label set (default: the values in the dataset)")
    ] = None,
    encoding: o.Encoding = None,
    store: Annotated[
        Path | None,
        typer.Option(help="store holding decisions made with 'jurybox review' (default .jurybox/verdicts.sqlite, "
                          "read when it exists)"),
    ] = None,
    json_summary: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Apply a reviewed flagged file (its review column and the decisions made on the review page):
    write a cleaned copy of the dataset and a changelog."""
    from jurybox.items import read_table, write_table
    from jurybox.labelerrors.pipeline import label_indices
    from jurybox.labelerrors.review import apply_reviews, merge_reviews, read_reviews, reviewed_errors
    from jurybox.labelerrors.summary import summarize

    if changelog is None:
        changelog = out.with_name(out.stem + ".changelog.jsonl")
    for p in (out, changelog):
        if p.resolve() in (dataset.resolve(), flagged.resolve()):
            raise JuryboxError(f"{p} would overwrite an input file; choose another output path")
    if out.resolve() == changelog.resolve():
        raise JuryboxError("--out and --changelog must be different files")
    df = read_table(dataset, encoding=encoding)
    names, given = label_indices(df, label_field, _split(labels), source=str(dataset))
    fl = read_table(flagged)
    reviews = read_reviews(fl, source=str(flagged), labels=names)
    from_page = _page_reviews(fl, store, source=str(flagged), labels=names)
    reviews = merge_reviews(reviews, from_page, source=str(flagged))
    applied = apply_reviews(df, reviews, label_field, dataset=str(dataset), flagged=str(flagged))
    write_table(applied.cleaned, out)
    write_table(applied.changelog, changelog)
    flagged_mask = np.zeros(len(df), dtype=bool)
    rows = [int(float(r)) - 1 for r in fl["row"].tolist() if 1 <= int(float(r)) <= len(df)]
    flagged_mask[rows] = True
    err, conf = reviewed_errors(len(df), reviews)
    s = summarize(given, flagged_mask, names, flag_confidence=conf, reviewed_error=err)
    if json_summary:
        print(
            json.dumps(
                {**applied.to_dict(), "summary": s.to_dict(), "out": str(out), "changelog": str(changelog),
                 "from_review_page": len(from_page)},
                default=str,
            )
        )
        return
    c = applied.counts
    if from_page:
        print(f"{len(from_page)} decisions from the review page (store)")
    print(
        f"{len(reviews)} reviewed of {s.n_flagged} flagged: {c['relabel']} relabelled, {c['drop']} dropped, "
        f"{c['keep']} kept; wrote {out} ({len(applied.cleaned)} rows) and {changelog}"
    )
    if s.n_reviewed:
        print(
            f"precision of the flags {_fmt_interval(s.precision, s.precision_interval)}; estimated error rate "
            f"{_fmt_interval(s.error_rate, s.error_rate_interval)} (flagged rows only)"
        )
        for b in s.by_confidence:
            if b.n_reviewed:
                print(f"  confidence ({b.low:.1f}, {b.high:.1f}]: {b.n_confirmed}/{b.n_reviewed} confirmed")


@errors_app.command("evaluate")
def evaluate_command(
    mturk: Annotated[Path, typer.Option(help="human verdicts (cleanlab label-errors mturk/*.json)")],
    probs: Annotated[Path | None, typer.Option(help="predicted probabilities (N, K) .npy to rank")] = None,
    given: Annotated[Path | None, typer.Option(help="given labels (N,) .npy, with --probs")] = None,
    flagged: Annotated[
        Path | None, typer.Option(help="or: a flagged file from jurybox errors (ranked rows)")
    ] = None,
    index_to_filename: Annotated[Path | None, typer.Option(help="IMDB: row index -> file name JSON")] = None,
    rank_by: Annotated[str, typer.Option(help="normalized_margin | self_confidence")] = "normalized_margin",
    k: Annotated[
        int | None, typer.Option(help="evaluate the top k (default: the number of human verdicts)")
    ] = None,
    json_summary: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Precision of a label-error ranking against human (MTurk) verdicts."""
    from jurybox.items import read_table
    from jurybox.labelerrors.evaluation import evaluate_ranking, load_mturk
    from jurybox.labelerrors.ranking import rank_by_quality

    if (probs is None) == (flagged is None):
        raise JuryboxError("give either --probs with --given, or --flagged")
    verdicts = load_mturk(mturk, index_to_filename=index_to_filename)
    if probs is not None:
        if given is None:
            raise JuryboxError("--probs needs --given (the given labels as a .npy array)")
        ranked = rank_by_quality(
            _load_npy(given, "given labels"), _load_npy(probs, "predicted probabilities"),
            rank_by=rank_by,  # type: ignore[arg-type]
        )
    else:
        assert flagged is not None
        fl = read_table(flagged)
        if "row" not in fl.columns:
            raise InputError(
                "missing column 'row'; is this a flagged file written by jurybox errors?",
                file=str(flagged),
                field="row",
            )
        ranked = np.asarray([int(float(r)) - 1 for r in fl["row"].tolist()], dtype=np.int64)
    ev = evaluate_ranking(ranked, verdicts, k=k)
    if json_summary:
        print(json.dumps(ev.to_dict()))
        return
    print(
        f"top {ev.k}: {ev.n_checked} with a human verdict, {ev.n_errors} validated errors; precision "
        f"{ev.n_errors}/{ev.k} = {ev.precision:.1%}; {ev.n_errors} of the "
        f"{int(verdicts.is_error.sum())} validated errors found"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(errors_app, name="errors")
