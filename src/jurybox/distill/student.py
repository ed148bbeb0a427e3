"""The distilled student: logistic regression on text embeddings, saved so predictions reproduce.

A saved model is a folder with three files, each written atomically:

* ``weights.npz``: the classifier's ``coef`` (K x d, or 1 x d for two classes) and ``intercept``;
* ``embedder.json``: the embedder's fitted state (TF-IDF vocabulary and idf; empty for minilm);
* ``model.json`` (written last): the format, the label set in class order, the embedder's name and
  fingerprint (sha256 of its model files or fitted state), the training data's sha256 (of the
  canonical JSON of the ``[text, label]`` pairs in order), the label counts, the classifier's
  hyperparameters, and the sha256 of the two other files, checked on load (a folder left half
  written or edited by hand is refused in one line).

Prediction is plain numpy on the saved numbers (softmax of ``X @ coef.T + intercept``; the
logistic function for two classes), which is what scikit-learn's ``predict_proba`` computes, so
the probabilities a loaded model gives equal the ones at training time (a test checks it).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jurybox.atomic import atomic_write
from jurybox.distill.embeddings import Embedder, restore_embedder
from jurybox.errors import InputError, JuryboxError
from jurybox.types import canonical_json

__all__ = ["FORMAT", "Student", "data_hash", "fit_logreg", "load_student", "predict_proba_linear", "train_student"]

FORMAT = "jurybox-distill/1"


def data_hash(texts: Sequence[str], labels: Sequence[str]) -> str:
    """sha256 of the canonical JSON of the ``[text, label]`` pairs, in order."""
    return hashlib.sha256(canonical_json([[str(t), str(y)] for t, y in zip(texts, labels)]).encode()).hexdigest()


def predict_proba_linear(X: Any, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """Class probabilities of a (multinomial) logistic regression from its saved numbers."""
    z = np.asarray(X @ coef.T, dtype=np.float64) + intercept
    if coef.shape[0] == 1:  # two classes: P(second class) = logistic(z)
        p1 = 1.0 / (1.0 + np.exp(-z[:, 0]))
        return np.column_stack([1.0 - p1, p1])
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def fit_logreg(X: Any, y: np.ndarray, *, C: float = 10.0, max_iter: int = 2000,
               sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fit scikit-learn's LogisticRegression (lbfgs, multinomial); return (coef, intercept)."""
    import warnings

    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=C, max_iter=max_iter)
    with warnings.catch_warnings():  # early selection rounds have few rows per class: expected, not a problem
        warnings.filterwarnings("ignore", message="The number of unique classes is greater than 50%")
        clf.fit(X, y, sample_weight=sample_weight)
    return np.asarray(clf.coef_, dtype=np.float64), np.asarray(clf.intercept_, dtype=np.float64)


@dataclass
class Student:
    """A trained student: its label set, embedder and linear classifier, and where it came from."""

    labels: tuple[str, ...]
    embedder: Embedder
    coef: np.ndarray
    intercept: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return predict_proba_linear(self.embedder.embed(texts), self.coef, self.intercept)

    def predict_proba_embedded(self, X: Any) -> np.ndarray:
        """Probabilities for rows already embedded by :attr:`embedder`."""
        return predict_proba_linear(X, self.coef, self.intercept)

    def predict(self, texts: Sequence[str]) -> list[str]:
        p = self.predict_proba(texts)
        return [self.labels[i] for i in p.argmax(axis=1)]

    def save(self, out: str | os.PathLike[str]) -> Path:
        """Write the model folder (module docstring); model.json last."""
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise JuryboxError(f"{out}: exists and is not a folder", option="out")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JuryboxError(f"{out}: cannot create the model folder ({exc.strerror or exc})", option="out") from exc
        weights = out / "weights.npz"
        with atomic_write(weights, "wb") as f:
            np.savez(f, coef=self.coef, intercept=self.intercept)
        state = out / "embedder.json"
        with atomic_write(state, "w", encoding="utf-8") as f:
            json.dump(self.embedder.state(), f)
        meta = {**self.info, "format": FORMAT, "labels": list(self.labels),
                "files": {"weights.npz": _file_sha(weights), "embedder.json": _file_sha(state)}}
        with atomic_write(out / "model.json", "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=2, sort_keys=True)
        return out


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train_student(
    texts: Sequence[str],
    labels: Sequence[str],
    embedder: Embedder,
    *,
    C: float = 10.0,
    X: Any = None,
    sample_weight: Any = None,
    label_set: Sequence[str] | None = None,
    source: str | None = None,
    field_name: str | None = None,
    extra_info: dict[str, Any] | None = None,
) -> Student:
    """Fit ``embedder`` (TF-IDF learns its vocabulary; minilm has nothing to fit) and a logistic
    regression on the embedded ``texts`` and their ``labels``. ``X``: the rows already embedded.

    The label set is the sorted distinct labels (or ``label_set``, which must cover them); a single
    class is refused (there is nothing to learn), naming the field."""
    if len(texts) != len(labels):
        raise JuryboxError(f"{len(texts)} texts but {len(labels)} labels")
    if len(texts) == 0:
        raise InputError("no labelled rows to train on", file=source, field=field_name)
    seen = sorted({str(y) for y in labels})
    classes = tuple(label_set) if label_set is not None else tuple(seen)
    unknown = [y for y in seen if y not in classes]
    if unknown:
        raise InputError(f"label {unknown[0]!r} is not in the label set", file=source, field=field_name)
    if len(seen) < 2:
        raise InputError(f"every labelled row has the same label ({seen[0]!r}); a classifier needs at least two "
                         "classes", file=source, field=field_name)
    if X is None:
        embedder.fit(texts)
        X = embedder.embed(texts)
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[str(v)] for v in labels])
    present = np.unique(y)
    coef_p, intercept_p = fit_logreg(
        X, y, C=C, sample_weight=None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64))
    k = len(classes)
    if len(present) == k or len(present) == 2 and k == 2:
        coef, intercept = coef_p, intercept_p
    else:  # classes of the label set never seen: they get probability ~0 (a very low intercept)
        if len(present) == 2:  # sklearn gave one row for two classes: expand to the softmax form
            coef_p = np.vstack([-coef_p[0] / 2, coef_p[0] / 2])
            intercept_p = np.array([-intercept_p[0] / 2, intercept_p[0] / 2])
        coef = np.zeros((k, coef_p.shape[1]))
        intercept = np.full(k, -1e4)
        coef[present] = coef_p
        intercept[present] = intercept_p
    info = {
        "embedder": {"name": embedder.name, "fingerprint": embedder.fingerprint(),
                     "max_tokens": getattr(embedder, "max_tokens", None)},
        "training": {"n": len(texts), "data_sha256": data_hash(texts, labels),
                     "label_counts": dict(Counter(str(v) for v in labels))},
        "classifier": {"type": "logistic-regression", "C": C, "solver": "lbfgs"},
        "versions": _versions(),
        **(extra_info or {}),
    }
    return Student(classes, embedder, coef, intercept, info)


def _versions() -> dict[str, str]:
    import sklearn

    return {"python": platform.python_version(), "numpy": np.__version__, "scikit-learn": sklearn.__version__}


def load_student(path: str | os.PathLike[str]) -> Student:
    """A saved student, its files checked against the sha256 in model.json."""
    p = Path(path)
    meta_path = p / "model.json"
    if not meta_path.is_file():
        raise InputError("not a jurybox model folder (no model.json)", file=str(p))
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"model.json cannot be read ({exc})", file=str(p)) from exc
    if meta.get("format") != FORMAT:
        raise InputError(f"model.json has format {meta.get('format')!r}, expected {FORMAT!r}", file=str(p))
    for name, digest in meta.get("files", {}).items():
        f = p / name
        if not f.is_file() or _file_sha(f) != digest:
            raise InputError(f"{name} is missing or differs from the one model.json records (sha256); "
                             "retrain with jurybox distill", file=str(p))
    with np.load(p / "weights.npz") as w:
        coef, intercept = np.asarray(w["coef"]), np.asarray(w["intercept"])
    state = json.loads((p / "embedder.json").read_text(encoding="utf-8"))
    emb = restore_embedder(meta["embedder"], state)
    return Student(tuple(meta["labels"]), emb, coef, intercept, meta)
