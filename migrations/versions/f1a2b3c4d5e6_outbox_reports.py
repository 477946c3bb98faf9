"""outbox_reports: what each phone last said of its outbox (entries waiting, needing a fix)

Revision ID: f1a2b3c4d5e6
Revises: f3a9b8c7d6e5
Create Date: 2026-12-02 01:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f1a2b3c4d5e6"
down_revision = "f3a9b8c7d6e5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outbox_reports",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reported_at", sa.DateTime(), nullable=False),
        sa.Column("waiting", sa.Integer(), nullable=False),
        sa.Column("oldest_waiting_at", sa.DateTime(), nullable=True),
        sa.Column("needs_fix", sa.Integer(), nullable=False),
        sa.Column("app_version", sa.String(length=40), nullable=False),
        sa.Column("storage_persisted", sa.Boolean(), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_batch_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"]),
        sa.PrimaryKeyConstraint("device_id"),
    )


def downgrade():
    op.drop_table("outbox_reports")
