"""The local state store: one SQLite file (stdlib sqlite3, WAL).

It holds what a sync needs from the last one: the ticket count of the last
good sync (for the drop guard), run history, per-source key/value entries
(cursors, field caches), a per-source ticket cache, the sheet's `Set lever`
choices and the label write-backs made from them.  Everything a sync
changes is written in one transaction, after the sink succeeded; a label
write-back alone is recorded around its own request (intent, then done).
"""
from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import zlib
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sync.core.errors import AlreadyRunning, ConfigError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started TEXT NOT NULL, finished TEXT NOT NULL,
    ok INTEGER NOT NULL, tickets INTEGER, error TEXT);
CREATE TABLE IF NOT EXISTS kv (
    source TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (source, key));
CREATE TABLE IF NOT EXISTS tickets (
    source TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (source, key));
"""


class PackedTexts(Mapping):
    """Ticket texts (issue JSON) for the cache, held zlib-compressed until the
    commit writes them: a full fetch's texts would otherwise sit in memory
    through the whole sync, beside everything it builds (the latency
    benchmark's issues: 2.2 kB of JSON each, 1 kB packed; 100k of them)."""

    def __init__(self):
        self._packed: dict[str, bytes] = {}

    @staticmethod
    def pack(text: str) -> bytes:
        return zlib.compress(text.encode(), 1)     # level 1, the fastest: JSON still packs to under half

    def put(self, key: str, packed: bytes) -> None:
        self._packed[key] = packed

    def __getitem__(self, key: str) -> str:
        return zlib.decompress(self._packed[key]).decode()

    def __iter__(self):
        return iter(self._packed)

    def __len__(self) -> int:
        return len(self._packed)


@dataclass
class Pending:
    """What a sync will commit once the sink has written."""
    kv: dict[tuple[str, str], str] = field(default_factory=dict)
    tickets: dict[str, dict[str, str]] = field(default_factory=dict)   # source → key → json
    # source → (key → json to write, keys to drop): an incremental sync's changes only
    changes: dict[str, tuple[dict[str, str], set[str]]] = field(default_factory=dict)


# kv "sources" of align-sync's own entries (a source's name never has the colon-prefix).
CHOICES = "align-sync:sheet"
WRITEBACK = "align-sync:writeback:"


class State:
    def __init__(self, path: str | Path, readonly: bool = False):
        """`readonly` (dry runs) never creates or changes the file."""
        self.path = Path(path)
        try:
            if readonly:
                exists = self.path.exists()
                self.db = sqlite3.connect(f"file:{self.path}?mode=ro" if exists else ":memory:",
                                          uri=exists, timeout=10)
                if not exists:
                    self.db.executescript(_SCHEMA)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.db = sqlite3.connect(self.path, timeout=10)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.executescript(_SCHEMA)
            # A file that is not SQLite opens fine and fails at the first query.
            self.db.execute("SELECT count(*) FROM runs").fetchone()
        except (OSError, sqlite3.OperationalError) as exc:
            raise ConfigError(f"state: cannot open {self.path}: {exc}",
                              hint="`state:` must be a writable file path")
        except sqlite3.Error as exc:
            raise ConfigError(f"state: {self.path} is not an align-sync state file ({exc})",
                              hint="move it away (a new one is made) or point `state:` elsewhere")
        self.pending = Pending()

    def close(self) -> None:
        self.db.close()

    def get(self, source: str, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM kv WHERE source=? AND key=?", (source, key)).fetchone()
        return row[0] if row else None

    def get_json(self, source: str, key: str):
        raw = self.get(source, key)
        return json.loads(raw) if raw is not None else None

    def stage(self, source: str, key: str, value) -> None:
        """Remember a value to commit with this sync (not before)."""
        self.pending.kv[(source, key)] = value if isinstance(value, str) else json.dumps(value)

    def cached(self, source: str, key: str, now, ttl, load, accept=lambda value: True):
        """A value kept for `ttl` (a server's kind, field ids, a board index):
        the stored one while it is younger than `ttl` and `accept`s, else
        `load()`'s, staged with the time it was read.  Tracker metadata
        changes rarely; reading it once a day leaves a sync's requests to
        the tickets."""
        entry = self.get_json(source, key)
        if _young(entry, now, ttl) and accept(entry["value"]):
            return entry["value"]
        value = load()
        self.stage(source, key, {"at": now.isoformat(), "value": value})
        return value

    def fresh(self, source: str, key: str, now, ttl) -> bool:
        """Whether `cached` would answer from the store (its `accept` aside)."""
        return _young(self.get_json(source, key), now, ttl)

    def put(self, source: str, key: str, value) -> None:
        """Write one value now, in its own transaction (a review delivery)."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO kv VALUES (?,?,?)",
                            (source, key, value if isinstance(value, str) else json.dumps(value)))

    # -- the sheet's choices and their write-back (sync.core.assess.choices) -------

    def kept_choices(self) -> dict[str, str]:
        """`Set lever` choices by ticket key, as the last good sync left them."""
        kept = self.get_json(CHOICES, "choices")
        return kept if isinstance(kept, dict) else {}

    def stage_choices(self, chosen: dict[str, str]) -> None:
        self.stage(CHOICES, "choices", chosen)

    def label_writes(self, source: str) -> dict[str, dict]:
        """Label write-backs of a source by ticket key: {"choice", "status", "reason"}."""
        with closing(self.db.execute("SELECT key, value FROM kv WHERE source=?",
                                     (WRITEBACK + source,))) as cur:
            return {k: json.loads(v) for k, v in cur.fetchall()}

    def record_label_write(self, source: str, key: str, choice: str, status: str,
                           reason: str = "") -> None:
        """At once, in its own transaction: `intent` before the request, then
        `done` or `failed`, so a crash between them is seen at the next sync."""
        self.put(WRITEBACK + source, key, {"choice": choice, "status": status, "reason": reason[:500]})

    def cached_tickets(self, source: str) -> dict[str, str]:
        with closing(self.db.execute("SELECT key, data FROM tickets WHERE source=?", (source,))) as cur:
            return dict(cur.fetchall())

    def stage_tickets(self, source: str, tickets: Mapping[str, str]) -> None:
        self.pending.tickets[source] = tickets

    def stage_ticket_changes(self, source: str, changed: dict[str, str], gone: set[str]) -> None:
        """The cache as it was, with these written and those dropped: a quiet
        sync rewrites a handful of rows, not 10k (23 MB) of them."""
        self.pending.changes[source] = (changed, gone)

    def last_count(self) -> int | None:
        row = self.db.execute("SELECT tickets FROM runs WHERE ok=1 ORDER BY id DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def runs(self, limit: int = 10) -> list[tuple]:
        return self.db.execute("SELECT started, finished, ok, tickets, error FROM runs "
                               "ORDER BY id DESC LIMIT ?", (limit,)).fetchall()

    def commit(self, started: datetime, finished: datetime, tickets: int) -> None:
        """A good sync: its run, every staged value and ticket cache, atomically."""
        with self.db:
            self.db.execute("INSERT INTO runs (started, finished, ok, tickets) VALUES (?,?,1,?)",
                            (started.isoformat(), finished.isoformat(), tickets))
            self.db.executemany("INSERT OR REPLACE INTO kv VALUES (?,?,?)",
                                [(s, k, v) for (s, k), v in self.pending.kv.items()])
            for source, cache in self.pending.tickets.items():
                self.db.execute("DELETE FROM tickets WHERE source=?", (source,))
                # One row at a time: a packed cache is unpacked as it is written.
                self.db.executemany("INSERT INTO tickets VALUES (?,?,?)",
                                    ((source, k, v) for k, v in cache.items()))
            for source, (changed, gone) in self.pending.changes.items():
                self.db.executemany("DELETE FROM tickets WHERE source=? AND key=?",
                                    [(source, k) for k in gone])
                self.db.executemany("INSERT OR REPLACE INTO tickets VALUES (?,?,?)",
                                    [(source, k, v) for k, v in changed.items()])
        self.pending = Pending()

    def record_failure(self, started: datetime, finished: datetime, error: str) -> None:
        with self.db:
            self.db.execute("INSERT INTO runs (started, finished, ok, error) VALUES (?,?,0,?)",
                            (started.isoformat(), finished.isoformat(), error[:2000]))
        self.pending = Pending()


class StateLock:
    """An exclusive, non-blocking flock on `<state>.lock`; released on exit."""

    def __init__(self, state_path: str):
        self.path = Path(f"{state_path}.lock")

    def acquire(self) -> "StateLock":
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConfigError(f"state: cannot create the lock file {self.path}: {exc.strerror}",
                              hint="`state:` must be a path in a writable folder")
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self.fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(self.fd)
            raise AlreadyRunning(f"another align-sync (pid {holder}) is already running on state "
                                 f"{self.path.with_suffix('')}; refusing to start a second one",
                                 hint="stop it first, or give this one its own `state:` path")
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, str(os.getpid()).encode(), 0)
        return self

    def release(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _young(entry, now, ttl) -> bool:
    return bool(entry) and now - datetime.fromisoformat(entry["at"]) < ttl
