"""Reranking on the engine and store: each question a driver asks becomes tasks, answered in batches.

A method is a driver from :mod:`jurybox.rank.algorithms` plus the protocol that answers its
questions: PRP (``prp``, both orders per comparison), setwise (``setwise``, with permutations),
listwise (``listwise-passages``) and pointwise (``relevance``, the expected 0-3 grade). Every
comparison or judgment is a task with a content-addressed key, run through one
:class:`~jurybox.engine.TaskSession`: a rerun, or a rerun after a killed run, replays the
drivers with the stored answers and makes model calls only for what is missing.

A comparison (i, j) is always asked as the pair in input order (the earlier candidate as
``passage_a``), so (i, j) and (j, i) are the same two tasks. An unreadable or failed comparison
is a tie (broken by the input order); an unreadable setwise choice falls back to the input order; an unreadable listwise window keeps its
input order; an ungraded candidate goes after the graded ones. Each is counted per query
(``n_unparsed``, ``n_failed``); a failed call is retried by the next run.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from jurybox.backends.base import Backend
from jurybox.engine import TaskSession, task_key
from jurybox.errors import InputError, OptionError
from jurybox.protocols.base import JudgeProtocol
from jurybox.rank import algorithms as alg
from jurybox.rank.candidates import QueryCandidates, read_candidates
from jurybox.spec import JudgeSpec, ModelSpec, as_spec
from jurybox.store import Store, open_store
from jurybox.types import BackendResult, Record, Task, Verdict, canonical_json

__all__ = ["METHODS", "CostEstimate", "QueryStats", "RankResult", "estimate_cost", "rank", "rank_queries"]

#: method -> the protocol that answers its questions
METHODS: dict[str, str] = {
    "prp-allpair": "prp", "prp-heapsort": "prp", "prp-sliding": "prp", "setwise": "setwise",
    "listwise": "listwise-passages", "pointwise": "relevance",
}


@dataclass(frozen=True)
class Options:
    """The algorithm's settings (not the protocol's): they shape which questions are asked."""

    top_k: int = 10
    depth: int | None = None
    set_size: int = 4
    window: int = 20
    stride: int = 10
    passes: int = 1


def _driver(method: str, n: int, o: Options) -> alg.Driver:
    if method == "prp-allpair":
        return alg.allpair(n)
    if method == "prp-heapsort":
        return alg.heapsort(n, o.top_k)
    if method == "prp-sliding":
        return alg.sliding(n, o.top_k)
    if method == "setwise":
        return alg.setwise_heapsort(n, o.top_k, o.set_size)
    if method == "listwise":
        return alg.listwise_sliding(n, o.window, o.stride, o.passes)
    return alg.pointwise(n)


def _item(q: Any, query: str, texts: Sequence[str]) -> tuple[dict[str, Any], tuple[int, ...]]:
    """The protocol item of a question, and the candidates it names in item order."""
    if isinstance(q, alg.Compare):
        lo, hi = sorted((q.i, q.j))
        return {"query": query, "passage_a": texts[lo], "passage_b": texts[hi]}, (lo, hi)
    if isinstance(q, alg.Best):  # shown in input order: an exact tie goes to the earlier candidate
        ids = tuple(sorted(q.ids))
        return {"query": query, "passages": [texts[i] for i in ids]}, ids
    if isinstance(q, alg.Permute):  # the window as it stands
        return {"query": query, "passages": [texts[i] for i in q.ids]}, q.ids
    return {"query": query, "passage": texts[q.i]}, (q.i,)


def _answer(q: Any, ids: tuple[int, ...], v: Verdict) -> Any:
    """The driver's answer from the combined verdict (None/tie when it could not be read)."""
    if isinstance(q, alg.Compare):
        if v.label not in ("A", "B"):
            return 0
        winner = ids[0] if v.label == "A" else ids[1]
        return 1 if winner == q.i else -1
    if isinstance(q, alg.Best):
        return None if v.label is None else ids[int(v.extra["best"])]
    if isinstance(q, alg.Permute):
        return None if v.label is None else [ids[r] for r in v.extra["ranking"]]
    return v.score if v.label is not None else None


@dataclass
class QueryStats(Record):
    """What reranking one query took and how the judge behaved on it."""

    query_id: str
    n_candidates: int
    depth: int
    questions: int = 0
    tasks: int = 0
    model_calls: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_s: float = 0.0
    model_s: float = 0.0  # the model time of the query's tasks as stored (what a run on an empty store spends)
    task_prompt_tokens: int = 0  # the prompt tokens of the query's tasks as stored
    n_ties: int = 0
    n_unparsed: int = 0
    n_failed: int = 0
    n_consistent: int = 0
    n_consistency_measured: int = 0
    n_unchanged: int = 0  # listwise windows returned in their input order (a read answer that moved nothing)
    n_reversed: int = 0  # listwise windows returned exactly reversed (a positional pattern, not a judgment)

    @property
    def position_consistency(self) -> float | None:
        """Fraction of the comparisons/windows asked in several orders whose orders agreed."""
        m = self.n_consistency_measured
        return self.n_consistent / m if m else None

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["position_consistency"] = self.position_consistency
        return d


@dataclass(frozen=True)
class CostEstimate(Record):
    """Model calls and prompt tokens a run would make on an empty store (before store lookups).

    Exact for prp-allpair, pointwise and listwise (their questions do not depend on the answers;
    listwise with several passes, up to a window met twice); for prp-sliding (which pairs repeat
    depends on the swaps) and the heapsorts it is the count of one simulated run with a consistent
    comparator on a random true order. Tokens are characters / 4 of the rendered prompts."""

    method: str
    n_queries: int
    calls: int
    prompt_tokens: int
    calls_per_query: float

    def line(self) -> str:
        return (f"estimate: {self.method} on {self.n_queries} queries: about {self.calls} model calls "
                f"({self.calls_per_query:.1f} a query), {self.prompt_tokens} prompt tokens, before store lookups")


@dataclass
class RankResult:
    """A reranking: the run (one row per candidate, reranked depth first), per-query statistics,
    the engine's run statistics, and the cost estimate made before the run."""

    method: str
    run: pd.DataFrame
    queries: list[QueryStats]
    stats: Any
    estimate: CostEstimate
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def position_consistency(self) -> float | None:
        m = sum(q.n_consistency_measured for q in self.queries)
        return sum(q.n_consistent for q in self.queries) / m if m else None

    def summary(self) -> dict[str, Any]:
        qs = self.queries
        return {"method": self.method, "queries": len(qs), "model_calls": self.stats.model_calls,
                "cached": self.stats.n_cached, "tasks": self.stats.n_tasks, "failed": self.stats.n_failed,
                "prompt_tokens": self.stats.prompt_tokens, "completion_tokens": self.stats.completion_tokens,
                "wall_s": round(self.stats.wall_s, 2), "position_consistency": self.position_consistency,
                "unparsed": sum(q.n_unparsed for q in qs), "ties": sum(q.n_ties for q in qs),
                "questions": sum(q.questions for q in qs), "unchanged_windows": sum(q.n_unchanged for q in qs),
                "reversed_windows": sum(q.n_reversed for q in qs),
                "estimate": self.estimate.to_dict(), "options": self.options}

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "per_query": [q.to_dict() for q in self.queries]}

    def write_trec(self, path: str | os.PathLike[str]) -> None:
        from jurybox.ir.trec import write_run

        write_run(self.run, path)


def _depth(queries: Sequence[QueryCandidates], depth: int | None) -> None:
    if depth is None:
        return
    if depth < 2:
        raise OptionError(f"depth must be at least 2, got {depth}", option="depth")
    for q in queries:
        if depth > len(q.candidates):
            raise OptionError(f"depth {depth} is larger than query {q.query_id}'s list of {len(q.candidates)} "
                              "candidates", option="depth")


def _check_options(method: str, o: Options) -> None:
    if method not in METHODS:
        raise OptionError(f"unknown ranking method '{method}' (available: {', '.join(METHODS)})", option="method")
    if o.top_k < 1:
        raise OptionError(f"top_k must be at least 1, got {o.top_k}", option="top_k")
    if method == "setwise" and not 2 <= o.set_size <= 10:
        raise OptionError(f"set_size must be 2 to 10, got {o.set_size}", option="set_size")
    if method == "listwise":
        if o.window < 2:
            raise OptionError(f"window must be at least 2, got {o.window}", option="window")
        if not 1 <= o.stride <= o.window:
            raise OptionError(f"stride must be 1 to the window ({o.window}), got {o.stride}", option="stride")
        if o.passes < 1:
            raise OptionError(f"passes must be at least 1, got {o.passes}", option="passes")


def _simulate(method: str, n: int, o: Options, rng: random.Random) -> list[Any]:
    """The questions of one run with a consistent comparator on a random true order."""
    truth = list(range(n))
    rng.shuffle(truth)
    pos = {d: p for p, d in enumerate(truth)}
    asked: list[Any] = []

    def answer(batch: list[Any]) -> list[Any]:
        out: list[Any] = []
        for q in batch:
            asked.append(q)
            if isinstance(q, alg.Compare):
                out.append(1 if pos[q.i] < pos[q.j] else -1)
            elif isinstance(q, alg.Best):
                out.append(min(q.ids, key=lambda d: pos[d]))
            elif isinstance(q, alg.Permute):
                out.append(sorted(q.ids, key=lambda d: pos[d]))
            else:
                out.append(float(n - pos[q.i]))
        return out

    alg.drive(_driver(method, n, o), answer)
    return asked


def estimate_cost(method: str, queries: Sequence[QueryCandidates], protocol: JudgeProtocol, o: Options,
                  seed: int = 0) -> CostEstimate:
    """See :class:`CostEstimate`."""
    rng = random.Random(seed)
    calls = tokens = 0
    for qc in queries:
        cands = qc.candidates[:o.depth] if o.depth else qc.candidates
        texts = [c.text for c in cands]
        seen: set[tuple[type, tuple[int, ...]]] = set()
        for q in _simulate(method, len(cands), o, rng):
            item, ids = _item(q, qc.query, texts)
            if (type(q), ids) in seen:
                continue
            seen.add((type(q), ids))
            for _, req in protocol.requests(item):
                calls += 1
                tokens += sum(len(m.content) for m in req.prompt.messages) // 4
    return CostEstimate(method, len(queries), calls, tokens, calls / len(queries) if queries else 0.0)


def rank_queries(
    queries: Sequence[QueryCandidates],
    method: str,
    protocol: JudgeProtocol,
    backend: Backend,
    store: Store,
    options: Options,
    *,
    judge_name: str = "",
    progress: bool = False,
    on_estimate: Callable[[CostEstimate], None] | None = None,
) -> RankResult:
    """Rerank already-read queries (see :func:`rank`)."""
    _check_options(method, options)
    _depth(queries, options.depth)
    if protocol.name != METHODS[method]:
        raise OptionError(f"method {method} is answered by the {METHODS[method]} protocol, not {protocol.name}",
                          option="protocol")
    estimate = estimate_cost(method, queries, protocol, options)
    if on_estimate is not None:
        on_estimate(estimate)
    fp = backend.fingerprint()
    params = canonical_json(protocol.params())
    name = judge_name or f"{method}:{protocol.template}@{getattr(backend, 'label', '') or fp[:24]}"

    def interpret(task: Task, result: BackendResult) -> Verdict:
        return protocol.interpret(task.variant, result)

    rows: list[tuple[str, str, int, float]] = []
    per_query: list[QueryStats] = []
    with TaskSession(backend, store, interpret, description=f"rank {method} ({len(queries)} queries)",
                     progress=progress) as session:
        for row, qc in enumerate(queries):
            cands = qc.candidates
            depth = options.depth or len(cands)
            head = cands[:depth]
            texts = [c.text for c in head]
            qs = QueryStats(qc.query_id, len(cands), depth)
            before = session.stats.to_dict()
            t0 = time.perf_counter()
            counted: set[tuple[type, tuple[int, ...]]] = set()
            keys: set[str] = set()

            def answer(batch: list[Any], qc: QueryCandidates = qc, texts: list[str] = texts, row: int = row,
                       qs: QueryStats = qs, counted: set[tuple[type, tuple[int, ...]]] = counted,
                       keys: set[str] = keys) -> list[Any]:
                built = []
                tasks: list[Task] = []
                for q in batch:
                    item, ids = _item(q, qc.query, texts)
                    try:
                        reqs = protocol.requests(item)
                    except InputError as exc:
                        raise InputError(f"query {qc.query_id}: {exc}", row=row + 1) from exc
                    ts = [Task(task_key(fp, params, req, variant), row, name, variant, req) for variant, req in reqs]
                    built.append((q, item, ids, ts))
                    tasks.extend(ts)
                results = session.run(tasks)
                for t in tasks:
                    if t.key not in keys:
                        keys.add(t.key)
                        qs.model_s += results[t.key].latency_s
                        qs.task_prompt_tokens += results[t.key].prompt_tokens
                out = []
                for q, item, ids, ts in built:
                    v = protocol.combine(item, {t.variant: results[t.key] for t in ts})
                    a = _answer(q, ids, v)
                    out.append(a)
                    key = (type(q), ids)
                    if key in counted:
                        continue  # asked again (bubble passes): counted once
                    counted.add(key)
                    qs.questions += 1
                    if v.status == "error":
                        qs.n_failed += 1
                    elif v.status != "ok":
                        qs.n_unparsed += 1
                    elif isinstance(q, alg.Compare) and a == 0:
                        qs.n_ties += 1
                    elif isinstance(q, alg.Permute) and list(a) == list(q.ids):
                        qs.n_unchanged += 1
                    elif isinstance(q, alg.Permute) and list(a) == list(q.ids)[::-1]:
                        qs.n_reversed += 1
                    if "consistent" in v.extra:
                        qs.n_consistency_measured += 1
                        qs.n_consistent += bool(v.extra["consistent"])
                return out

            order = alg.drive(_driver(method, depth, options), answer)
            after = session.stats
            qs.tasks = after.n_tasks - before["n_tasks"]
            qs.model_calls = after.model_calls - before["model_calls"]
            qs.cached = after.n_cached - before["n_cached"]
            qs.prompt_tokens = after.prompt_tokens - before["prompt_tokens"]
            qs.completion_tokens = after.completion_tokens - before["completion_tokens"]
            qs.wall_s = time.perf_counter() - t0
            per_query.append(qs)
            ranked = [head[i] for i in order] + list(cands[depth:])
            n = len(ranked)
            rows.extend((qc.query_id, c.doc_id, r, float(n - r + 1)) for r, c in enumerate(ranked, start=1))
    run = pd.DataFrame(rows, columns=["query_id", "doc_id", "rank", "score"])
    run["tag"] = f"jurybox-{method}"
    opts = {"top_k": options.top_k, "depth": options.depth}
    if method == "setwise":
        opts["set_size"] = options.set_size
    if method == "listwise":
        opts.update(window=options.window, stride=options.stride, passes=options.passes)
    return RankResult(method, run, per_query, session.stats, estimate, opts)


def rank(
    candidates: str | os.PathLike[str] | pd.DataFrame | Sequence[Mapping[str, Any]],
    method: str = "prp-heapsort",
    *,
    model: ModelSpec = None,
    spec: JudgeSpec | None = None,
    top_k: int = 10,
    depth: int | None = None,
    set_size: int = 4,
    window: int = 20,
    stride: int | None = None,
    passes: int = 1,
    passages: str | os.PathLike[str] | None = None,
    queries: str | os.PathLike[str] | None = None,
    store: Store | str | os.PathLike[str] | None = None,
    encoding: str | None = None,
    progress: bool = False,
    on_estimate: Callable[[CostEstimate], None] | None = None,
    **protocol_params: Any,
) -> RankResult:
    """Rerank each query's candidates with an LLM judge; every call through the engine and store.

    ``candidates``: a JSON/JSONL file (one query a row, ``candidates`` or rank_llm ``hits``), a TREC
    run file with ``passages`` and ``queries`` files, a DataFrame (query_id, query, doc_id, text),
    or a list of dicts (see :mod:`jurybox.rank.candidates`). ``method``: prp-allpair, prp-heapsort,
    prp-sliding, setwise, listwise or pointwise (see :mod:`jurybox.rank.algorithms`). ``depth``:
    how many of each query's candidates to rerank (default all; larger than a list is an error);
    the others follow in input order. ``top_k``: the heapsorts' exact top and PRP-sliding's number
    of passes. ``set_size``: setwise's c. ``window``, ``stride`` (default half the window), ``passes``: listwise.
    ``spec`` (or ``model`` plus protocol keyword parameters such as ``combine="margin"``,
    ``permutations="cyclic"``, ``orders="both"``, ``template=``) describes the judge; its protocol
    must be the method's (``METHODS``). ``on_estimate`` is called with the :class:`CostEstimate`
    before the first model call. Returns a :class:`RankResult`."""
    if method not in METHODS:
        raise OptionError(f"unknown ranking method '{method}' (available: {', '.join(METHODS)})", option="method")
    if spec is None:
        spec = as_spec(METHODS[method], model, protocol_params)
    elif model is not None or protocol_params:
        raise OptionError("give the model and protocol parameters in the JudgeSpec, not beside it", option="spec")
    if spec.protocol_name != METHODS[method]:
        raise OptionError(f"method {method} is answered by the {METHODS[method]} protocol, not "
                          f"{spec.protocol_name}", option="protocol")
    o = Options(top_k=top_k, depth=depth, set_size=set_size, window=window,
                stride=stride if stride is not None else max(1, window // 2), passes=passes)
    _check_options(method, o)
    qs = read_candidates(candidates, passages=passages, queries=queries, encoding=encoding)
    _depth(qs, depth)
    protocol = spec.make_protocol()
    with open_store(store) as st:
        return rank_queries(qs, method, protocol, spec.make_backend(), st, o, judge_name=spec.name,
                            progress=progress, on_estimate=on_estimate)
