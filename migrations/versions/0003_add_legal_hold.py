"""Add documents.legal_hold, mirroring the object-lock legal hold of its versions.

Revision ID: cb24f281aafd
Revises: 340f5c5991d6
Create Date: 2026-12-04 20:42:30.058391

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'cb24f281aafd'
down_revision = '340f5c5991d6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_hold', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade():
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_column('legal_hold')

