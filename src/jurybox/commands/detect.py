"""`jurybox detect-judge`: tell human from LLM scores (J-Detector) and measure how well that works,
held out by group key (query) and by LLM family."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from jurybox.commands import _options as o


def _ints(text: str, flag: str) -> list[int]:
    from jurybox.errors import JuryboxError

    try:
        vals = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise JuryboxError(f"{flag} expects comma-separated integers, got {text!r}") from None
    if not vals or min(vals) < 1:
        raise JuryboxError(f"{flag} expects positive integers, got {text!r}")
    return vals


def detect_judge_command(
    dataset: Annotated[Path | None, typer.Argument(help="table of judgments, one row per judge x item "
                                                        "(JSONL/CSV/Parquet); or use --human-qrels/--llm-qrels")] = None,
    human_qrels: Annotated[list[Path] | None, typer.Option(help="TREC qrels by a human judge (repeatable)")] = None,
    llm_qrels: Annotated[list[Path] | None, typer.Option(help="TREC qrels by an LLM judge, or a folder of them "
                                                              "(repeatable)")] = None,
    judge: Annotated[str, typer.Option(help="column naming the judge")] = "judge",
    producer: Annotated[str, typer.Option(help="column saying human or llm")] = "producer",
    key: Annotated[str, typer.Option(help="column with the group an item belongs to (a query)")] = "group",
    item: Annotated[str, typer.Option(help="column with the item id")] = "item",
    score: Annotated[str, typer.Option(help="column with the score")] = "score",
    text: Annotated[str | None, typer.Option(help="column with the candidate's text (adds length, readability, "
                                                  "lexical diversity)")] = None,
    prop: Annotated[list[str] | None, typer.Option("--property", help="numeric column with a candidate property "
                                                                      "(repeatable)")] = None,
    family: Annotated[str | None, typer.Option(help="column with each judge's family (held out together)")] = None,
    sizes: Annotated[str, typer.Option(help="group sizes, comma-separated")] = "1,2,4,8,16",
    folds: Annotated[int, typer.Option(help="folds over the group keys")] = 5,
    model: Annotated[str, typer.Option(help="classifier: logreg | mlp | hgb")] = "logreg",
    consensus: Annotated[bool, typer.Option(help="add the reference-LLM property: the mean score other LLM "
                                                 "judges gave the same item")] = False,
    importance_size: Annotated[int | None, typer.Option(help="group size of the feature importance (0: none; "
                                                             "default the middle size)")] = None,
    resamples: Annotated[int, typer.Option(help="bootstrap resamples over keys")] = 1000,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    out: Annotated[Path | None, typer.Option(help="write the results as JSON here")] = None,
    encoding: o.Encoding = None,
    json_summary: Annotated[bool, typer.Option("--json", help="print the results as JSON")] = False,
) -> None:
    """Held-out AUROC of telling human from LLM judgments by group size, with 95% cluster-bootstrap
    intervals over the keys, and the features that carry it (docs/detect.md)."""
    from jurybox.atomic import atomic_write
    from jurybox.detect.api import detect_judgments, judgments_from_qrels, judgments_from_table
    from jurybox.errors import JuryboxError

    group_sizes = _ints(sizes, "--sizes")
    texts = None
    if dataset is not None:
        if human_qrels or llm_qrels:
            raise JuryboxError("give a DATASET table or --human-qrels/--llm-qrels, not both")
        j, texts = judgments_from_table(dataset, judge=judge, producer=producer, key=key, item=item, score=score,
                                        text=text, properties=prop or (), family=family, encoding=encoding)
    else:
        if not human_qrels or not llm_qrels:
            raise JuryboxError("give a DATASET table, or both --human-qrels and --llm-qrels")
        llm_files: list[Path] = []
        for p in llm_qrels:
            llm_files += sorted(x for x in p.iterdir() if x.is_file()) if p.is_dir() else [p]
        j = judgments_from_qrels(list(human_qrels), llm_files)
    if out is not None:
        from jurybox.atomic import check_writable

        why = check_writable(out)
        if why:
            raise JuryboxError(f"--out {out}: {why}")
    rep = detect_judgments(j, texts=texts, group_sizes=group_sizes, n_folds=folds, model=model,  # type: ignore[arg-type]
                           importance_size=importance_size, seed=seed, n_resamples=resamples, consensus=consensus)
    d: dict[str, Any] = rep.to_dict()
    if out is not None:
        with atomic_write(out, "w") as f:
            json.dump(d, f, indent=1)
    if json_summary:
        print(json.dumps(d))
        return
    print(f"{rep.n_judgments} judgments: {rep.n_judges_human} human and {rep.n_judges_llm} LLM judge(s) "
          f"({rep.n_llm_families} LLM families), {rep.n_keys} keys; {rep.model} on {len(rep.features)} features")
    print("group size  AUROC [95% CI]         human/LLM test groups  per LLM family")
    for r in rep.by_group_size:
        fam = ", ".join(f"{k} {v:.2f}" for k, v in r.per_family.items())
        print(f"{r.group_size:10d}  {r.auroc.estimate:.3f} [{r.auroc.low:.3f}, {r.auroc.high:.3f}]  "
              f"{r.n_groups_human:7d}/{r.n_groups_llm:<7d}  {fam}")
    if rep.importance:
        print(f"what carries it (group size {rep.importance_group_size}; AUROC lost):")
        for imp in rep.importance[:12]:
            print(f"  {imp.kind:11s} {imp.name:28s} {imp.drop:+.3f} (AUROC {imp.auroc:.3f})")


def register(app: typer.Typer) -> None:
    app.command("detect-judge")(detect_judge_command)
