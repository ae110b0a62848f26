"""Copy a SQLite home's database into PostgreSQL (`switchboard migrate --to postgresql://...`).

Both ends are opened as stores first, so both have the same schema (every migration applied).
Then every table is copied, parents before children, in one PostgreSQL transaction: a row that
PostgreSQL refuses rolls the whole copy back, and the error names the table and the row. A row
already there (same key) is updated to the source's values, so running it again brings the copy
up to date and never duplicates anything. Afterwards the row count of every table must match.

Not copied: what belongs to one database or is derived from it. The change log and its followers
(the destination's triggers log every row copied, so a replica's indexes are built from scratch
there), SQLite's full-text table, and the database's identity in `meta` (indexes saved for the
SQLite file are refused by the new database and rebuilt).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from typing import Any

from knowledge.errors import SwitchboardError
from knowledge.store import Store

SKIPPED_TABLES = frozenset({"_migrations", "index_changes", "change_followers"})
LOCAL_META = ("database_id", "changes_pruned_through")
BATCH = 500


class TransferFailed(SwitchboardError):
    """The copy was refused; nothing was written to the destination."""


@dataclass
class Transfer:
    """What a copy did: rows per table at the source, and at the destination afterwards."""

    source: dict[str, int] = field(default_factory=dict)
    destination: dict[str, int] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return self.source == self.destination

    @property
    def rows(self) -> int:
        return sum(self.source.values())


def copy_store(source: Store, destination: Store,
               progress: Callable[[str, int, int], None] | None = None) -> Transfer:
    """Copy every table of `source` (SQLite) into `destination` (PostgreSQL), verified by counts."""
    if source.dialect != "sqlite" or destination.dialect != "postgresql":
        raise TransferFailed("migrate copies a SQLite database into PostgreSQL.")
    tables = _tables_in_order(source)
    result = Transfer()
    with destination.transaction():
        for table in tables:
            columns, keys = _columns(source, table)
            where, params = _selection(table)
            total = source.query(f"SELECT count(*) AS n FROM {table}{where}", params)[0]["n"]
            result.source[table] = total
            insert = _upsert(table, columns, keys)
            done = 0
            for batch in _batches(source, table, columns, keys, where, params):
                try:
                    destination.db.executemany(insert, batch)
                except Exception as error:  # the driver's error, with the table and rows named
                    first = batch[0]
                    raise TransferFailed(
                        f"PostgreSQL refused a row of {table} (a batch starting at key "
                        f"{_key_of(first, columns, keys)}): {error}. Nothing was copied."
                    ) from error
                done += len(batch)
                if progress:
                    progress(table, done, total)
            _advance_identity(destination, table, columns)
        for table in tables:
            where, params = _selection(table)
            result.destination[table] = destination.query(
                f"SELECT count(*) AS n FROM {table}{where}", params)[0]["n"]
        if not result.verified:
            differ = [f"{t}: {result.source[t]} here, {result.destination[t]} there"
                      for t in tables if result.source[t] != result.destination[t]]
            raise TransferFailed(
                "The copy does not match the source (" + "; ".join(differ) + "): the "
                "destination holds rows the source does not. Nothing was copied.")
    return result


def _tables_in_order(source: Store) -> list[str]:
    """Every table to copy, each after the tables its foreign keys point at."""
    names = [
        r["name"] for r in source.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'entries_fts%' ORDER BY name")
        if r["name"] not in SKIPPED_TABLES
    ]
    graph = {
        name: {r["table"] for r in source.query(f"PRAGMA foreign_key_list({name})")} - {name}
        for name in names
    }
    return list(TopologicalSorter(graph).static_order())


def _columns(source: Store, table: str) -> tuple[list[str], list[str]]:
    info = source.query(f"PRAGMA table_info({table})")
    columns = [r["name"] for r in info]
    keys = [r["name"] for r in sorted(info, key=lambda r: r["pk"]) if r["pk"]]
    if not keys:
        raise TransferFailed(f"The table {table} has no primary key, so a re-run could "
                             "duplicate it.")
    return columns, keys


def _selection(table: str) -> tuple[str, list[Any]]:
    if table == "meta":
        return f" WHERE key NOT IN ({', '.join('?' * len(LOCAL_META))})", list(LOCAL_META)
    return "", []


def _upsert(table: str, columns: list[str], keys: list[str]) -> str:
    names = ", ".join(columns)
    marks = ", ".join("?" * len(columns))
    rest = [c for c in columns if c not in keys]
    conflict = ", ".join(keys)
    action = ("DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in rest)) if rest else (
        "DO NOTHING")
    return f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT ({conflict}) {action}"


def _batches(source: Store, table: str, columns: list[str], keys: list[str], where: str,
             params: list[Any]) -> Any:
    """The table's rows in key order, BATCH at a time (never all in memory): after the last key
    seen when the key is one column, else by offset (only small tables have composite keys)."""
    order = ", ".join(keys)
    select = f"SELECT {', '.join(columns)} FROM {table}{where}"
    joiner = " AND " if where else " WHERE "
    last: Any = None
    offset = 0
    while True:
        if len(keys) == 1:
            after = f"{joiner}{keys[0]} > ?" if last is not None else ""
            rows = source.query(f"{select}{after} ORDER BY {order} LIMIT ?",
                                [*params, *([last] if last is not None else []), BATCH])
        else:
            rows = source.query(f"{select} ORDER BY {order} LIMIT ? OFFSET ?",
                                [*params, BATCH, offset])
        if not rows:
            return
        yield [tuple(row[c] for c in columns) for row in rows]
        offset += len(rows)
        last = rows[-1][keys[0]]


def _key_of(row: tuple[Any, ...], columns: list[str], keys: list[str]) -> str:
    return ", ".join(f"{k}={row[columns.index(k)]!r}" for k in keys)


def _advance_identity(destination: Store, table: str, columns: list[str]) -> None:
    """Rows copied with their ids: the next id PostgreSQL hands out must come after them."""
    if "id" not in columns:
        return
    [row] = destination.query("SELECT pg_get_serial_sequence(?, 'id') AS seq", [table])
    if row["seq"] is None:
        return
    destination.db.execute(
        f"SELECT setval(CAST(? AS regclass), (SELECT coalesce(max(id), 0) + 1 FROM {table}), "
        "false)", [row["seq"]])
