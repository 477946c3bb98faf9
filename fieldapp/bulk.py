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
    return column.in_(list(values))


def insert_many(table: sa.Table, rows: list[dict[str, Any]], on_conflict: str = "") -> None:
    """Insert rows (all with the same keys) in one statement; `on_conflict` may follow it.

    PostgreSQL: one INSERT ... SELECT FROM unnest() with an array per column, a short
    statement the driver prepares once, whatever the number of rows (a multi-row VALUES
    of thousands of placeholders is parsed afresh by psycopg every time, and an executemany
    is one statement per row). SQLite: an executemany of tuples, which its driver loops in C.
    `on_conflict` is an ON CONFLICT clause both databases read the same way.
    """
    if not rows:
        return
    columns = list(rows[0])
    # The names come from the table's own columns and the caller's constant clause.
    names = ", ".join(f'"{c}"' for c in columns)
    if db.session.get_bind().dialect.name == "postgresql":
        dialect = postgresql.dialect()
        arrays = ", ".join(
            f"CAST(:{c} AS {table.c[c].type.compile(dialect=dialect)}[])" for c in columns
        )
        statement = sa.text(
            f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays}) {on_conflict}"  # noqa: S608
        ).bindparams(*[sa.bindparam(c, type_=postgresql.ARRAY(table.c[c].type)) for c in columns])
        db.session.execute(statement, {c: [row[c] for row in rows] for c in columns})
        return
    # SQLite: the driver's executemany over plain tuples, built a column at a time as on
    # PostgreSQL, each value converted by its column type's own bind processor (what
    # SQLAlchemy does per row and per parameter dict, a third of a sync batch's insert).
    connection = db.session.connection()
    data = []
    for c in columns:
        column = [row[c] for row in rows]
        convert = table.c[c].type.bind_processor(connection.dialect)
        if convert is not None:
            column = [None if value is None else convert(value) for value in column]
        data.append(column)
    marks = ", ".join("?" for _ in columns)
    statement = f"INSERT INTO {table.name} ({names}) VALUES ({marks}) {on_conflict}"  # noqa: S608
    connection.exec_driver_sql(statement, list(zip(*data, strict=True)))


def dialect_insert(table: sa.Table) -> Any:
    """The INSERT of the session's database, which knows ON CONFLICT."""
    if db.session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)
