"""Run prebuilt Core statements straight on SQLite's DB-API cursor.

The statements stay SQLAlchemy Core objects (one definition, portable): on PostgreSQL they run
through SQLAlchemy as usual. On SQLite, where a scan is a handful of statements of ~15 us
each, SQLAlchemy's per-execution machinery (~60-100 us a statement here, measured with
benchmarks/run.py) would be most of the cost, so each statement is compiled once for the
SQLite dialect and executed on the same connection, inside the same transaction, with the
values converted exactly as SQLAlchemy's SQLite types store them (so rows written either way
read back and sort the same).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Boolean, Connection, Date, DateTime, Delete, Insert, Select, Table, Update
from sqlalchemy.sql.compiler import SQLCompiler

# What an engine action runs through a Runner: Core statements on the models' tables.
Statement = Select[Any] | Insert | Update | Delete

ENABLED = True
"""Tests turn this off to run the engine through SQLAlchemy alone (the PostgreSQL path)."""

# SQLAlchemy's SQLite DATETIME storage format (sqlalchemy.dialects.sqlite.DATETIME).
_DT_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def _bind(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime(_DT_FORMAT)
    if isinstance(value, date):
        return value.isoformat()
    return value


bind_value = _bind
"""A Python value as SQLAlchemy's SQLite types store it (for callers writing raw rows)."""


def _to_datetime(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _to_date(value: Any) -> Any:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _to_bool(value: Any) -> Any:
    return bool(value) if value is not None else None


def converters(*tables: Table) -> dict[str, Callable[[Any], Any]]:
    """Result-column converters by column name, from the tables' column types."""
    out: dict[str, Callable[[Any], Any]] = {}
    for table in tables:
        for col in table.columns:
            if isinstance(col.type, DateTime):
                out[col.name] = _to_datetime
            elif isinstance(col.type, Date):
                out[col.name] = _to_date
            elif isinstance(col.type, Boolean):
                out[col.name] = _to_bool
    return out


class Runner:
    """Executes statements for one connection: raw on SQLite, through SQLAlchemy elsewhere."""

    _compiled: dict[tuple[int, frozenset[str] | None], tuple[str, Sequence[str], dict[str, Any], Statement]] = {}

    def __init__(self, conn: Connection, convert: dict[str, Callable[[Any], Any]]) -> None:
        self.conn = conn
        self.convert = convert
        self.raw = conn.connection.driver_connection if ENABLED and conn.dialect.name == "sqlite" else None

    def _sql(self, stmt: Statement, keys: frozenset[str] | None) -> tuple[str, Sequence[str], dict[str, Any]]:
        """SQL text, parameter order, and the values of literals bound in the statement."""
        cache_key = (id(stmt), keys)
        hit = self._compiled.get(cache_key)
        if hit is None or hit[3] is not stmt:
            compiled = cast(SQLCompiler, stmt.compile(dialect=self.conn.dialect,
                                                      column_keys=sorted(keys) if keys is not None else None))
            fixed = {k: _bind(v) for k, v in compiled.params.items() if v is not None}
            hit = (compiled.string, tuple(compiled.positiontup or ()), fixed, stmt)
            self._compiled[cache_key] = hit
        return hit[0], hit[1], hit[2]

    def _args(self, names: Sequence[str], fixed: dict[str, Any], params: dict[str, Any]) -> list[Any]:
        return [_bind(params[n]) if n in params else fixed[n] for n in names]

    def rows(self, stmt: Statement, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.raw is None:
            return [dict(r._mapping) for r in self.conn.execute(stmt, params)]
        sql, names, fixed = self._sql(stmt, None)
        cur = self.raw.execute(sql, self._args(names, fixed, params))
        cols = [d[0] for d in cur.description]
        conv = [self.convert.get(c) for c in cols]
        return [{c: (f(v) if f is not None else v) for c, f, v in zip(cols, conv, row, strict=True)}
                for row in cur.fetchall()]

    def rows_in(self, stmt: Statement, name: str, values: Sequence[Any]) -> list[dict[str, Any]]:
        """``rows`` of a statement whose one parameter ``name`` is an expanding IN list."""
        if self.raw is None:
            return [dict(r._mapping) for r in self.conn.execute(stmt, {name: list(values)})]
        sql, names, _ = self._sql(stmt, None)
        if not values:
            return []
        sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join("?" * len(values)))
        cur = self.raw.execute(sql, [_bind(v) for v in values])
        cols = [d[0] for d in cur.description]
        conv = [self.convert.get(c) for c in cols]
        return [{c: (f(v) if f is not None else v) for c, f, v in zip(cols, conv, row, strict=True)}
                for row in cur.fetchall()]

    def first(self, stmt: Statement, params: dict[str, Any]) -> dict[str, Any] | None:
        rows = self.rows(stmt, params)
        return rows[0] if rows else None

    def write(self, stmt: Statement, params: dict[str, Any]) -> int:
        """An UPDATE/DELETE with bound parameters; returns the row count."""
        if self.raw is None:
            return self.conn.execute(stmt, params).rowcount
        sql, names, fixed = self._sql(stmt, None)
        return self.raw.execute(sql, self._args(names, fixed, params)).rowcount

    def write_many(self, stmt: Statement, params: list[dict[str, Any]]) -> int:
        """One UPDATE run for every parameter set (executemany); returns the total row count."""
        if not params:
            return 0
        if self.raw is None:
            return self.conn.execute(stmt, params).rowcount
        sql, names, fixed = self._sql(stmt, None)
        return self.raw.executemany(sql, [self._args(names, fixed, p) for p in params]).rowcount

    def insert_many(self, stmt: Statement, rows: list[dict[str, Any]]) -> None:
        """One INSERT run for every row (executemany); the rows all have the same keys."""
        if not rows:
            return
        if self.raw is None:
            self.conn.execute(stmt, rows)
            return
        sql, names, fixed = self._sql(stmt, frozenset(rows[0]))
        if len(names) != len(rows[0]):
            defaults = _defaults(stmt)
            rows = [{**defaults, **r} for r in rows]
        self.raw.executemany(sql, [self._args(names, fixed, r) for r in rows])

    def insert(self, stmt: Statement, values: dict[str, Any]) -> int:
        """An INSERT of ``values``; returns the new primary key."""
        if self.raw is None:
            return self.conn.execute(stmt, values).inserted_primary_key[0]  # type: ignore[index]
        sql, names, fixed = self._sql(stmt, frozenset(values))
        if len(names) != len(values):  # columns with Python-side defaults SQLAlchemy would fill
            values = {**_defaults(stmt), **values}
        return self.raw.execute(sql, self._args(names, fixed, values)).lastrowid


def _defaults(stmt: Any) -> dict[str, Any]:
    """Scalar column defaults of an INSERT's table (SQLModel's ``Field(default=...)``)."""
    out = {}
    for col in stmt.table.columns:
        default = col.default
        if default is not None and getattr(default, "is_scalar", False):
            out[col.name] = default.arg
        elif col.nullable or col.primary_key:
            out[col.name] = None
    return out
