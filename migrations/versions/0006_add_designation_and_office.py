"""Add users.designation and users.office, shown in visible signature stamps.

Revision ID: b88d10b3cfd8
Revises: d87b231c478a
Create Date: 2026-12-04 21:07:00.132918

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b88d10b3cfd8'
down_revision = 'd87b231c478a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('designation', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('office', sa.String(length=300), nullable=True))



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('office')
        batch_op.drop_column('designation')

