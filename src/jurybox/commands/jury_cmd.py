"""`jurybox jury CONFIG.yaml`: several judges over one dataset, aggregated (a thin view of jurybox.jury.api).

Config keys: ``data`` (file, relative to the config), ``protocol`` (default pairwise), ``params``
(protocol parameters), ``fields`` (PROTOCOL_FIELD: COLUMN), ``human`` (label column), ``judges`` (list
of {model, templates | template, name, weight, params}), ``aggregation`` (majority | weighted |
dawid-skene | mean | median | pre | stacked), ``pre`` ({exam: 0.2, threshold: 0.6, seed: 0}), ``stack``
({file: FIT.json} to apply a saved stack, or {folds: 5, repeats: 3, C: 1.0, max_labels, seed, save: FIT.json}
to fit one on the human labels), ``store``, ``out``
(table, default DATA.jury.jsonl), ``pairs`` (pairwise only: DPO preference pairs JSONL).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from jurybox.errors import JuryboxError

KEYS = {"data", "protocol", "params", "fields", "human", "judges", "aggregation", "pre", "store", "out", "pairs",
        "encoding", "stack"}


def load_config(path: Path) -> dict[str, Any]:
    """Read and check a jury config; relative paths are resolved against the config's folder."""
    import yaml

    if not path.is_file():
        raise JuryboxError(f"{path}: config file not found")
    try:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise JuryboxError(f"{path}{where}: not valid YAML") from exc
    if not isinstance(cfg, dict):
        raise JuryboxError(f"{path}: expected a mapping of settings (data, judges, aggregation...)")
    unknown = sorted(set(cfg) - KEYS)
    if unknown:
        raise JuryboxError(f"{path}: unknown setting(s) {unknown}; known: {', '.join(sorted(KEYS))}")
    for key in ("data", "judges"):
        if key not in cfg:
            raise JuryboxError(f"{path}: missing required setting '{key}'")
    if not isinstance(cfg["judges"], list) or not all(isinstance(j, dict) for j in cfg["judges"]):
        raise JuryboxError(f"{path}: 'judges' must be a list of mappings such as {{model: ..., templates: [...]}}")
    for key in ("params", "fields", "pre", "stack"):
        if key in cfg and not isinstance(cfg[key], dict):
            raise JuryboxError(f"{path}: '{key}' must be a mapping")
    base = path.parent
    for key in ("data", "store", "out", "pairs"):
        if cfg.get(key) is not None:
            p = Path(str(cfg[key])).expanduser()
            cfg[key] = p if p.is_absolute() else base / p
    for key in ("file", "save"):  # the stack's files, relative to the config too
        if (cfg.get("stack") or {}).get(key) is not None:
            p = Path(str(cfg["stack"][key])).expanduser()
            cfg["stack"][key] = p if p.is_absolute() else base / p
    return cfg


def jury_command(
    config: Annotated[Path, typer.Argument(help="YAML jury config (data, judges, aggregation)")],
    out: Annotated[Path | None, typer.Option(help="output table (overrides the config's 'out')")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    json_summary: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Run every judge of CONFIG over its dataset, aggregate, and report agreement with human labels."""
    from jurybox.errors import TasksFailed
    from jurybox.items import write_table
    from jurybox.jury.api import jury_table
    from jurybox.jury.preferences import preference_pairs, write_preference_pairs

    cfg = load_config(config)
    data = Path(cfg["data"])
    pre = cfg.get("pre") or {}
    protocol = str(cfg.get("protocol", "pairwise"))
    res = jury_table(data, cfg["judges"], protocol=protocol, params=cfg.get("params") or {},
                     aggregation=str(cfg.get("aggregation", "majority")), fields=cfg.get("fields"),
                     human=cfg.get("human"), store=cfg.get("store"), exam=float(pre.get("exam", 0.2)),
                     threshold=float(pre.get("threshold", 0.6)), seed=int(pre.get("seed", 0)), progress=not quiet,
                     encoding=cfg.get("encoding"), stack=cfg.get("stack"))
    target = out or cfg.get("out") or data.with_name(data.stem + ".jury.jsonl")
    if Path(target).resolve() == data.resolve():
        raise JuryboxError(f"output {target} would overwrite the input file")
    write_table(res.table, target)
    failed = TasksFailed.check(res.stats.n_failed, res.stats.n_tasks, res.stats.failures)
    summary: dict[str, Any] = {"items": len(res.table), "judges": list(res.judges), "tasks": res.stats.n_tasks,
                               "cached": res.stats.n_cached, "model_calls": res.stats.model_calls,
                               "failed": res.stats.n_failed, "out": str(target), "agreement": res.agreement,
                               **{k: v for k, v in res.details.items() if k != "exam_rows"}}
    if cfg.get("pairs") is not None:
        if protocol != "pairwise":
            raise JuryboxError("'pairs' (preference pairs) needs protocol pairwise")
        pp = preference_pairs(res.items, list(res.table["jury_verdict"]),
                              list(res.table["jury_confidence"]))
        write_preference_pairs(pp, cfg["pairs"])
        summary["pairs"] = {"path": str(cfg["pairs"]), "written": len(pp.pairs), "skipped": pp.n_skipped}
    if json_summary:
        print(json.dumps(summary, default=str))
        if failed is not None:
            raise failed
        return
    s = res.stats
    print(f"{len(res.table)} items x {len(res.judges)} judges: {s.n_tasks} tasks, {s.n_cached} from the store, "
          f"{s.model_calls} model calls, {s.n_failed} failed; wrote {target}")
    for row in res.agreement:
        print(f"  {row['judge_name']}: accuracy {row['accuracy']:.3f}, kappa {row['kappa']:.3f} "
              f"({row['n_answered']}/{row['n_labelled']} labelled items answered)")
    fitted = res.details.get("stack") or {}
    if "cv" in fitted:
        cv = fitted["cv"]
        print(f"  stack fitted on {fitted['n_fit']} labelled rows: {cv['folds']}-fold x {cv['repeats']} out-of-fold "
              f"accuracy {cv['accuracy']:.3f} [{cv['accuracy_ci'][0]:.3f}, {cv['accuracy_ci'][1]:.3f}], kappa "
              f"{cv['kappa']:.3f}" + (f"; saved to {fitted['saved']}" if "saved" in fitted else ""))
    if "pairs" in summary:
        print(f"wrote {summary['pairs']['written']} preference pairs to {summary['pairs']['path']} "
              f"({summary['pairs']['skipped']} items without a decided verdict skipped)")
    if failed is not None:
        raise failed


def register(app: typer.Typer) -> None:
    app.command("jury")(jury_command)
