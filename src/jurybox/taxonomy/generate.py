"""TnT-LLM phase 1 (Wan et al., arXiv 2403.12173; method card 6): a taxonomy from unlabelled texts.

1. Sample ``sample`` texts (seeded) and, unless ``summarise=False``, summarise each for the use
   case (one generation per text).
2. Cut the summaries into minibatches of ``batch``. The first minibatch *proposes* a label set
   (names with one-line descriptions); each later one *updates* it (keep, add, merge, rename),
   the paper's SGD-like scheme.
3. A final *review* merges duplicates and keeps at most ``max_labels`` labels. Then two rules the
   model cannot break: names that normalise to the same snake_case name are merged (the first
   description kept), and labels past ``max_labels`` are dropped, each drop recorded.

Every generation is an engine task in the store (keys cover the prompt, so each step's prompt
depends on the stored answers before it): a rerun makes no model calls, and a killed run resumes
at the first step whose answer is not stored. An unreadable answer keeps the previous label set
and is recorded in the history (a proposal that cannot be read moves the proposal to the next
minibatch). The result is a YAML file a person can edit: ``labels`` and, for every revision,
``history`` (the step, the minibatch, its status, the labels after it, what was added/removed).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from jurybox.atomic import atomic_write
from jurybox.backends.base import Backend
from jurybox.engine import Judge, RunStats, evaluate
from jurybox.errors import JuryboxError, OptionError
from jurybox.protocols.base import JudgeProtocol
from jurybox.store import Store, open_store
from jurybox.taxonomy.protocols import Propose, Review, Summarise, Update, normal_name
from jurybox.types import Record

__all__ = ["TaxonomyResult", "enforce", "generate_taxonomy", "write_taxonomy"]


@dataclass
class TaxonomyResult(Record):
    labels: list[dict[str, str]]
    history: list[dict[str, Any]]
    use_case: str
    source: dict[str, Any]
    model_calls: int = 0
    from_store: int = 0
    n_unparsed: int = 0
    sample_rows: list[int] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        """The YAML document: what a person edits first, the history after."""
        return {"use_case": self.use_case, "labels": self.labels, "source": self.source, "history": self.history}


def enforce(labels: Sequence[Mapping[str, Any]], max_labels: int) -> tuple[list[dict[str, Any]], list[list[str]],
                                                                          list[str]]:
    """Merge labels whose names normalise alike (first description kept, ``merged_from``
    joined) and keep the first ``max_labels``; return (labels, merges, dropped names)."""
    out: dict[str, dict[str, Any]] = {}
    merges: list[list[str]] = []
    for e in labels:
        key = normal_name(e["name"])
        if key in out:
            merges.append([key, str(e.get("as_written", e["name"]))])
            kept = out[key]
            kept["merged_from"] = sorted({*kept.get("merged_from", []), *e.get("merged_from", [])})
            if not kept["description"] and e.get("description"):
                kept["description"] = e["description"]
            continue
        out[key] = {"name": key, "description": str(e.get("description") or ""),
                    **({"merged_from": list(e["merged_from"])} if e.get("merged_from") else {})}
    kept_list = list(out.values())
    dropped = [e["name"] for e in kept_list[max_labels:]]
    return kept_list[:max_labels], merges, dropped


def _names(labels: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(e["name"]) for e in labels]


def _run(judge: Judge, items: Sequence[Mapping[str, Any]], store: Store, totals: RunStats, progress: bool,
         description: str) -> list[Any]:
    verdicts, _, stats = evaluate(judge, items, store, progress=progress, description=description)
    totals.merge(stats)
    return verdicts


def generate_taxonomy(
    texts: Sequence[str],
    *,
    use_case: str,
    backend: Backend,
    store: Store | str | os.PathLike[str] | None = None,
    sample: int = 400,
    batch: int = 50,
    max_labels: int = 25,
    seed: int = 0,
    summarise: bool = True,
    progress: bool = False,
    source: Mapping[str, Any] | None = None,
) -> TaxonomyResult:
    """Run the TnT-LLM taxonomy loop (module docstring) over ``texts``."""
    if not texts:
        raise JuryboxError("no texts to build a taxonomy from")
    if sample < 1 or batch < 1:
        raise OptionError(f"sample and batch must be at least 1, got sample={sample}, batch={batch}", option="sample")
    if max_labels < 2:
        raise OptionError(f"max_labels must be at least 2, got {max_labels}", option="max_labels")
    if not use_case or not use_case.strip():
        raise OptionError("use_case must say what the labels are for", option="use_case")
    n = len(texts)
    rows = [int(r) for r in np.random.default_rng(seed).permutation(n)[:min(sample, n)]]
    chosen = [str(texts[r]) for r in rows]
    history: list[dict[str, Any]] = []
    totals = RunStats()
    n_unparsed = 0
    with open_store(store) as st:
        if summarise:
            proto: JudgeProtocol = Summarise(use_case=use_case)
            vs = _run(Judge(proto, backend, "taxonomy:summary"), [{"text": t} for t in chosen], st, totals, progress,
                      f"taxonomy summaries ({len(chosen)} texts)")
            summaries = [v.extra["summary"] for v in vs if v.status == "ok"]
            n_bad = len(vs) - len(summaries)
            n_unparsed += n_bad
            history.append({"step": 0, "action": "summarise", "n_texts": len(chosen), "n_unparsed": n_bad})
            if not summaries:
                raise JuryboxError(f"none of the {len(chosen)} summaries could be read; no taxonomy was built")
        else:
            summaries = chosen
        batches = [summaries[i:i + batch] for i in range(0, len(summaries), batch)]
        propose = Judge(Propose(use_case=use_case, max_labels=max_labels), backend, "taxonomy:propose")
        update = Judge(Update(use_case=use_case, max_labels=max_labels), backend, "taxonomy:update")
        labels: list[dict[str, Any]] | None = None
        for b, chunk in enumerate(batches, start=1):
            if labels is None:
                action = "propose"
                (v,) = _run(propose, [{"summaries": chunk}], st, totals, progress, f"taxonomy: propose (batch {b})")
            else:
                action = "update"
                (v,) = _run(update, [{"labels": labels, "summaries": chunk}], st, totals, progress,
                            f"taxonomy: update (batch {b}/{len(batches)})")
            entry: dict[str, Any] = {"step": len(history), "action": action, "batch": b, "n_items": len(chunk)}
            if v.status != "ok":
                n_unparsed += 1
                entry.update(status="unparsed", why=v.extra.get("why", ""), note="label set unchanged")
            else:
                before = set(_names(labels or []))
                new, merges, dropped = enforce(v.extra["labels"], max_labels)
                labels = [{"name": e["name"], "description": e["description"]} for e in new]
                entry.update(status="ok", added=sorted(set(_names(labels)) - before),
                             removed=sorted(before - set(_names(labels))), labels=[dict(e) for e in labels])
                if merges:
                    entry["merged_duplicates"] = merges
                if dropped:
                    entry["dropped_over_limit"] = dropped
            history.append(entry)
        if labels is None:
            raise JuryboxError(f"none of the {len(batches)} taxonomy proposals could be read; no taxonomy was built")
        (v,) = _run(Judge(Review(use_case=use_case, max_labels=max_labels), backend, "taxonomy:review"),
                    [{"labels": labels}], st, totals, progress, "taxonomy: review")
        entry = {"step": len(history), "action": "review"}
        if v.status != "ok":
            n_unparsed += 1
            final, merges, dropped = enforce(labels, max_labels)
            entry.update(status="unparsed", why=v.extra.get("why", ""), note="the last label set, duplicates merged")
        else:
            final, merges, dropped = enforce(v.extra["labels"], max_labels)
            entry["status"] = "ok"
        before = set(_names(labels))
        entry.update(added=sorted(set(_names(final)) - before), removed=sorted(before - set(_names(final))),
                     merged=[{"name": e["name"], "merged_from": e["merged_from"]} for e in final if e.get("merged_from")],
                     labels=[{"name": e["name"], "description": e["description"]} for e in final])
        if merges:
            entry["merged_duplicates"] = merges
        if dropped:
            entry["dropped_over_limit"] = dropped
        history.append(entry)
    out_labels = [{"name": e["name"], "description": e["description"]} for e in final]
    src = {**(source or {}), "sample": len(chosen), "batch": batch, "max_labels": max_labels, "seed": seed,
           "summarise": summarise, "model": getattr(backend, "label", backend.fingerprint()[:24]),
           "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    return TaxonomyResult(out_labels, history, use_case.strip(), src, totals.model_calls, totals.n_cached, n_unparsed,
                          rows)


def write_taxonomy(result: TaxonomyResult, path: str | os.PathLike[str]) -> Path:
    """Write the taxonomy YAML atomically (a comment on top says how to use and edit it)."""
    import yaml

    p = Path(path)
    head = ("# jurybox taxonomy: edit names and descriptions freely; 'labels' is what labelling reads\n"
            "# (jurybox judge DATA --protocol multilabel --param taxonomy=THIS_FILE, or classify_codes).\n"
            "# 'history' keeps every revision of the label set.\n")
    body = yaml.safe_dump(result.document(), sort_keys=False, allow_unicode=True, width=110)
    try:
        with atomic_write(p, "w", encoding="utf-8") as f:
            f.write(head + body)
    except OSError as exc:
        raise JuryboxError(f"{p}: cannot write the taxonomy ({exc.strerror or exc})", option="out") from exc
    return p
