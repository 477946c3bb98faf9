"""city: ward kind (phường / xã / đặc khu) and city campaigns (campaigns.ward_id NULL)

Revision ID: c7a1d2e3f405
Revises: bce9e908d47b
Create Date: 2026-11-24 17:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c7a1d2e3f405"
down_revision = "bce9e908d47b"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("wards", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), server_default="ward", nullable=False)
        )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.alter_column("ward_id", existing_type=sa.Integer(), nullable=True)


def downgrade():
    # A city campaign has no ward to go back to: refuse rather than guess.
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT count(*) FROM campaigns WHERE ward_id IS NULL")).scalar():
        raise RuntimeError("City campaigns exist; delete them before downgrading.")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.alter_column("ward_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("wards", schema=None) as batch_op:
        batch_op.drop_column("kind")
