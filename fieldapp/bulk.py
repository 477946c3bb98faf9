"""Writing many rows at once, the same way on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from .extensions import db


def one_of(column: Any, values: list[Any]) -> sa.ColumnElement[bool]:
    """`column IN values`: on PostgreSQL `= ANY(array)`, one parameter however many values,
    so the statement's text stays the same and is prepared once (an IN list is a new text
    for every length, with a placeholder per value)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(
            sa.bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        )
    # SQLite: one expanding parameter, not a literal per value to coerce and name.
    return column.in_(sa.bindparam(None, list(values), expanding=True))


def insert_many(table: sa.Table, rows: list[dict[str, Any]], on_conflict: str = "") -> None:
    """Insert rows (all with the same keys) in one statement; `on_conflict` may follow it.

    The rows go to the driver a column at a time, each value converted by its column type's
    own bind processor (what SQLAlchemy does per row and per parameter, a third of a sync
    batch's insert when it did). PostgreSQL: one INSERT ... SELECT FROM unnest() with an array
    per column, sent in binary: a short statement the driver prepares once, whatever the
    number of rows (a multi-row VALUES of thousands of placeholders is parsed afresh every
    time, an executemany is one statement per row, and text arrays are quoted value by value
    in Python: 2,000 rows of tally_atoms took 46 ms so, 35 ms in binary, 18 ms of it the
    server's). SQLite: an executemany of tuples, which its driver loops in C. `on_conflict` is
    an ON CONFLICT clause both databases read the same way.
    """
    if not rows:
        return
    connection = db.session.connection()
    dialect = connection.dialect
    columns = list(rows[0])
    data = []
    for c in columns:
        column = [row[c] for row in rows]
        convert = table.c[c].type.bind_processor(dialect)
        if convert is not None:
            column = [None if value is None else convert(value) for value in column]
        data.append(column)
    # The names come from the table's own columns and the caller's constant clause.
    names = ", ".join(f'"{c}"' for c in columns)
    if dialect.name == "postgresql":
        arrays = ", ".join(
            f"%({c})b::{table.c[c].type.compile(dialect=dialect)}[]" for c in columns
        )
        statement = (
            f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays}) {on_conflict}"  # noqa: S608
        )
        connection.exec_driver_sql(statement, dict(zip(columns, data, strict=True)))
        return
    marks = ", ".join("?" for _ in columns)
    statement = f"INSERT INTO {table.name} ({names}) VALUES ({marks}) {on_conflict}"  # noqa: S608
    connection.exec_driver_sql(statement, list(zip(*data, strict=True)))


def dialect_insert(table: sa.Table) -> Any:
    """The INSERT of the session's database, which knows ON CONFLICT."""
    if db.session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)
