"""keyed resident keys: the counting key becomes an HMAC with a secret outside the database

Re-keys every assist not erased (erased and purged rows already hold random keys) from
SHA-256 of the resident's identity to HMAC-SHA256 with the app's FIELDAPP_KEY_SECRET
(config.key_secret), and the tally's own copies of the keys (tally_atoms, tally_pending)
with the same old -> new map, so the stored figures stay equal to a fresh count. No schema
change. The triggers on `assists` queue every re-keyed resident as well (a fold of them
changes nothing).

Revision ID: f2b8c4d6e1a9
Revises: f1a2b3c4d5e6
Create Date: 2026-12-02 01:00:00.000000

"""

import hashlib
import hmac
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op
from flask import current_app

# revision identifiers, used by Alembic.
revision = "f2b8c4d6e1a9"
down_revision = "f1a2b3c4d5e6"
branch_labels = None
depends_on = None

BATCH = 5000

assists = sa.table(
    "assists",
    sa.column("id", sa.Integer),
    sa.column("record_id", sa.String),
    sa.column("unit_id", sa.Integer),
    sa.column("phone", sa.String),
    sa.column("name_key", sa.String),
    sa.column("birth_year", sa.Integer),
    sa.column("resident_key", sa.String),
    sa.column("erased_at", sa.DateTime),
)


def _identity(phone, name_key, birth_year, unit_id, record_id) -> str:
    """text.resident_key_for's identity, as of this migration."""
    if phone:
        return "p" + phone
    if name_key is not None:
        year = "" if birth_year is None else str(birth_year)
        return f"n{name_key}|{year}|{unit_id}"
    return "r" + record_id


def _keyed(identity: str) -> str:
    secret = current_app.config["FIELDAPP_KEY_SECRET"].encode()
    return hmac.new(secret, identity.encode(), hashlib.sha256).hexdigest()[:32]


def _plain(identity: str) -> str:
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def _rekey(key_of: Callable[[str], str]) -> None:
    conn = op.get_bind()
    c = assists.c
    mapping: dict[str, str] = {}
    mixed: set[str] = set()  # an old key shared by rows of different identities (none expected)
    last = 0
    while True:
        rows = conn.execute(
            sa.select(
                c.id, c.phone, c.name_key, c.birth_year, c.unit_id, c.record_id, c.resident_key
            )  # fmt: skip
            .where(c.erased_at.is_(None), c.id > last)
            .order_by(c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        for row in rows:
            new = key_of(_identity(*row[1:6]))
            if mapping.setdefault(row.resident_key, new) != new:
                mixed.add(row.resident_key)
        last = rows[-1].id
    for old in sorted(mixed):  # row by row
        rows = conn.execute(
            sa.select(c.id, c.phone, c.name_key, c.birth_year, c.unit_id, c.record_id).where(
                c.erased_at.is_(None), c.resident_key == old
            )
        ).all()
        conn.execute(
            assists.update()
            .where(c.id == sa.bindparam("row_id"))
            .values(resident_key=sa.bindparam("key")),
            [{"row_id": r.id, "key": key_of(_identity(*r[1:]))} for r in rows],
        )
        del mapping[old]
    pairs = [{"old": old, "new": new} for old, new in mapping.items() if old != new]
    if not pairs:
        return
    conn.execute(
        sa.text("CREATE TEMPORARY TABLE rekey (old VARCHAR(32) PRIMARY KEY, new VARCHAR(32))")
    )
    rekey = sa.table("rekey", sa.column("old", sa.String), sa.column("new", sa.String))
    for start in range(0, len(pairs), BATCH):
        conn.execute(rekey.insert(), pairs[start : start + BATCH])
    for table, only_live in (
        ("tally_atoms", ""),
        ("tally_pending", ""),
        ("assists", " AND erased_at IS NULL"),
    ):
        conn.execute(
            sa.text(
                f"UPDATE {table} SET resident_key = "
                f"(SELECT new FROM rekey WHERE rekey.old = {table}.resident_key) "
                f"WHERE resident_key IN (SELECT old FROM rekey){only_live}"
            )
        )
    conn.execute(sa.text("DROP TABLE rekey"))


def upgrade():
    _rekey(_keyed)


def downgrade():
    _rekey(_plain)
