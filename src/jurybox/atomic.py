"""Atomic file writes: a temporary file in the target's folder, flushed, then renamed over it.

Readers see the old file or the new one, never half of one. The new file gets the permissions
the user would get from ``open()`` (``0o666`` minus the umask, where ``mkstemp`` alone gives
``0o600``), and a file that already exists keeps its mode (a ``0600`` output stays ``0600``).
A symbolic link is followed: its target is replaced and the link stays.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def current_umask() -> int:
    """The process umask, read without changing it where the system allows (Linux /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mode_for(target: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return 0o666 & ~current_umask()


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, mkdir: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block succeeds it replaces ``path``.

    Whatever the block writes to the temporary path (pandas, pyarrow, ``open``) becomes ``path``
    in one rename; if the block raises, the temporary file is removed and ``path`` is untouched.
    """
    target = Path(path)
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    parent = target.parent if str(target.parent) else Path(".")
    if mkdir:
        parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, _mode_for(target))
        with open(tmp, "rb") as f:  # the bytes reach the disk before the name points at them
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w", *, encoding: str | None = "utf-8",
                 newline: str | None = None, mkdir: bool = True) -> Iterator[IO[Any]]:
    """``with atomic_write(path) as f: f.write(...)``: ``path`` is replaced when the block succeeds."""
    if "b" in mode:
        encoding = None
    with atomic_path(path, mkdir=mkdir) as tmp, open(tmp, mode, encoding=encoding, newline=newline) as f:
        yield f


def check_writable(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` could not be written atomically (None when it can): checked before long work."""
    target = Path(path)
    if target.is_dir():
        return "is a directory"
    parent = target.parent if str(target.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=parent)
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(fd)
    os.unlink(name)
    return None
