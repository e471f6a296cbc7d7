"""Add signatures.role: the role a signer signed in (member secretary, chair, ...).

Revision ID: d87b231c478a
Revises: 31b92e1a246d
Create Date: 2026-12-04 20:58:09.464267

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd87b231c478a'
down_revision = '31b92e1a246d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=32), nullable=True))



def downgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_column('role')

