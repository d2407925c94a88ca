"""Failed logins, throttled: per (account, client address) and per client address, on every password path.

After `failures` failed passwords for one account from one address (or `failures_per_address` from one
address, whatever the accounts), that key waits `wait_s`, doubled by each further failure up to
`wait_max_s`; an attempt during the wait is refused before any password is hashed. A success clears
its (account, address) key, never the address's own (an attacker's own account must not wipe it).
Failures are forgotten an hour after the last one (or after wait_max_s, if longer).

The state is one SQLite file in the accounts folder (DATA_DIR/logins.sqlite, owner-only), shared by
every worker and sink reading those accounts and by `p06 users throttles|unthrottle`: a guess costs as
much at one service as at the other, a restart does not clear a throttle, and an operator's clear
takes effect at once everywhere. Only failures write; a check is one indexed read.
"""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .accounts import NAME

THROTTLE_FILE = "logins.sqlite"
FORGET_S = 3600.0
ANY_ACCOUNT = ""  # the account column of a per-address row
NOT_A_NAME = "?"  # every name that cannot be an account's (the empty one included) shares this key


def _account_key(name: str) -> str:
    return name if NAME.match(name) else NOT_A_NAME


SCHEMA = """CREATE TABLE IF NOT EXISTS throttle (
    account TEXT NOT NULL, address TEXT NOT NULL, failures INTEGER NOT NULL,
    last_failure REAL NOT NULL, until REAL NOT NULL, PRIMARY KEY (account, address))"""


@dataclass(frozen=True)
class Limits:
    failures: int = 10
    failures_per_address: int = 30
    wait_s: float = 30.0
    wait_max_s: float = 900.0

    def wait(self, failures: int, limit: int) -> float:
        """How long a key with this many failures waits (0 below the limit), doubling past it."""
        if failures < limit:
            return 0.0
        return min(self.wait_max_s, self.wait_s * 2.0 ** min(failures - limit, 64))

    @property
    def forget_s(self) -> float:
        return max(FORGET_S, self.wait_max_s)


@dataclass(frozen=True)
class Throttled:
    """A refused attempt: retry after this many whole seconds (the Retry-After header)."""

    retry_after_s: int


@dataclass(frozen=True)
class Entry:
    """A row for `p06 users throttles`: account '' is the address's own count, whatever the account."""

    account: str
    address: str
    failures: int
    last_failure: float
    wait_s: float  # left to wait now; 0 when not (or no longer) throttled


class Throttle:
    """The throttle state of one accounts folder (see the module's note)."""

    def __init__(self, folder: Path, limits: Limits) -> None:
        self.path = folder / THROTTLE_FILE
        self.limits = limits
        # Two connections: the writer's (failures, successes, clears: may wait for another process's write),
        # and the reader's, which never waits for a writer (WAL), so the event loop may check a throttle.
        self._lock, self._read_lock = threading.Lock(), threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():  # owner-only before SQLite opens it (its -wal and -shm files take its mode)
            with contextlib.suppress(FileExistsError):
                # only a file no connection has open: closing any descriptor of an open SQLite file would drop
                # this process's locks on it, and another process could then delete the WAL under our feet
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer (its -wal file: 0600 too)
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(SCHEMA)
        return db

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = self._open()
        return self._db

    def _read(self) -> sqlite3.Connection:
        if self._reader is None:
            self._reader = self._open()
        return self._reader

    def wait(self, account: str, address: str) -> Throttled | None:
        """Throttled while (account, address) or address waits; None when an attempt may be checked."""
        now, account = time.time(), _account_key(account)
        with self._read_lock:
            (until,) = (
                self._read()
                .execute(
                    "SELECT max(until) FROM throttle WHERE address = ? AND account IN (?, ?) AND last_failure > ?",
                    (address, account, ANY_ACCOUNT, now - self.limits.forget_s),
                )
                .fetchone()
            )
        left = (until or 0.0) - now
        return Throttled(max(1, math.ceil(left))) if left > 0 else None

    def failed(self, account: str, address: str) -> None:
        """One more failure for (account, address) and for address; their waits grow past the limits."""
        now, limits = time.time(), self.limits
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")  # read-modify-write, atomic among the processes sharing the file
            try:
                db.execute("DELETE FROM throttle WHERE last_failure <= ?", (now - limits.forget_s,))
                self._count(db, _account_key(account), address, limits.failures, now)
                self._count(db, ANY_ACCOUNT, address, limits.failures_per_address, now)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _count(self, db: sqlite3.Connection, account: str, address: str, limit: int, now: float) -> None:
        row = db.execute(
            "SELECT failures FROM throttle WHERE account = ? AND address = ?", (account, address)
        ).fetchone()
        failures = (row[0] if row else 0) + 1
        wait = self.limits.wait(failures, limit)
        db.execute(
            "INSERT OR REPLACE INTO throttle VALUES (?, ?, ?, ?, ?)",
            (account, address, failures, now, now + wait if wait else 0.0),
        )

    def succeeded(self, account: str, address: str) -> None:
        with self._lock:
            self._conn().execute(
                "DELETE FROM throttle WHERE account = ? AND address = ?", (_account_key(account), address)
            )

    def entries(self) -> list[Entry]:
        """Every key with failures not yet forgotten, the ones waiting longest first."""
        now = time.time()
        with self._lock:
            rows = (
                self._conn()
                .execute(
                    "SELECT account, address, failures, last_failure, until FROM throttle WHERE last_failure > ?"
                    " ORDER BY until DESC, failures DESC",
                    (now - self.limits.forget_s,),
                )
                .fetchall()
            )
        return [Entry(a, addr, n, last, max(0.0, until - now)) for a, addr, n, last, until in rows]

    def clear(self, account: str | None = None, address: str | None = None) -> int:
        """Forget the failures of an account (every address), of an address (its own count and every
        account's from it), or of that pair; returns how many keys were cleared."""
        if account is None and address is None:
            raise ValueError("name an account, an address or both")
        where, args = [], []
        if account is not None:
            where.append("account = ?")
            args.append(account)
        if address is not None:
            where.append("address = ?")
            args.append(address)
        with self._lock:
            cursor = self._conn().execute(f"DELETE FROM throttle WHERE {' AND '.join(where)}", args)
        return cursor.rowcount
