"""Add validation_data: the revocation data and certificates kept with each validated revision.

Revision ID: 3f6c2a9d7e41
Revises: 6561a96c1e53
Create Date: 2026-12-04 22:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3f6c2a9d7e41'
down_revision = '6561a96c1e53'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('validation_data',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.String(length=36), nullable=False),
    sa.Column('revision_id', sa.String(length=36), nullable=False),
    sa.Column('object_key', sa.String(length=200), nullable=False),
    sa.Column('version_id', sa.String(length=200), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], ),
    sa.ForeignKeyConstraint(['revision_id'], ['revisions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('object_key'),
    sa.UniqueConstraint('revision_id')
    )
    with op.batch_alter_table('validation_data', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_validation_data_document_id'), ['document_id'], unique=False)


def downgrade():
    with op.batch_alter_table('validation_data', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_validation_data_document_id'))

    op.drop_table('validation_data')
