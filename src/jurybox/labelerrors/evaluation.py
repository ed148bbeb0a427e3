"""Score a ranking of suspected label errors: against human verdicts, or against injected noise.

* Against verdicts (MTurk, Northcutt et al. 2021): take the top k of the ranking; a row is a
  *validated error* when its verdict says so. precision@k = validated errors in the top k / k (the
  paper's "validated / flagged"); rows of the top k without a verdict count as not validated and are
  reported as ``n_unchecked``. Published: 20news 82/93 (88.2%), IMDB 725/1,310 (55.3%), with k = the
  number of MTurk items and the ranking by normalized margin.
* Against injected noise (known flipped rows): precision@k = flipped rows in the top k / k,
  recall@k = flipped rows in the top k / number flipped; by default k = number flipped (then precision
  and recall are equal when the ranking has at least k rows).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jurybox.errors import InputError, JuryboxError
from jurybox.types import Record


@dataclass(frozen=True)
class HumanVerdicts:
    """Row indices checked by people and whether each was judged a label error."""

    ids: np.ndarray
    is_error: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {"ids": self.ids.tolist(), "is_error": self.is_error.tolist()}


@dataclass(frozen=True)
class RankingEvaluation(Record):
    k: int
    n_checked: int
    n_unchecked: int
    n_errors: int
    precision: float
    recall_of_verdicts: float


@dataclass(frozen=True)
class NoiseRecovery(Record):
    k: int
    n_injected: int
    hits: int
    precision: float
    recall: float


def _top(ranked: Any, k: int | None, default: int) -> tuple[np.ndarray, int]:
    r = np.asarray(ranked, dtype=np.int64).ravel()
    k = default if k is None else int(k)
    if k <= 0:
        raise JuryboxError(f"k must be positive, got {k}")
    return r[:k], k


def evaluate_ranking(ranked: Any, verdicts: HumanVerdicts, *, k: int | None = None) -> RankingEvaluation:
    """precision@k of ``ranked`` row indices against human verdicts (module docstring); k defaults to the
    number of rows with a verdict. ``recall_of_verdicts`` = validated errors found / all validated errors."""
    top, k = _top(ranked, k, int(verdicts.ids.shape[0]))
    lookup = dict(zip(verdicts.ids.tolist(), verdicts.is_error.tolist(), strict=True))
    checked = [lookup[i] for i in top.tolist() if i in lookup]
    n_err = int(sum(checked))
    total = int(np.sum(verdicts.is_error))
    return RankingEvaluation(
        k,
        len(checked),
        int(top.shape[0]) - len(checked),
        n_err,
        n_err / k,
        n_err / total if total else float("nan"),
    )


def noise_recovery(ranked: Any, injected: Any, *, k: int | None = None) -> NoiseRecovery:
    """precision@k and recall@k of ``ranked`` row indices against the rows whose labels were flipped."""
    inj = set(np.asarray(injected, dtype=np.int64).ravel().tolist())
    if not inj:
        raise JuryboxError("no injected errors to recover")
    top, k = _top(ranked, k, len(inj))
    hits = len(inj.intersection(top.tolist()))
    return NoiseRecovery(k, len(inj), hits, hits / k, hits / len(inj))


def inject_noise(labels: Any, n_classes: int, rate: float, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Flip round(rate x N) labels, chosen uniformly without replacement, each to a different class chosen
    uniformly. Returns (noisy labels, sorted indices of the flipped rows). Deterministic for a seed."""
    y = np.asarray(labels, dtype=np.int64).copy()
    if not 0 < rate < 1:
        raise JuryboxError(f"rate must be in (0, 1), got {rate}")
    if n_classes < 2:
        raise JuryboxError("noise needs at least two classes")
    rng = np.random.default_rng(seed)
    m = int(round(rate * y.shape[0]))
    idx = np.sort(rng.choice(y.shape[0], size=m, replace=False))
    shift = rng.integers(1, n_classes, size=m)
    y[idx] = (y[idx] + shift) % n_classes
    return y, idx


def load_mturk(
    path: str | os.PathLike[str], *, index_to_filename: str | os.PathLike[str] | None = None
) -> HumanVerdicts:
    """Read a cleanlab/label-errors ``mturk/*.json`` file: a row is an error when fewer than 3 of the 5
    workers chose the given label (``mturk["given"] < 3``; Amazon: ``mturk[given label, lower-cased] < 3``).

    IMDB ids are file names (``test/neg/10003_3``): pass ``index_to_filename`` (the dataset-indexing
    JSON list) to map them to row indices.
    """
    p = str(path)
    try:
        with open(p, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError as exc:
        raise InputError("file not found", file=p) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON ({exc.msg} at line {exc.lineno})", file=p) from exc
    if not isinstance(data, list):
        raise InputError("expected a JSON list of MTurk items", file=p)
    index: dict[str, int] | None = None
    if index_to_filename is not None:
        with open(index_to_filename, encoding="utf-8") as f:
            names: Sequence[str] = json.load(f)
        index = {"test/" + n.rsplit(".", 1)[0]: i for i, n in enumerate(names)}
    ids, errs = [], []
    for row, item in enumerate(data, start=1):
        try:
            raw_id, votes = item["id"], item["mturk"]
            given = votes["given"] if "given" in votes else votes[str(item["given_original_label"]).lower()]
        except (KeyError, TypeError) as exc:
            raise InputError(f"missing {exc} in MTurk item", file=p, row=row, field="mturk") from exc
        if isinstance(raw_id, str) and not raw_id.isdigit():
            if index is None or raw_id not in index:
                raise InputError(
                    f"id {raw_id!r} is a file name; pass the index-to-filename JSON to map it to a row",
                    file=p,
                    row=row,
                    field="id",
                )
            ids.append(index[raw_id])
        else:
            ids.append(int(raw_id))
        errs.append(int(given) < 3)
    return HumanVerdicts(np.asarray(ids, dtype=np.int64), np.asarray(errs, dtype=bool))
