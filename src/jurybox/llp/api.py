"""The dataset-level entry point of learning from label proportions: a table whose rows carry a
bag id and their bag's proportion of positives, embeddings (a .npy/.npz file aligned with the rows,
or computed from a text column), and the pseudo-labels and classifier probabilities out."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jurybox.errors import InputError, JuryboxError
from jurybox.llp.learn import (
    LLPResult,
    MulticlassLLPResult,
    bag_mean_baseline,
    dllp_baseline,
    learn_from_proportions,
)
from jurybox.types import Record

METHODS = ("bp", "bag-mean", "dllp")


def read_embeddings(path: str | os.PathLike[str], n_rows: int, key: str | None = None) -> np.ndarray:
    """A ``.npy`` array or one array of a ``.npz`` file (``key``, or its only array), one row per
    table row."""
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", file=str(p))
    try:
        z = np.load(p, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"not a .npy/.npz array file ({exc})", file=str(p)) from None
    if isinstance(z, np.lib.npyio.NpzFile):
        names = list(z.keys())
        if key is None and len(names) != 1:
            raise InputError(f"holds {len(names)} arrays ({', '.join(names)}); say which one with key=",
                             file=str(p), option="embeddings_key")
        k = key or names[0]
        if k not in names:
            raise InputError(f"has no array {k!r} (it has {', '.join(names)})", file=str(p), field=k)
        arr = z[k]
    else:
        arr = z
    if arr.ndim != 2 or arr.shape[0] != n_rows:
        raise InputError(f"array of shape {arr.shape} does not give one row per table row ({n_rows})", file=str(p))
    bad = ~np.isfinite(arr).all(1)
    if bad.any():
        raise InputError("a value is not a finite number", file=str(p), row=int(np.flatnonzero(bad)[0]) + 1)
    return arr.astype(float)


def read_bags(df: pd.DataFrame, source: str | None, bag: str, proportion: str) -> tuple[np.ndarray, dict[Any, float]]:
    """Each row's bag id and each bag's proportion (the same value on every row of a bag, in [0, 1])."""
    for c in (bag, proportion):
        if c not in df.columns:
            raise InputError(f"column '{c}' not found; columns present: {', '.join(map(str, df.columns))}",
                             file=source, field=c)
    miss = df[bag].isna()
    if miss.any():
        raise InputError("missing bag id", file=source, row=int(np.flatnonzero(miss.to_numpy())[0]) + 1, field=bag)
    vals = pd.to_numeric(df[proportion], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(vals) | (vals < 0) | (vals > 1)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise InputError(f"expected a proportion between 0 and 1, got {df[proportion].iloc[r]!r}", file=source,
                         row=r + 1, field=proportion)
    ids = df[bag].astype(str).to_numpy()
    props: dict[Any, float] = {}
    for r, (b, v) in enumerate(zip(ids, vals)):
        if b in props and abs(props[b] - v) > 1e-9:
            raise InputError(f"bag {b!r} has proportion {props[b]:g} on an earlier row and {v:g} here", file=source,
                             row=r + 1, field=proportion)
        props.setdefault(b, float(v))
    return ids, props


@dataclass(frozen=True)
class LLPDatasetResult(Record):
    table: pd.DataFrame
    method: str
    fit: LLPResult | MulticlassLLPResult | None
    n_bags: int
    bag_sizes: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "rows": len(self.table), "n_bags": self.n_bags, "bag_sizes": self.bag_sizes,
                **({"bp": self.fit.to_dict()} if self.fit is not None else {})}


def llp_dataset(data: pd.DataFrame | str | os.PathLike[str], *, bag: str = "bag",
                proportion: str | list[str] | tuple[str, ...] = "proportion",
                embeddings: str | os.PathLike[str] | np.ndarray | None = None, embeddings_key: str | None = None,
                text: str | None = None, embedder: str = "minilm", method: str = "bp", encoding: str | None = None,
                **params: Any) -> LLPDatasetResult:
    """Learn a binary classifier from bag proportions over a table and add ``llp_probability``
    (the classifier's P(positive)) and, for ``bp``, ``llp_pseudo_label`` (the BP marginal) to its
    rows. Embeddings come from ``embeddings`` (an array or a .npy/.npz file aligned with the rows)
    or from the ``text`` column through ``embedder`` (``minilm``, or ``tfidf`` fitted on that column and
    reduced to at most 256 dimensions by truncated SVD). ``method``: ``bp``
    (belief propagation; ``params`` go to :func:`learn_from_proportions`), ``bag-mean`` or ``dllp``.

    Several ``proportion`` columns (one per class, summing to 1 in each bag) make it multi-class
    (``bp`` only: one-vs-rest BP, :func:`learn_from_proportions_multiclass`): the rows get
    ``llp_probability_<column>`` for each class and ``llp_label``, the most probable class."""
    from jurybox.items import load_table

    if method not in METHODS:
        raise JuryboxError(f"method must be one of {', '.join(METHODS)}; got {method!r}", option="method")
    df, source = load_table(data, encoding)
    if df.empty:
        raise InputError("no rows", file=source)
    columns = [proportion] if isinstance(proportion, str) else list(proportion)
    if not columns:
        raise JuryboxError("give at least one proportion column", option="proportion")
    if len(columns) > 1 and method != "bp":
        raise JuryboxError(f"several proportion columns (multi-class) need method bp, not {method}", option="method")
    per_col = [read_bags(df, source, bag, c) for c in columns]
    ids, props = per_col[0]
    if len(columns) > 1:
        for b in props:
            total = sum(pc[1][b] for pc in per_col)
            if abs(total - 1.0) > 1e-6:
                r = int(np.flatnonzero(ids == b)[0]) + 1
                raise InputError(f"bag {b!r}: the class proportions ({', '.join(columns)}) sum to {total:g}, not 1",
                                 file=source, row=r, field=columns[-1])
    if embeddings is not None:
        X = (read_embeddings(embeddings, len(df), embeddings_key) if not isinstance(embeddings, np.ndarray)
             else np.asarray(embeddings, dtype=float))
        if X.shape[0] != len(df):
            raise JuryboxError(f"embeddings has {X.shape[0]} rows for {len(df)} table rows")
    elif text is not None:
        if text not in df.columns:
            raise InputError(f"column '{text}' not found", file=source, field=text)
        from jurybox.distill.embeddings import make_embedder

        texts = ["" if pd.isna(t) else str(t) for t in df[text].tolist()]
        emb_model = make_embedder(embedder)
        if hasattr(emb_model, "fit"):  # TF-IDF learns its vocabulary from these texts (no labels involved)
            emb_model.fit(texts)
        emb = emb_model.embed(texts)
        if hasattr(emb, "toarray"):  # sparse TF-IDF: at most 256 dense dimensions (truncated SVD)
            from sklearn.decomposition import TruncatedSVD

            dims = min(256, emb.shape[1] - 1, len(texts) - 1)
            X = TruncatedSVD(n_components=dims, random_state=0).fit_transform(emb) if dims >= 2 else emb.toarray()
        else:
            X = np.asarray(emb, dtype=float)
    else:
        raise JuryboxError("give embeddings (a .npy/.npz file) or a text column to embed", option="embeddings")
    out = df.copy()
    fit: Any = None
    if len(columns) > 1:
        from jurybox.llp.learn import learn_from_proportions_multiclass

        order = sorted(props)
        P = np.array([[pc[1][b] for pc in per_col] for b in order])
        mparams = {k: v for k, v in params.items() if k in ("k", "coupling", "bag_kind", "bag_strength", "damping",
                                                           "max_iter", "tol", "C")}
        fit = learn_from_proportions_multiclass(X, ids, P, classes=columns, **mparams)
        probs = fit.predict_proba(X)
        for c, name in enumerate(columns):
            out[f"llp_probability_{name}"] = probs[:, c]
        out["llp_label"] = [columns[i] for i in probs.argmax(1)]
    elif method == "bp":
        fit = learn_from_proportions(X, ids, props, **params)
        out["llp_pseudo_label"] = fit.pseudo_labels
        out["llp_probability"] = fit.predict_proba(X)
    else:
        model = (bag_mean_baseline if method == "bag-mean" else dllp_baseline)(X, ids, props)
        out["llp_probability"] = model.predict_proba(X)
    sizes = pd.Series(ids).value_counts()
    return LLPDatasetResult(out, method, fit, len(props), {"min": float(sizes.min()), "median": float(sizes.median()),
                                                             "max": float(sizes.max())})
