"""assist resident key: the tally's stored, pseudonymous resident identity

Adds `assists.resident_key` (text.resident_key_for), fills it for every existing row in
batches, then makes it NOT NULL and adds the partial indexes the tally reads (counted rows, and
erased rows for tally.data_version).

Revision ID: bce9e908d47b
Revises: 95c6fce9d215
Create Date: 2026-11-24 15:39:04.502551

"""

import sqlalchemy as sa
from alembic import op

from fieldapp.text import resident_key_for

# revision identifiers, used by Alembic.
revision = "bce9e908d47b"
down_revision = "95c6fce9d215"
branch_labels = None
depends_on = None

BATCH = 5000
COUNTED_SQLITE = "is_current = 1 AND voided = 0"
COUNTED_PG = "is_current AND NOT voided"


def upgrade():
    with op.batch_alter_table("assists", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resident_key", sa.String(length=32), nullable=True))

    # Back-fill in Python (one hash rule, text.resident_key_for), a batch at a time by id.
    assists = sa.table(
        "assists",
        sa.column("id", sa.Integer),
        sa.column("record_id", sa.String),
        sa.column("unit_id", sa.Integer),
        sa.column("phone", sa.String),
        sa.column("name_key", sa.String),
        sa.column("birth_year", sa.Integer),
        sa.column("resident_key", sa.String),
    )
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(
                assists.c.id,
                assists.c.phone,
                assists.c.name_key,
                assists.c.birth_year,
                assists.c.unit_id,
                assists.c.record_id,
            )
            .where(assists.c.id > last)
            .order_by(assists.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        conn.execute(
            sa.update(assists)
            .where(assists.c.id == sa.bindparam("row_id"))
            .values(resident_key=sa.bindparam("key")),
            [{"row_id": r.id, "key": resident_key_for(*r[1:])} for r in rows],
        )
        last = rows[-1].id

    with op.batch_alter_table("assists", schema=None) as batch_op:
        batch_op.alter_column("resident_key", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_index(
            "ix_assists_residents",
            ["campaign_id", "resident_key", "unit_id", "steps", "attempts"],
            unique=False,
            sqlite_where=sa.text(COUNTED_SQLITE),
            postgresql_where=sa.text(COUNTED_PG),
        )
        batch_op.create_index(
            "ix_assists_unit_residents",
            ["campaign_id", "unit_id", "resident_key", "steps", "attempts"],
            unique=False,
            sqlite_where=sa.text(COUNTED_SQLITE),
            postgresql_where=sa.text(COUNTED_PG),
        )
        batch_op.create_index(
            "ix_assists_erased",
            ["campaign_id", "erased_at"],
            unique=False,
            sqlite_where=sa.text("erased_at IS NOT NULL"),
            postgresql_where=sa.text("erased_at IS NOT NULL"),
        )


def downgrade():
    with op.batch_alter_table("assists", schema=None) as batch_op:
        batch_op.drop_index("ix_assists_erased")
        batch_op.drop_index("ix_assists_unit_residents")
        batch_op.drop_index("ix_assists_residents")
        batch_op.drop_column("resident_key")
