"""erasure notices: an index of each member's erased current assists (contract.erased_page)

A phone asks which of its member's records were erased since its cursor
(GET /api/v1/erased); the read is one range of this small partial index (only erased current
rows are in it), by member, in erasure order. No data change.

Revision ID: a1e5d7c3b9f2
Revises: f2b8c4d6e1a9
Create Date: 2026-12-02 05:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a1e5d7c3b9f2"
down_revision = "f2b8c4d6e1a9"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_assists_user_erased",
        "assists",
        ["user_id", "erased_at", "id"],
        unique=False,
        sqlite_where=sa.text("erased_at IS NOT NULL AND is_current = 1"),
        postgresql_where=sa.text("erased_at IS NOT NULL AND is_current"),
    )


def downgrade():
    op.drop_index(
        "ix_assists_user_erased",
        table_name="assists",
        sqlite_where=sa.text("erased_at IS NOT NULL AND is_current = 1"),
        postgresql_where=sa.text("erased_at IS NOT NULL AND is_current"),
    )
