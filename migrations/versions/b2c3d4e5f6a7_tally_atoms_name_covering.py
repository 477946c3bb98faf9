"""The duplicate review's index on tally_atoms covers its recount (resident_key added)

store._recount_names counts the distinct residents of each folded (name, birth year): with
resident_key in ix_tally_atoms_name it reads the index alone.

Revision ID: b2c3d4e5f6a7
Revises: a1b2c3d4e5f6
Create Date: 2026-12-04 03:00:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "b2c3d4e5f6a7"
down_revision = "a1b2c3d4e5f6"
branch_labels = None
depends_on = None

NARROW = ["campaign_id", "ward_id", "name_key", "birth_year"]


def upgrade():
    op.drop_index("ix_tally_atoms_name", table_name="tally_atoms")
    op.create_index("ix_tally_atoms_name", "tally_atoms", [*NARROW, "resident_key"])


def downgrade():
    op.drop_index("ix_tally_atoms_name", table_name="tally_atoms")
    op.create_index("ix_tally_atoms_name", "tally_atoms", NARROW)
