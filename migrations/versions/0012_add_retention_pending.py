"""Mark revisions whose final object-lock retention is not confirmed yet.

Existing rows start as pending, so the first `flask storage reconcile` after
the upgrade checks the retention of every stored version once.

Revision ID: 3f0c9a7d5e21
Revises: 9a1c5e0d4b27
Create Date: 2026-12-04 22:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3f0c9a7d5e21'
down_revision = '9a1c5e0d4b27'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("revisions") as batch:
        batch.add_column(sa.Column("retention_pending", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade():
    with op.batch_alter_table("revisions") as batch:
        batch.drop_column("retention_pending")
