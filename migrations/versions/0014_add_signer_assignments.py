"""Add signer_assignments: the officer who holds each signing role of a document.

The uploader of a document held its first role (member secretary of minutes,
submitter of evidence) only by convention before. The upgrade records that
holder for every document whose first role is not signed yet and whose
uploader has not signed it, so such a role stays with its uploader instead of
staying open to any officer.

Revision ID: 5b7e2d9c4a13
Revises: 7b2e4d9c1a60
Create Date: 2026-12-05 01:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b7e2d9c4a13'
down_revision = '7b2e4d9c1a60'
branch_labels = None
depends_on = None

# The first role of each document kind, as service.signing_order.REQUIRED_ROLES had it at this revision.
FIRST_ROLES = {"minutes": "member_secretary", "evidence": "submitter"}


def upgrade():
    op.create_table('signer_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('document_id', 'role', name='uq_signer_assignments_role'),
    sa.UniqueConstraint('document_id', 'user_id', name='uq_signer_assignments_user')
    )
    with op.batch_alter_table('signer_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signer_assignments_document_id'), ['document_id'], unique=False)

    connection = op.get_bind()
    for kind, role in FIRST_ROLES.items():
        # Two parameters with one value: PostgreSQL deduces one type per parameter,
        # and the role is inserted as text but compared with a VARCHAR column.
        connection.execute(
            sa.text(
                "INSERT INTO signer_assignments (document_id, role, user_id, assigned_by_id, assigned_at) "
                "SELECT documents.id, CAST(:new_role AS VARCHAR(32)), documents.created_by_id, "
                "documents.created_by_id, CURRENT_TIMESTAMP "
                "FROM documents WHERE documents.kind = :kind AND NOT EXISTS ("
                "SELECT 1 FROM signatures WHERE signatures.document_id = documents.id "
                "AND (signatures.role = :signed_role OR signatures.signed_by_id = documents.created_by_id))"
            ),
            {"kind": kind, "new_role": role, "signed_role": role},
        )


def downgrade():
    with op.batch_alter_table('signer_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signer_assignments_document_id'))

    op.drop_table('signer_assignments')
