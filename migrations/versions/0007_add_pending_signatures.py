"""Add pending_signatures: two-phase signatures prepared for keys the service never holds.

Revision ID: 8721b87ec6ae
Revises: b88d10b3cfd8
Create Date: 2026-12-04 21:13:28.236907

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8721b87ec6ae'
down_revision = 'b88d10b3cfd8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pending_signatures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('handle_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.String(length=36), nullable=False),
    sa.Column('revision_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=True),
    sa.Column('certificate_sha256', sa.String(length=64), nullable=False),
    sa.Column('state', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], ),
    sa.ForeignKeyConstraint(['revision_id'], ['revisions.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('handle_hash')
    )
    with op.batch_alter_table('pending_signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_signatures_document_id'), ['document_id'], unique=False)



def downgrade():
    with op.batch_alter_table('pending_signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_signatures_document_id'))

    op.drop_table('pending_signatures')
