"""Add the certificate binding of signing credentials: SHA-256, subject and how it was bound.

Revision ID: 3f2c9a41d7be
Revises: 3f6c2a9d7e41
Create Date: 2026-12-04 22:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3f2c9a41d7be'
down_revision = '3f6c2a9d7e41'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('signing_credentials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('certificate_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('certificate_subject', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('binding', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('signing_credentials', schema=None) as batch_op:
        batch_op.drop_column('binding')
        batch_op.drop_column('certificate_subject')
        batch_op.drop_column('certificate_sha256')
