"""The flow every import screen shares (units, wards, people): on a valid POST, read the
uploaded file, check every line, then apply all lines and commit, or nothing.

The screens' own rules (what a line must hold, what applying it does) stay in
admin/unit_import.py, city/ward_import.py and admin/roster.py; the file itself is read by
tables.read_table, within its limits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask_wtf import FlaskForm

from ..extensions import db
from .unit_import import Checked

T = TypeVar("T")


def run_import(
    form: FlaskForm,
    no_file: str,
    check: Callable[[str, bytes], Checked[Any]],
    apply: Callable[[list[Any]], T],
) -> tuple[list[str], T | None]:
    """(errors, what `apply` returned) for this request; ([], None) when no file was sent.

    `check(filename, data)` reads and checks the file; when it finds no problem,
    `apply(rows)` writes every line and the session is committed. An empty upload gets
    `no_file` and changes nothing; so does any line's problem.
    """
    if not form.validate_on_submit():
        return [], None
    upload = form.file.data
    data = upload.read() if upload else b""
    if not data:
        return [no_file], None
    checked = check(upload.filename or "", data)
    if checked.errors:
        return list(checked.errors), None
    result = apply(checked.rows)
    db.session.commit()
    return [], result
