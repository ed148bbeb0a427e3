"""`jurybox internals qk|clue|spa`: judging from the model's insides (needs the internals extra)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from jurybox.commands import _options as o

internals_app = typer.Typer(help="Judge from the model's insides: QK-score heads and the CLUE verifier on a "
                                 "multiple-choice exam, implicit-reward (SPA) preference labels on pairwise items. "
                                 "Needs the internals extra: pip install 'jurybox\\[internals]'.", no_args_is_help=True)

ExamData = Annotated[list[Path], typer.Argument(help="keyed multiple-choice file(s) (as jurybox mcqa reads them)")]
InternalsModel = Annotated[str | None, typer.Option(help="model name or GGUF path, run through transformers "
                                                          "(default qwen2.5-coder-1.5b)")]
Dtype = Annotated[str, typer.Option(help="bfloat16 | float32")]
ValFraction = Annotated[float, typer.Option(help="share of the questions for head selection / CLUE's experience")]
Seed = Annotated[int, typer.Option(help="seed of the validation/test split")]
Limit = Annotated[int | None, typer.Option(help="only the first N questions")]
JsonOut = Annotated[bool, typer.Option("--json", help="print the report as JSON")]


def _iv(d: dict[str, Any]) -> str:
    return f"{d['estimate']:.3f} [{d['low']:.3f}, {d['high']:.3f}]"


def _exam(data: list[Path], model: str | None, dtype: str, store: Path | None, val_fraction: float, seed: int,
          limit: int | None, quiet: bool) -> Any:
    from jurybox.internals.api import exam

    if dtype not in ("bfloat16", "float32"):
        from jurybox.errors import OptionError

        raise OptionError(f"--dtype must be bfloat16 or float32, got {dtype!r}", option="dtype")
    result, _ = exam([str(p) for p in data], model=model, dtype=dtype, store=store, val_fraction=val_fraction,
                     seed=seed, limit=limit, progress=not quiet)
    return result


def qk_command(data: ExamData, model: InternalsModel = None, dtype: Dtype = "bfloat16", store: o.Store = None,
               val_fraction: ValFraction = 0.3, seed: Seed = 0, limit: Limit = None, quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
               json_summary: JsonOut = False) -> None:
    """QK-score: select-and-copy heads chosen on a validation split (by accuracy, and label-free by
    agreement with the model's letter answer) against letter scoring on the rest (Wilson 95%)."""
    r = _exam(data, model, dtype, store, val_fraction, seed, limit, quiet)
    rep = r.report
    if json_summary:
        print(json.dumps({"questions": r.questions, "model": r.model, "model_calls": r.model_calls,
                          "n_val": rep.n_val, "n_test": rep.n_test, "letter": rep.letter.to_dict(), "qk": rep.qk}))
        return
    print(f"{r.questions} questions, model {r.model}: {rep.n_val} to select heads, {rep.n_test} to test")
    print(f"letter scoring (next-token distribution)   {_iv(rep.letter.to_dict())}")
    for name, v in rep.qk.items():
        heads = ", ".join(f"L{h[0]}H{h[1]}" for h in v["heads"][:3])
        print(f"QK-score, {name:<22} {_iv(v['test'])}  minus letter {_iv(v['minus_letter'])}  (heads {heads}...)")
    print(f"{r.model_calls} model calls, {r.n_cached} from the store; {r.wall_s:.1f} s")


def clue_command(data: ExamData, model: InternalsModel = None, dtype: Dtype = "bfloat16", store: o.Store = None,
                 val_fraction: ValFraction = 0.3, seed: Seed = 0, limit: Limit = None,
                 quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
                 json_summary: JsonOut = False) -> None:
    """CLUE: centroids of verified-correct and incorrect answers (hidden-state deltas, the
    validation questions), AUROC against the letter probability and top-maj@k against majority@k
    on the rest."""
    r = _exam(data, model, dtype, store, val_fraction, seed, limit, quiet)
    c = r.report.clue
    if json_summary:
        print(json.dumps({"questions": r.questions, "model": r.model, "model_calls": r.model_calls, "clue": c}))
        return
    e = c["experience"]
    print(f"{r.questions} questions, model {r.model}: experience from {e['questions']} questions "
          f"({e['correct']} correct / {e['incorrect']} incorrect answers), tested on {r.report.n_test}")
    for what in ("auroc_greedy", "auroc_candidates"):
        v = c[what]
        print(f"{what}: CLUE {_iv(v['clue'])}  letter probability {_iv(v['letter_probability'])}")
    votes = c["votes"]
    print(f"k = {votes['k']} sampled answers: majority {_iv(votes['majority'])}", end="")
    for name, v in votes.items():
        if name.startswith("top-maj") and "minus" not in name:
            print(f"  {name} {_iv(v)}", end="")
    print(f"\n{r.model_calls} model calls, {r.n_cached} from the store; {r.wall_s:.1f} s")


def spa_command(
    dataset: o.Dataset,
    policy: Annotated[str | None, typer.Option(help="policy model spec (embedded name, GGUF path, transformers:NAME)")
                      ] = None,
    reference: Annotated[str | None, typer.Option(help="reference model spec, or 'none' for the policy's likelihood "
                                                       "alone (default: the policy's model without its chat template)")
                         ] = None,
    reference_chat: Annotated[bool, typer.Option(help="read the reference through its chat template")] = False,
    beta: Annotated[float, typer.Option(help="DPO's beta: scales the confidence, not the winner")] = 0.1,
    gold: Annotated[str | None, typer.Option(help="column with the gold winner (A/B) to measure accuracy")] = None,
    out: Annotated[Path | None, typer.Option(help="write the DPO pairs (prompt, chosen, rejected, confidence) as "
                                                  "JSONL")] = None,
    min_confidence: Annotated[float, typer.Option(help="skip pairs whose confidence is below this")] = 0.0,
    store: o.Store = None,
    encoding: o.Encoding = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    json_summary: JsonOut = False,
) -> None:
    """SPA / Selfie: P(A > B) = sigmoid(beta * (log-ratio of A - log-ratio of B)), the log-ratio
    being log p_policy - log p_reference of the response, for every row of DATASET (instruction,
    response_a, response_b)."""
    from jurybox.backends.registry import get_backend
    from jurybox.errors import InputError
    from jurybox.internals.api import implicit_preferences
    from jurybox.items import check_output, load_table

    if out is not None:
        check_output(out)
    df, source = load_table(dataset, encoding)
    for f in ("instruction", "response_a", "response_b", *([gold] if gold else [])):
        if f not in df.columns:
            raise InputError(f"column '{f}' not found; columns present: {', '.join(map(str, df.columns))}",
                             file=source, field=f)
    pol = get_backend(policy)
    ref = None
    if (reference or "").lower() != "none":
        ref = get_backend(reference or policy, chat=reference_chat)
    items = df.to_dict("records")
    r = implicit_preferences(items, pol, ref, store=store, beta=beta,
                             gold=df[gold].tolist() if gold else None, pairs_out=out, min_confidence=min_confidence,
                             progress=not quiet)
    if json_summary:
        print(json.dumps(r.to_dict()))
        return
    share = sum(w == "A" for w in r.winners) / max(1, r.n_items)
    print(f"{r.n_items} items: A preferred in {share:.3f}, ties {sum(w is None for w in r.winners)}")
    if r.accuracy is not None:
        print(f"accuracy against {gold}: {_iv(r.accuracy)}")
    if out is not None:
        print(f"wrote {r.n_pairs} DPO pairs to {out}")
    print(f"{r.model_calls} model calls")


def register(app: typer.Typer) -> None:
    internals_app.command("qk")(qk_command)
    internals_app.command("clue")(clue_command)
    internals_app.command("spa")(spa_command)
    app.add_typer(internals_app, name="internals")
