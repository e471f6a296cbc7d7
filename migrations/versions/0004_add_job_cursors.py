"""Add job_cursors: where resumable jobs such as the fixity audit stopped.

Revision ID: 31b92e1a246d
Revises: cb24f281aafd
Create Date: 2026-12-04 20:44:34.403479

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '31b92e1a246d'
down_revision = 'cb24f281aafd'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job_cursors',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('position', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade():
    op.drop_table('job_cursors')
