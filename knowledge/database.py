"""The one connection the store talks through: SQLite (a file in SWITCHBOARD_HOME, the default) or
PostgreSQL (SWITCHBOARD_DATABASE_URL, shared by several replicas).

Every query is written once, in the SQL that both dialects share (`INSERT ... ON CONFLICT`,
`RETURNING`, CTEs, `?` placeholders). The PostgreSQL side rewrites a statement mechanically before
sending it: `?` becomes `%s`, the column name `user` (a reserved word there) is quoted, and in
table definitions SQLite's types become PostgreSQL's (`id INTEGER PRIMARY KEY` an identity column,
`INTEGER` BIGINT, `REAL` DOUBLE PRECISION, `BLOB` BYTEA). What cannot be shared (triggers, SQLite's
full-text table) is written per dialect in the migrations, which branch on `db.dialect`.

Why not an ORM or a query builder: the store's queries are already plain SQL in the common subset,
and the parts that differ (triggers, FTS5, locking) would stay per dialect under any library; a
rewrite of every query would add a layer without removing one of them.

Writes are serialized the same way in both: `begin()` opens a transaction that no other writer can
run beside. SQLite does that with `BEGIN IMMEDIATE`; PostgreSQL with a transaction-scoped advisory
lock taken first thing, held until commit or rollback, across every replica. So a read-check-write
inside a transaction means the same on both (the claims that make an event answered once rest on
it), and the change log's sequence numbers become visible in the order they were given, which is
what lets a replica follow the log by "everything after my cursor". A write statement sent outside
a transaction takes the same lock on its own.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, Protocol

from sqlite_utils import Database as SqliteUtilsDatabase

from knowledge.errors import DatabaseUnavailable

# Any 64-bit key: every write transaction of every replica takes this one advisory lock.
WRITE_LOCK = 0x5357_4254_4348  # "SWBTCH"


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Database(ABC):
    """What the store needs of a connection. Not thread-safe: the store guards it with a lock."""

    dialect: str
    url: str

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement; its cursor (rows as tuples)."""

    @abstractmethod
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """The rows of a query, as dicts."""

    @abstractmethod
    def begin(self) -> None:
        """Open a write transaction, serialized with every other writer of this database."""

    @abstractmethod
    def commit(self) -> None:
        """End the transaction, keeping its writes."""

    @abstractmethod
    def rollback(self) -> None:
        """End the transaction, dropping its writes."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection."""


class SQLiteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection, url: str = "sqlite://") -> None:
        self.conn = conn
        self.url = url
        self.utils = SqliteUtilsDatabase(conn)

    @classmethod
    def open(cls, path: str) -> SQLiteDatabase:
        conn = sqlite3.connect(path, check_same_thread=False, timeout=30.0, isolation_level=None)
        if path != ":memory:":
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return cls(conn, f"sqlite:///{path}")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.utils.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return list(self.utils.query(sql, params))

    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.conn.close()


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        import psycopg  # only needed when a PostgreSQL URL is given
        from psycopg.rows import dict_row

        self._psycopg = psycopg
        self._dict_row = dict_row
        self.url = url
        self._in_transaction = False
        self._mutex = threading.RLock()
        self.conn = self._connect()

    def _connect(self) -> Any:
        try:
            conn = self._psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except self._psycopg.OperationalError as error:
            raise DatabaseUnavailable(
                f"Cannot connect to PostgreSQL at {redact_url(self.url)}: "
                f"{str(error).strip().splitlines()[-1]}") from None
        conn.execute("SET TIME ZONE 'UTC'")
        # Like SQLite's 30 s busy timeout: a writer waits that long for the write lock, then
        # fails (the caller's retry or the next tick tries again) instead of hanging. A replica
        # frozen inside a transaction (a network partition, a stopped process) loses it, and the
        # lock with it, after a minute, so it cannot stall the others.
        conn.execute("SET lock_timeout = '30s'")
        conn.execute("SET idle_in_transaction_session_timeout = '60s'")
        return conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        with self._mutex:
            if self._in_transaction or not _writes(sql):
                return self._run(lambda: self.conn.execute(to_postgres(sql), _values(params)))
            self.begin()
            try:
                cursor = self.conn.execute(to_postgres(sql), _values(params))
                rows = cursor.fetchall() if cursor.description else []
            except BaseException:
                self.rollback()
                raise
            self.commit()
            return _Done(cursor.rowcount, rows)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._mutex:
            statement = to_postgres(sql)
            values = [_values(row) for row in rows]
            if not values:
                return
            if self._in_transaction:
                self.conn.cursor().executemany(statement, values)
                return
            self.begin()
            try:
                self.conn.cursor().executemany(statement, values)
            except BaseException:
                self.rollback()
                raise
            self.commit()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._mutex:
            return self._run(lambda: self.conn.cursor(row_factory=self._dict_row).execute(
                to_postgres(sql), _values(params)).fetchall())

    def _run(self, work: Any) -> Any:
        """Run `work`; outside a transaction, once more on a fresh connection if the server
        dropped this one (a restart or failover of PostgreSQL)."""
        try:
            return work()
        except self._psycopg.OperationalError:
            if self._in_transaction or not self.conn.closed:
                raise
            self.conn = self._connect()
            return work()

    def begin(self) -> None:
        with self._mutex:
            if self.conn.closed:
                self.conn = self._connect()
            self.conn.execute("BEGIN")
            self._in_transaction = True
            try:
                self.conn.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])
            except BaseException:
                self.rollback()
                raise

    def commit(self) -> None:
        with self._mutex:
            try:
                self.conn.execute("COMMIT")
            finally:
                self._in_transaction = False

    def rollback(self) -> None:
        with self._mutex:
            self._in_transaction = False
            if not self.conn.closed:
                self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()


class _Done:
    """The cursor of a statement already run and committed (its rows read before the commit)."""

    def __init__(self, rowcount: int, rows: list[Any]) -> None:
        self.rowcount = rowcount
        self._rows = rows

    def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows


def redact_url(url: str) -> str:
    """`url` without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def connect(url: str) -> Database:
    """The database at `url`: `postgresql://...`, `sqlite:///path` or a bare file path."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresDatabase(url)
    if url.startswith("sqlite:///"):
        url = url.removeprefix("sqlite:///")
    return SQLiteDatabase.open(url)


def _values(params: Sequence[Any]) -> list[Any]:
    # SQLite keeps booleans as 0/1 in INTEGER columns; PostgreSQL would refuse a boolean there.
    return [int(p) if isinstance(p, bool) else p for p in params]


_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|CREATE|ALTER|DROP)\b", re.IGNORECASE)


def _writes(sql: str) -> bool:
    return _WRITES.match(sql) is not None


# Literals and quoted names are left alone; the rest is rewritten.
_PIECES = re.compile(r"('(?:[^']|'')*'|\"[^\"]*\")")
_TABLE_DDL = re.compile(r"\s*(CREATE\s+TABLE|ALTER\s+TABLE)\b", re.IGNORECASE)
_DDL_TYPES = [
    (re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b", re.IGNORECASE),
     "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bid\s+INTEGER\s+PRIMARY\s+KEY\b", re.IGNORECASE),
     "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b", re.IGNORECASE), "BIGINT"),
    (re.compile(r"\bREAL\b", re.IGNORECASE), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b", re.IGNORECASE), "BYTEA"),
]
_USER = re.compile(r"\buser\b")


@lru_cache(maxsize=2048)
def to_postgres(sql: str) -> str:
    """`sql`, written for both dialects with `?` placeholders, as PostgreSQL (psycopg) takes it."""
    table_ddl = _TABLE_DDL.match(sql) is not None
    out = []
    for piece in _PIECES.split(sql):
        if piece.startswith(("'", '"')):
            out.append(piece.replace("%", "%%"))
            continue
        piece = piece.replace("%", "%%").replace("?", "%s")
        piece = _USER.sub('"user"', piece)
        if table_ddl:
            for pattern, replacement in _DDL_TYPES:
                piece = pattern.sub(replacement, piece)
        out.append(piece)
    return "".join(out)
