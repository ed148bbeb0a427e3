"""The verdict store: SQLite in WAL mode, one row per task key, written exactly once.

A task key is a hash of everything that can change the answer (see :func:`jurybox.engine.task_key`).
Each verdict is committed as soon as it completes, so a killed run loses at most the verdict in
flight and the next run resumes; ``INSERT OR IGNORE`` on the primary key makes a write idempotent.
Failed calls go to ``failures`` (with their reason) and not to ``verdicts``, so the next run retries them.

Under :meth:`Store.group_commit` (the engine uses it when many calls run at once, such as a server
answering hundreds of requests a second) verdicts are committed in one transaction per
``max_delay`` seconds (50 ms by default) instead of one each: a commit costs about 0.3 ms, as much
as the rest of the client's work per task. A killed run then loses at most the verdicts of the last
50 ms, which the next run asks for again; a key is still stored exactly once.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jurybox.errors import StoreError, redact
from jurybox.types import Task, Verdict

__all__ = ["SCHEMA", "Store", "default_store_path", "open_store"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    key TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    judge TEXT NOT NULL,
    variant TEXT NOT NULL,
    label TEXT,
    status TEXT NOT NULL,
    verdict TEXT NOT NULL,
    request TEXT NOT NULL,
    latency_s REAL NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    run_id TEXT NOT NULL,
    judge TEXT NOT NULL,
    error TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS failures_key ON failures(key);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at REAL NOT NULL,
    finished_at REAL,
    description TEXT,
    n_tasks INTEGER,
    n_cached INTEGER,
    n_done INTEGER,
    n_failed INTEGER
);
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    review_set TEXT NOT NULL,
    item TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    decision TEXT NOT NULL,
    new_label TEXT,
    reason TEXT,
    created_at REAL NOT NULL,
    replaces INTEGER
);
CREATE INDEX IF NOT EXISTS reviews_item ON reviews(review_set, item);
CREATE TABLE IF NOT EXISTS arrays (
    key TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    created_at REAL NOT NULL
);
"""


def default_store_path() -> Path:
    return Path(os.environ.get("JURYBOX_STORE", ".jurybox/verdicts.sqlite"))


@contextmanager
def open_store(store: Store | str | os.PathLike[str] | None) -> Iterator[Store]:
    """The store to use for one call: a :class:`Store` given by the caller is borrowed (left
    open), a path (or None: the default store) is opened here and closed on leaving the block."""
    if isinstance(store, Store):
        yield store
        return
    with Store(store) as st:
        yield st


class Store:
    """A verdict store at ``path`` (created if missing). Use as a context manager or call close()."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        try:
            if str(self.path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None,
                                        check_same_thread=False)
        except (sqlite3.Error, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise StoreError(f"cannot open the verdict store at {self.path}: {reason} "
                             "(choose a writable location with store= or JURYBOX_STORE)", option="store") from exc
        try:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.executescript(SCHEMA)
            # a partly damaged file opens fine and fails on the page a later query reads: look now
            problems = [r[0] for r in self.conn.execute("PRAGMA quick_check(3)").fetchall()]
            if problems != ["ok"]:
                raise sqlite3.DatabaseError("; ".join(str(p) for p in problems))
        except sqlite3.Error as exc:
            self.conn.close()
            raise self._error("open", exc) from exc
        self._lock = threading.Lock()
        self._grouped = False
        self._max_rows = 0
        self._pending_verdicts: list[tuple[Any, ...]] = []
        self._pending_failures: list[tuple[Any, ...]] = []
        self._flush_error: StoreError | None = None

    def _error(self, what: str, exc: sqlite3.Error) -> StoreError:
        """One line naming the store file and what to do about the SQLite error ``exc``."""
        reason = str(exc) or type(exc).__name__
        # the file itself is bad: SQLite's DatabaseError proper (not a closed connection, a constraint
        # or an interface misuse, which are other subclasses) or its damaged-file messages
        damaged = (type(exc) is sqlite3.DatabaseError or "malformed" in reason
                   or "not a database" in reason or "corrupt" in reason)
        if damaged:
            return StoreError(f"cannot {what} the verdict store at {self.path}: {reason}; the file is damaged: "
                              f"move it aside (mv {self.path} {self.path}.damaged) and rerun, or choose another "
                              "store (its verdicts are asked again)", option="store")
        hint = ("another process holds it; retry when it is done" if "locked" in reason or "busy" in reason
                else "choose a writable location with store= or JURYBOX_STORE")
        return StoreError(f"cannot {what} the verdict store at {self.path}: {reason} ({hint})", option="store")

    @contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise self._error("read", exc) from exc

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    # -- runs
    def start_run(self, description: str, n_tasks: int, n_cached: int) -> str:
        run_id = uuid.uuid4().hex[:16]
        self._write("INSERT INTO runs (run_id, started_at, description, n_tasks, n_cached, n_done, n_failed) "
                    "VALUES (?, ?, ?, ?, ?, 0, 0)", (run_id, time.time(), description, n_tasks, n_cached))
        return run_id

    def finish_run(self, run_id: str, n_done: int, n_failed: int, *, n_tasks: int | None = None,
                   n_cached: int | None = None) -> None:
        """Close a run's record; a streamed run also gives its task counts, known only at the end."""
        self._write("UPDATE runs SET finished_at = ?, n_done = ?, n_failed = ?, n_tasks = COALESCE(?, n_tasks), "
                    "n_cached = COALESCE(?, n_cached) WHERE run_id = ?",
                    (time.time(), n_done, n_failed, n_tasks, n_cached, run_id))

    # -- verdicts
    def get_many(self, keys: Sequence[str]) -> dict[str, Verdict]:
        out: dict[str, Verdict] = {}
        for i in range(0, len(keys), 500):
            chunk = list(keys[i:i + 500])
            q = f"SELECT key, verdict FROM verdicts WHERE key IN ({','.join('?' * len(chunk))})"
            with self._lock, self._reading():  # the connection may be committing a group in another thread
                found = self.conn.execute(q, chunk).fetchall()
            for key, blob in found:
                try:
                    out[key] = Verdict.from_dict(json.loads(blob))
                except (ValueError, TypeError, KeyError) as exc:
                    raise StoreError(f"the verdict store at {self.path} has an unreadable verdict (key {key[:12]}): "
                                     f"{exc}; move the store aside and rerun") from exc
        return out

    _PUT = ("INSERT OR IGNORE INTO verdicts (key, run_id, judge, variant, label, status, verdict, request, "
            "latency_s, prompt_tokens, completion_tokens, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")
    _PUT_FAILURE = "INSERT INTO failures (key, run_id, judge, error, created_at) VALUES (?,?,?,?,?)"

    def put(self, task: Task, verdict: Verdict, run_id: str) -> bool | None:
        """Write a verdict once. Returns False if the key was already stored (nothing changes);
        None under :meth:`group_commit`, where the row is written with the next group."""
        data = verdict.to_dict()
        if data.get("error"):
            data["error"] = redact(str(data["error"]))
        row = (task.key, run_id, task.judge_name, task.variant, verdict.label, verdict.status,
               json.dumps(data, ensure_ascii=False), task.request.json, verdict.latency_s,
               verdict.prompt_tokens, verdict.completion_tokens, time.time())
        if self._grouped:
            self._defer("verdicts", row)
            return None
        return self._write(self._PUT, row).rowcount == 1

    def put_failure(self, task: Task, error: str, run_id: str) -> None:
        row = (task.key, run_id, task.judge_name, redact(error), time.time())  # a server may echo the API key
        if self._grouped:
            self._defer("failures", row)
            return
        self._write(self._PUT_FAILURE, row)

    # -- group commit
    @contextmanager
    def group_commit(self, max_delay: float = 0.05, max_rows: int = 1024) -> Iterator[Store]:
        """Within the block, writes are committed together: every ``max_delay`` seconds (by a
        background thread) or once ``max_rows`` are waiting, and on leaving the block. A write error
        is raised by the next ``put`` or on leaving the block, never dropped."""
        if self._grouped:  # nested: the outer block commits
            yield self
            return
        self._grouped, self._max_rows = True, max_rows
        stop = threading.Event()

        def committer() -> None:
            while not stop.wait(max_delay):
                self._flush_quietly()

        thread = threading.Thread(target=committer, name="jurybox-store-commit", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()
            self._grouped = False
            self.flush()

    def flush(self) -> None:
        """Commit the writes waiting under :meth:`group_commit` (one transaction)."""
        with self._lock:
            self._flush_locked()
        self._raise_flush_error()

    def _defer(self, table: str, row: tuple[Any, ...]) -> None:
        self._raise_flush_error()
        with self._lock:  # pick the list under the lock: a commit swaps in empty ones
            (self._pending_verdicts if table == "verdicts" else self._pending_failures).append(row)
            if len(self._pending_verdicts) + len(self._pending_failures) >= self._max_rows:
                self._flush_locked()
        self._raise_flush_error()

    def _flush_quietly(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        verdicts, failures = self._pending_verdicts, self._pending_failures
        if not verdicts and not failures:
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                if verdicts:
                    self.conn.executemany(self._PUT, verdicts)
                if failures:
                    self.conn.executemany(self._PUT_FAILURE, failures)
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:  # kept (rows stay pending) and raised in the caller's thread
            self._flush_error = self._error("write", exc)
            return
        self._pending_verdicts, self._pending_failures = [], []

    def _raise_flush_error(self) -> None:
        err = self._flush_error
        if err is not None:
            self._flush_error = None
            raise err

    def failures(self, run_id: str | None = None) -> list[dict[str, Any]]:
        q = "SELECT key, run_id, judge, error, created_at FROM failures"
        args: tuple[Any, ...] = ()
        if run_id is not None:
            q += " WHERE run_id = ?"
            args = (run_id,)
        cols = ("key", "run_id", "judge", "error", "created_at")
        with self._lock, self._reading():
            found = self.conn.execute(q + " ORDER BY id", args).fetchall()
        return [dict(zip(cols, r)) for r in found]

    def pending(self, tasks: Iterable[Task]) -> tuple[list[Task], dict[str, Verdict]]:
        """The tasks whose key the store lacks (each key once, in input order) and the verdicts
        of those it has, by key."""
        unique: dict[str, Task] = {}
        for t in tasks:
            unique.setdefault(t.key, t)
        done = self.get_many(list(unique))
        return [t for k, t in unique.items() if k not in done], done

    def token_usage(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """Verdicts and tokens per (run, judge), oldest run first: ``run_id``, ``started_at`` (the
        run's start, else its first verdict's time), ``description``, ``judge``, ``n_verdicts``,
        ``prompt_tokens``, ``completion_tokens``. A verdict belongs to the run that computed it."""
        q = ("SELECT v.run_id, COALESCE(r.started_at, MIN(v.created_at)), COALESCE(r.description, ''), v.judge, "
             "COUNT(*), SUM(v.prompt_tokens), SUM(v.completion_tokens) "
             "FROM verdicts v LEFT JOIN runs r ON r.run_id = v.run_id")
        args: tuple[Any, ...] = ()
        if run_id is not None:
            q += " WHERE v.run_id = ?"
            args = (run_id,)
        q += " GROUP BY v.run_id, v.judge ORDER BY 2, v.judge"
        cols = ("run_id", "started_at", "description", "judge", "n_verdicts", "prompt_tokens", "completion_tokens")
        with self._lock, self._reading():
            found = self.conn.execute(q, args).fetchall()
        return [dict(zip(cols, r, strict=True)) for r in found]

    # -- arrays (model internals: hidden states, attention scores), keyed by the task key
    def put_arrays(self, key: str, data: bytes) -> None:
        """Store the arrays of task ``key`` (an ``.npz`` file's bytes) before its verdict: a verdict
        in the store then always has its arrays; a rerun after a kill in between replaces them."""
        self._write("INSERT OR REPLACE INTO arrays (key, data, created_at) VALUES (?, ?, ?)", (key, data, time.time()))

    def get_arrays(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The stored arrays (``.npz`` bytes) of those ``keys`` that have them."""
        out: dict[str, bytes] = {}
        for i in range(0, len(keys), 500):
            chunk = list(keys[i:i + 500])
            q = f"SELECT key, data FROM arrays WHERE key IN ({','.join('?' * len(chunk))})"
            with self._lock, self._reading():
                out.update((k, bytes(d)) for k, d in self.conn.execute(q, chunk).fetchall())
        return out

    # -- human reviews (appended, never updated: machine verdicts stay as they are)
    _REVIEW_COLS = ("id", "review_set", "item", "reviewer", "decision", "new_label", "reason", "created_at",
                    "replaces")

    def add_review(self, review_set: str, item: str, reviewer: str, decision: str, new_label: str | None = None,
                   reason: str | None = None, *, undo: bool = False) -> dict[str, Any]:
        """Append one human decision on ``item`` of ``review_set``; ``replaces`` is the id of the
        decision in force before it (for ``undo``: the decision it takes back), found and written
        in one transaction so concurrent reviewers lose nothing. Returns the row."""
        q = ("SELECT id, decision, replaces FROM reviews WHERE review_set = ? AND item = ? ORDER BY id")
        try:
            with self._lock:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    stack: list[int] = []
                    for rid, dec, rep in self.conn.execute(q, (review_set, item)).fetchall():
                        if dec == "undo":
                            if stack and stack[-1] == rep:
                                stack.pop()
                        else:
                            stack.append(rid)
                    replaces = stack[-1] if stack else None
                    if undo:
                        decision, new_label = "undo", None
                    row = (review_set, item, reviewer, decision, new_label, reason, time.time(), replaces)
                    cur = self.conn.execute("INSERT INTO reviews (review_set, item, reviewer, decision, new_label, "
                                            "reason, created_at, replaces) VALUES (?,?,?,?,?,?,?,?)", row)
                    self.conn.execute("COMMIT")
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise self._error("write", exc) from exc
        return dict(zip(self._REVIEW_COLS, (cur.lastrowid, *row), strict=True))

    def reviews(self, review_set: str | None = None) -> list[dict[str, Any]]:
        """Every review row (of ``review_set``), in the order written."""
        q = f"SELECT {', '.join(self._REVIEW_COLS)} FROM reviews"
        args: tuple[Any, ...] = ()
        if review_set is not None:
            q += " WHERE review_set = ?"
            args = (review_set,)
        with self._lock, self._reading():
            found = self.conn.execute(q + " ORDER BY id", args).fetchall()
        return [dict(zip(self._REVIEW_COLS, r, strict=True)) for r in found]

    def requests(self, run_id: str | None = None) -> Iterator[dict[str, Any]]:
        """``request``, ``variant``, ``judge``, ``run_id``, ``created_at`` and the ``verdict`` JSON of every
        stored verdict (of ``run_id``): what a report needs to show the prompt behind a verdict."""
        cols = ("request", "variant", "judge", "run_id", "created_at", "verdict")
        q = f"SELECT {', '.join(cols)} FROM verdicts"
        args: tuple[Any, ...] = ()
        if run_id is not None:
            q += " WHERE run_id = ?"
            args = (run_id,)
        with self._lock, self._reading():
            found = self.conn.execute(q + " ORDER BY created_at", args).fetchall()
        for r in found:
            yield dict(zip(cols, r, strict=True))

    def run_rows(self, run_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """The ``runs`` rows (of ``run_ids``), oldest first."""
        cols = ("run_id", "started_at", "finished_at", "description", "n_tasks", "n_cached", "n_done", "n_failed")
        q = f"SELECT {', '.join(cols)} FROM runs"
        with self._lock, self._reading():
            found = self.conn.execute(q + " ORDER BY started_at").fetchall()
        wanted = None if run_ids is None else set(run_ids)
        return [dict(zip(cols, r, strict=True)) for r in found if wanted is None or r[0] in wanted]

    def count(self) -> int:
        with self._lock, self._reading():
            return int(self.conn.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0])

    def rows(self, keys: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
        cols = ("key", "run_id", "judge", "variant", "label", "status", "verdict", "latency_s",
                "prompt_tokens", "completion_tokens", "created_at")
        q = f"SELECT {', '.join(cols)} FROM verdicts"
        if keys is None:
            with self._lock, self._reading():
                found = self.conn.execute(q).fetchall()
            for r in found:
                yield dict(zip(cols, r))
            return
        ks = list(keys)
        for i in range(0, len(ks), 500):
            chunk = ks[i:i + 500]
            with self._lock, self._reading():  # fetched under the lock, yielded outside it
                found = self.conn.execute(q + f" WHERE key IN ({','.join('?' * len(chunk))})", chunk).fetchall()
            for r in found:
                yield dict(zip(cols, r))

    def _write(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Cursor:
        try:
            with self._lock:
                return self.conn.execute(sql, args)  # autocommit: each statement is its own transaction
        except sqlite3.Error as exc:
            raise self._error("write", exc) from exc
