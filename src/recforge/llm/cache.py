"""A durable response cache in SQLite: a killed stage resumes without re-sending completed requests.

Every response is committed as soon as it arrives, so a SIGKILL loses at most the requests in flight.
WAL mode plus a busy timeout makes concurrent writers (several jobs, or threads) safe: writes are
serialised by SQLite, and `INSERT OR IGNORE` makes a duplicate write of the same key a no-op.

The key is a SHA-256 of the request content and the backend identity (backend, model and the settings
that change outputs). It never contains credentials: backends expose an `identity()` that holds no
secret, and nothing else of the backend reaches the key.

Keep one cache file per stage on cluster file systems: SQLite's WAL needs shared memory, which works
between processes of one node but not across NFS clients.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from recforge.llm.types import GenerationRequest

KEY_VERSION = 1  # bump to invalidate every cached response (e.g. after a change in key semantics)


def request_key(request: GenerationRequest, identity: Mapping[str, Any], uses_context: bool) -> str:
    """Content hash of what determines a response."""
    payload = {
        "v": KEY_VERSION,
        "identity": dict(identity),
        "task": request.task,
        "messages": list(request.messages),
        "sampling": request.sampling.as_dict(),
        "schema": request.response_schema,
        # Context only for backends that read it (heuristic); an LLM sees only the messages.
        "context": request.context if uses_context else None,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    def __init__(self, path: str | Path, timeout_s: float = 120.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # isolation_level=None: autocommit; each put is its own transaction, committed on return.
        self._db = sqlite3.connect(
            self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable against process kills in WAL mode
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses ("
            " key TEXT PRIMARY KEY, backend TEXT NOT NULL, model TEXT NOT NULL, task TEXT NOT NULL,"
            " record TEXT NOT NULL, created REAL NOT NULL DEFAULT (julianday('now')))"
        )

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = list(dict.fromkeys(keys))
        found: dict[str, dict[str, Any]] = {}
        with self._lock:
            for start in range(0, len(keys), 500):  # stay under SQLite's bound-parameter limit
                chunk = keys[start : start + 500]
                rows = self._db.execute(
                    f"SELECT key, record FROM responses WHERE key IN ({','.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
                found.update((k, json.loads(r)) for k, r in rows)
        return found

    def put(self, key: str, task: str, record: Mapping[str, Any]) -> None:
        self.put_many([(key, task, record)])

    def put_many(self, rows: Iterable[tuple[str, str, Mapping[str, Any]]]) -> None:
        values = [
            (key, record["backend"], record["model"], task, json.dumps(record, ensure_ascii=False))
            for key, task, record in rows
        ]
        if not values:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR IGNORE INTO responses (key, backend, model, task, record)"
                    " VALUES (?, ?, ?, ?, ?)",
                    values,
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "ResponseCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
